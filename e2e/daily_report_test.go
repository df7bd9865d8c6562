package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"handheld/bff"
	"handheld/services"
	"handheld/services/platform"
	"handheld/services/platformsim"
	"handheld/services/report"
	"handheld/services/store"
)

// dailyReportOn switches the daily report's job back on (start switches
// it off).
func dailyReportOn() option { return func(cfg *bff.Config) { cfg.DailyReport.Enabled = true } }

// reportsOf is what the simulated platform holds of the centre's day.
func reportsOf(sim *platformsim.Sim, day string) []platformsim.ReceivedReport {
	var out []platformsim.ReceivedReport
	for _, r := range sim.Reports() {
		if r.Report.Centre == "330100" && r.Report.Day == day {
			out = append(out, r)
		}
	}
	return out
}

// A persona's certificate is issued and rated (very dissatisfied, with a
// comment naming a phone number); the next day the report job runs, twice
// and from two goroutines at once, and the platform, whose first answer is
// lost on the way, receives exactly one report of the day with the right
// figures, delivered again by the outbox; an operator's forced redelivery
// is answered the same and still makes one report. No comment, subject or
// phone number goes upward; the trail has one report.daily record.
func TestDailyReportReachesThePlatformOnce(t *testing.T) {
	t.Parallel()
	var sim *platformsim.Sim
	var simURL string
	clock := &movableClock{}
	e := start(t, relaxedIssue(), withPlatform(t, &sim, &simURL), clockFor(clock), dailyReportOn())
	ctx := context.Background()

	// The app's own schedule reports the three days before today at start.
	today := clock.Now().In(services.CentreTime)
	waitFor(t, func() bool {
		for back := 1; back <= 3; back++ {
			if len(reportsOf(sim, today.AddDate(0, 0, -back).Format(time.DateOnly))) != 1 {
				return false
			}
		}
		return true
	})

	zhang := e.bindWeChat("o-report-zhang", e.persona("depositor", "张伟")).AccessToken
	r := e.issue(zhang, "report-cert-1", map[string]string{"type": "deposit_use"})
	if r.StatusCode != 201 {
		t.Fatalf("issue %d %s", r.StatusCode, r.body)
	}
	var cert issuedCert
	r.json(t, &cert)
	rated := e.do("POST", "/api/v1/me/applications/"+cert.ID+"/rating",
		map[string]any{"level": 1, "comment": "等了很久，请回电 13800138000"}, bearer(zhang))
	if rated.StatusCode != 201 {
		t.Fatalf("rating %d %s", rated.StatusCode, rated.body)
	}
	day := time.Now().In(services.CentreTime).Format(time.DateOnly)

	// The first answer is lost: the outbox must deliver the report again.
	putSim(t, simURL, "/_sim/behaviour", `{"lose_report_answers":1}`)
	clock.advance(24 * time.Hour) // the day is over for the report's clock
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if _, err := e.app.Reports().CatchUp(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if note, err := e.app.Reports().CatchUp(ctx); err != nil || note != "reported=0 already=3" {
		t.Errorf("a third run: %q, %v", note, err)
	}
	waitFor(t, func() bool { got := reportsOf(sim, day); return len(got) == 1 && got[0].Deliveries == 2 })

	got := reportsOf(sim, day)[0]
	if got.Report.Version != 1 || got.Report.TimeZone != "Asia/Shanghai" || got.Receipt.Reference == "" {
		t.Errorf("report %+v", got)
	}
	wantCert := platform.Figures{Ratings: platform.Ratings{VeryDissatisfied: 1, LowWithComment: 1},
		Timeliness: platform.Timeliness{Received: 1, Decided: 1, DecidedPromised: 1, DecidedLegal: 1}}
	if got.Report.Totals != wantCert {
		t.Errorf("totals %+v, want %+v", got.Report.Totals, wantCert)
	}
	found := false
	for _, s := range got.Report.Services {
		switch {
		case s.Service == "certificate.deposit_use":
			found = s.Figures == wantCert
		case s.Figures != (platform.Figures{}):
			t.Errorf("%s has figures: %+v", s.Service, s.Figures)
		}
	}
	if !found || len(got.Report.Services) < 8 {
		t.Errorf("services: %+v", got.Report.Services)
	}
	raw, _ := json.Marshal(got.Report)
	for _, secret := range []string{"13800138000", "等了很久", cert.ID, "张"} {
		if strings.Contains(string(raw), secret) {
			t.Errorf("the report carries %q: %s", secret, raw)
		}
	}

	// An operator forces a redelivery: the same figures, the same version,
	// the same receipt; the platform still holds one report of the day.
	sent, err := e.app.Reports().Send(ctx, day)
	if err != nil || sent.How != report.SentAgain || sent.Report.Version != 1 {
		t.Fatalf("send again: %+v, %v", sent, err)
	}
	waitFor(t, func() bool { got := reportsOf(sim, day); return len(got) == 1 && got[0].Deliveries == 3 })
	if again := reportsOf(sim, day)[0]; again.Receipt != got.Receipt || again.Report.Totals != wantCert {
		t.Errorf("after the redelivery: %+v", again)
	}
	if sim.Calls(platformsim.CallReportConflicts) != 0 {
		t.Errorf("%d conflicts", sim.Calls(platformsim.CallReportConflicts))
	}

	// One report.daily record on the trail for the day (the redelivery a
	// second), naming the report, never a person.
	s, err := store.Open(ctx, e.cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	target := report.MessageID("330100", day, 1)
	waitFor(t, func() bool {
		var n int
		err := s.QueryRow(ctx, `SELECT COUNT(*) FROM audit_log WHERE action = 'report.daily' AND target = $1 AND subject = ''`, target).Scan(&n)
		return err == nil && n == 2
	})
	var stored int
	if err := s.QueryRow(ctx, `SELECT COUNT(*) FROM daily_reports WHERE centre = '330100' AND day = $1`, day).Scan(&stored); err != nil || stored != 1 {
		t.Errorf("daily_reports rows for the day: %d, %v", stored, err)
	}
	if m := e.do("GET", "/metrics", nil, nil); !strings.Contains(string(m.body), `handheld_daily_reports_total{outcome="again"} 1`+"\n") {
		t.Errorf("metrics lack the redelivery:\n%s", grep(string(m.body), "daily_reports_total"))
	}
}
