// Package tracing builds handheld's OpenTelemetry tracer provider from the
// standard OTEL_* settings, and carries trace context where OpenTelemetry's
// own packages do not: into log lines (LogHandler), across the outbox (a
// stored traceparent, TraceParent and WithTraceParent) and to the core (the
// W3C traceparent header, Inject).
//
// Tracing is off by default. Off still gives every request a trace id and
// span id (nothing is recorded or exported: the sampler drops every span),
// so that log lines, the outbox and the core share one id per request
// whether or not spans are kept. Only with an exporter are the store and
// Redis instrumented (Provider.Recording): their spans would be dropped
// anyway.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Exporters, the values of OTEL_TRACES_EXPORTER handheld accepts.
const (
	ExporterNone    = "none"
	ExporterOTLP    = "otlp"    // OTLP over HTTP/protobuf, to OTEL_EXPORTER_OTLP_ENDPOINT
	ExporterConsole = "console" // one log line per finished span
)

// Config is tracing's part of the configuration, named after the standard
// variables. The OTLP exporter reads its own OTEL_EXPORTER_OTLP_* variables
// (endpoint, headers, certificate, timeout) from the environment, as the
// specification says.
type Config struct {
	Exporter    string // OTEL_TRACES_EXPORTER: none (default), otlp or console
	Sampler     string // OTEL_TRACES_SAMPLER; default parentbased_always_on
	SamplerArg  string // OTEL_TRACES_SAMPLER_ARG: the ratio for the *traceidratio samplers
	ServiceName string // OTEL_SERVICE_NAME; default "handheld"
}

// Validate names the setting that is wrong.
func (c Config) Validate() error {
	var errs []error
	switch c.Exporter {
	case "", ExporterNone, ExporterOTLP, ExporterConsole:
	default:
		errs = append(errs, fmt.Errorf("OTEL_TRACES_EXPORTER: must be none, otlp or console, not %q", c.Exporter))
	}
	if _, err := c.sampler(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// sampler is OTEL_TRACES_SAMPLER with its argument. The jaeger and xray
// samplers, which fetch their policy over the network, are refused.
func (c Config) sampler() (sdktrace.Sampler, error) {
	ratio := func() (float64, error) {
		if c.SamplerArg == "" {
			return 1, nil
		}
		r, err := strconv.ParseFloat(c.SamplerArg, 64)
		if err != nil || r < 0 || r > 1 {
			return 0, fmt.Errorf("OTEL_TRACES_SAMPLER_ARG: must be a ratio from 0 to 1, not %q", c.SamplerArg)
		}
		return r, nil
	}
	switch c.Sampler {
	case "always_on":
		return sdktrace.AlwaysSample(), nil
	case "always_off":
		return sdktrace.NeverSample(), nil
	case "traceidratio":
		r, err := ratio()
		return sdktrace.TraceIDRatioBased(r), err
	case "", "parentbased_always_on":
		return sdktrace.ParentBased(sdktrace.AlwaysSample()), nil
	case "parentbased_always_off":
		return sdktrace.ParentBased(sdktrace.NeverSample()), nil
	case "parentbased_traceidratio":
		r, err := ratio()
		return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(r)), err
	}
	return nil, fmt.Errorf("OTEL_TRACES_SAMPLER: must be always_on, always_off, traceidratio or parentbased_ of one of them, not %q", c.Sampler)
}

// Provider is the process's tracer provider and how to flush it.
type Provider struct {
	trace.TracerProvider
	// Recording is true when spans are kept (an exporter is configured or a
	// provider was injected): only then are the store and Redis
	// instrumented.
	Recording bool
	shutdown  func(context.Context) error
}

// Shutdown flushes the spans not exported yet and stops the exporter.
func (p *Provider) Shutdown(ctx context.Context) error {
	if p.shutdown == nil {
		return nil
	}
	return p.shutdown(ctx)
}

// Open builds the provider cfg describes; log receives the console
// exporter's lines. With no exporter it is the id-only provider (see the
// package comment).
func Open(ctx context.Context, cfg Config, log *slog.Logger) (*Provider, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Exporter == "" || cfg.Exporter == ExporterNone {
		return &Provider{TracerProvider: sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()))}, nil
	}
	sampler, _ := cfg.sampler()
	var exp sdktrace.SpanExporter
	switch cfg.Exporter {
	case ExporterOTLP:
		var err error
		if exp, err = otlptracehttp.New(ctx); err != nil {
			return nil, fmt.Errorf("OTEL_TRACES_EXPORTER=otlp: %w", err)
		}
	case ExporterConsole:
		exp = consoleExporter{log: log}
	}
	name := cfg.ServiceName
	if name == "" {
		name = "handheld"
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithSampler(sampler),
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", name))),
	)
	return &Provider{TracerProvider: tp, Recording: true, shutdown: tp.Shutdown}, nil
}

