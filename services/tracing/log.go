package tracing

import (
	"context"
	"log/slog"

	"go.opentelemetry.io/otel/trace"

	"handheld/services"
)

// LogHandler adds request_id and trace_id, read from the context, to every
// record logged with one (InfoContext, LogAttrs and the like), so that each
// line written for a request names it and its trace. A record that already
// carries either keeps its own. Records logged without a context, or with
// one that carries neither, pass unchanged.
func LogHandler(next slog.Handler) slog.Handler { return logHandler{next: next} }

type logHandler struct{ next slog.Handler }

func (h logHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h logHandler) Handle(ctx context.Context, r slog.Record) error {
	if ctx == nil {
		return h.next.Handle(ctx, r)
	}
	id := services.RequestID(ctx)
	sc := trace.SpanContextFromContext(ctx)
	if id == "" && !sc.IsValid() {
		return h.next.Handle(ctx, r)
	}
	hasID, hasTrace := false, false
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "request_id":
			hasID = true
		case "trace_id":
			hasTrace = true
		}
		return true
	})
	r = r.Clone()
	if id != "" && !hasID {
		r.AddAttrs(slog.String("request_id", id))
	}
	if sc.IsValid() && !hasTrace {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()))
	}
	return h.next.Handle(ctx, r)
}

func (h logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return logHandler{next: h.next.WithAttrs(attrs)}
}

func (h logHandler) WithGroup(name string) slog.Handler {
	return logHandler{next: h.next.WithGroup(name)}
}
