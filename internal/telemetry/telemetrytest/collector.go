// Package telemetrytest runs an OTLP/HTTP trace receiver for tests: a
// small net/http server on loopback that decodes what exporters send (the
// OTLP protobuf) and keeps the spans. Only tests import it.
package telemetrytest

import (
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	"google.golang.org/protobuf/proto"
)

// Span is one span a Collector received.
type Span struct {
	// Service and Instance are the service.name and service.instance.id
	// of the node that sent it.
	Service, Instance string
	Name              string
	// TraceID, SpanID and ParentID are in hex; ParentID is "" for a root.
	TraceID, SpanID, ParentID string
	// Links are the spans it links to.
	Links []Link
	// Attributes are its attributes, as text.
	Attributes map[string]string
	// Status is the status description of a failed span.
	Status string
}

// Link is a link of a Span.
type Link struct {
	TraceID, SpanID string
}

// Collector is an OTLP/HTTP trace receiver.
type Collector struct {
	// URL is the endpoint to export to (OTEL_EXPORTER_OTLP_ENDPOINT).
	URL string

	mu struct {
		sync.Mutex
		spans    []Span
		requests int
	}
}

// Start starts a Collector on 127.0.0.1 until the test ends.
func Start(tb testing.TB) *Collector {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	c := &Collector{URL: "http://" + ln.Addr().String()}
	srv := &http.Server{Handler: http.HandlerFunc(c.serve), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	tb.Cleanup(func() { _ = srv.Close() })
	return c
}

// serve answers POST /v1/traces, the OTLP/HTTP path of traces.
func (c *Collector) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" {
		http.NotFound(w, r)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var req coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(body, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var spans []Span
	for _, rs := range req.GetResourceSpans() {
		resource := attributes(rs.GetResource().GetAttributes())
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				span := Span{
					Service: resource["service.name"], Instance: resource["service.instance.id"],
					Name:    s.GetName(),
					TraceID: hex.EncodeToString(s.GetTraceId()), SpanID: hex.EncodeToString(s.GetSpanId()),
					ParentID:   hex.EncodeToString(s.GetParentSpanId()),
					Attributes: attributes(s.GetAttributes()),
					Status:     s.GetStatus().GetMessage(),
				}
				for _, l := range s.GetLinks() {
					span.Links = append(span.Links, Link{TraceID: hex.EncodeToString(l.GetTraceId()), SpanID: hex.EncodeToString(l.GetSpanId())})
				}
				spans = append(spans, span)
			}
		}
	}
	c.mu.Lock()
	c.mu.spans = append(c.mu.spans, spans...)
	c.mu.requests++
	c.mu.Unlock()
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

// attributes returns kvs as text.
func attributes(kvs []*commonpb.KeyValue) map[string]string {
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		v := kv.GetValue()
		switch v.GetValue().(type) {
		case *commonpb.AnyValue_IntValue:
			m[kv.GetKey()] = strconv.FormatInt(v.GetIntValue(), 10)
		default:
			m[kv.GetKey()] = v.GetStringValue()
		}
	}
	return m
}

// Spans returns the spans received so far.
func (c *Collector) Spans() []Span {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Span(nil), c.mu.spans...)
}

// Requests returns the number of export requests received.
func (c *Collector) Requests() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mu.requests
}

// Setenv points the OTEL_* environment of the test at endpoint (a
// Collector's URL, or an address where none listens) with the sampler and
// its argument, and a short export delay so that spans arrive quickly.
func Setenv(tb testing.TB, endpoint, sampler, arg string) {
	tb.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
	tb.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
	tb.Setenv("OTEL_TRACES_SAMPLER", sampler)
	tb.Setenv("OTEL_TRACES_SAMPLER_ARG", arg)
	tb.Setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
	tb.Setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "2000")
}
