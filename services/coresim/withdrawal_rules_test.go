package coresim

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"handheld/services/core"
)

// withDelays sets the review and payout delays, as `handheld coresim` does
// for the end-to-end tests.
func withDelays(review, payout time.Duration) harnessOption {
	return func(c *Config) { c.ReviewDelay, c.PayoutDelay = review, payout }
}

// account reads a person's account; ok is false when the core answers
// anything but 200 (no account, unknown person).
func (h *harness) account(personID string) (acc core.Account, ok bool) {
	h.t.Helper()
	resp, b := h.request(http.MethodGet, path(core.PathAccount, personID), nil, signing{})
	if resp.StatusCode != http.StatusOK {
		return acc, false
	}
	if err := json.Unmarshal(b, &acc); err != nil {
		h.t.Fatalf("account %s: %v", b, err)
	}
	return acc, true
}

func TestWithdrawalReviewRules(t *testing.T) {
	// "own" stands for the persona's own record of the kind's category.
	diagnosis := []string{"own"}
	registration := []string{"own"}
	tests := []struct {
		name     string
		person   string
		kind     string
		evidence []string
		close    bool
		amount   int64 // fen; with close, added to the balance (0: the whole balance)
		status   string
		reason   string
	}{
		{"purchase with a registration", "李娜", "01", registration, false, 1_000_000, core.WithdrawalApproved, ""},
		{"purchase without evidence", "李娜", "01", nil, false, 1_000_000, core.WithdrawalRejected, ReasonEvidenceMissing},
		{"purchase without evidence and continuity", "吴敏", "01", nil, false, 100000, core.WithdrawalRejected, ReasonContinuity},
		{"critical illness with a diagnosis", "李娜", "09", diagnosis, false, 500000, core.WithdrawalApproved, ""},
		{"critical illness on a sealed account", "王芳", "09", diagnosis, false, 500000, core.WithdrawalApproved, ""},
		{"critical illness needs no continuity", "吴敏", "09", diagnosis, false, 100000, core.WithdrawalApproved, ""},
		{"critical illness without evidence", "王芳", "09", nil, false, 500000, core.WithdrawalRejected, ReasonEvidenceMissing},
		{"critical illness on a frozen account", "刘洋", "09", diagnosis, false, 500000, core.WithdrawalRejected, ReasonAccountFrozen},
		{"closing a sealed account", "王芳", "99", nil, true, 0, core.WithdrawalApproved, ""},
		{"closing a normal account", "李娜", "99", nil, true, 0, core.WithdrawalRejected, ReasonAccountNotSealed},
		{"closing on a frozen account", "刘洋", "99", nil, true, 0, core.WithdrawalRejected, ReasonAccountFrozen},
		{"closing for less than the balance", "王芳", "99", nil, true, -1, core.WithdrawalRejected, ReasonCloseAmountMismatch},
		{"closing for more than the balance", "王芳", "99", nil, true, 1, core.WithdrawalRejected, ReasonCloseAmountMismatch},
		{"leaving the city, closing", "王芳", "05", nil, true, 0, core.WithdrawalApproved, ""},
		{"leaving the city, partial", "王芳", "05", nil, false, 100000, core.WithdrawalApproved, ""},
		{"retirement, closing for less", "赵建国", "03", nil, true, -100, core.WithdrawalRejected, ReasonCloseAmountMismatch},
		{"retirement, closing", "赵建国", "03", nil, true, 0, core.WithdrawalApproved, ""},
		{"loan repayment", "张伟", "06", nil, false, 2_000_000, core.WithdrawalApproved, ""},
		{"partial withdrawal above the balance", "王芳", "05", nil, false, 1_000_000_000, core.WithdrawalRejected, ReasonInsufficientBalance},
		{"purchase with an unknown deed", "李娜", "01", []string{"deed:anything"}, false, 1_000_000, core.WithdrawalRejected, ReasonEvidenceUnknown},
		{"purchase with another person's deed", "李娜", "01", []string{"deed:ZJ-HZ-2024-0043127"}, false, 1_000_000, core.WithdrawalRejected, ReasonEvidenceUnknown},
		{"purchase with her own diagnosis", "李娜", "01", []string{"diagnosis:ZJH-2026-00318"}, false, 1_000_000, core.WithdrawalRejected, ReasonEvidenceUnknown},
		{"purchase with one good and one unknown", "李娜", "01", []string{"deed:ZJ-HZ-2026-0081562", "deed:x"}, false, 1_000_000, core.WithdrawalRejected, ReasonEvidenceUnknown},
		{"purchase with deed and contract", "李娜", "01", []string{"deed:ZJ-HZ-2026-0081562", "contract:HZ-SP-2026-1107"}, false, 1_000_000, core.WithdrawalApproved, ""},
		{"rent with her lease", "李娜", "07", []string{"lease:HZ-ZL-2026-0412"}, false, 100_000, core.WithdrawalApproved, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // a simulator and a clock each
			h := newHarness(t)
			id := h.personID(tt.person)
			amount := tt.amount
			if tt.close {
				acc, _ := h.account(id)
				amount += acc.BalanceFen
			}
			var refs []string
			for _, e := range tt.evidence {
				if e == "own" {
					e = h.record(tt.person, kindEvidence(tt.kind)[0])
				}
				refs = append(refs, e)
			}
			w := h.withPayout(core.Withdrawal{ApplicationID: "app-rule", PersonID: id, Kind: tt.kind, AmountFen: amount, EvidenceRefs: refs, CloseAccount: tt.close})
			if code, _, b := h.submit(w); code != http.StatusCreated {
				t.Fatalf("submit: %d %s", code, b)
			}
			h.clock.Advance(30 * time.Second)
			st := h.status("app-rule")
			if st.Status != tt.status || st.Reason != tt.reason {
				t.Errorf("got %s %q, want %s %q", st.Status, st.Reason, tt.status, tt.reason)
			}
		})
	}
}

