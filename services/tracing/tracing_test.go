package tracing

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"handheld/services"
)

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string // in the error; "" for none
	}{
		{Config{}, ""},
		{Config{Exporter: "otlp", Sampler: "parentbased_traceidratio", SamplerArg: "0.1"}, ""},
		{Config{Exporter: "console", Sampler: "always_on"}, ""},
		{Config{Exporter: "none", Sampler: "traceidratio"}, ""},
		{Config{Exporter: "jaeger"}, "OTEL_TRACES_EXPORTER"},
		{Config{Sampler: "jaeger_remote"}, "OTEL_TRACES_SAMPLER"},
		{Config{Sampler: "traceidratio", SamplerArg: "10%"}, "OTEL_TRACES_SAMPLER_ARG"},
		{Config{Sampler: "parentbased_traceidratio", SamplerArg: "1.5"}, "OTEL_TRACES_SAMPLER_ARG"},
	} {
		err := tc.cfg.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: %v, want valid", tc.cfg, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%+v: %v, want an error naming %s", tc.cfg, err, tc.want)
		}
	}
}

// TestOffStillGivesIDs: with tracing off spans record nothing but carry
// ids, which the logs, the outbox and the core use.
func TestOffStillGivesIDs(t *testing.T) {
	p, err := Open(t.Context(), Config{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if p.Recording {
		t.Fatal("Recording with no exporter")
	}
	ctx, span := p.Tracer("t").Start(t.Context(), "x")
	defer span.End()
	if span.IsRecording() || !span.SpanContext().IsValid() {
		t.Fatalf("off: recording %v, valid ids %v; want not recording, valid", span.IsRecording(), span.SpanContext().IsValid())
	}
	if TraceParent(ctx) == "" {
		t.Fatal("no traceparent with tracing off")
	}
}

func TestTraceParentRoundTrip(t *testing.T) {
	tp := sdktrace.NewTracerProvider()
	ctx, span := tp.Tracer("t").Start(context.Background(), "enqueue")
	span.End()
	stored := TraceParent(ctx)
	if len(stored) != 55 || !strings.HasSuffix(stored, "-01") {
		t.Fatalf("TraceParent = %q, want a sampled 55-character traceparent", stored)
	}
	later := trace.SpanContextFromContext(WithTraceParent(context.Background(), stored))
	if later.TraceID() != span.SpanContext().TraceID() || later.SpanID() != span.SpanContext().SpanID() || !later.IsRemote() {
		t.Fatalf("restored %v, want the remote span context of %v", later, span.SpanContext())
	}
	for _, bad := range []string{"", "garbage", "00-00000000000000000000000000000000-00f067aa0ba902b7-01"} {
		if sc := trace.SpanContextFromContext(WithTraceParent(context.Background(), bad)); sc.IsValid() {
			t.Errorf("WithTraceParent(%q) gave a parent %v", bad, sc)
		}
	}
	h := http.Header{}
	Inject(ctx, h)
	if h.Get("traceparent") != stored {
		t.Fatalf("Inject set traceparent %q, want %q", h.Get("traceparent"), stored)
	}
}

// TestLogHandlerAddsRequestAndTrace: a line logged with a request's context
// names the request and the trace, once each; a line without one is as it
// was.
func TestLogHandlerAddsRequestAndTrace(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(LogHandler(slog.NewJSONHandler(&buf, nil)))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()))
	ctx, span := tp.Tracer("t").Start(services.WithRequestID(context.Background(), "req-12345678"), "x")
	defer span.End()

	log.InfoContext(ctx, "one")
	log.InfoContext(ctx, "two", "request_id", "req-12345678")
	log.With("component", "c").InfoContext(ctx, "three")
	log.Info("four")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d lines, want 4:\n%s", len(lines), buf.String())
	}
	for i, line := range lines[:3] {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		if m["request_id"] != "req-12345678" || m["trace_id"] != span.SpanContext().TraceID().String() {
			t.Errorf("line %d: %s, want request_id and trace_id", i+1, line)
		}
		if strings.Count(line, `"request_id"`) != 1 {
			t.Errorf("line %d names request_id more than once: %s", i+1, line)
		}
	}
	if strings.Contains(lines[3], "request_id") || strings.Contains(lines[3], "trace_id") {
		t.Errorf("a line without context got ids: %s", lines[3])
	}
}

// TestConsoleExporterLogsSpans: the console exporter writes one line per
// span with its ids.
func TestConsoleExporterLogsSpans(t *testing.T) {
	var buf bytes.Buffer
	p, err := Open(t.Context(), Config{Exporter: ExporterConsole, Sampler: "always_on"}, slog.New(slog.NewJSONHandler(&buf, nil)))
	if err != nil {
		t.Fatal(err)
	}
	_, span := p.Tracer("t").Start(t.Context(), "GET /x")
	span.End()
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatalf("%v: %s", err, buf.String())
	}
	if m["msg"] != "span" || m["name"] != "GET /x" || m["trace_id"] != span.SpanContext().TraceID().String() {
		t.Fatalf("console line %v", m)
	}
}
