// Package telemetry wires OpenTelemetry tracing for every role: it reads
// the standard OTEL_* environment variables (Setup), exports spans over
// OTLP (HTTP or gRPC), and gives ingest, stream and fanout the few calls
// they make (Start, Tracer.StartRequest, Tracer.StartLinked, the
// conversions to and from codec.TraceContext) and the log handler that
// adds trace_id to log lines.
//
// Off, it costs nothing per comment: Setup returns a nil *Tracer, whose
// methods start no span, and Start starts a span only under one that
// records. It imports codec alone of this module.
package telemetry