func TestCloseAccountPayoutClosesTheAccount(t *testing.T) {
	h := newHarness(t)
	id := h.personID("王芳")
	before, _ := h.account(id)
	if before.Status != core.StatusSealed || before.BalanceFen <= 0 {
		t.Fatalf("王芳's account %+v, want sealed with a balance", before)
	}
	w := h.withPayout(core.Withdrawal{ApplicationID: "app-close", PersonID: id, Kind: "99", AmountFen: before.BalanceFen, CloseAccount: true})
	submitted := h.clock.Now()
	if code, _, b := h.submit(w); code != http.StatusCreated {
		t.Fatalf("submit: %d %s", code, b)
	}
	h.clock.Set(submitted.Add(30*time.Second + 2*time.Minute))
	if st := h.status("app-close"); st.Status != core.WithdrawalPaid {
		t.Fatalf("after review and payout: %+v, want paid", st)
	}
	after, _ := h.account(id)
	if after.Status != core.StatusClosedWithdrawal || after.BalanceFen != 0 {
		t.Errorf("account after closing: status %s balance %d, want 05 and 0", after.Status, after.BalanceFen)
	}
	var page core.DepositPage
	h.get(path(core.PathDeposits, id)+"?limit=1", &page)
	if len(page.Items) != 1 {
		t.Fatalf("deposits: %+v", page)
	}
	got := page.Items[0]
	if got.Kind != core.KindWithdrawal || got.WithdrawalKind != "99" || got.AmountFen != -before.BalanceFen || got.BalanceAfterFen != 0 {
		t.Errorf("newest entry %+v, want a 99 withdrawal of %d fen leaving 0", got, before.BalanceFen)
	}
	// A closed account takes no further withdrawals.
	w.ApplicationID, w.Kind, w.AmountFen, w.CloseAccount = "app-after-close", "05", 1, false
	h.submit(w)
	h.clock.Advance(30 * time.Second)
	if st := h.status("app-after-close"); st.Status != core.WithdrawalRejected || st.Reason != ReasonAccountClosed {
		t.Errorf("withdrawal from a closed account: %+v", st)
	}
}

