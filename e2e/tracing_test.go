package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"handheld/bff"
)

// recorded starts handheld with every span kept in memory.
func recorded(t *testing.T, opts ...option) (*env, *tracetest.SpanRecorder) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()), sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(t.Context()) })
	e := start(t, append(opts, func(c *bff.Config) { c.TracerProvider = tp })...)
	return e, rec
}

// inTrace is the ended spans of one trace.
func inTrace(rec *tracetest.SpanRecorder, id trace.TraceID) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if s.SpanContext().TraceID() == id {
			out = append(out, s)
		}
	}
	return out
}

func attr(s sdktrace.ReadOnlySpan, key string) string {
	for _, a := range s.Attributes() {
		if string(a.Key) == key {
			return a.Value.Emit()
		}
	}
	return ""
}

// TestWithdrawalIsOneTrace: POST /me/withdrawals, its store and Redis calls,
// the outbox delivery that runs after the answer and the core call it makes
// are one tree in one trace; no span names a person.
func TestWithdrawalIsOneTrace(t *testing.T) {
	e, rec := recorded(t, fastWithdrawals)
	lina := e.persona("depositor", "李娜")
	tok := e.bindWeChat("o-lina-traced", lina).AccessToken
	r := e.apply(tok, "lina-traced-1", rent(150_000, payoutTo(t, lina, "bank_card")))
	if r.StatusCode != 202 {
		t.Fatalf("apply %d %s", r.StatusCode, r.body)
	}
	var acc accepted
	r.json(t, &acc)

	var request sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if s.Name() == "POST /api/v1/me/withdrawals" && attr(s, "http.response.status_code") == "202" {
			request = s
		}
	}
	if request == nil {
		t.Fatal("no server span POST /api/v1/me/withdrawals with status 202")
	}
	id := request.SpanContext().TraceID()
	if request.Parent().IsValid() {
		t.Fatalf("the request span has a parent %s, want a root", request.Parent().SpanID())
	}
	// The delivery and its core call come after the answer, and so does
	// the "application received" notification (written to the inbox).
	var delivery, submit, notified sdktrace.ReadOnlySpan
	waitFor(t, func() bool {
		delivery, submit, notified = nil, nil, nil
		for _, s := range inTrace(rec, id) {
			switch {
			case s.Name() == "outbox deliver withdrawal.submit" && attr(s, "messaging.message.id") == "withdrawal.submit:"+acc.ID:
				delivery = s
			case s.Name() == "core withdrawal_submit":
				submit = s
			case s.Name() == "outbox deliver notify.wechat" && attr(s, "messaging.message.id") == "notify.wechat:"+acc.ID+":accepted":
				notified = s
			}
		}
		return delivery != nil && submit != nil && notified != nil
	})

	spans := inTrace(rec, id)
	byID := map[trace.SpanID]sdktrace.ReadOnlySpan{}
	for _, s := range spans {
		byID[s.SpanContext().SpanID()] = s
	}
	kinds := map[string]int{}
	for _, s := range spans {
		if s != request {
			if _, ok := byID[s.Parent().SpanID()]; !ok {
				t.Errorf("span %q has parent %s, not a span of the trace", s.Name(), s.Parent().SpanID())
			}
		}
		switch {
		case attr(s, "db.system.name") == "postgresql":
			kinds["store"]++
		case attr(s, "db.system") == "redis" || attr(s, "db.system.name") == "redis":
			kinds["redis"]++
		case strings.HasPrefix(s.Name(), "core "):
			kinds["core"]++
		}
	}
	for _, k := range []string{"store", "redis", "core"} {
		if kinds[k] == 0 {
			t.Errorf("no %s span in the withdrawal's trace (%d spans)", k, len(spans))
		}
	}
	if delivery.Parent().SpanID() != request.SpanContext().SpanID() && !descends(byID, delivery, request) {
		t.Errorf("the delivery's parent %s does not lead to the request span", delivery.Parent().SpanID())
	}
	if submit.Parent().SpanID() != delivery.SpanContext().SpanID() {
		t.Errorf("the core call's parent is %q, want the delivery", byID[submit.Parent().SpanID()].Name())
	}

	// No span names the person.
	secrets := append(e.personalData(), "o-lina-traced")
	for _, s := range rec.Ended() {
		for _, a := range s.Attributes() {
			for _, secret := range secrets {
				if strings.Contains(a.Value.Emit(), secret) {
					t.Errorf("span %q attribute %s holds personal data", s.Name(), a.Key)
				}
			}
		}
	}
}

// descends reports whether s has anc among its ancestors in byID.
func descends(byID map[trace.SpanID]sdktrace.ReadOnlySpan, s, anc sdktrace.ReadOnlySpan) bool {
	for p, ok := byID[s.Parent().SpanID()]; ok; p, ok = byID[p.Parent().SpanID()] {
		if p == anc {
			return true
		}
	}
	return false
}

// TestRequestLogLinesCarryRequestAndTrace: with tracing off (the default),
// every log line written for a request names the request and its trace,
// and the lines of one request share one trace id.
func TestRequestLogLinesCarryRequestAndTrace(t *testing.T) {
	e := start(t)
	lina := e.persona("depositor", "李娜")
	tok := e.bindWeChat("o-lina-logs", lina).AccessToken
	const reqID = "e2e-logs-request-0001"
	h := bearer(tok)
	h.Set("X-Request-ID", reqID)
	if r := e.do("GET", "/api/v1/me/account", nil, h); r.StatusCode != 200 {
		t.Fatalf("account %d %s", r.StatusCode, r.body)
	}
	bad := http.Header{"X-Request-ID": {"e2e-logs-request-0002"}}
	if r := e.bad().do("GET", "/api/v1/me/account", nil, bad); r.StatusCode != 401 {
		t.Fatalf("account without a token %d", r.StatusCode)
	}

	traces := map[string]map[string]bool{} // request id → trace ids
	requests := 0
	for _, line := range strings.Split(e.logs.String(), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		rid, _ := m["request_id"].(string)
		tid, _ := m["trace_id"].(string)
		if m["msg"] == "request" {
			requests++
			if rid == "" || len(tid) != 32 {
				t.Errorf("access line without request_id or trace_id: %s", line)
			}
		}
		if rid != "" {
			if len(tid) != 32 {
				t.Errorf("line names request %s but no trace: %s", rid, line)
			}
			if traces[rid] == nil {
				traces[rid] = map[string]bool{}
			}
			traces[rid][tid] = true
		}
	}
	if requests == 0 {
		t.Fatal("no access log lines")
	}
	for _, rid := range []string{reqID, "e2e-logs-request-0002"} {
		if len(traces[rid]) != 1 {
			t.Errorf("request %s: trace ids %v in its lines, want exactly one", rid, traces[rid])
		}
	}
}
