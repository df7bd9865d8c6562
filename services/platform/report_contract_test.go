package platform_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"handheld/services"
	"handheld/services/core"
	"handheld/services/platform"
	"handheld/services/platformsim"
)

// dailyReport is a small, consistent report of a day.
func dailyReport(version int) platform.DailyReport {
	rent := platform.Figures{Ratings: platform.Ratings{VerySatisfied: 3, Dissatisfied: 1, LowWithComment: 1},
		Timeliness: platform.Timeliness{Received: 4, Decided: 3, DecidedPromised: 2, DecidedLegal: 3, Open: 2, OverduePromised: 1}}
	cert := platform.Figures{Ratings: platform.Ratings{Satisfied: 2},
		Timeliness: platform.Timeliness{Received: 5, Decided: 5, DecidedPromised: 5, DecidedLegal: 5}}
	r := platform.DailyReport{Centre: platformsim.LocalCentre, Day: "2026-12-06", Version: version, TimeZone: "Asia/Shanghai",
		Services: []platform.ServiceFigures{
			{Service: "certificate.deposit_use", Figures: cert},
			{Service: "transfer.in", PromisedWorkingDays: 10, LegalWorkingDays: 15},
			{Service: "withdrawal.rent", PromisedWorkingDays: 1, LegalWorkingDays: 3, Figures: rent},
		}}
	for _, s := range r.Services {
		r.Totals.Add(s.Figures)
	}
	return r
}

func TestContractDailyReportIsIdempotent(t *testing.T) {
	sim, c, _ := rig(t, platform.ClientConfig{})
	ctx := context.Background()
	first, err := c.SendDailyReport(ctx, dailyReport(1))
	if err != nil {
		t.Fatal(err)
	}
	if first.Reference != "PR-20261206-330100-v1" || first.Centre != "330100" || first.Day != "2026-12-06" || first.Version != 1 {
		t.Fatalf("receipt: %+v", first)
	}
	// Delivered again (the outbox is at least once): the same receipt, kept once.
	again, err := c.SendDailyReport(ctx, dailyReport(1))
	if err != nil || again != first {
		t.Fatalf("again: %+v, %v (first %+v)", again, err, first)
	}
	// Other figures under the same version: a conflict, an answer that
	// leaves the breaker closed and what the platform holds unchanged.
	other := dailyReport(1)
	other.Services[2].Ratings.VerySatisfied++
	other.Totals.Ratings.VerySatisfied++
	for range platform.DefaultBreakerFailures + 1 {
		if _, err := c.SendDailyReport(ctx, other); !errors.Is(err, platform.ErrReportConflict) {
			t.Fatalf("other figures: %v", err)
		}
	}
	// A correction goes under the next version; both are kept.
	other.Version = 2
	corr, err := c.SendDailyReport(ctx, other)
	if err != nil || corr.Version != 2 || corr.Reference != "PR-20261206-330100-v2" {
		t.Fatalf("correction: %+v, %v", corr, err)
	}
	got := sim.Reports()
	if len(got) != 2 || got[0].Deliveries != 2 || got[0].Report.Totals != dailyReport(1).Totals ||
		got[1].Report.Version != 2 || got[1].Deliveries != 1 {
		t.Fatalf("the platform holds %+v", got)
	}
	if sim.Calls(platformsim.CallReports) != 2+platform.DefaultBreakerFailures+1+1 || sim.Calls(platformsim.CallReportConflicts) != int64(platform.DefaultBreakerFailures+1) {
		t.Errorf("calls: reports %d, conflicts %d", sim.Calls(platformsim.CallReports), sim.Calls(platformsim.CallReportConflicts))
	}
}