// TestCloseAmountMismatchAtPayout: both applications are approved on the
// same balance; the first one paid changes it, so the closing one no longer
// takes the whole balance and is refused at payout, leaving the account open.
func TestCloseAmountMismatchAtPayout(t *testing.T) {
	h := newHarness(t)
	id := h.personID("王芳")
	before, _ := h.account(id)
	t0 := h.clock.Now()
	partial := h.withPayout(core.Withdrawal{ApplicationID: "app-partial", PersonID: id, Kind: "05", AmountFen: 100000})
	h.submit(partial)
	h.clock.Advance(time.Second)
	closing := h.withPayout(core.Withdrawal{ApplicationID: "app-closing", PersonID: id, Kind: "99", AmountFen: before.BalanceFen, CloseAccount: true})
	h.submit(closing)

	h.clock.Set(t0.Add(31 * time.Second))
	for _, app := range []string{"app-partial", "app-closing"} {
		if st := h.status(app); st.Status != core.WithdrawalApproved {
			t.Fatalf("%s at review: %+v, want approved", app, st)
		}
	}
	h.clock.Set(t0.Add(31*time.Second + 2*time.Minute))
	if st := h.status("app-partial"); st.Status != core.WithdrawalPaid {
		t.Errorf("partial: %+v, want paid", st)
	}
	if st := h.status("app-closing"); st.Status != core.WithdrawalRejected || st.Reason != ReasonCloseAmountMismatch {
		t.Errorf("closing: %+v, want rejected %s", st, ReasonCloseAmountMismatch)
	}
	after, _ := h.account(id)
	if after.Status != core.StatusSealed || after.BalanceFen != before.BalanceFen-100000 {
		t.Errorf("account %s %d, want still sealed with %d", after.Status, after.BalanceFen, before.BalanceFen-100000)
	}
}

func TestWithdrawalRedeliveryWithEvidence(t *testing.T) {
	h := newHarness(t)
	w := h.withPayout(core.Withdrawal{ApplicationID: "app-evidence", PersonID: h.personID("李娜"), Kind: "01", AmountFen: 1_000_000, EvidenceRefs: []string{"deed:ZJ-HZ-2026-0081562", "contract:HZ-SP-2026-1107"}})
	code, first, b := h.submit(w)
	if code != http.StatusCreated {
		t.Fatalf("first delivery: %d %s", code, b)
	}
	h.clock.Advance(time.Second)
	if code, again, b := h.submit(w); code != http.StatusOK || again != first {
		t.Fatalf("same delivery again: %d %s, want 200 and %+v", code, b, first)
	}
	h.clock.Advance(30 * time.Second) // decided: a redelivery answers the current status
	if code, again, b := h.submit(w); code != http.StatusOK || again.Status != core.WithdrawalApproved {
		t.Fatalf("redelivery after review: %d %s, want 200 approved", code, b)
	}

	closing := h.withPayout(core.Withdrawal{ApplicationID: "app-close-evidence", PersonID: h.personID("王芳"), Kind: "99", AmountFen: 1, EvidenceRefs: []string{"closing:HZ-XH-2026-0033"}, CloseAccount: true})
	if code, _, b := h.submit(closing); code != http.StatusCreated {
		t.Fatalf("closing: %d %s", code, b)
	}
	if code, _, b := h.submit(closing); code != http.StatusOK {
		t.Fatalf("closing again: %d %s, want 200", code, b)
	}

	different := map[string]func(*core.Withdrawal){
		"evidence reordered": func(x *core.Withdrawal) {
			x.EvidenceRefs = []string{"contract:HZ-SP-2026-1107", "deed:ZJ-HZ-2026-0081562"}
		},
		"evidence dropped": func(x *core.Withdrawal) { x.EvidenceRefs = nil },
		"evidence added":   func(x *core.Withdrawal) { x.EvidenceRefs = append(slices.Clone(x.EvidenceRefs), "X") },
		"closing flipped":  func(x *core.Withdrawal) { x.CloseAccount = !x.CloseAccount },
	}
	for name, mutate := range different {
		x := w
		mutate(&x)
		resp, body := h.request(http.MethodPut, path(core.PathWithdrawal, x.ApplicationID), x, signing{})
		t.Run(name, func(t *testing.T) { wantError(t, resp, body, http.StatusConflict, core.ErrConflict) })
	}
	if h.sim.WithdrawalCount("app-evidence") != 1 || h.sim.Withdrawals() != 2 {
		t.Errorf("count %d, total %d; want 1, 2", h.sim.WithdrawalCount("app-evidence"), h.sim.Withdrawals())
	}

	empty := w
	empty.ApplicationID, empty.EvidenceRefs = "app-empty-ref", []string{""}
	resp, body := h.request(http.MethodPut, path(core.PathWithdrawal, empty.ApplicationID), empty, signing{})
	wantError(t, resp, body, http.StatusBadRequest, core.ErrBadRequest)
}

