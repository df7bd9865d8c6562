package supervision

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/cases"
	"handheld/services/store"
	"handheld/services/store/storetest"
)

// now is 2026-03-04 10:00 in Shanghai.
var now = time.Date(2026, 3, 4, 2, 0, 0, 0, time.UTC)

func at(date string, hour int) time.Time {
	d, _ := time.ParseInLocation(time.DateOnly, date, services.CentreTime)
	return d.Add(time.Duration(hour) * time.Hour)
}

type rig struct {
	*Service
	store *store.Store
	trail *audit.Log
	cases *cases.Service
}

func newRig(t *testing.T, s *store.Store) *rig {
	t.Helper()
	trail := audit.New(s, audit.Options{Now: func() time.Time { return now }})
	t.Cleanup(func() { _ = trail.Close(context.Background()) })
	cs := cases.New(cases.Deps{Store: s, Audit: trail, Now: func() time.Time { return now }})
	svc, err := New(Deps{Store: s, Audit: trail, Ratings: cs, Holidays: []string{"2026-03-03"}, Now: func() time.Time { return now },
		Legal: legal{}})
	if err != nil {
		t.Fatal(err)
	}
	return &rig{Service: svc, store: s, trail: trail, cases: cs}
}

// legal: withdrawals have 5 working days by law, other kinds none.
type legal struct{}

func (legal) LegalWorkingDays(kind, _ string) (int, bool) { return 5, kind == "withdrawal" }

var staffP = services.Principal{Subject: "staff:S0001", Role: services.RoleStaff, Channel: services.ChannelWeb}

func (r *rig) record(t *testing.T, recs ...audit.Record) {
	t.Helper()
	for _, rec := range recs {
		if err := r.trail.Append(t.Context(), rec); err != nil {
			t.Fatal(err)
		}
	}
}

func (r *rig) withdrawal(t *testing.T, id, status string, created, updated time.Time, due string) {
	t.Helper()
	_, err := r.store.Exec(t.Context(), `INSERT INTO withdrawals (id, case_number, subject, kind, core_kind,
		amount_fen, payout_method, payout_account, status, idempotency_key, request_hash, locale, channel,
		created_at, updated_at, due_on)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
		id, "TQ20260302-"+id, "s_"+id, "rent", "07", int64(100000), "bank_card", "6222020000001234",
		status, "key-"+id, "hash-"+id, "zh-CN", services.ChannelMiniApp, store.Timestamp(created), store.Timestamp(updated), due)
	if err != nil {
		t.Fatal(err)
	}
}

func (r *rig) rating(t *testing.T, caseID, kind string, level int, comment string, when time.Time) {
	t.Helper()
	if comment != "" {
		var err error
		if comment, err = r.store.SealText(comment, cases.SealedColumns()[0].Place(caseID)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.store.Exec(t.Context(), `INSERT INTO ratings (case_id, case_kind, subject, level, comment, created_at, channel)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, caseID, kind, "s_"+caseID, level, comment, store.Timestamp(when), "miniapp"); err != nil {
		t.Fatal(err)
	}
}

