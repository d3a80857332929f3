package telemetry

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// ErrConfig reports OTEL_* environment variables that cannot be used.
var ErrConfig = errors.New("telemetry: bad OTEL_* configuration")

// Protocols of the OTLP exporter (OTEL_EXPORTER_OTLP_PROTOCOL).
const (
	ProtocolHTTP = "http/protobuf"
	ProtocolGRPC = "grpc"
)

// Settings is what Setup reads of the environment.
type Settings struct {
	// Enabled is set when spans are exported (see FromEnv for the rule).
	Enabled bool
	// Protocol is ProtocolHTTP or ProtocolGRPC.
	Protocol string
	// Sampler samples the spans that have no parent, or a parent as
	// OTEL_TRACES_SAMPLER says; Setup wraps it so that a batch linked to
	// a sampled post is sampled too.
	Sampler sdktrace.Sampler
}

// FromEnv reads the settings from getenv (os.Getenv in production).
// Tracing is on when OTEL_SDK_DISABLED is not "true" and either
// OTEL_TRACES_EXPORTER is "otlp", or it is unset and
// OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is
// set. OTEL_TRACES_EXPORTER "none" (or unset without an endpoint) leaves
// it off; any other exporter is an error. The protocol is
// OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, else OTEL_EXPORTER_OTLP_PROTOCOL,
// else http/protobuf; the sampler OTEL_TRACES_SAMPLER and
// OTEL_TRACES_SAMPLER_ARG, by default parentbased_always_on, as in the
// OpenTelemetry specification.
func FromEnv(getenv func(string) string) (Settings, error) {
	env := func(key string) string { return strings.TrimSpace(getenv(key)) }
	var s Settings
	if strings.EqualFold(env("OTEL_SDK_DISABLED"), "true") {
		return s, nil
	}
	switch exporter := strings.ToLower(env("OTEL_TRACES_EXPORTER")); exporter {
	case "otlp":
		s.Enabled = true
	case "none":
		return s, nil
	case "":
		s.Enabled = env("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
	default:
		return s, fmt.Errorf("%w: OTEL_TRACES_EXPORTER=%q: danmu exports traces with otlp only (or none)", ErrConfig, exporter)
	}
	if !s.Enabled {
		return s, nil
	}
	s.Protocol = strings.ToLower(env("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"))
	if s.Protocol == "" {
		s.Protocol = strings.ToLower(env("OTEL_EXPORTER_OTLP_PROTOCOL"))
	}
	switch s.Protocol {
	case "":
		s.Protocol = ProtocolHTTP
	case ProtocolHTTP, ProtocolGRPC:
	default:
		return s, fmt.Errorf("%w: OTLP protocol %q: want %s or %s", ErrConfig, s.Protocol, ProtocolHTTP, ProtocolGRPC)
	}
	var err error
	s.Sampler, err = samplerFromEnv(env("OTEL_TRACES_SAMPLER"), env("OTEL_TRACES_SAMPLER_ARG"))
	return s, err
}

// samplerFromEnv returns the sampler OTEL_TRACES_SAMPLER names, with its
// argument: a ratio between 0 and 1, 1 when empty.
func samplerFromEnv(name, arg string) (sdktrace.Sampler, error) {
	ratio := func() (float64, error) {
		if arg == "" {
			return 1, nil
		}
		v, err := strconv.ParseFloat(arg, 64)
		if err != nil || v < 0 || v > 1 {
			return 0, fmt.Errorf("%w: OTEL_TRACES_SAMPLER_ARG=%q: want a ratio from 0 to 1", ErrConfig, arg)
		}
		return v, nil
	}
	switch strings.ToLower(name) {
	case "", "parentbased_always_on":
		return sdktrace.ParentBased(sdktrace.AlwaysSample()), nil
	case "always_on":
		return sdktrace.AlwaysSample(), nil
	case "always_off":
		return sdktrace.NeverSample(), nil
	case "parentbased_always_off":
		return sdktrace.ParentBased(sdktrace.NeverSample()), nil
	case "traceidratio":
		r, err := ratio()
		return sdktrace.TraceIDRatioBased(r), err
	case "parentbased_traceidratio":
		r, err := ratio()
		return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(r)), err
	default:
		return nil, fmt.Errorf("%w: OTEL_TRACES_SAMPLER=%q: want always_on, always_off, traceidratio or their parentbased_ forms", ErrConfig, name)
	}
}