// TestOlderDatabaseFileGainsTheNewColumns opens a file written before
// withdrawals carried evidence and account closing: the columns are added,
// the old application reads back with neither, and a redelivery of it is
// still the same content.
func TestOlderDatabaseFileGainsTheNewColumns(t *testing.T) {
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "coresim.db")
	withPath := func(c *Config) { c.Path = file }

	old := newHarness(t, withPath)
	w := old.withPayout(core.Withdrawal{ApplicationID: "app-old", PersonID: old.personID("李娜"), Kind: "07", AmountFen: 100000})
	payoutID := w.PayoutAccountID
	w.PayoutAccountID = "" // the previous contract had none
	if code, _, b := old.submit(w); code != http.StatusCreated {
		t.Fatalf("submit: %d %s", code, b)
	}
	// Make the file what the previous version left behind.
	for _, stmt := range []string{
		"ALTER TABLE withdrawals DROP COLUMN evidence_refs",
		"ALTER TABLE withdrawals DROP COLUMN close_account",
		"ALTER TABLE withdrawals DROP COLUMN payout_account_id",
		"ALTER TABLE withdrawals DROP COLUMN shared_evidence",
		"ALTER TABLE withdrawals DROP COLUMN materials",
		"ALTER TABLE deposits DROP COLUMN application_id",
		"DROP TABLE payout_accounts",
		"DROP TABLE records",
		"DELETE FROM meta WHERE key = 'holdings_seeded_at'",
	} {
		if _, err := old.sim.wdb.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	if n := columnCount(t, old.sim.wdb, "withdrawals"); n != 10 {
		t.Fatalf("the old withdrawals table has %d columns, want 10", n)
	}
	old.srv.Close()
	if err := old.sim.Close(); err != nil {
		t.Fatal(err)
	}

	h := newHarness(t, withPath)
	if n := columnCount(t, h.sim.wdb, "withdrawals"); n != 15 {
		t.Errorf("after Open the withdrawals table has %d columns, want 15", n)
	}
	if err := h.sim.migrate(ctx); err != nil {
		t.Errorf("migrating twice: %v", err)
	}
	if code, st, b := h.submit(w); code != http.StatusOK || st.Status != core.WithdrawalSubmitted {
		t.Errorf("redelivery of the old application: %d %s, want 200 submitted", code, b)
	}
	ev := w
	ev.ApplicationID, ev.Kind, ev.EvidenceRefs, ev.AmountFen = "app-new", "01", []string{"deed:ZJ-HZ-2026-0081562"}, 1_000_000
	ev.PayoutAccountID = payoutID // the holdings are seeded into the old file
	h.submit(ev)
	h.clock.Advance(30 * time.Second)
	if st := h.status("app-new"); st.Status != core.WithdrawalApproved {
		t.Errorf("purchase with evidence and a payout account on the migrated file: %+v", st)
	}
}

func columnCount(t *testing.T, db *sql.DB, table string) int {
	t.Helper()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM pragma_table_info(?)", table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
