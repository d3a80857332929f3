package main

import (
	"bytes"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/danmu-dev/danmu/internal/redistest"
	"github.com/danmu-dev/danmu/internal/telemetry/telemetrytest"
)

const (
	traceID     = "4bf92f3577b34da6a3ce929d0e0e4736"
	traceParent = "00f067aa0ba902b7"
)

// postTraced posts text to room through the API at addr with the W3C
// traceparent of traceID and the given flags ("01" sampled), failing the
// test unless it is stored within a second.
func postTraced(t *testing.T, addr, room, text, flags string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/v1/rooms/"+room+"/danmaku",
		bytes.NewReader([]byte(`{"text":"`+text+`"}`)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("traceparent", "00-"+traceID+"-"+traceParent+"-"+flags)
	start := time.Now()
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("POST %q: %v", text, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST %q = %d; want 201", text, resp.StatusCode)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("POST %q took %v; want well under a second whatever the collector does", text, took)
	}
}

// fleetTrace runs an ingest node and two edges on one Redis, with the
// OTEL_* environment already set, posts text with the traceparent flags
// and waits until a viewer on each edge got it.
func fleetTrace(t *testing.T, text, flags string) []*node {
	redis := redistest.Start(t).Addr()
	api := startNode(t, "ingest", "--redis", redis)
	edges := []*node{startNode(t, "edge", "--redis", redis), startNode(t, "edge", "--redis", redis)}
	var viewers []*viewer
	for i, e := range edges {
		viewers = append(viewers, watch(t, "edge"+string(rune('0'+i)), e.wsAddr, "traced", ""))
	}
	postTraced(t, api.apiAddr, "traced", text, flags)
	waitFor(t, waitTimeout, "both edges to deliver the comment", func() bool {
		for _, v := range viewers {
			comments, _, _ := v.snapshot()
			if len(comments) == 0 || comments[len(comments)-1].text != text {
				return false
			}
		}
		return true
	})
	return append([]*node{api}, edges...)
}

// TestTracingIntegration follows a post with a traceparent from ingest to
// the batches two edges deliver it in, through a real OTLP/HTTP receiver:
// the POST, its validation, hooks, append and Redis round trip share the
// posted trace ID, and each edge has a batch span linking to the append.
func TestTracingIntegration(t *testing.T) {
	collector := telemetrytest.Start(t)
	telemetrytest.Setenv(t, collector.URL, "parentbased_always_on", "")
	nodes := fleetTrace(t, "traced hello", "01")
	for _, n := range nodes {
		if err := n.stop(); err != nil { // flushes the spans
			t.Fatalf("stop %s: %v", n.name, err)
		}
	}

	spans := collector.Spans()
	byName := make(map[string]telemetrytest.Span)
	var batches []telemetrytest.Span
	for _, s := range spans {
		if s.TraceID == traceID {
			byName[s.Name] = s
		}
		if s.Name == "fanout batch" {
			batches = append(batches, s)
		}
	}
	server, ok := byName["POST /v1/rooms/{room}/danmaku"]
	if !ok || server.ParentID != traceParent || server.Service != "danmu-ingest" {
		t.Fatalf("no server span of trace %s below %s from danmu-ingest; spans: %+v", traceID, traceParent, spans)
	}
	for _, name := range []string{"validate", "hook auth", "append", "redis XADD"} {
		if _, ok := byName[name]; !ok {
			t.Errorf("no span %q in trace %s", name, traceID)
		}
	}
	appended := byName["append"]
	if appended.ParentID != server.SpanID || byName["redis XADD"].ParentID != appended.SpanID {
		t.Errorf("append's parent %s, XADD's %s; want %s and %s", appended.ParentID, byName["redis XADD"].ParentID, server.SpanID, appended.SpanID)
	}
	linked := make(map[string]telemetrytest.Span) // edge instance → its batch span
	for _, b := range batches {
		for _, l := range b.Links {
			if l.TraceID == traceID && l.SpanID == appended.SpanID {
				linked[b.Instance] = b
			}
		}
	}
	if len(linked) != 2 {
		t.Fatalf("batch spans linking to the append on %d edges; want 2: %+v", len(linked), batches)
	}
	for instance, b := range linked {
		if b.Service != "danmu-edge" || b.Attributes["danmu.room"] != "traced" || b.Attributes["danmu.batch.size"] != "1" ||
			b.Attributes["danmu.batch.viewers"] != "1" || b.Attributes["danmu.batch.encodings"] != "1" ||
			b.Attributes["danmu.batch.append_to_write_max_ms"] == "" {
			t.Errorf("batch span of edge %s: %s %+v; want danmu-edge, room traced, 1 message to 1 viewer in 1 encoding, the time from the append", instance, b.Service, b.Attributes)
		}
	}
}

// TestTracingUnsampled: a post whose traceparent is not sampled, or one
// under the always_off sampler, is followed by no span, nor linked from
// any batch.
func TestTracingUnsampled(t *testing.T) {
	for _, tt := range []struct{ name, sampler, flags string }{
		{"parent not sampled", "parentbased_always_on", "00"},
		{"sampling off", "always_off", "01"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			collector := telemetrytest.Start(t)
			telemetrytest.Setenv(t, collector.URL, tt.sampler, "")
			for _, n := range fleetTrace(t, "unsampled", tt.flags) {
				if err := n.stop(); err != nil {
					t.Fatalf("stop %s: %v", n.name, err)
				}
			}
			for _, s := range collector.Spans() {
				if s.TraceID == traceID {
					t.Errorf("span %s of the unsampled trace exported", s.Name)
				}
				for _, l := range s.Links {
					if l.TraceID == traceID {
						t.Errorf("span %s links to the unsampled trace", s.Name)
					}
				}
			}
		})
	}
}

// TestTracingDeadCollector: with the collector down, posts are answered
// at once and delivered; the spans are dropped.
func TestTracingDeadCollector(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close() // nothing listens there any more
	telemetrytest.Setenv(t, dead, "always_on", "")
	nodes := fleetTrace(t, "nobody collects", "01")
	for i := range 20 {
		postTraced(t, nodes[0].apiAddr, "traced", "again "+string(rune('a'+i)), "01")
	}
}

// TestTracingOff: OTEL_TRACES_EXPORTER=none or OTEL_SDK_DISABLED=true
// turn tracing off even with an endpoint set: nothing is exported, even
// for a post with a sampled traceparent.
func TestTracingOff(t *testing.T) {
	for _, off := range [][2]string{{"OTEL_TRACES_EXPORTER", "none"}, {"OTEL_SDK_DISABLED", "true"}} {
		t.Run(off[0], func(t *testing.T) {
			collector := telemetrytest.Start(t)
			telemetrytest.Setenv(t, collector.URL, "always_on", "")
			t.Setenv(off[0], off[1])
			for _, n := range fleetTrace(t, "untraced", "01") {
				if err := n.stop(); err != nil {
					t.Fatalf("stop %s: %v", n.name, err)
				}
			}
			if n := collector.Requests(); n != 0 {
				t.Errorf("the collector got %d requests; want none", n)
			}
		})
	}
}
