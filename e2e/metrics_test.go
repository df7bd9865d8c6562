package e2e

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"handheld/bff"
)

// sample is the value of one series in a /metrics body (name with its
// labels, as exposed), and whether it is there.
func sample(body, series string) (float64, bool) {
	for _, l := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(l, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			return f, err == nil
		}
	}
	return 0, false
}

// After a person signs in through WeChat, reads their account and applies
// for a withdrawal on a replica whose outbox worker is off, /metrics has
// every operator's family with figures that follow from that traffic, and
// no personal data anywhere.
func TestOperatorMetricsAfterTraffic(t *testing.T) {
	e := start(t, func(c *bff.Config) {
		c.OutboxWorkers = 0 // the application's row stays pending, for the backlog
		c.Version = "e2e-1.2.3"
	})
	lina := e.persona("depositor", "李娜")
	tok := e.bindWeChat("o-metrics-lina", lina).AccessToken
	if r := e.meGet("/api/v1/me/account", tok); r.StatusCode != 200 {
		t.Fatalf("account %d %s", r.StatusCode, r.body)
	}
	if r := e.apply(tok, "metrics-rent-1", rent(120_000, payoutTo(t, lina, "bank_card"))); r.StatusCode != 202 {
		t.Fatalf("apply %d %s", r.StatusCode, r.body)
	}
	body := string(e.do("GET", "/metrics", nil, nil).body)

	if !regexp.MustCompile(`(?m)^handheld_build_info\{go_version="go[^"]+",revision="[^"]+",version="e2e-1\.2\.3"\} 1$`).MatchString(body) {
		t.Errorf("build info:\n%s", grep(body, "build_info"))
	}
	type want struct {
		series   string
		min, max float64
	}
	for _, w := range []want{
		{`handheld_outbox_pending{topic="withdrawal.submit"}`, 1, 1},
		{`handheld_outbox_pending{topic="withdrawal.poll"}`, 0, 0},
		{`handheld_outbox_pending{topic="notify.wechat"}`, 2, 2}, // "application received" and the binding's security notice
		{`handheld_outbox_failing{topic="withdrawal.submit"}`, 0, 0},
		{`handheld_outbox_overdue{topic="withdrawal.submit"}`, 0, 0}, // due for less than a minute
		{`handheld_outbox_oldest_pending_age_seconds{topic="withdrawal.submit"}`, 0, 60},
		{`handheld_outbox_oldest_pending_age_seconds{topic="withdrawal.poll"}`, 0, 0},
		{`handheld_wechat_calls_total{api="jscode2session",result="ok"}`, 1, 1},
		{`handheld_wechat_calls_total{api="stable_token",result="ok"}`, 1, 1},
		{`handheld_wechat_calls_total{api="getverifyid",result="ok"}`, 1, 1},
		{`handheld_wechat_calls_total{api="jscode2session",result="transport"}`, 0, 0},
		{`handheld_core_breaker_open{group="account"}`, 0, 0},
		{`handheld_core_breaker_open{group="person"}`, 0, 0},
		{`handheld_core_breaker_open{group="certificate"}`, 0, 0},
		{`handheld_core_retries_total{group="account"}`, 0, 0},
		{`handheld_case_ratings_total{level="3"}`, 0, 0},
		{`go_sql_max_open_connections{db_name="handheld"}`, 16, 16},
		{`go_sql_open_connections{db_name="handheld"}`, 1, 16},
		{`go_sql_in_use_connections{db_name="handheld"}`, 0, 16},
		{`go_sql_wait_count_total{db_name="handheld"}`, 0, 1e6},
		{`handheld_redis_pool_conns`, 1, 1000},
		{`handheld_redis_pool_hits_total`, 1, 1e6},
		{`handheld_redis_pool_timeouts_total`, 0, 0},
		{`handheld_ratelimit_fallback_total{policy="public_ip"}`, -1, -1}, // Redis answered: no fallback, no series
	} {
		v, ok := sample(body, w.series)
		switch {
		case w.min < 0:
			if ok {
				t.Errorf("%s = %v, want no such series", w.series, v)
			}
		case !ok:
			t.Errorf("no %s in /metrics:\n%s", w.series, grep(body, strings.SplitN(w.series, "{", 2)[0]))
		case v < w.min || v > w.max:
			t.Errorf("%s = %v, want %v..%v", w.series, v, w.min, w.max)
		}
	}
	for _, secret := range append(e.personalData(), "o-metrics-lina") {
		if strings.Contains(body, secret) {
			t.Errorf("/metrics holds personal data %q", secret)
		}
	}
}
