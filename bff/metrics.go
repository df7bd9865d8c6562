package bff

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the Prometheus collectors of one App, on its own registry (no
// global state, so tests can run several apps in one process). Labels are
// route templates and endpoint names, never values from a request.
type metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	core     *prometheus.HistogramVec
	fallback *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "handheld_http_requests_total",
			Help: "HTTP requests by route template, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "handheld_http_request_duration_seconds",
			Help:    "HTTP request latency by route template and method.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "method"}),
		core: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "handheld_core_call_duration_seconds",
			Help:    "Core API call latency by endpoint and outcome.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"endpoint", "outcome"}),
		fallback: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "handheld_ratelimit_fallback_total",
			Help: "Rate-limit decisions taken in process because Redis failed, by policy.",
		}, []string{"policy"}),
	}
	m.registry.MustRegister(m.requests, m.latency, m.core, m.fallback,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// ObserveRequest implements middleware.RequestObserver.
func (m *metrics) ObserveRequest(route, method string, status int, d time.Duration) {
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route, method).Observe(d.Seconds())
}

// observeCore is the core client's Observe hook.
func (m *metrics) observeCore(endpoint, outcome string, d time.Duration) {
	m.core.WithLabelValues(endpoint, outcome).Observe(d.Seconds())
}

// rateLimitFallback is the limiter's OnFallback hook.
func (m *metrics) rateLimitFallback(policy string) {
	m.fallback.WithLabelValues(policy).Inc()
}