func TestDashboardFiguresMatchTheRecords(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newRig(t, s)
		rng, err := r.ParseRange("2026-03-02", "2026-03-04")
		if err != nil {
			t.Fatal(err)
		}
		// The trail: reads and a withdrawal on two channels, one refused,
		// one failed; one before the range; staff's own records left out.
		r.record(t,
			audit.Record{At: at("2026-03-02", 9), Subject: "s_a", Actor: "s_a", Channel: "miniapp", Action: "read.account", Target: "self", Result: "ok"},
			audit.Record{At: at("2026-03-02", 9), Subject: "s_a", Actor: "s_a", Channel: "miniapp", Action: "read.deposits", Target: "self", Result: "ok"},
			audit.Record{At: at("2026-03-03", 14), Subject: "s_b", Actor: "device:k1", Channel: "kiosk", Action: "withdrawal.apply", Target: "w:1", Result: "denied"},
			audit.Record{At: at("2026-03-03", 14), Subject: "s_b", Actor: "s_b", Channel: "miniapp", Action: "withdrawal.apply", Target: "w:2", Result: "ok"},
			audit.Record{At: at("2026-03-04", 8), Subject: "s_c", Actor: "s_c", Channel: "miniapp", Action: "login.success", Target: "session:x", Result: "error"},
			audit.Record{At: at("2026-03-01", 9), Subject: "s_a", Actor: "s_a", Channel: "miniapp", Action: "read.account", Target: "self", Result: "ok"},
			audit.Record{At: at("2026-03-04", 9), Actor: "staff:S0001", Channel: "web", Action: "centre_staff.login", Target: "session:y", Result: "ok"},
			audit.Record{At: at("2026-03-03", 11), Actor: "party:demo-bank", Channel: "app", Action: ActionShareRedeem, Target: "share:1", Result: "ok"},
			audit.Record{At: at("2026-03-03", 12), Actor: "party:demo-bank", Channel: "app", Action: ActionShareRedeem, Target: "share:1", Result: "ok"},
			audit.Record{At: at("2026-03-03", 12), Actor: "party:demo-bank", Channel: "app", Action: ActionShareRedeem, Target: "share:2", Result: "denied"},
			audit.Record{At: at("2026-03-03", 13), Actor: "party:rent-platform", Channel: "app", Action: ActionShareRedeem, Target: "share:3", Result: "ok"},
		)
		// Cases: promised due 03-03 (a holiday in the legal count).
		r.withdrawal(t, "AA000001", "paid", at("2026-03-02", 10), at("2026-03-03", 10), "2026-03-03")      // on time both
		r.withdrawal(t, "AA000002", "rejected", at("2026-03-02", 10), at("2026-03-04", 9), "2026-03-03")   // late promised, on time legal
		r.withdrawal(t, "AA000003", "submitted", at("2026-03-02", 11), at("2026-03-02", 11), "2026-03-03") // open, overdue
		r.withdrawal(t, "AA000004", "accepted", at("2026-03-04", 8), at("2026-03-04", 8), "2026-03-06")    // open, not due
		r.withdrawal(t, "AA000005", "cancelled", at("2026-03-02", 8), at("2026-03-02", 9), "2026-03-03")
		r.withdrawal(t, "AA000006", "submitted", at("2026-02-20", 8), at("2026-02-20", 8), "2026-02-25") // before the range
		// Ratings.
		r.rating(t, "AA000001", "withdrawal", 5, "", at("2026-03-03", 12))
		r.rating(t, "AA000002", "withdrawal", 1, "太慢了，电话13812345678没人接", at("2026-03-04", 9))
		r.rating(t, "C1", "certificate", 3, "", at("2026-03-02", 12))
		r.rating(t, "C2", "certificate", 2, "", at("2026-02-01", 12)) // before the range
		// Counters: two replicas' minutes.
		t1 := NewTally("r1", func() time.Time { return at("2026-03-03", 10) })
		t1.Core("account", "ok", 40*time.Millisecond)
		t1.Core("account", "ok", 120*time.Millisecond)
		t1.Core("account", "timeout", 3*time.Second)
		t1.Core("account", "canceled", time.Second)
		t1.ObserveRequest("POST /api/v1/auth/wechat", "POST", 429, 0)
		t1.ObserveRequest("POST /api/v1/auth/wechat", "POST", 200, 0)
		t2 := NewTally("r2", func() time.Time { return at("2026-03-03", 10) })
		t2.Core("account", "maintenance", 10*time.Millisecond)
		t2.Core("loan", "error", 20*time.Millisecond)
		t2.ObserveRequest("POST /api/v1/auth/wechat", "POST", 429, 0)
		for _, tl := range []*Tally{t1, t2} {
			if err := tl.Flush(t.Context(), s); err != nil {
				t.Fatal(err)
			}
		}
		// A second flush of the same minute adds to the row.
		t1.Core("account", "ok", 60*time.Millisecond)
		if err := t1.Flush(t.Context(), s); err != nil {
			t.Fatal(err)
		}

		d, err := r.Load(t.Context(), staffP, rng, "req-1")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]ServiceVolume{
			{"account", Outcomes{Total: 2, OK: 2}},
			{"withdrawal", Outcomes{Total: 2, OK: 1, Denied: 1}},
			{"share", Outcomes{Total: 4, OK: 3, Denied: 1}},
			{"sign_in", Outcomes{Total: 1, Error: 1}},
		}, sortedByName(d.Services)); diff != "" {
			t.Errorf("services (-want +got):\n%s", diff)
		}
		if d.Total.Total != 9 || d.Total.SuccessRate() != 667 || d.Total.FailureRate() != 111 {
			t.Errorf("total %+v success %d failure %d", d.Total, d.Total.SuccessRate(), d.Total.FailureRate())
		}
		if d.Hours[9] != 2 || d.Hours[14] != 2 || d.Hours[8] != 1 || d.Hours[12] != 2 {
			t.Errorf("hours %v", d.Hours)
		}
		chn := map[string]int64{}
		for _, c := range d.Channels {
			chn[c.Channel] = c.Total
		}
		if diff := cmp.Diff(map[string]int64{"miniapp": 4, "kiosk": 1, "app": 4}, chn); diff != "" {
			t.Errorf("channels (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]Timeliness{{Kind: "withdrawal", Created: 5, Decided: 2, Cancelled: 1, OnTimePromised: 1, OnTimeLegal: 2,
			Open: 2, OpenOverdue: 1}}, d.Timeliness); diff != "" {
			t.Errorf("timeliness (-want +got):\n%s", diff)
		}
		if d.OverdueTotal != 1 || len(d.Overdue) != 1 || d.Overdue[0].CaseNumber != "TQ20260302-AA****03" || d.Overdue[0].DaysOver != 1 {
			t.Errorf("overdue %d %+v", d.OverdueTotal, d.Overdue)
		}
		if len(d.Satisfaction) != 2 || d.Satisfaction[1].Kind != "withdrawal" || d.Satisfaction[1].Rated != 2 ||
			d.Satisfaction[1].Rate() != 500 || d.Satisfaction[0].Rated != 1 || d.Satisfaction[0].Rate() != 1000 {
			t.Errorf("satisfaction %+v", d.Satisfaction)
		}
		if len(d.LowRatings) != 1 || d.LowRatings[0].Comment != "太慢了，电话138******78没人接" || d.LowRatings[0].Level != 1 {
			t.Errorf("low ratings %+v", d.LowRatings)
		}
		want := CoreEndpoint{Endpoint: "*", Calls: 6, Failures: 2, MaxMs: 3000}
		got := d.CoreTotal
		if got.Calls != want.Calls || got.Failures != want.Failures || got.MaxMs != want.MaxMs || got.Availability() != 667 ||
			got.AvgMs != (40+120+3000+10+20+60+3)/6 || got.P95Ms != 5000 {
			t.Errorf("core total %+v availability %d", got, got.Availability())
		}
		if len(d.Core) != 2 || d.Core[0].Endpoint != "account" || d.Core[0].Calls != 5 || d.Core[0].Failures != 1 {
			t.Errorf("core %+v", d.Core)
		}
		if d.CoreHours[10].Calls != 6 || d.CoreHours[10].Failures != 2 {
			t.Errorf("core hours %+v", d.CoreHours)
		}
		if diff := cmp.Diff([]Refusal{{"POST /api/v1/auth/wechat", 2}}, d.Refusals); diff != "" {
			t.Errorf("refusals (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]PartyShares{{"demo-bank", 2}, {"rent-platform", 1}}, d.Shares); diff != "" {
			t.Errorf("shares (-want +got):\n%s", diff)
		}
		// The read is in the trail, with the staff member as actor.
		vols, err := r.trail.CountByActor(t.Context(), ActionRead, "ok", rng.Start, time.Now().Add(time.Hour))
		if err != nil || len(vols) != 1 || vols[0].Actor != "staff:S0001" {
			t.Errorf("dashboard.read records %+v %v", vols, err)
		}
	})
}

