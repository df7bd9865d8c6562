package report

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/cases"
	"handheld/services/catalogue"
	"handheld/services/outbox"
	"handheld/services/platform"
	"handheld/services/platformsim"
	"handheld/services/store"
	"handheld/services/store/storetest"
	"handheld/services/withdrawal"
)

// The day reported: Wednesday 2 December 2026 in Shanghai.
const day = "2026-12-02"

var (
	dayStart = time.Date(2026, 12, 1, 16, 0, 0, 0, time.UTC)
	at9      = dayStart.Add(9 * time.Hour) // 09:00 on the day
	// now is 01:30 on Saturday 5 December: three days are over.
	now = time.Date(2026, 12, 4, 17, 30, 0, 0, time.UTC)
)

type fakeAudit struct {
	mu      sync.Mutex
	records []audit.Record
}

func (a *fakeAudit) Enqueue(_ context.Context, r audit.Record) error {
	if err := audit.Check(r); err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.records = append(a.records, r)
	return nil
}

func (a *fakeAudit) targets() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for _, r := range a.records {
		out = append(out, r.Action+" "+r.Actor+" "+r.Target+" "+r.Result)
	}
	return out
}

type rig struct {
	*Service
	store *store.Store
	audit *fakeAudit
	sent  []string
	mu    sync.Mutex
}

