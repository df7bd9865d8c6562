package coresim

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"handheld/services/core"
)

func (h *harness) submit(w core.Withdrawal) (int, core.WithdrawalStatus, []byte) {
	h.t.Helper()
	w = h.withPayout(w)
	resp, b := h.request(http.MethodPut, path(core.PathWithdrawal, w.ApplicationID), w, signing{})
	var st core.WithdrawalStatus
	json.Unmarshal(b, &st)
	return resp.StatusCode, st, b
}

// withPayout fills in the person's first payout account where w names
// none.
func (h *harness) withPayout(w core.Withdrawal) core.Withdrawal {
	h.t.Helper()
	if w.PayoutAccount != "" {
		return w
	}
	accounts, err := loadPayoutAccounts(context.Background(), h.sim.rdb, w.PersonID)
	if err != nil {
		h.t.Fatal(err)
	}
	if len(accounts) == 0 { // someone else's card: review refuses it
		w.PayoutMethod, w.PayoutAccount, w.PayoutAccountID = core.PayoutBankCard, "6222020200112233445", "pa_not_hers"
		return w
	}
	w.PayoutMethod, w.PayoutAccount, w.PayoutAccountID = accounts[0].Kind, accounts[0].Number, accounts[0].ID
	return w
}

// record is the persona's first record of category, or a reference no
// one holds.
func (h *harness) record(name, category string) string {
	if ref := h.persona(name).Record(category); ref != "" {
		return ref
	}
	return "deed:nobody"
}

func (h *harness) status(id string) core.WithdrawalStatus {
	h.t.Helper()
	var st core.WithdrawalStatus
	h.get(path(core.PathWithdrawal, id), &st)
	return st
}

func TestWithdrawalIsIdempotentByApplicationID(t *testing.T) {
	h := newHarness(t)
	w := h.withPayout(core.Withdrawal{ApplicationID: "app-1", PersonID: h.personID("李娜"), Kind: "07", AmountFen: 450000})

	code, st, b := h.submit(w)
	if code != http.StatusCreated || st.Status != core.WithdrawalSubmitted || st.ApplicationID != "app-1" {
		t.Fatalf("first delivery: %d %s", code, b)
	}
	h.clock.Advance(time.Second)
	code, again, b := h.submit(w)
	if code != http.StatusOK || again != st {
		t.Fatalf("second delivery: %d %s, want 200 and %+v", code, b, st)
	}
	changed := w
	changed.AmountFen++
	resp, body := h.request(http.MethodPut, path(core.PathWithdrawal, w.ApplicationID), changed, signing{})
	wantError(t, resp, body, http.StatusConflict, core.ErrConflict)
	if n := h.sim.WithdrawalCount("app-1"); n != 1 {
		t.Errorf("WithdrawalCount = %d, want 1", n)
	}

	// Concurrent redeliveries of a new application: exactly one 201.
	w2 := w
	w2.ApplicationID = "app-2"
	var wg sync.WaitGroup
	codes := make(chan int, 16)
	for range 16 {
		wg.Go(func() {
			code, _, _ := h.submit(w2)
			codes <- code
		})
	}
	wg.Wait()
	close(codes)
	created := 0
	for c := range codes {
		switch c {
		case http.StatusCreated:
			created++
		case http.StatusOK:
		default:
			t.Errorf("concurrent delivery answered %d", c)
		}
	}
	if created != 1 || h.sim.WithdrawalCount("app-2") != 1 || h.sim.Withdrawals() != 2 {
		t.Errorf("%d created, count %d, total %d; want 1, 1, 2", created, h.sim.WithdrawalCount("app-2"), h.sim.Withdrawals())
	}
}

