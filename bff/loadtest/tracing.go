package loadtest

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"handheld/bff"
)

// otlpSink is a local OTLP/HTTP receiver that accepts and discards what it
// is sent, counting the export requests: the exporter does all its work
// (protobuf, HTTP) without a collector's cost in the figure.
func otlpSink() (url string, exports *atomic.Int64, stop func(), err error) {
	exports = &atomic.Int64{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, nil, err
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		exports.Add(1)
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(http.StatusOK) // an empty ExportTraceServiceResponse
	})}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String() + "/v1/traces", exports, func() { _ = srv.Close() }, nil
}

// benchTracing: GET /me/account with tracing off (the default: ids for the
// logs and the core, nothing recorded) against the same with spans sampled
// at 10 % (parentbased_traceidratio 0.1, as production is advised) and
// exported over OTLP/HTTP to a local sink, alternating off and on twice in
// one run so that a busy machine's drift falls on both.
func benchTracing(ctx context.Context, o Options, w io.Writer) error {
	sink, exports, stopSink, err := otlpSink()
	if err != nil {
		return err
	}
	defer stopSink()
	measure := func(label string, tp *sdktrace.TracerProvider) (result, error) {
		s, err := startStack(ctx, o, func(c *bff.Config) {
			if tp != nil {
				c.TracerProvider = tp
			}
		})
		if err != nil {
			return result{}, err
		}
		defer s.stop()
		auth, err := s.signIn()
		if err != nil {
			return result{}, err
		}
		return load(ctx, label, s.base+"/api/v1/me/account", auth, o.Concurrency, o.Duration)
	}
	var (
		results []result
		ratios  []float64
	)
	for range 2 {
		off, err := measure("GET /me/account, tracing off", nil)
		if err != nil {
			return err
		}
		exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(sink))
		if err != nil {
			return err
		}
		tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp),
			sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0.1))))
		on, err := measure("GET /me/account, tracing on at 10 %, OTLP/HTTP", tp)
		if serr := tp.Shutdown(ctx); err == nil {
			err = serr
		}
		if err != nil {
			return err
		}
		results = append(results, off, on)
		ratios = append(ratios, on.rps/off.rps)
	}
	table(w, results...)
	slices.Sort(ratios)
	fmt.Fprintf(w, "\ntracing on / off, per pair: %.2f and %.2f (target ≥ 0.90); %d OTLP exports received\n",
		ratios[0], ratios[1], exports.Load())
	if exports.Load() == 0 {
		return fmt.Errorf("no spans reached the OTLP sink: tracing was not on")
	}
	return nil
}
