package admin_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/danmu-dev/danmu/admin"
	"github.com/danmu-dev/danmu/edge"
	"github.com/danmu-dev/danmu/fanout"
	"github.com/danmu-dev/danmu/ingest"
	"github.com/danmu-dev/danmu/metric"
	"github.com/danmu-dev/danmu/stream"
)

// serve runs s on 127.0.0.1:0 until the test ends and returns its base
// URL.
func serve(t *testing.T, s *admin.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

func TestProbes(t *testing.T) {
	s := admin.New(admin.Config{CheckTimeout: 100 * time.Millisecond}, slog.New(slog.DiscardHandler))
	var failing error
	s.AddCheck("redis", func(context.Context) error { return failing })
	s.AddCheck("slow", func(ctx context.Context) error {
		<-ctx.Done() // a check that hangs ends with CheckTimeout
		return nil
	})
	base := serve(t, s)

	if status, body := get(t, base+"/healthz"); status != http.StatusOK || body != "ok\n" {
		t.Errorf("/healthz = %d %q; want 200 ok", status, body)
	}
	if status, body := get(t, base+"/readyz"); status != http.StatusOK || body != "ready\n" {
		t.Errorf("/readyz = %d %q; want 200 ready", status, body)
	}
	failing = errors.New("connection refused")
	if status, body := get(t, base+"/readyz"); status != http.StatusServiceUnavailable || !strings.Contains(body, "redis: connection refused") {
		t.Errorf("/readyz with a failing check = %d %q; want 503 naming it", status, body)
	}
	failing = nil
	s.SetDraining()
	if status, body := get(t, base+"/readyz"); status != http.StatusServiceUnavailable || !strings.Contains(body, "draining") {
		t.Errorf("/readyz while draining = %d %q; want 503 draining", status, body)
	}
	if status, _ := get(t, base+"/healthz"); status != http.StatusOK {
		t.Errorf("/healthz while draining = %d; want 200: the process is alive", status)
	}
	if status, body := get(t, base+"/debug/pprof/"); status != http.StatusOK || !strings.Contains(body, "goroutine") {
		t.Errorf("/debug/pprof/ = %d; want 200 listing the profiles", status)
	}
	if status, _ := get(t, base+"/debug/pprof/goroutine?debug=1"); status != http.StatusOK {
		t.Errorf("/debug/pprof/goroutine = %d; want 200", status)
	}
}

// TestMetrics scrapes every collector over counters that moved, and
// checks the names, labels and units Prometheus gets.
func TestMetrics(t *testing.T) {
	logger := slog.New(slog.DiscardHandler)
	hub := fanout.New(fanout.Config{}, stream.NewMemory(stream.MemoryConfig{}), logger)
	ws := edge.New(edge.Config{}, hub, logger)
	api := ingest.New(ingest.Config{}, stream.NewMemory(stream.MemoryConfig{}), hub, logger)
	redis := &stream.RedisStats{RoundTrip: metric.NewHistogram(metric.LatencyBuckets)}
	redis.RoundTrip.Observe(int64(300 * time.Microsecond))
	ws.Stats().Accepted.Add(3)
	hub.Stats().BatchSize.Observe(7)

	s := admin.New(admin.Config{}, logger)
	s.Register(admin.EdgeCollector(ws), admin.FanoutCollector(hub), admin.IngestCollector(api.Stats()), admin.RedisCollector(redis))
	base := serve(t, s)
	status, body := get(t, base+"/metrics")
	if status != http.StatusOK {
		t.Fatalf("/metrics = %d", status)
	}
	for _, want := range []string{
		"danmu_edge_connections_accepted_total 3",
		`danmu_edge_handshakes_total{result="upgraded"} 0`,
		"danmu_edge_draining 0",
		"danmu_edge_loop_lag_seconds_count 0",
		"danmu_fanout_rooms 0",
		"danmu_fanout_frame_budget 50000",
		`danmu_fanout_batch_messages_bucket{le="10"} 1`,
		"danmu_fanout_batch_messages_sum 7",
		"danmu_fanout_end_to_end_seconds_count 0",
		"danmu_stream_read_errors_total 0",
		"danmu_stream_append_errors_total 0",
		`danmu_ingest_request_duration_seconds_count{method="POST"} 0`,
		`danmu_redis_round_trip_seconds_bucket{le="0.00025"} 0`,
		`danmu_redis_round_trip_seconds_bucket{le="0.0005"} 1`,
		"danmu_redis_round_trip_seconds_sum 0.0003",
		"go_goroutines ",
		"process_open_fds ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics has no %q", want)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", body)
	}
}
