package telemetry

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// scope names danmu's spans (the instrumentation scope).
const scope = "github.com/danmu-dev/danmu"

// Tracer starts the spans of one node and exports them. A nil *Tracer is
// tracing off: its methods start nothing.
type Tracer struct {
	// Immutable after Setup.
	provider   *sdktrace.TracerProvider
	tracer     trace.Tracer
	propagator propagation.TraceContext
}

// Setup reads the OTEL_* environment variables (FromEnv) and, when they
// turn tracing on, returns the Tracer of a node of role ("ingest", "edge"
// or "serve"). It returns nil, and nil, when tracing is off. The service
// name is OTEL_SERVICE_NAME, else "danmu-<role>"; the resource also has a
// random service.instance.id, so that two nodes of one role tell apart,
// and whatever OTEL_RESOURCE_ATTRIBUTES adds. The exporter takes its
// endpoint, headers, timeout and compression from the OTEL_EXPORTER_OTLP_*
// variables, and sends from the background: a collector that is slow or
// down never holds up a comment (spans beyond the queue are dropped, and
// failed exports are logged through logger). Call Shutdown when the node
// stops.
func Setup(ctx context.Context, role string, logger *slog.Logger) (*Tracer, error) {
	settings, err := FromEnv(os.Getenv)
	if err != nil || !settings.Enabled {
		return nil, err
	}
	var exporter sdktrace.SpanExporter
	switch settings.Protocol {
	case ProtocolGRPC:
		exporter, err = otlptracegrpc.New(ctx)
	default:
		exporter, err = otlptracehttp.New(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("telemetry: OTLP exporter: %w", err)
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(
			attribute.String("service.name", "danmu-"+role),
			attribute.String("service.instance.id", instanceID()),
		),
		resource.WithFromEnv(), // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win
		resource.WithTelemetrySDK(),
		resource.WithHost(),
	)
	if err != nil {
		return nil, fmt.Errorf("telemetry: resource: %w", err)
	}
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		logger.Warn("telemetry: exporting spans failed", "err", err)
	}))
	logger.Info("tracing on", "protocol", settings.Protocol, "sampler", settings.Sampler.Description())
	return New(settings.Sampler, sdktrace.WithBatcher(exporter), sdktrace.WithResource(res)), nil
}

// New returns a Tracer whose spans opts send on (an exporter and a
// resource), sampled by sampler, except that a root span linked to a
// sampled span is always sampled. Setup calls it; tests pass an exporter
// that keeps the spans in memory.
func New(sampler sdktrace.Sampler, opts ...sdktrace.TracerProviderOption) *Tracer {
	provider := sdktrace.NewTracerProvider(append(opts, sdktrace.WithSampler(linkSampler{sampler}))...)
	return &Tracer{provider: provider, tracer: provider.Tracer(scope)}
}

// instanceID returns a random service.instance.id.
func instanceID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// Shutdown exports the spans still queued, until ctx ends, and stops the
// exporter. It is a no-op on a nil Tracer.
func (t *Tracer) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.provider.Shutdown(ctx)
}

// linkSampler samples a root span that links to a sampled span, such as a
// batch holding a sampled post, and leaves the other decisions to its
// sampler: a post sampled at ingest is followed to every node that
// delivers it.
type linkSampler struct{ sdktrace.Sampler }

func (s linkSampler) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	if !trace.SpanContextFromContext(p.ParentContext).IsValid() {
		for i := range p.Links {
			if p.Links[i].SpanContext.IsSampled() {
				return sdktrace.SamplingResult{Decision: sdktrace.RecordAndSample}
			}
		}
	}
	return s.Sampler.ShouldSample(p)
}

func (s linkSampler) Description() string {
	return "LinkSampled{" + s.Sampler.Description() + "}"
}