func newRig(t testing.TB, s *store.Store, up upward) *rig {
	t.Helper()
	cat, err := catalogue.New(catalogue.Default(), withdrawal.DefaultPolicies())
	if err != nil {
		t.Fatal(err)
	}
	a := &fakeAudit{}
	r := &rig{store: s, audit: a}
	clock := func() time.Time { return now }
	svc, err := New(Deps{Store: s, Cases: cases.New(cases.Deps{Store: s, Audit: a, Now: clock}), Catalogue: cat,
		Platform: up, Audit: a, Policy: DefaultPolicy(), CentreCode: "330100", Holidays: []string{"2026-12-03"},
		OnSent: func(how string) { r.mu.Lock(); r.sent = append(r.sent, how); r.mu.Unlock() }, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	r.Service = svc
	return r
}

func (r *rig) exec(t *testing.T, query string, args ...any) {
	t.Helper()
	if _, err := r.store.Exec(t.Context(), query, args...); err != nil {
		t.Fatalf("%v: %v", strings.Fields(query)[:3], err)
	}
}

// withdrawal stores an application of kind, received at created and due
// on due, with its status history (status → when).
func (r *rig) withdrawal(t *testing.T, id, kind, status string, created time.Time, due string, events map[string]time.Time) {
	t.Helper()
	r.exec(t, `INSERT INTO withdrawals (id, case_number, subject, kind, core_kind, amount_fen, payout_method, payout_account,
		status, idempotency_key, request_hash, locale, channel, created_at, updated_at, due_on)
		VALUES ($1, $2, $3, $4, '07', 100, 'bank_card', 'x', $5, $1, 'h', 'zh-CN', 'miniapp', $6, $6, $7)`,
		id, "TQ"+id, "s_"+id, kind, status, store.Timestamp(created), due)
	for st, at := range events {
		r.exec(t, `INSERT INTO withdrawal_events (application_id, status, at) VALUES ($1, $2, $3)`, id, st, store.Timestamp(at))
	}
}

func (r *rig) rating(t *testing.T, id, kind string, level int, comment string, at time.Time) {
	t.Helper()
	r.exec(t, `INSERT INTO ratings (case_id, case_kind, subject, level, comment, created_at) VALUES ($1, $2, 's', $3, $4, $5)`,
		id, kind, level, comment, store.Timestamp(at))
}

// seed: on the day, a rent withdrawal received and approved (rated very
// dissatisfied, with a comment) and a certificate issued (rated very
// satisfied); a purchase withdrawal received the Monday before, promised
// by Tuesday 1 December, still open (past its promised limit, not yet its
// legal one: 3 working days after Monday, 4 December); a retirement one
// approved on Friday 4 December, after its promised date (3 December is a
// holiday here) and within its legal one.
func (r *rig) seed(t *testing.T) {
	t.Helper()
	r.withdrawal(t, "w_rent", "rent", "approved", at9, "2026-12-03", map[string]time.Time{"approved": at9.Add(2 * time.Hour)})
	r.rating(t, "w_rent", cases.KindWithdrawal, cases.LevelVeryDissatisfied, "sealed", at9.Add(3*time.Hour))
	r.exec(t, `INSERT INTO certificates (id, subject, number, verify_code, type, lang, holder, claims, jws, document, pdf,
		pdf_sha256, status, issued_at, expires_at) VALUES ('c0000000000000000000000000000c01', 's', 'N1', 'V1', 'deposit_use',
		'zh-CN', 'x', '{}', 'j', $1, $2, '00', 'issued', $3, $4)`, []byte("{}"), []byte("%PDF"),
		store.Timestamp(at9.Add(time.Hour)), store.Timestamp(at9.Add(30*24*time.Hour)))
	r.rating(t, "c0000000000000000000000000000c01", cases.KindCertificate, cases.LevelVerySatisfied, "", at9.Add(2*time.Hour))
	r.withdrawal(t, "w_buy", "purchase", "submitted", at9.Add(-2*24*time.Hour), "2026-12-01", nil)
	r.withdrawal(t, "w_retire", "retirement", "approved", at9.Add(-24*time.Hour), "2026-12-02",
		map[string]time.Time{"approved": at9.Add(48 * time.Hour)})
}

func TestFiguresOfADay(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newRig(t, s, nil)
		r.seed(t)
		got, err := r.Figures(t.Context(), day)
		if err != nil {
			t.Fatal(err)
		}
		if got.Centre != "330100" || got.Day != day || got.Version != 0 || got.TimeZone != "Asia/Shanghai" {
			t.Errorf("header: %+v", got)
		}
		by := map[string]platform.ServiceFigures{}
		for _, f := range got.Services {
			by[f.Service] = f
		}
		for _, code := range []string{"withdrawal.rent", "withdrawal.purchase", "withdrawal.retirement", "withdrawal.closing",
			"certificate.deposit_use", "loan.settled_certificate", "transfer.in", "loan.prepayment"} {
			if _, ok := by[code]; !ok {
				t.Errorf("%s not listed", code)
			}
		}
		want := map[string]platform.Figures{
			"withdrawal.rent": {Ratings: platform.Ratings{VeryDissatisfied: 1, LowWithComment: 1},
				Timeliness: platform.Timeliness{Received: 1, Decided: 1, DecidedPromised: 1, DecidedLegal: 1}},
			"certificate.deposit_use": {Ratings: platform.Ratings{VerySatisfied: 1},
				Timeliness: platform.Timeliness{Received: 1, Decided: 1, DecidedPromised: 1, DecidedLegal: 1}},
			"withdrawal.purchase":   {Timeliness: platform.Timeliness{Open: 1, OverduePromised: 1}},
			"withdrawal.retirement": {Timeliness: platform.Timeliness{Open: 1, OverduePromised: 1}},
			"withdrawal.closing":    {},
		}
		for code, w := range want {
			if diff := cmp.Diff(w, by[code].Figures); diff != "" {
				t.Errorf("%s (-want +got):\n%s", code, diff)
			}
		}
		if by["withdrawal.rent"].PromisedWorkingDays != 1 || by["withdrawal.rent"].LegalWorkingDays != 3 {
			t.Errorf("rent limits: %+v", by["withdrawal.rent"])
		}
		wantTotals := platform.Figures{Ratings: platform.Ratings{VerySatisfied: 1, VeryDissatisfied: 1, LowWithComment: 1},
			Timeliness: platform.Timeliness{Received: 2, Decided: 2, DecidedPromised: 2, DecidedLegal: 2, Open: 2, OverduePromised: 2}}
		if diff := cmp.Diff(wantTotals, got.Totals); diff != "" {
			t.Errorf("totals (-want +got):\n%s", diff)
		}

		// The next day: the retirement withdrawal decided a day late
		// against its promise, in its legal time; the purchase past both.
		next, err := r.Figures(t.Context(), "2026-12-04")
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range next.Services {
			by[f.Service] = f
		}
		if diff := cmp.Diff(platform.Timeliness{Decided: 1, DecidedLegal: 1}, by["withdrawal.retirement"].Timeliness); diff != "" {
			t.Errorf("retirement on the 4th (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(platform.Timeliness{Open: 1, OverduePromised: 1, OverdueLegal: 1}, by["withdrawal.purchase"].Timeliness); diff != "" {
			t.Errorf("purchase on the 4th (-want +got):\n%s", diff)
		}

		// A quiet day reports every service, with zeros.
		quiet, err := r.Figures(t.Context(), "2026-11-01")
		if err != nil {
			t.Fatal(err)
		}
		if len(quiet.Services) < 8 || quiet.Totals != (platform.Figures{}) {
			t.Errorf("a quiet day: %+v", quiet)
		}
		for _, f := range quiet.Services {
			if f.Figures != (platform.Figures{}) {
				t.Errorf("a quiet day's %s: %+v", f.Service, f.Figures)
			}
		}

		for _, bad := range []string{"2026-12-05", "2026-12-06", "2026-13-01", "20261202", "", "2026-02-30"} {
			if _, err := r.Figures(t.Context(), bad); services.ErrorCode(err) != services.CodeInvalid {
				t.Errorf("day %q: %v", bad, err)
			}
		}
	})
}

// rows counts the daily reports stored and the outbox messages queued for
// them.
func (r *rig) rows(t *testing.T) (reports int, messages []string) {
	t.Helper()
	if err := r.store.QueryRow(t.Context(), `SELECT COUNT(*) FROM daily_reports`).Scan(&reports); err != nil {
		t.Fatal(err)
	}
	rows, err := r.store.Query(t.Context(), `SELECT id FROM outbox WHERE topic = $1 ORDER BY id`, string(Topic))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		messages = append(messages, id)
	}
	return reports, messages
}

func TestTheJobReportsEachDayOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newRig(t, s, nil)
		r.seed(t)
		note, err := r.CatchUp(t.Context())
		if err != nil || note != "reported=3 already=0" {
			t.Fatalf("first run: %q, %v", note, err)
		}
		note, err = r.CatchUp(t.Context())
		if err != nil || note != "reported=0 already=3" {
			t.Fatalf("second run: %q, %v", note, err)
		}
		n, ids := r.rows(t)
		want := []string{"report:330100:2026-12-02:v1", "report:330100:2026-12-03:v1", "report:330100:2026-12-04:v1"}
		if n != 3 || !slices.Equal(ids, want) {
			t.Errorf("stored %d, queued %v", n, ids)
		}
		if got := r.audit.targets(); len(got) != 3 || got[0] != "report.daily system report:330100:2026-12-02:v1 ok" {
			t.Errorf("audit: %v", got)
		}
		if !slices.Equal(r.sent, []string{SentFirst, SentFirst, SentFirst}) {
			t.Errorf("sent: %v", r.sent)
		}
		var body string
		if err := s.QueryRow(t.Context(), `SELECT body FROM daily_reports WHERE day = $1`, day).Scan(&body); err != nil {
			t.Fatal(err)
		}
		var stored platform.DailyReport
		if err := json.Unmarshal([]byte(body), &stored); err != nil || stored.Version != 1 || stored.Totals.Ratings.VerySatisfied != 1 {
			t.Errorf("stored body: %+v, %v", stored, err)
		}
		if strings.Contains(body, "sealed") || strings.Contains(body, "s_w_rent") {
			t.Errorf("the body carries a comment or a subject: %s", body)
		}
	})
}

func TestReplicasReportOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		replicas := []*rig{newRig(t, s, nil), newRig(t, s, nil), newRig(t, s, nil)}
		replicas[0].seed(t)
		var wg sync.WaitGroup
		errs := make(chan error, 2*len(replicas))
		for _, r := range replicas {
			for range 2 {
				wg.Go(func() {
					if _, err := r.CatchUp(context.Background()); err != nil {
						errs <- err
					}
				})
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			// SQLite's one writer may turn a racing replica away; its
			// next run finds the days reported.
			if !strings.Contains(err.Error(), "locked") && !strings.Contains(err.Error(), "busy") {
				t.Error(err)
			}
		}
		for _, r := range replicas {
			if _, err := r.CatchUp(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
		n, ids := replicas[0].rows(t)
		if n != 3 || len(ids) != 3 {
			t.Errorf("three replicas stored %d reports and queued %v", n, ids)
		}
		total := 0
		for _, r := range replicas {
			total += len(r.sent)
		}
		if total != 3 {
			t.Errorf("%d reports counted as sent", total)
		}
	})
}