func TestWithdrawalProgressesWithTheClockAndIsPaid(t *testing.T) {
	h := newHarness(t)
	id := h.personID("李娜")
	var before core.Account
	h.get(path(core.PathAccount, id), &before)
	w := h.withPayout(core.Withdrawal{ApplicationID: "app-paid", PersonID: id, Kind: "07", AmountFen: 450000})
	submitted := h.clock.Now()
	if code, _, b := h.submit(w); code != http.StatusCreated {
		t.Fatalf("submit: %d %s", code, b)
	}
	steps := []struct {
		at   time.Duration
		want string
	}{
		{29 * time.Second, core.WithdrawalSubmitted},
		{30 * time.Second, core.WithdrawalApproved},
		{30*time.Second + 2*time.Minute - time.Second, core.WithdrawalApproved},
		{30*time.Second + 2*time.Minute, core.WithdrawalPaid},
		{time.Hour, core.WithdrawalPaid},
	}
	for _, s := range steps {
		h.clock.Set(submitted.Add(s.at))
		if st := h.status("app-paid"); st.Status != s.want {
			t.Fatalf("after %v: %s, want %s", s.at, st.Status, s.want)
		}
	}
	// Stamped when due, not when asked.
	if st := h.status("app-paid"); !st.UpdatedAt.Equal(submitted.Add(150 * time.Second)) {
		t.Errorf("paid at %v, want %v", st.UpdatedAt, submitted.Add(150*time.Second))
	}
	var after core.Account
	h.get(path(core.PathAccount, id), &after)
	if after.BalanceFen != before.BalanceFen-450000 {
		t.Errorf("balance %d → %d, want a 450000 fen withdrawal", before.BalanceFen, after.BalanceFen)
	}
	var page core.DepositPage
	h.get(path(core.PathDeposits, id)+"?limit=1", &page)
	want := core.Deposit{Month: "2026-11", PostedOn: "2026-11-24", Kind: core.KindWithdrawal, AmountFen: -450000,
		BalanceAfterFen: after.BalanceFen, WithdrawalKind: "07"}
	if got := page.Items[0]; got.ID == "" || got.Month != want.Month || got.PostedOn != want.PostedOn || got.Kind != want.Kind ||
		got.AmountFen != want.AmountFen || got.BalanceAfterFen != want.BalanceAfterFen || got.WithdrawalKind != want.WithdrawalKind {
		t.Errorf("newest entry %+v, want %+v", got, want)
	}
	// A second rent withdrawal within the quarter is refused.
	w.ApplicationID, w.AmountFen = "app-paid-2", 100000
	h.submit(w)
	h.clock.Advance(time.Minute)
	if st := h.status("app-paid-2"); st.Status != core.WithdrawalRejected || st.Reason != ReasonRentTooFrequent {
		t.Errorf("second rent withdrawal: %+v", st)
	}
}

func TestWithdrawalDecisions(t *testing.T) {
	h := newHarness(t)
	tests := []struct {
		person string
		kind   string
		amount int64
		status string
		reason string
	}{
		{"李娜", "07", 300000, core.WithdrawalApproved, ""},
		{"李娜", "01", 1000000, core.WithdrawalRejected, ReasonEvidenceMissing}, // approved with evidence: withdrawal_rules_test.go
		{"李娜", "03", 100000, core.WithdrawalRejected, ReasonNotRetired},
		{"李娜", "06", 100000, core.WithdrawalRejected, ReasonNoLoan},
		{"李娜", "05", 100000, core.WithdrawalRejected, ReasonAccountNotSealed},
		{"李娜", "07", 1_000_000_000, core.WithdrawalRejected, ReasonInsufficientBalance},
		{"张伟", "06", 2_000_000, core.WithdrawalApproved, ""},
		{"王芳", "05", 100000, core.WithdrawalApproved, ""},
		{"王芳", "07", 100000, core.WithdrawalRejected, ReasonAccountNotNormal},
		{"吴敏", "07", 50000, core.WithdrawalRejected, ReasonContinuity},
		{"刘洋", "07", 100000, core.WithdrawalRejected, ReasonAccountFrozen},
		{"孙丽", "07", 100000, core.WithdrawalRejected, ReasonRentTooFrequent},
		{"周强", "07", 100000, core.WithdrawalApproved, ""},
		{"周强", "01", 100000, core.WithdrawalRejected, ReasonContinuity},
		{"赵建国", "03", 1_000_000, core.WithdrawalApproved, ""},
		{"陈静", "07", 100000, core.WithdrawalRejected, ReasonNoAccount},
	}
	for i, tt := range tests {
		t.Run(fmt.Sprintf("%s %s %d", tt.person, tt.kind, tt.amount), func(t *testing.T) {
			id := fmt.Sprintf("app-decide-%d", i)
			code, _, b := h.submit(core.Withdrawal{ApplicationID: id, PersonID: h.personID(tt.person), Kind: tt.kind,
				AmountFen: tt.amount})
			if code != http.StatusCreated {
				t.Fatalf("submit: %d %s", code, b)
			}
			h.clock.Advance(31 * time.Second)
			st := h.status(id)
			if st.Status != tt.status || st.Reason != tt.reason {
				t.Errorf("got %s %q, want %s %q", st.Status, st.Reason, tt.status, tt.reason)
			}
			// Once decided, an application can no longer be cancelled.
			if st.Status == core.WithdrawalApproved {
				resp, b := h.request(http.MethodPost, path(core.PathWithdrawalCancel, id), nil, signing{})
				wantError(t, resp, b, http.StatusConflict, core.ErrConflict)
			}
		})
	}
}