func sortedByName(v []ServiceVolume) []ServiceVolume {
	order := map[string]int{"account": 0, "withdrawal": 1, "share": 2, "sign_in": 3}
	out := make([]ServiceVolume, len(v))
	for _, s := range v {
		if i, ok := order[s.Service]; ok && i < len(out) {
			out[i] = s
		}
	}
	return out
}

func TestEmptyRangeShowsZeros(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newRig(t, s)
		rng, err := r.ParseRange("", "")
		if err != nil {
			t.Fatal(err)
		}
		d, err := r.Load(t.Context(), staffP, rng, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Shares) != 0 || d.CoreTotal.Calls != 0 || d.Total.Total != 0 || d.Total.SuccessRate() != 0 {
			t.Errorf("empty dashboard %+v", d)
		}
		tab, err := r.Export(t.Context(), staffP, rng, "shares", "")
		if err != nil || len(tab.Rows) != 0 || len(tab.Columns) != 2 {
			t.Errorf("shares table %+v %v", tab, err)
		}
		if _, err := r.Export(t.Context(), staffP, rng, "nope", ""); services.ErrorCode(err) != services.CodeInvalid {
			t.Errorf("unknown section: %v", err)
		}
		depositor := services.Principal{Subject: "s_a", Role: services.RoleDepositor, Channel: services.ChannelMiniApp}
		if _, err := r.Load(t.Context(), depositor, rng, ""); services.ErrorCode(err) != services.CodeForbidden {
			t.Errorf("depositor reading the dashboard: %v", err)
		}
	})
}