func TestContractDailyReportRefusals(t *testing.T) {
	sim, c, base := rig(t, platform.ClientConfig{BreakerFailures: 100})
	ctx := context.Background()
	for name, mutate := range map[string]func(r *platform.DailyReport){
		"unknown centre":     func(r *platform.DailyReport) { r.Centre = "999999" },
		"bad day":            func(r *platform.DailyReport) { r.Day = "2026-02-30" },
		"version 0":          func(r *platform.DailyReport) { r.Version = 0 },
		"time zone":          func(r *platform.DailyReport) { r.TimeZone = "UTC" },
		"totals not the sum": func(r *platform.DailyReport) { r.Totals.Timeliness.Received++ },
		"a service twice":    func(r *platform.DailyReport) { r.Services[1].Service = r.Services[0].Service },
		"decided within > all": func(r *platform.DailyReport) {
			r.Services[1].Timeliness.DecidedLegal = 1
			r.Totals.Timeliness.DecidedLegal++
		},
		"negative":             func(r *platform.DailyReport) { r.Services[1].Timeliness.Open = -1; r.Totals.Timeliness.Open-- },
		"bad service code":     func(r *platform.DailyReport) { r.Services[1].Service = "Transfer In" },
		"legal under promised": func(r *platform.DailyReport) { r.Services[1].LegalWorkingDays = 5 },
		"no services list":     func(r *platform.DailyReport) { r.Services = nil; r.Totals = platform.Figures{} },
	} {
		r := dailyReport(1)
		mutate(&r)
		_, err := c.SendDailyReport(ctx, r)
		if services.ErrorCode(err) != services.CodeInternal {
			t.Errorf("%s: %v", name, err)
		}
	}
	if n := len(sim.Reports()); n != 0 {
		t.Errorf("refused reports were kept: %d", n)
	}
	// Unsigned, an unknown field, a replayed nonce: refused at the door.
	body, _ := json.Marshal(dailyReport(1))
	resp, err := http.Post(base+platform.PathDailyReports, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unsigned: %d", resp.StatusCode)
	}
	extra := append(bytes.TrimSuffix(body, []byte("}")), []byte(`,"comments":["张三 13800138000"]}`)...)
	if status := signedPost(t, base, extra, "nonce-report-extra-0001"); status != http.StatusBadRequest {
		t.Errorf("an unknown field: %d", status)
	}
	if status := signedPost(t, base, body, "nonce-report-0000000001"); status != http.StatusOK {
		t.Errorf("signed: %d", status)
	}
	if status := signedPost(t, base, body, "nonce-report-0000000001"); status != http.StatusUnauthorized {
		t.Errorf("a replayed nonce: %d", status)
	}
}

// signedPost posts body to the daily reports, signed with nonce.
func signedPost(t *testing.T, base string, body []byte, nonce string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+platform.PathDailyReports, bytes.NewReader(body))
	ts := time.Now().Unix()
	req.Header.Set(platform.HeaderKeyID, keyID)
	req.Header.Set(platform.HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(platform.HeaderNonce, nonce)
	req.Header.Set(platform.HeaderSignature, core.Sign([]byte(secret), http.MethodPost, platform.PathDailyReports, ts, nonce, body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func TestContractDailyReportLostAnswerIsDeliveredAgain(t *testing.T) {
	sim, c, _ := rig(t, platform.ClientConfig{})
	if err := sim.SetBehaviour(platformsim.Behaviour{LoseReportAnswers: 1}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, err := c.SendDailyReport(ctx, dailyReport(1))
	if services.ErrorCode(err) != services.CodePlatformUnavailable {
		t.Fatalf("a lost answer: %v", err)
	}
	receipt, err := c.SendDailyReport(ctx, dailyReport(1))
	if err != nil || receipt.Version != 1 {
		t.Fatalf("delivered again: %+v, %v", receipt, err)
	}
	if got := sim.Reports(); len(got) != 1 || got[0].Deliveries != 2 {
		t.Fatalf("the platform holds %+v", got)
	}
	sim.SetOutage(true)
	if _, err := c.SendDailyReport(ctx, dailyReport(1)); services.ErrorCode(err) != services.CodePlatformUnavailable {
		t.Errorf("during an outage: %v", err)
	}
}
