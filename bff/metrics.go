package bff

import (
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"handheld/services/cases"
	"handheld/services/report"
	"handheld/services/wechat"
)

// metrics are the Prometheus collectors of one App, on its own registry (no
// global state, so tests can run several apps in one process). Labels are
// route templates, endpoint groups, topics and result classes, never values
// from a request. Every name is documented in docs/operations.md, and a
// test holds the two together. What is read from a dependency at scrape
// time (breakers, pools, the outbox backlog) is in metrics_scrape.go.
type metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	core     *prometheus.HistogramVec
	sharing  *prometheus.HistogramVec
	platform *prometheus.HistogramVec
	retries  *prometheus.CounterVec
	fallback *prometheus.CounterVec
	stale    *prometheus.CounterVec
	cache    *prometheus.CounterVec
	outbox   *prometheus.CounterVec
	wechat   *prometheus.CounterVec
	ratings  *prometheus.CounterVec
	reports  *prometheus.CounterVec
}

func newMetrics(version string) *metrics {
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
		sharing: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "handheld_sharing_call_duration_seconds",
			Help:    "Data-sharing exchange questions by source (endpoint) and outcome.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"endpoint", "outcome"}),
		platform: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "handheld_platform_call_duration_seconds",
			Help:    "National HPF platform calls by operation (endpoint) and outcome.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"endpoint", "outcome"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "handheld_core_retries_total",
			Help: "Core reads attempted again after a transient failure, by endpoint group.",
		}, []string{"group"}),
		fallback: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "handheld_ratelimit_fallback_total",
			Help: "Rate-limit decisions taken in process because Redis failed, by policy.",
		}, []string{"policy"}),
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
			Help: "Outbox deliveries by topic and outcome (delivered, retry, again, dead, lease_lost).",
		}, []string{"topic", "outcome"}),
		wechat: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "handheld_wechat_calls_total",
			Help: "Calls to WeChat by API and result (ok, transport, or the class of WeChat's errcode).",
		}, []string{"api", "result"}),
		ratings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "handheld_case_ratings_total",
			Help: "Case ratings recorded by this replica, by level (1 very dissatisfied to 5 very satisfied).",
		}, []string{"level"}),
		reports: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "handheld_daily_reports_total",
			Help: "Daily reports to the national platform queued by this replica, by outcome (first, correction, again).",
		}, []string{"outcome"}),
	}
	for _, api := range wechat.APIs() {
		for _, result := range wechat.Results() {
			m.wechat.WithLabelValues(api, result)
		}
	}
	for level := cases.LevelVeryDissatisfied; level <= cases.LevelVerySatisfied; level++ {
		m.ratings.WithLabelValues(strconv.Itoa(level))
	}
	for _, how := range []string{report.SentFirst, report.SentCorrection, report.SentAgain} {
		m.reports.WithLabelValues(how)
	}
	m.registry.MustRegister(m.requests, m.latency, m.core, m.sharing, m.platform, m.retries, m.fallback, m.stale, m.cache, m.outbox,
		m.wechat, m.ratings, m.reports, buildInfo(version),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// buildInfo is handheld_build_info: always 1, its labels say what runs.
// version is main's -ldflags value (Config.Version); the revision is the
// VCS commit Go stamped into the binary, when it did.
func buildInfo(version string) prometheus.Collector {
	revision := "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && s.Value != "" {
				revision = s.Value
			}
		}
	}
	if version == "" {
		version = "unknown"
	}
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "handheld_build_info",
		Help:        "Always 1; the labels name the running build.",
		ConstLabels: prometheus.Labels{"version": version, "go_version": runtime.Version(), "revision": revision},
	})
	g.Set(1)
	return g
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

// observePlatform is the national platform client's Observe hook.
func (m *metrics) observePlatform(operation, outcome string, d time.Duration) {
	m.platform.WithLabelValues(operation, outcome).Observe(d.Seconds())
}

// observeSharing is the data-sharing client's Observe hook.
func (m *metrics) observeSharing(source, outcome string, d time.Duration) {
	m.sharing.WithLabelValues(source, outcome).Observe(d.Seconds())
}

// coreRetry is the core reader's OnRetry hook.
func (m *metrics) coreRetry(group string) { m.retries.WithLabelValues(group).Inc() }

// rateLimitFallback is the limiter's OnFallback hook.
func (m *metrics) rateLimitFallback(policy string) {
	m.fallback.WithLabelValues(policy).Inc()
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

// wechatCall is the WeChat client's Observe hook.
func (m *metrics) wechatCall(api, result string) { m.wechat.WithLabelValues(api, result).Inc() }

// rated is the cases service's OnRated hook.
func (m *metrics) rated(level int) { m.ratings.WithLabelValues(strconv.Itoa(level)).Inc() }

// dailyReport is the daily report's OnSent hook.
func (m *metrics) dailyReport(how string) { m.reports.WithLabelValues(how).Inc() }

// groupOf is a breaker's endpoint group: "core.account" is "account".
func groupOf(breaker string) string { return strings.TrimPrefix(breaker, "core.") }
