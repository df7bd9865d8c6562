package wechat

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"handheld/services"
	"handheld/services/kv"
	"handheld/services/suite"
)

func TestRedact(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{
			name: "library GET error with secret and js_code",
			in:   "http get error : uri=https://api.weixin.qq.com/sns/jscode2session?appid=wx123&secret=S3CR3Tvalue&js_code=0a3Bcode&grant_type=authorization_code , statusCode=502",
			want: "http get error : uri=https://api.weixin.qq.com/sns/jscode2session?appid=wx123&secret=[REDACTED]&js_code=[REDACTED]&grant_type=authorization_code , statusCode=502",
		},
		{
			name: "url.Error quoting a URL with the access token",
			in:   `Post "https://api.weixin.qq.com/wxa/business/getuserphonenumber?access_token=81_TOKEN-abc": context deadline exceeded`,
			want: `Post "https://api.weixin.qq.com/wxa/business/getuserphonenumber?access_token=[REDACTED]": context deadline exceeded`,
		},
		{
			name: "stable token request body",
			in:   `{"appid":"wx123","force_refresh":false,"grant_type":"client_credential","secret":"S3CR3T"}`,
			want: `{"appid":"wx123","force_refresh":false,"grant_type":"client_credential","secret":"[REDACTED]"}`,
		},
		{
			name: "appsecret and app_secret spellings, any case",
			in:   `appsecret=abc AppSecret: "def" app_secret=ghi`,
			want: `appsecret=[REDACTED] AppSecret: "[REDACTED]" app_secret=[REDACTED]`,
		},
		{
			name: "token and session key in JSON",
			in:   `{"access_token":"tok.en","expires_in":7200,"session_key":"a+b/c=="}`,
			want: `{"access_token":"[REDACTED]","expires_in":7200,"session_key":"[REDACTED]"}`,
		},
		{
			name: "Go map formatting",
			in:   `map[appid:wx1 secret:xyz]`,
			want: `map[appid:wx1 secret:[REDACTED]]`,
		},
		{
			name: "WeChat's own texts stay readable",
			in:   "invalid appsecret, rid: 6561f2c1-0b2a; invalid code",
			want: "invalid appsecret, rid: 6561f2c1-0b2a; invalid code",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := redact(tt.in); got != tt.want {
				t.Errorf("redact(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestCodeFor(t *testing.T) {
	tests := []struct {
		errcode int64
		want    services.Code
	}{
		{40029, services.CodeWeChatInvalidCode},
		{40163, services.CodeWeChatInvalidCode},
		{45011, services.CodeWeChatRateLimited},
		{-1, services.CodeWeChatUnavailable},
		{40001, services.CodeWeChatUnavailable},
		{40125, services.CodeWeChatUnavailable},
		{43101, services.CodeWeChatUnavailable},
	}
	for _, tt := range tests {
		if got := codeFor(tt.errcode); got != tt.want {
			t.Errorf("codeFor(%d) = %s, want %s", tt.errcode, got, tt.want)
		}
	}
}

func TestCodeLike(t *testing.T) {
	good := []string{"0a3Bc-_9", strings.Repeat("z", 128), "a"}
	bad := []string{"", strings.Repeat("z", 129), "a b", "a&secret=1", "a%26", "sandbox:abc", "码", "a\n"}
	for _, s := range good {
		if !codeLike(s, 1, 128) {
			t.Errorf("codeLike(%q) = false", s)
		}
	}
	for _, s := range bad {
		if codeLike(s, 1, 128) {
			t.Errorf("codeLike(%q) = true", s)
		}
	}
}

// recorder is a RoundTripper that keeps the request it was given.
type recorder struct{ got *http.Request }

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.got = req
	return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("{}")), Request: req}, nil
}

