package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/danmu-dev/danmu/internal/redistest"
)

// metrics is one scrape of /metrics, by metric name.
type metrics map[string]*dto.MetricFamily

// scrape reads the metrics of the admin address addr.
func scrape(t testing.TB, addr string) metrics {
	t.Helper()
	resp, err := httpClient.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: %s", resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("scrape: parse: %v", err)
	}
	return families
}

// value returns the value of the series of name whose labels include
// labels ("name=value" pairs): a counter's or gauge's value, a histogram's
// count. It returns -1 when there is no such series.
func (m metrics) value(name string, labels ...string) float64 {
	f := m[name]
	if f == nil {
		return -1
	}
	for _, s := range f.GetMetric() {
		if !hasLabels(s, labels) {
			continue
		}
		switch {
		case s.Counter != nil:
			return s.Counter.GetValue()
		case s.Gauge != nil:
			return s.Gauge.GetValue()
		case s.Histogram != nil:
			return float64(s.Histogram.GetSampleCount())
		case s.Untyped != nil:
			return s.Untyped.GetValue()
		}
	}
	return -1
}

func hasLabels(s *dto.Metric, labels []string) bool {
	for _, want := range labels {
		name, value, _ := strings.Cut(want, "=")
		found := false
		for _, l := range s.GetLabel() {
			if l.GetName() == name && l.GetValue() == value {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// probe answers GET path on the admin address addr with its status, or 0
// when nothing answers.
func probe(addr, path string) int {
	resp, err := httpClient.Get("http://" + addr + path)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// TestMetricsEndToEnd runs a node with every part, connects viewers, posts
// comments and checks that the counters /metrics shows move as they
// should.
func TestMetricsEndToEnd(t *testing.T) {
	n := startNode(t, "serve")
	if n.adminAddr == "" {
		t.Fatal("the node printed no admin address")
	}
	before := scrape(t, n.adminAddr)
	if got := before.value("danmu_edge_connections_open"); got != 0 {
		t.Errorf("danmu_edge_connections_open = %v before any viewer; want 0", got)
	}
	viewers := []*viewer{watch(t, "a", n.wsAddr, "metrics", ""), watch(t, "b", n.wsAddr, "metrics", "")}
	var ids []string
	for i := range 3 {
		ids = append(ids, mustPost(t, n.apiAddr, "metrics", "comment "+strconv.Itoa(i)))
	}
	if res := post(n.apiAddr, "metrics", ""); res.status != http.StatusBadRequest {
		t.Fatalf("empty post = %d %q; want 400", res.status, res.code)
	}
	waitHas(t, viewers, ids)

	m := scrape(t, n.adminAddr)
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"danmu_edge_connections_accepted_total", nil, 2},
		{"danmu_edge_connections_open", nil, 2},
		{"danmu_edge_handshakes_total", []string{"result=upgraded"}, 2},
		{"danmu_fanout_rooms", nil, 1},
		{"danmu_fanout_viewers", nil, 2},
		{"danmu_fanout_messages_delivered_total", nil, 6},
		{"danmu_ingest_requests_total", []string{"status=201", "code="}, 3},
		{"danmu_ingest_requests_total", []string{"status=400", "code=empty_text"}, 1},
		{"danmu_ingest_request_duration_seconds", []string{"method=POST"}, 4},
		{"danmu_stream_append_errors_total", nil, 0},
		{"danmu_stream_read_errors_total", nil, 0},
		{"danmu_edge_draining", nil, 0},
	} {
		if got := m.value(c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v; want %v", c.name, c.labels, got, c.want)
		}
	}
	batches := m.value("danmu_fanout_batches_total")
	for _, c := range []struct {
		name string
		min  float64
	}{
		{"danmu_fanout_batches_total", 1},
		{"danmu_fanout_batch_messages", batches},
		{"danmu_fanout_frames_delivered_total", 2 * batches},
		{"danmu_fanout_flush_to_write_seconds", 1},
		{"danmu_fanout_end_to_end_seconds", 1},
		{"danmu_edge_frames_sent_total", 2 * batches},
		{"go_goroutines", 1},
	} {
		if got := m.value(c.name); got < c.min {
			t.Errorf("%s = %v; want at least %v", c.name, got, c.min)
		}
	}

	if err := viewers[0].conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, waitTimeout, "the closed viewer to be counted", func() bool {
		return scrape(t, n.adminAddr).value("danmu_edge_connections_closed_total", "reason=peer", "code=1000") == 1
	})
	if got := scrape(t, n.adminAddr).value("danmu_edge_connections_open"); got != 1 {
		t.Errorf("danmu_edge_connections_open = %v after one viewer left; want 1", got)
	}
}

// TestReadinessDuringDrain: a node is ready while it serves; from the
// signal on, /readyz fails while the edge closes its viewers with 1001
// spread over --drain-period, /healthz and /metrics still answer, and the
// admin address closes last.
func TestReadinessDuringDrain(t *testing.T) {
	const viewers = 20
	n := startNode(t, "serve", "--drain-period", "1s")
	if status := probe(n.adminAddr, "/readyz"); status != http.StatusOK {
		t.Fatalf("/readyz = %d while serving; want 200", status)
	}
	// The viewers' goroutines record when they closed; the times are
	// made relative to the signal only after wg.Wait, so that no goroutine
	// reads start (the close reaches them over the network, which the
	// race detector does not count as ordering them after its write).
	var mu sync.Mutex
	var closedAt []time.Time
	var wg sync.WaitGroup
	for i := range viewers {
		v := watch(t, fmt.Sprint("v", i), n.wsAddr, "drain", "")
		wg.Go(func() {
			<-v.done
			var ce *websocket.CloseError
			if err := v.err(); !errors.As(err, &ce) || ce.Code != websocket.CloseGoingAway {
				t.Errorf("viewer %s ended with %v; want close 1001", v.name, err)
			}
			mu.Lock()
			closedAt = append(closedAt, time.Now())
			mu.Unlock()
		})
	}

	stopped := make(chan error, 1)
	start := time.Now()
	go func() { stopped <- n.stop() }()
	sawUnready, sawDraining := false, false
	for !sawUnready || !sawDraining {
		status := probe(n.adminAddr, "/readyz")
		if status == 0 {
			break // the node has stopped
		}
		if status == http.StatusServiceUnavailable && !sawUnready {
			sawUnready = true
			if probe(n.adminAddr, "/healthz") != http.StatusOK {
				t.Error("/healthz failed while draining; want 200: the process is alive")
			}
		}
		if !sawDraining {
			resp, err := httpClient.Get("http://" + n.adminAddr + "/metrics")
			if err == nil {
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				sawDraining = strings.Contains(string(body), "\ndanmu_edge_draining 1\n")
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("stop: %v", err)
	}
	wg.Wait()
	if !sawUnready || !sawDraining {
		t.Errorf("during the drain: /readyz failed %v, danmu_edge_draining was 1 %v; want both", sawUnready, sawDraining)
	}
	if status := probe(n.adminAddr, "/healthz"); status != 0 {
		t.Errorf("/healthz = %d after the node stopped; want no answer", status)
	}
	first, last := closedAt[0].Sub(start), closedAt[0].Sub(start)
	for _, at := range closedAt {
		first, last = min(first, at.Sub(start)), max(last, at.Sub(start))
	}
	if last-first < 400*time.Millisecond {
		t.Errorf("viewers closed from %v to %v after the signal; want them spread over --drain-period 1s", first, last)
	}
}

// TestReadinessFollowsRedis: with --redis, /readyz fails while Redis does
// not answer and recovers with it.
func TestReadinessFollowsRedis(t *testing.T) {
	srv := redistest.Start(t)
	n := startNode(t, "serve", "--redis", srv.Addr())
	if status := probe(n.adminAddr, "/readyz"); status != http.StatusOK {
		t.Fatalf("/readyz = %d with Redis up; want 200", status)
	}
	srv.Pause()
	status := probe(n.adminAddr, "/readyz")
	srv.Resume()
	if status != http.StatusServiceUnavailable {
		t.Errorf("/readyz = %d with Redis stopped; want 503", status)
	}
	waitFor(t, waitTimeout, "/readyz to recover with Redis", func() bool { return probe(n.adminAddr, "/readyz") == http.StatusOK })
	if got := scrape(t, n.adminAddr).value("danmu_redis_round_trip_seconds"); got < 2 {
		t.Errorf("danmu_redis_round_trip_seconds counts %v round trips; want the pings at least", got)
	}
}

// TestPrintConfig: --print-config prints every setting as the DANMU_
// variable that sets it, command line over environment, secrets redacted,
// and exits without serving.
func TestPrintConfig(t *testing.T) {
	t.Setenv("DANMU_WS_ADDR", "0.0.0.0:9000")
	t.Setenv("DANMU_JWT_SECRET", "an-environment-secret-of-32-bytes!!")
	t.Setenv("DANMU_DRAIN_PERIOD", "20s")
	status, stdout, stderr := runArgs("serve", "--print-config", "--redis-password", "hunter2", "--drain-period", "7s", "--allowed-origins", "https://a.example, https://b.example")
	if status != 0 || stderr != "" {
		t.Fatalf("danmu serve --print-config = %d, stderr %q; want 0", status, stderr)
	}
	for _, want := range []string{
		"DANMU_WS_ADDR=0.0.0.0:9000\n",
		"DANMU_DRAIN_PERIOD=7s\n",
		"DANMU_REDIS_PASSWORD=<redacted>\n",
		"DANMU_JWT_SECRET=<redacted>\n",
		"DANMU_REDIS_USERNAME=\n",
		"DANMU_ADMIN_ADDR=127.0.0.1:7090\n",
		"DANMU_ALLOWED_ORIGINS=https://a.example,https://b.example\n",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("--print-config does not print %q:\n%s", want, stdout)
		}
	}
	for _, secret := range []string{"hunter2", "an-environment-secret"} {
		if strings.Contains(stdout, secret) {
			t.Errorf("--print-config printed the secret %q", secret)
		}
	}
	if strings.Contains(stdout, "PRINT_CONFIG") {
		t.Error("--print-config prints itself")
	}
	var o options
	commandFlags("serve", commandRoles["serve"], &o).VisitAll(func(f *flag.Flag) {
		if f.Name != "print-config" && !strings.Contains(stdout, "\n"+envName(f.Name)+"=") {
			t.Errorf("--print-config leaves out --%s", f.Name)
		}
	})

	// edge and ingest print theirs, without --redis.
	for _, command := range []string{"edge", "ingest"} {
		status, stdout, _ := runArgs(command, "--print-config")
		if status != 0 || !strings.HasPrefix(stdout, "# danmu "+command) {
			t.Errorf("danmu %s --print-config = %d %q", command, status, stdout)
		}
	}
}