func TestWithdrawalCancelAndBadInput(t *testing.T) {
	h := newHarness(t)
	id := h.personID("欧阳晓峰")
	w := h.withPayout(core.Withdrawal{ApplicationID: "app-cancel", PersonID: id, Kind: "07", AmountFen: 100000})
	h.submit(w)
	for range 2 { // idempotent
		resp, b := h.request(http.MethodPost, path(core.PathWithdrawalCancel, "app-cancel"), nil, signing{})
		var st core.WithdrawalStatus
		json.Unmarshal(b, &st)
		if resp.StatusCode != http.StatusOK || st.Status != core.WithdrawalCancelled {
			t.Fatalf("cancel: %d %s", resp.StatusCode, b)
		}
	}
	h.clock.Advance(time.Hour)
	if st := h.status("app-cancel"); st.Status != core.WithdrawalCancelled {
		t.Errorf("a cancelled application moved on: %+v", st)
	}
	resp, b := h.request(http.MethodPost, path(core.PathWithdrawalCancel, "app-none"), nil, signing{})
	wantError(t, resp, b, http.StatusNotFound, core.ErrNotFound)
	resp, b = h.request(http.MethodGet, path(core.PathWithdrawal, "app-none"), nil, signing{})
	wantError(t, resp, b, http.StatusNotFound, core.ErrNotFound)

	unknown := w
	unknown.ApplicationID, unknown.PersonID = "app-unknown", "P9999"
	resp, b = h.request(http.MethodPut, path(core.PathWithdrawal, unknown.ApplicationID), unknown, signing{})
	wantError(t, resp, b, http.StatusNotFound, core.ErrNotFound)

	bad := []func(*core.Withdrawal){
		func(w *core.Withdrawal) { w.ApplicationID = "other" },
		func(w *core.Withdrawal) { w.Kind = "10" },
		func(w *core.Withdrawal) { w.AmountFen = 0 },
		func(w *core.Withdrawal) { w.PayoutMethod = "cash" },
		func(w *core.Withdrawal) { w.PayoutAccount = "" },
		func(w *core.Withdrawal) { w.PersonID = "" },
	}
	for i, mutate := range bad {
		x := w
		x.ApplicationID = fmt.Sprintf("app-bad-%d", i)
		mutate(&x)
		resp, b := h.request(http.MethodPut, path(core.PathWithdrawal, fmt.Sprintf("app-bad-%d", i)), x, signing{})
		wantError(t, resp, b, http.StatusBadRequest, core.ErrBadRequest)
	}
	if n := h.sim.Withdrawals(); n != 1 {
		t.Errorf("Withdrawals() = %d, want 1 (bad input stores nothing)", n)
	}
}