func TestParseRange(t *testing.T) {
	s, _ := New(Deps{Store: &store.Store{}, Audit: (*audit.Log)(nil), Ratings: (*cases.Service)(nil), Now: func() time.Time { return now }})
	for _, tc := range []struct {
		from, to string
		fields   string // failing fields, "" for valid
	}{
		{"", "", ""},
		{"2026-03-01", "2026-03-04", ""},
		{"2025-12-03", "2026-03-04", ""}, // 92 days
		{"2025-12-02", "2026-03-04", "from"},
		{"2026-03-04", "2026-03-05", "to"},   // the future
		{"2026-03-04", "2026-03-01", "from"}, // from after to
		{"2026-3-1", "2026-03-04", "from"},
		{"2026-03-01", "tomorrow", "to"},
		{"2026-02-30", "2026-03-04", "from"},
		{"x", "y", "from,to"},
	} {
		rng, err := s.ParseRange(tc.from, tc.to)
		var got []string
		if e := services.AsError(err); err != nil {
			for _, f := range e.Fields {
				got = append(got, f.Field)
			}
		}
		if strings.Join(got, ",") != tc.fields {
			t.Errorf("ParseRange(%q, %q): fields %v, want %q (%v)", tc.from, tc.to, got, tc.fields, err)
		}
		if err == nil && (rng.End.Sub(rng.Start) != time.Duration(rng.Days)*24*time.Hour) {
			t.Errorf("ParseRange(%q, %q) = %+v", tc.from, tc.to, rng)
		}
	}
}

func TestMasking(t *testing.T) {
	for in, want := range map[string]string{
		"TQ20261124-7K3M9Q2D": "TQ20261124-7K****2D",
		"ABC":                 "***",
		"":                    "",
	} {
		if got := MaskCaseNumber(in); got != want {
			t.Errorf("MaskCaseNumber(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"身份证110101199003071234办不了": "身份证110*************34办不了",
		"等了3天":                     "等了3天",
		"卡号 6222 0200 0000 1234":   "卡号 622**************34",
	} {
		if got := MaskComment(in); got != want {
			t.Errorf("MaskComment(%q) = %q, want %q", in, got, want)
		}
	}
}