// Injected wraps a provider made by the caller (tests record spans with
// one): it records, and its owner shuts it down.
func Injected(tp trace.TracerProvider) *Provider {
	return &Provider{TracerProvider: tp, Recording: true}
}

// consoleExporter writes each finished span as one log line, for the
// embedded profile and for looking at traces without a collector.
type consoleExporter struct{ log *slog.Logger }

func (e consoleExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	for _, s := range spans {
		attrs := []slog.Attr{
			slog.String("name", s.Name()),
			slog.String("trace_id", s.SpanContext().TraceID().String()),
			slog.String("span_id", s.SpanContext().SpanID().String()),
			slog.Duration("duration", s.EndTime().Sub(s.StartTime())),
		}
		if p := s.Parent(); p.IsValid() {
			attrs = append(attrs, slog.String("parent_id", p.SpanID().String()))
		}
		if st := s.Status(); st.Code != 0 {
			attrs = append(attrs, slog.String("status", st.Code.String()))
		}
		var kv []any
		for _, a := range s.Attributes() {
			kv = append(kv, slog.String(string(a.Key), a.Value.Emit()))
		}
		if len(kv) > 0 {
			attrs = append(attrs, slog.Group("attributes", kv...))
		}
		e.log.LogAttrs(ctx, slog.LevelInfo, "span", attrs...)
	}
	return nil
}

func (consoleExporter) Shutdown(context.Context) error { return nil }

// traceContext is the W3C format: traceparent (and tracestate, which
// handheld never sets but passes on).
var traceContext = propagation.TraceContext{}

// Inject puts ctx's span context on an outgoing request as a W3C
// traceparent header. Only for receivers that are ours or the centre's
// (the core): third parties (WeChat) get no header.
func Inject(ctx context.Context, h http.Header) {
	traceContext.Inject(ctx, propagation.HeaderCarrier(h))
}

// Extract reads a W3C traceparent from incoming headers; the span context
// is invalid when there is none or it is malformed.
func Extract(h http.Header) trace.SpanContext {
	return trace.SpanContextFromContext(traceContext.Extract(context.Background(), propagation.HeaderCarrier(h)))
}

// TraceParent is ctx's span context as a traceparent value to store with
// work done later (the outbox), or "" when ctx carries none.
func TraceParent(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return ""
	}
	var b strings.Builder
	b.Grow(55)
	b.WriteString("00-")
	b.WriteString(sc.TraceID().String())
	b.WriteByte('-')
	b.WriteString(sc.SpanID().String())
	if sc.IsSampled() {
		b.WriteString("-01")
	} else {
		b.WriteString("-00")
	}
	return b.String()
}

// WithTraceParent returns ctx with the stored traceparent as its remote
// parent, so that the span started next joins the trace that stored it. A
// malformed or empty value leaves ctx as it is: the work gets a trace of
// its own.
func WithTraceParent(ctx context.Context, traceParent string) context.Context {
	if traceParent == "" {
		return ctx
	}
	sc := Extract(http.Header{"Traceparent": {traceParent}})
	if !sc.IsValid() {
		return ctx
	}
	return trace.ContextWithRemoteSpanContext(ctx, sc)
}

// flushTimeout bounds Shutdown's wait for the exporter at exit.
const flushTimeout = 5 * time.Second

// Close flushes p within a few seconds, for the app's closers.
func (p *Provider) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), flushTimeout)
	defer cancel()
	return p.Shutdown(ctx)
}
