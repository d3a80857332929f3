package soak

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sampleResult is a finished run of two processes over a minute.
func sampleResult() *Result {
	cfg, _ := Config{
		IngestAddr: "127.0.0.1:1", EdgeAddrs: []string{"127.0.0.1:2"}, RedisAddr: "127.0.0.1:3",
		Retention: 300, OutDir: "unused", Duration: time.Minute,
		Procs: []Proc{{Name: "ingest", PID: 1, AdminAddr: "127.0.0.1:4"}, {Name: "edge1", PID: 2, AdminAddr: "127.0.0.1:5"}},
	}.withDefaults()
	res := &Result{Started: time.Unix(1795633890, 0), Config: cfg, Rooms: roomNames("r", 4), Viewers: 100}
	for i := range 7 {
		res.Samples = append(res.Samples, Sample{
			T:     float64(10 * i),
			Procs: []ProcSample{{RSS: 20 << 20, Goroutines: 12, CPU: float64(i)}, {RSS: 24 << 20, Goroutines: 22, CPU: float64(2 * i)}},
			Redis: RedisSample{UsedMemory: 1 << 20, StreamMax: int64(40 * i), StoredBytes: 125},
			P99:   int64(5000 * min(i, 1)), Max: int64(9000 * min(i, 1)),
		})
	}
	return res
}

func TestReportAndChart(t *testing.T) {
	res := sampleResult()
	r := &run{cfg: res.Config, res: res, lat: newLatencies(), pub: newPublisher("127.0.0.1:1", res.Rooms, 40, time.Minute, 1, time.Now())}
	r.judgeGrowth()
	r.judgeRedis()
	if len(res.Failures) > 0 {
		t.Fatalf("failures of a flat run: %v", res.Failures)
	}
	var b bytes.Buffer
	if err := res.WriteReport(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"danmu soak: PASS", "ingest ", "edge1 ", "longest stream 240 entries, bound 400: ok"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
	if cpu := cpuUsed(res.Samples, 1); cpu != 12 {
		t.Errorf("cpuUsed = %v; want 12", cpu)
	}
	path := filepath.Join(t.TempDir(), "soak.png")
	if err := res.drawChart(path); err != nil {
		t.Fatalf("drawChart: %v", err)
	}
	if info, err := os.Stat(path); err != nil || info.Size() < 1000 {
		t.Errorf("chart: %v, %v", info, err)
	}
}

func TestJudgeFindsGrowthAndRetention(t *testing.T) {
	res := sampleResult()
	for i := range res.Samples {
		res.Samples[i].Procs[1].Goroutines = int64(22 + 100*i)
		res.Samples[i].Redis.StreamMax = int64(100 * i)
	}
	res.Samples[6].Redis.UsedMemory = 64 << 20
	r := &run{cfg: res.Config, res: res}
	r.judgeGrowth()
	r.judgeRedis()
	got := strings.Join(res.Failures, "\n")
	for _, want := range []string{"edge1 goroutines grew", "Redis used_memory reached 64.00 MiB", "a stream held 600 entries"} {
		if !strings.Contains(got, want) {
			t.Errorf("failures lack %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "RSS grew") {
		t.Errorf("flat RSS reported as growth:\n%s", got)
	}
}
