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
	breaker  *prometheus.GaugeVec
	stale    *prometheus.CounterVec
	cache    *prometheus.CounterVec
	outbox   *prometheus.CounterVec
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
		breaker: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "handheld_core_breaker_open",
			Help: "Core circuit breaker state by endpoint group: 0 closed, 0.5 half-open, 1 open.",
		}, []string{"group"}),
		stale: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "handheld_core_stale_reads_total",
			Help: "Reads answered from the last known value because the core could not be reached.",
		}, []string{"group"}),
		cache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "handheld_core_cache_reads_total",
			Help: "Core reads by endpoint group and whether the short cache answered.",
		}, []string{"group", "hit"}),
		outbox: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "handheld_outbox_deliveries_total",
			Help: "Outbox deliveries by topic and outcome (delivered, retry, again, dead).",
		}, []string{"topic", "outcome"}),
	}
	m.registry.MustRegister(m.requests, m.latency, m.core, m.fallback, m.breaker, m.stale, m.cache, m.outbox,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// watchCore exports the core's reachability as handheld_core_up.
func (m *metrics) watchCore(up func() float64) {
	m.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "handheld_core_up",
		Help: "1 while the core answered its last health check (at most coreCheckEvery old), 0 while it did not or before the first.",
	}, up))
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

// breakerChange is the core reader's OnBreakerChange hook.
func (m *metrics) breakerChange(group, _, to string) {
	v := map[string]float64{"closed": 0, "half-open": 0.5, "open": 1}[to]
	m.breaker.WithLabelValues(group).Set(v)
}

// staleRead is the core reader's OnStale hook.
func (m *metrics) staleRead(group string) { m.stale.WithLabelValues(group).Inc() }

// outboxDelivery is the outbox worker's Observe hook.
func (m *metrics) outboxDelivery(topic, outcome string) {
	m.outbox.WithLabelValues(topic, outcome).Inc()
}

// cacheRead is the core reader's OnCache hook.
func (m *metrics) cacheRead(group string, hit bool) {
	m.cache.WithLabelValues(group, strconv.FormatBool(hit)).Inc()
}
