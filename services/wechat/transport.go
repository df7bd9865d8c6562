package wechat

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/silenceper/wechat/v2/util"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// libraryHost is the host the library writes into every URL it builds.
const libraryHost = "api.weixin.qq.com"

// maxResponseBytes caps one WeChat answer. The largest we ask for (a phone
// number) is well under a KiB; a body near the cap is a broken proxy, and
// the library would otherwise read it whole into memory.
const maxResponseBytes = 1 << 20

// The library sends every request through one package-level client,
// util.DefaultHTTPClient, and offers no per-instance or per-context
// alternative. What it does do is build each request with the context the
// caller passed to its ...Context methods. So the least global arrangement
// is: install, once per process, a client whose transport looks for a
// route in the request's context. A Client attaches its own route (API
// base, timeout, connection pool) to the context of each call, so two
// Clients with different API bases - or two tests with two fake servers -
// never see each other, and a request without a route (another user of the
// library in the same process) goes where it went before.
//
// installDispatcher is that one write to the library's global. It is the
// only package-level state here and it is written once; every New then
// checks that the dispatcher is still in place (see routed).
var installDispatcher = sync.OnceFunc(func() {
	client := &http.Client{}
	if util.DefaultHTTPClient != nil {
		*client = *util.DefaultHTTPClient // keep another user's Timeout, Jar, redirects
	}
	fallback := client.Transport
	if fallback == nil {
		fallback = http.DefaultTransport
	}
	client.Transport = dispatcher{fallback: fallback}
	util.DefaultHTTPClient = client
})

// routed reports whether the library's client still carries the dispatcher.
// Someone replacing it after us would send our calls, app secret included,
// to the library's hard-coded host whatever APIBase says.
func routed() bool {
	c := util.DefaultHTTPClient
	if c == nil {
		return false
	}
	_, ok := c.Transport.(dispatcher)
	return ok
}

// dispatcher sends a request through the route its context carries.
type dispatcher struct {
	fallback http.RoundTripper
}

func (d dispatcher) RoundTrip(req *http.Request) (*http.Response, error) {
	if r, ok := req.Context().Value(routeKey{}).(*route); ok {
		return r.RoundTrip(req)
	}
	return d.fallback.RoundTrip(req)
}

type routeKey struct{}

// route is one Client's way to WeChat: where to, how long, over which pool.
type route struct {
	scheme, host, prefix string
	timeout              time.Duration
	next                 http.RoundTripper
	tracer               trace.Tracer // nil: no spans
}

func newRoute(base string, timeout time.Duration) (*route, error) {
	scheme, host, prefix, err := parseAPIBase(base)
	if err != nil {
		return nil, err
	}
	next := http.DefaultTransport.(*http.Transport).Clone()
	next.MaxIdleConnsPerHost = 32 // one host, many concurrent logins
	return &route{scheme: scheme, host: host, prefix: prefix, timeout: timeout, next: next, tracer: noop.Tracer{}}, nil
}

// attach makes the library's requests made with ctx take this route.
func (r *route) attach(ctx context.Context) context.Context {
	return context.WithValue(ctx, routeKey{}, r)
}

// RoundTrip moves a request for the library's host to the API base, keeping
// path and query, and bounds the whole exchange, body included, by the
// timeout, as http.Client.Timeout would.
//
// The exchange, up to the answer's headers, is a client span named after
// the API's path ("wechat /sns/jscode2session"), which names no one; the
// query (codes, the access token) is never recorded. No traceparent header
// is added: WeChat is not ours to join our traces.
func (r *route) RoundTrip(req *http.Request) (*http.Response, error) {
	sctx, span := r.tracer.Start(req.Context(), "wechat "+req.URL.Path, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("http.request.method", req.Method), attribute.String("url.path", req.URL.Path)))
	defer span.End()
	ctx, cancel := context.WithTimeoutCause(sctx, r.timeout,
		fmt.Errorf("wechat: no answer within %s", r.timeout))
	out := req.Clone(ctx)
	if out.URL.Host == libraryHost {
		out.URL.Scheme = r.scheme
		out.URL.Host = r.host
		if r.prefix != "" {
			out.URL.Path = r.prefix + out.URL.Path
			if out.URL.RawPath != "" {
				out.URL.RawPath = r.prefix + out.URL.RawPath
			}
		}
		out.Host = ""
	}
	resp, err := r.next.RoundTrip(out)
	if err != nil {
		span.SetStatus(codes.Error, "no answer")
		cancel()
		return nil, err
	}
	span.SetAttributes(attribute.Int("http.response.status_code", resp.StatusCode))
	if resp.StatusCode >= 400 {
		span.SetStatus(codes.Error, http.StatusText(resp.StatusCode))
	}
	resp.Body = &boundedBody{body: resp.Body, left: maxResponseBytes + 1, cancel: cancel}
	return resp, nil
}

// boundedBody ends the exchange's deadline when the library closes the body
// and fails the read that goes past maxResponseBytes.
type boundedBody struct {
	body   io.ReadCloser
	left   int64 // one more than may be read, so that reaching zero means too much
	cancel context.CancelFunc
}

var errTooLarge = errors.New("wechat: answer larger than 1 MiB")

func (b *boundedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, errTooLarge
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.body.Read(p)
	b.left -= int64(n)
	if b.left <= 0 {
		return n, errTooLarge
	}
	return n, err
}

func (b *boundedBody) Close() error {
	err := b.body.Close()
	b.cancel()
	return err
}