func TestSendAgainAndCorrect(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newRig(t, s, nil)
		r.seed(t)
		first, err := r.Send(t.Context(), day)
		if err != nil || first.How != SentFirst || first.Report.Version != 1 {
			t.Fatalf("first: %+v, %v", first, err)
		}
		again, err := r.Send(t.Context(), day)
		if err != nil || again.How != SentAgain || again.Report.Version != 1 || digestOf(again.Report) != digestOf(first.Report) {
			t.Fatalf("again: %+v, %v", again, err)
		}
		// The job leaves a day reported alone.
		if note, err := r.CatchUp(t.Context()); err != nil || note != "reported=2 already=1" {
			t.Fatalf("job: %q, %v", note, err)
		}
		// A rating stamped within the day that arrived after it was sent
		// (a commit across midnight): the figures change, a correction.
		r.rating(t, "w_retire", cases.KindWithdrawal, cases.LevelSatisfied, "", dayStart.Add(24*time.Hour-time.Microsecond))
		corr, err := r.Send(t.Context(), day)
		if err != nil || corr.How != SentCorrection || corr.Report.Version != 2 || corr.Report.Totals.Ratings.Satisfied != 1 {
			t.Fatalf("correction: %+v, %v", corr, err)
		}
		n, ids := r.rows(t)
		if n != 4 || len(ids) != 5 || !strings.HasPrefix(ids[1], "report:330100:2026-12-02:v1:again:") || ids[2] != "report:330100:2026-12-02:v2" {
			t.Errorf("stored %d, queued %v", n, ids)
		}
		if _, err := r.Send(t.Context(), "2026-12-05"); services.ErrorCode(err) != services.CodeInvalid {
			t.Errorf("a day not over: %v", err)
		}
	})
}

const (
	keyID  = "centre-330100"
	secret = "0123456789abcdef0123456789abcdef"
)

// TestDeliveryToTheSimulator delivers a report to the platform simulator
// over HTTP through the real client, twice (the platform answers as the
// first time and keeps one), then other figures under the same version (a
// conflict: given up on).
func TestDeliveryToTheSimulator(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		sim := platformsim.New(platformsim.Config{Keys: map[string][]byte{keyID: []byte(secret)}})
		srv := httptest.NewServer(sim.AdminHandler())
		defer srv.Close()
		client, err := platform.NewClient(platform.ClientConfig{BaseURL: srv.URL, KeyID: keyID, Secret: []byte(secret)})
		if err != nil {
			t.Fatal(err)
		}
		r := newRig(t, s, client)
		r.seed(t)
		sent, err := r.Send(t.Context(), day)
		if err != nil {
			t.Fatal(err)
		}
		payload, _ := json.Marshal(sent.Report)
		m := outbox.Message{ID: MessageID("330100", day, 1), Topic: Topic, Payload: payload}
		for range 2 {
			if err := r.Deliver(t.Context(), m); err != nil {
				t.Fatal(err)
			}
		}
		got := sim.Reports()
		if len(got) != 1 || got[0].Deliveries != 2 || got[0].Report.Totals != sent.Report.Totals || got[0].Report.Version != 1 {
			t.Fatalf("the platform holds %+v", got)
		}
		var other platform.DailyReport
		_ = json.Unmarshal(payload, &other)
		other.Totals.Ratings.Satisfied++
		other.Services[0].Ratings.Satisfied++
		m.Payload, _ = json.Marshal(other)
		err = r.Deliver(t.Context(), m)
		if !errors.Is(err, platform.ErrReportConflict) {
			t.Errorf("other figures under version 1: %v", err)
		}
		if got := sim.Reports(); len(got) != 1 || got[0].Report.Totals != sent.Report.Totals {
			t.Errorf("the conflict changed what the platform holds: %+v", got)
		}
	})
}