func TestRouteRewritesOnlyTheLibraryHost(t *testing.T) {
	rt, err := newRoute("http://127.0.0.1:8089/wx/", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	rt.next = rec
	ctx := rt.attach(context.Background())

	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://api.weixin.qq.com/sns/jscode2session?appid=wx1&js_code=abc", nil)
	resp, err := dispatcher{fallback: &recorder{}}.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, want := rec.got.URL.String(), "http://127.0.0.1:8089/wx/sns/jscode2session?appid=wx1&js_code=abc"; got != want {
		t.Errorf("rewritten URL %s, want %s", got, want)
	}
	if rec.got.Host != "" {
		t.Errorf("Host header %q kept; want it to follow the new URL", rec.got.Host)
	}
	if _, ok := rec.got.Context().Deadline(); !ok {
		t.Error("routed request has no deadline")
	}
	if req.URL.Host != libraryHost {
		t.Error("the caller's request was modified")
	}

	other, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://example.org/x", nil)
	if _, err := rt.RoundTrip(other); err != nil {
		t.Fatal(err)
	}
	if rec.got.URL.String() != "https://example.org/x" {
		t.Errorf("other host rewritten to %s", rec.got.URL)
	}
}

func TestDispatcherLeavesUnroutedRequestsAlone(t *testing.T) {
	fallback := &recorder{}
	req, _ := http.NewRequest(http.MethodGet, "https://api.weixin.qq.com/cgi-bin/token", nil)
	if _, err := (dispatcher{fallback: fallback}).RoundTrip(req); err != nil {
		t.Fatal(err)
	}
	if fallback.got == nil || fallback.got.URL.Host != libraryHost {
		t.Fatalf("unrouted request did not reach the fallback unchanged: %v", fallback.got)
	}
}

func TestBoundedBody(t *testing.T) {
	b := &boundedBody{body: io.NopCloser(strings.NewReader(strings.Repeat("x", maxResponseBytes))), left: maxResponseBytes + 1, cancel: func() {}}
	if n, err := io.Copy(io.Discard, b); err != nil || n != maxResponseBytes {
		t.Fatalf("body of exactly the cap: read %d, %v", n, err)
	}
	b = &boundedBody{body: io.NopCloser(strings.NewReader(strings.Repeat("x", maxResponseBytes+10))), left: maxResponseBytes + 1, cancel: func() {}}
	if _, err := io.Copy(io.Discard, b); err != errTooLarge {
		t.Fatalf("body over the cap: err %v, want errTooLarge", err)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no credentials outside sandbox", Config{}, "AppID and AppSecret"},
		{"secret that would break the URL", Config{AppID: "wx1", AppSecret: "a&b"}, "AppSecret"},
		{"app id that would break the URL", Config{AppID: "wx 1", AppSecret: "s"}, "AppID"},
		{"relative API base", Config{AppID: "wx1", AppSecret: "s", APIBase: "api.example"}, "APIBase"},
		{"API base with query", Config{AppID: "wx1", AppSecret: "s", APIBase: "https://a.example/?x=1"}, "APIBase"},
		{"negative timeout", Config{AppID: "wx1", AppSecret: "s", Timeout: -time.Second}, "Timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg, kv.NewMemory(time.Now, services.NewHashKey([]byte("internal-test-secret-0123456789ab"), suite.Env())))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New: %v, want an error naming %s", err, tt.want)
			}
		})
	}
	if _, err := New(Config{AppID: "wx1", AppSecret: "s"}, nil); err == nil {
		t.Error("New without a kv store succeeded")
	}
}

// TestRouteSpansWithoutTraceParent: an exchange with WeChat is a span named
// after the API path, but WeChat, a third party, gets no traceparent, and
// the query (codes, tokens) is in no attribute.
func TestRouteSpansWithoutTraceParent(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	rt, err := newRoute("http://127.0.0.1:8089/", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	rt.tracer = tp.Tracer("test")
	next := &recorder{}
	rt.next = next
	ctx, parent := tp.Tracer("test").Start(context.Background(), "request")
	req, _ := http.NewRequestWithContext(rt.attach(ctx), http.MethodGet, "https://api.weixin.qq.com/sns/jscode2session?js_code=abc", nil)
	resp, err := dispatcher{fallback: &recorder{}}.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	parent.End()
	if h := next.got.Header.Get("traceparent"); h != "" {
		t.Errorf("WeChat was sent traceparent %q", h)
	}
	spans := rec.Ended()
	if len(spans) != 2 || spans[0].Name() != "wechat /sns/jscode2session" || spans[0].Parent().SpanID() != parent.SpanContext().SpanID() {
		t.Fatalf("spans %v, want wechat /sns/jscode2session under the request", spans)
	}
	for _, a := range spans[0].Attributes() {
		if strings.Contains(a.Value.Emit(), "abc") {
			t.Errorf("attribute %s holds the query", a.Key)
		}
	}
}
