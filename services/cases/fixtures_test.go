package cases

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/store"
)

// The production audit log satisfies the interface this package declares.
var _ auditor = (*audit.Log)(nil)

// t0 is the first case's creation: 09:00 on 2 March 2026 in Shanghai.
var t0 = time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC)

// now is the fake clock's reading, a week after t0.
var now = t0.Add(7 * 24 * time.Hour)

// fakeAudit keeps what it was given, after the real log's guard passed
// it, or refuses everything while fail is set.
type fakeAudit struct {
	mu      sync.Mutex
	records []audit.Record
	fail    bool
}

func (a *fakeAudit) Enqueue(_ context.Context, r audit.Record) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.fail {
		return errors.New("audit down")
	}
	if err := audit.Check(r); err != nil {
		return err
	}
	a.records = append(a.records, r)
	return nil
}

// last is the latest record as "action subject target result".
func (a *fakeAudit) last() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.records) == 0 {
		return ""
	}
	r := a.records[len(a.records)-1]
	return r.Action + " " + r.Subject + " " + r.Target + " " + r.Result
}

func (a *fakeAudit) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.records)
}

// rig is a Service on a real store with a fake audit log and clock.
type rig struct {
	*Service
	audit *fakeAudit
	store *store.Store
}

func newRig(t *testing.T, s *store.Store) *rig {
	t.Helper()
	a := &fakeAudit{}
	return &rig{Service: New(Deps{Store: s, Audit: a, Now: func() time.Time { return now }}), audit: a, store: s}
}

func depositor(subject string) services.Principal {
	return services.Principal{Subject: subject, Role: services.RoleDepositor, Channel: services.ChannelMiniApp, Session: "sess"}
}

// withdrawal is a row of withdrawals as the fixtures need it.
type withdrawal struct {
	id, subject, kind, status string
	created, updated          time.Time
	dueOn                     string
}

func (r *rig) addWithdrawal(t *testing.T, w withdrawal) {
	t.Helper()
	_, err := r.store.Exec(t.Context(), `INSERT INTO withdrawals (id, case_number, subject, kind, core_kind,
		amount_fen, payout_method, payout_account, status, idempotency_key, request_hash, locale, channel,
		created_at, updated_at, due_on)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
		w.id, "TQ"+w.id, w.subject, w.kind, "07", int64(1_200_000), "bank_card", "6222020000001234",
		w.status, "key-"+w.id, "hash-"+w.id, "zh-CN", services.ChannelMiniApp,
		store.Timestamp(w.created), store.Timestamp(w.updated), w.dueOn)
	if err != nil {
		t.Fatalf("insert withdrawal %s: %v", w.id, err)
	}
}

// certificate is a row of certificates as the fixtures need it; revoked
// is zero unless it was revoked.
type certificate struct {
	id, subject     string
	issued, revoked time.Time
}

func (r *rig) addCertificate(t *testing.T, c certificate) {
	t.Helper()
	status := "issued"
	if !c.revoked.IsZero() {
		status = "revoked"
	}
	_, err := r.store.Exec(t.Context(), `INSERT INTO certificates (id, subject, number, verify_code, type, lang,
		holder, claims, jws, document, pdf, pdf_sha256, status, issued_at, expires_at, revoked_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
		c.id, c.subject, "330100-2026-"+c.id[len(c.id)-6:], "CODE"+c.id, "deposit_use", "zh-CN",
		"张*", "{}", "jws", []byte("{}"), []byte("%PDF"), "00", status,
		store.Timestamp(c.issued), store.Timestamp(c.issued.Add(30*24*time.Hour)), store.NullTime(store.Timestamp(c.revoked)))
	if err != nil {
		t.Fatalf("insert certificate %s: %v", c.id, err)
	}
}

// seed gives s_zhang six cases and s_wang two, interleaved in time. At
// t0+3h a withdrawal and a certificate of s_zhang's share the instant.
func (r *rig) seed(t *testing.T) {
	t.Helper()
	for _, w := range []withdrawal{
		{"w_zhang_rent", "s_zhang", "rent", "paid", t0, t0.Add(48 * time.Hour), "2026-03-05"},
		{"w_zhang_buy", "s_zhang", "purchase", "submitted", t0.Add(2 * time.Hour), t0.Add(2 * time.Hour), "2026-03-05"},
		{"w_zhang_retire", "s_zhang", "retirement", "cancelled", t0.Add(3 * time.Hour), t0.Add(5 * time.Hour), "2026-03-05"},
		{"w_wang_rent", "s_wang", "rent", "rejected", t0.Add(30 * time.Minute), t0.Add(time.Hour), "2026-03-05"},
	} {
		r.addWithdrawal(t, w)
	}
	for _, c := range []certificate{
		{"c0000000000000000000000000000a01", "s_zhang", t0.Add(time.Hour), time.Time{}},
		{"c0000000000000000000000000000a02", "s_zhang", t0.Add(3 * time.Hour), time.Time{}},
		{"c0000000000000000000000000000a03", "s_zhang", t0.Add(4 * time.Hour), t0.Add(6 * time.Hour)},
		{"c0000000000000000000000000000b01", "s_wang", t0.Add(5 * time.Hour), time.Time{}},
	} {
		r.addCertificate(t, c)
	}
}

// ids are the ids of cs, in order.
func ids(cs []Case) []string {
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}
