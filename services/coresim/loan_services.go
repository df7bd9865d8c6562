package coresim

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"time"

	"handheld/services/core"
	"handheld/services/loan"
)

// cursorRepayments pages the repayment history by position.
const cursorRepayments = "r"

// DefaultLoanPolicy is the demo centre's early-repayment and arrears
// policy: at least 10,000 yuan unless repaying everything, once in 12
// months, up to the 25th of a month, either mode, from the HPF balance
// too, and 万分之五 a day on overdue instalments.
func DefaultLoanPolicy() core.LoanPolicy {
	return core.LoanPolicy{PrepayMinFen: 1_000_000, PrepayIntervalMonths: 12, PrepayCutoffDay: 25,
		PrepayModes: []string{core.ModeShortenTerm, core.ModeReduceInstalment}, PrepayFromHPF: true, PenaltyDailyBP: 5}
}

// SetLoanPolicy replaces the loan policy (tests and demos: a cut-off day
// that today is not past, no interval).
func (s *Sim) SetLoanPolicy(p core.LoanPolicy) {
	s.loanMu.Lock()
	defer s.loanMu.Unlock()
	s.loanPolicy = p
}

func (s *Sim) currentLoanPolicy() core.LoanPolicy {
	s.loanMu.Lock()
	defer s.loanMu.Unlock()
	p := s.loanPolicy
	p.PrepayModes = slices.Clone(p.PrepayModes)
	return p
}

func (s *Sim) loanPolicyEndpoint(_ context.Context, _ call) (int, any, error) {
	return http.StatusOK, s.currentLoanPolicy(), nil
}

// loanPosition answers where the person's loan stands.
func (s *Sim) loanPosition(ctx context.Context, c call) (int, any, error) {
	id := c.r.PathValue("person_id")
	if _, err := loadPersonBy(ctx, s.rdb, "p.person_id", id); err != nil {
		return 0, nil, err
	}
	l, ok, err := loadLoan(ctx, s.rdb, id)
	if err != nil || !ok {
		return http.StatusOK, core.LoanPosition{}, err
	}
	return http.StatusOK, l.position(c.now, s.currentLoanPolicy().PenaltyDailyBP), nil
}

// repaymentAccountOf resolves the account in force and the pending one: a
// change whose date has come is in force.
func repaymentAccountOf(l loanTerms, accounts []core.PayoutAccount, now time.Time) (core.RepaymentAccount, bool) {
	find := func(id string) (core.PayoutAccount, bool) {
		for _, a := range accounts {
			if a.ID == id {
				return a, true
			}
		}
		return core.PayoutAccount{}, false
	}
	current := l.repayAccount
	pending, from := l.pendingAccount, l.pendingFrom
	if pending != "" && from <= date(now) {
		current, pending, from = pending, "", ""
	}
	var out core.RepaymentAccount
	a, ok := find(current)
	if !ok {
		if len(accounts) == 0 {
			return out, false
		}
		a = accounts[0]
	}
	out.Account = a
	if p, ok := find(pending); ok {
		out.Pending, out.EffectiveFrom = &p, from
	}
	return out, true
}

// loanInForce loads a loan that is not repaid; a 404 otherwise.
func (s *Sim) loanInForce(ctx context.Context, q querier, personID string, now time.Time) (loanTerms, error) {
	if _, err := loadPersonBy(ctx, q, "p.person_id", personID); err != nil {
		return loanTerms{}, err
	}
	l, ok, err := loadLoan(ctx, q, personID)
	if err != nil {
		return l, err
	}
	if !ok || l.position(now, 0).Settled {
		return l, notFound("no loan outstanding")
	}
	return l, nil
}

func (s *Sim) repaymentAccount(ctx context.Context, c call) (int, any, error) {
	id := c.r.PathValue("person_id")
	l, err := s.loanInForce(ctx, s.rdb, id, c.now)
	if err != nil {
		return 0, nil, err
	}
	accounts, err := loadPayoutAccounts(ctx, s.rdb, id)
	if err != nil {
		return 0, nil, err
	}
	out, ok := repaymentAccountOf(l, accounts, c.now)
	if !ok {
		return 0, nil, notFound("no account on file")
	}
	return http.StatusOK, out, nil
}

// changeRepaymentAccount names another of the person's accounts from the
// next instalment on; the account in force again cancels a pending change.
func (s *Sim) changeRepaymentAccount(ctx context.Context, c call) (int, any, error) {
	id := c.r.PathValue("person_id")
	var ch core.RepaymentAccountChange
	if err := decodeJSON(c.body, &ch); err != nil {
		return 0, nil, err
	}
	if ch.AccountID == "" {
		return 0, nil, badRequest("account_id is required")
	}
	var out core.RepaymentAccount
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		l, err := s.loanInForce(ctx, tx, id, c.now)
		if err != nil {
			return err
		}
		accounts, err := loadPayoutAccounts(ctx, tx, id)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(accounts, func(a core.PayoutAccount) bool { return a.ID == ch.AccountID }) {
			return notFound("not an account of the person")
		}
		now, _ := repaymentAccountOf(l, accounts, c.now)
		current, pending, from := now.Account.ID, ch.AccountID, l.position(c.now, 0).NextDueOn
		if pending == current || from == "" {
			pending, from = "", ""
		}
		if _, err := tx.ExecContext(ctx, `UPDATE loans SET repay_account_id = ?, pending_account_id = ?, pending_from = ? WHERE person_id = ?`,
			current, pending, from, id); err != nil {
			return err
		}
		l.repayAccount, l.pendingAccount, l.pendingFrom = current, pending, from
		out, _ = repaymentAccountOf(l, accounts, c.now)
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, out, nil
}

// loanRepayments pages the repayment history, newest first: the paid
// instalments and the early and arrears payments applied.
func (s *Sim) loanRepayments(ctx context.Context, c call) (int, any, error) {
	id := c.r.PathValue("person_id")
	limit, err := pageLimit(c.r.URL.Query().Get("limit"))
	if err != nil {
		return 0, nil, err
	}
	after, err := decodeIntCursor(cursorRepayments, c.r.URL.Query().Get("cursor"))
	if err != nil {
		return 0, nil, err
	}
	if _, err := loadPersonBy(ctx, s.rdb, "p.person_id", id); err != nil {
		return 0, nil, err
	}
	page := core.RepaymentPage{Items: []core.Repayment{}}
	var all []core.Repayment
	err = s.readTx(ctx, func(q querier) error {
		l, ok, err := loadLoan(ctx, q, id)
		if err != nil || !ok {
			return err
		}
		accounts, err := loadPayoutAccounts(ctx, q, id)
		if err != nil {
			return err
		}
		source := "hpf"
		if ra, ok := repaymentAccountOf(l, accounts, c.now); ok {
			source = ra.Account.ID
		}
		for _, in := range l.schedule(c.now) {
			if in.Status == "paid" {
				all = append(all, core.Repayment{ID: l.number + "-" + strconv.Itoa(in.Period), PaidOn: in.DueOn, Kind: core.RepaymentInstalment,
					Period: in.Period, AmountFen: in.PaymentFen, PrincipalFen: in.PrincipalFen, InterestFen: in.InterestFen, Source: source})
			}
		}
		rows, err := q.QueryContext(ctx, `SELECT payment_id, paid_on, kind, amount_fen, principal_fen, interest_fen, penalty_fen, source
			FROM loan_payments WHERE person_id = ? AND status = 'applied'`, id)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r core.Repayment
			if err := rows.Scan(&r.ID, &r.PaidOn, &r.Kind, &r.AmountFen, &r.PrincipalFen, &r.InterestFen, &r.PenaltyFen, &r.Source); err != nil {
				return err
			}
			all = append(all, r)
		}
		return rows.Err()
	})
	if err != nil {
		return 0, nil, err
	}
	sort.SliceStable(all, func(i, j int) bool {
		if all[i].PaidOn != all[j].PaidOn {
			return all[i].PaidOn > all[j].PaidOn
		}
		return all[i].Kind > all[j].Kind // a payment made on a due date after the instalment
	})
	if after < len(all) {
		end := min(after+limit, len(all))
		page.Items = all[after:end]
		if end < len(all) {
			page.NextCursor = encodeCursor(cursorRepayments, strconv.Itoa(end))
		}
	}
	return http.StatusOK, page, nil
}

// loanApplications lists the applications made at a counter.
func (s *Sim) loanApplications(ctx context.Context, c call) (int, any, error) {
	id := c.r.PathValue("person_id")
	if _, err := loadPersonBy(ctx, s.rdb, "p.person_id", id); err != nil {
		return 0, nil, err
	}
	out := core.LoanApplicationList{Items: []core.LoanApplication{}}
	rows, err := s.rdb.QueryContext(ctx, `SELECT application_id, applied_on, amount_fen, months, status, updated_on, branch
		FROM loan_applications WHERE person_id = ? ORDER BY applied_on DESC, application_id DESC`, id)
	if err != nil {
		return 0, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var a core.LoanApplication
		if err := rows.Scan(&a.ApplicationID, &a.AppliedOn, &a.AmountFen, &a.Months, &a.Status, &a.UpdatedOn, &a.Branch); err != nil {
			return 0, nil, err
		}
		out.Items = append(out.Items, a)
	}
	return http.StatusOK, out, rows.Err()
}

// getPrepayment answers a prepayment's or arrears payment's status.
func (s *Sim) getPrepayment(ctx context.Context, c call) (int, any, error) {
	var answer string
	err := s.rdb.QueryRowContext(ctx, `SELECT answer FROM loan_payments WHERE payment_id = ?`, c.r.PathValue("prepayment_id")).Scan(&answer)
	if err == sql.ErrNoRows {
		return 0, nil, notFound("no such prepayment")
	}
	if err != nil {
		return 0, nil, err
	}
	var st core.PrepaymentStatus
	return http.StatusOK, &st, json.Unmarshal([]byte(answer), &st)
}

// loanPayment is what the two payment endpoints share: a request judged
// and applied once per id.
type loanPayment struct {
	id, personID, kind string
	request            []byte // canonical JSON of the request
	sourceAccountID    string
	fromHPF            bool
}

// once answers a repeat with the first answer (200), other content under
// the id with 409, and otherwise runs judge in the transaction and stores
// its answer (201).
func (s *Sim) once(ctx context.Context, p loanPayment, now time.Time,
	judge func(tx *sql.Tx, l loanTerms, pos core.LoanPosition) (core.PrepaymentStatus, core.Repayment, error)) (int, any, error) {
	status := http.StatusCreated
	var out core.PrepaymentStatus
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var req, answer string
		err := tx.QueryRowContext(ctx, `SELECT request, answer FROM loan_payments WHERE payment_id = ?`, p.id).Scan(&req, &answer)
		if err == nil {
			if req != string(p.request) {
				return &apiError{status: http.StatusConflict, code: core.ErrConflict, msg: "payment id already used for another payment"}
			}
			status = http.StatusOK
			return json.Unmarshal([]byte(answer), &out)
		}
		if err != sql.ErrNoRows {
			return err
		}
		if _, err := loadPersonBy(ctx, tx, "p.person_id", p.personID); err != nil {
			return err
		}
		l, ok, err := loadLoan(ctx, tx, p.personID)
		if err != nil {
			return err
		}
		var pos core.LoanPosition
		if ok {
			pos = l.position(now, s.currentLoanPolicy().PenaltyDailyBP)
		}
		var rep core.Repayment
		switch {
		case !ok || pos.Settled:
			out = core.PrepaymentStatus{Status: core.PrepaymentRejected, Reason: core.ReasonNoLoan}
		default:
			if out, rep, err = judge(tx, l, pos); err != nil {
				return err
			}
		}
		out.ID = p.id
		if out.Status == core.PrepaymentApplied {
			out.AppliedOn = date(now)
			rep.Source = p.sourceAccountID
			if p.fromHPF {
				rep.Source = "hpf"
				if err := s.debitHPF(ctx, tx, p, rep.AmountFen, now); err != nil {
					return err
				}
			}
		}
		b, err := json.Marshal(out)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO loan_payments (payment_id, person_id, kind, request, answer, status, paid_on,
			amount_fen, principal_fen, interest_fen, penalty_fen, source, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			p.id, p.personID, p.kind, string(p.request), string(b), out.Status, date(now), rep.AmountFen, rep.PrincipalFen,
			rep.InterestFen, rep.PenaltyFen, rep.Source, now.UnixNano())
		return err
	})
	if err != nil {
		return 0, nil, err
	}
	return status, out, nil
}

// sourceRefused checks where the money comes from: one of the person's
// own accounts, or the HPF balance where the policy allows and it covers
// the amount on a normal account.
func (s *Sim) sourceRefused(ctx context.Context, tx *sql.Tx, p loanPayment, amount int64, policy core.LoanPolicy) (bool, error) {
	if p.fromHPF {
		if !policy.PrepayFromHPF {
			return true, nil
		}
		var balance int64
		var status string
		err := tx.QueryRowContext(ctx, `SELECT balance_fen, status FROM accounts WHERE person_id = ?`, p.personID).Scan(&balance, &status)
		if err == sql.ErrNoRows {
			return true, nil
		}
		return err != nil || status != core.StatusNormal || balance < amount, err
	}
	accounts, err := loadPayoutAccounts(ctx, tx, p.personID)
	if err != nil {
		return false, err
	}
	return !slices.ContainsFunc(accounts, func(a core.PayoutAccount) bool { return a.ID == p.sourceAccountID }), nil
}

// debitHPF takes the amount from the HPF balance: a withdrawal entry of
// kind 06 (loan repayment) naming the payment.
func (s *Sim) debitHPF(ctx context.Context, tx *sql.Tx, p loanPayment, amount int64, now time.Time) error {
	var balance int64
	var seq int
	if err := tx.QueryRowContext(ctx, `SELECT a.balance_fen, coalesce((SELECT max(seq) FROM deposits d WHERE d.person_id = a.person_id), 0)
		FROM accounts a WHERE a.person_id = ?`, p.personID).Scan(&balance, &seq); err != nil {
		return err
	}
	balance -= amount
	if _, err := tx.ExecContext(ctx, `INSERT INTO deposits (person_id, seq, month, posted_on, kind, withdrawal_kind,
			amount_fen, balance_after_fen, application_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, p.personID, seq+1,
		monthOf(now).String(), date(now), core.KindWithdrawal, "06", -amount, balance, p.id); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `UPDATE accounts SET balance_fen = ? WHERE person_id = ?`, balance, p.personID)
	return err
}

// applyPrepayment judges an early repayment by the loan policy and, when
// it passes, takes the money and puts the new schedule in force from the
// next period, worked out by services/loan exactly as the quote was.
func (s *Sim) applyPrepayment(ctx context.Context, c call) (int, any, error) {
	id := c.r.PathValue("prepayment_id")
	var in core.Prepayment
	if err := decodeJSON(c.body, &in); err != nil {
		return 0, nil, err
	}
	switch {
	case in.PrepaymentID != id:
		return 0, nil, badRequest("prepayment_id differs from the path")
	case in.PersonID == "":
		return 0, nil, badRequest("person_id is required")
	case in.AmountFen <= 0:
		return 0, nil, badRequest("amount_fen must be positive")
	case in.Mode != core.ModeShortenTerm && in.Mode != core.ModeReduceInstalment:
		return 0, nil, badRequest("mode: shorten_term or reduce_instalment")
	case (in.SourceAccountID == "") == !in.FromHPF:
		return 0, nil, badRequest("one of source_account_id and from_hpf")
	}
	req, _ := json.Marshal(in)
	policy := s.currentLoanPolicy()
	p := loanPayment{id: id, personID: in.PersonID, kind: core.RepaymentPrepayment, request: req, sourceAccountID: in.SourceAccountID, fromHPF: in.FromHPF}
	return s.once(ctx, p, c.now, func(tx *sql.Tx, l loanTerms, pos core.LoanPosition) (core.PrepaymentStatus, core.Repayment, error) {
		out := core.PrepaymentStatus{Status: core.PrepaymentRejected, AmountFen: in.AmountFen}
		reject := func(reason string) (core.PrepaymentStatus, core.Repayment, error) {
			out.Reason = reason
			return out, core.Repayment{}, nil
		}
		if reason := core.PrepaymentRule(policy, pos, in.AmountFen, in.Mode, c.now); reason != "" {
			return reject(reason)
		}
		refused, err := s.sourceRefused(ctx, tx, p, in.AmountFen, policy)
		if err != nil || refused {
			out.Reason = core.ReasonSourceRefused
			return out, core.Repayment{}, err
		}
		q, err := loan.Prepay(loan.Position{Terms: loan.Terms{PrincipalFen: pos.PrincipalFen, Months: pos.Months,
			AnnualRateBP: pos.AnnualRateBP, Method: loan.Method(pos.Method)}, Paid: pos.Paid}, in.AmountFen, loan.Mode(in.Mode))
		if err != nil {
			return out, core.Repayment{}, err
		}
		first := pos.FirstPeriod + pos.Paid
		today := date(c.now)
		settledOn := ""
		if q.Settles {
			settledOn = today
		} else if _, err := tx.ExecContext(ctx, `INSERT INTO loan_segments (person_id, first_period, principal_fen, months) VALUES (?, ?, ?, ?)
			ON CONFLICT (person_id, first_period) DO UPDATE SET principal_fen = excluded.principal_fen, months = excluded.months`,
			in.PersonID, first, q.OwedAfterFen, q.MonthsAfter); err != nil {
			return out, core.Repayment{}, err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE loans SET last_prepaid_on = ?, settled_on = ? WHERE person_id = ?`,
			today, settledOn, in.PersonID); err != nil {
			return out, core.Repayment{}, err
		}
		out.Status, out.InterestSavedFen, out.MonthsAfter, out.PaymentAfterFen, out.Settled =
			core.PrepaymentApplied, q.InterestSavedFen, q.MonthsAfter, q.PaymentAfterFen, q.Settles
		return out, core.Repayment{Kind: core.RepaymentPrepayment, AmountFen: in.AmountFen, PrincipalFen: in.AmountFen}, nil
	})
}

// payArrears clears every overdue instalment with its penalty to date.
func (s *Sim) payArrears(ctx context.Context, c call) (int, any, error) {
	id := c.r.PathValue("payment_id")
	var in core.ArrearsPayment
	if err := decodeJSON(c.body, &in); err != nil {
		return 0, nil, err
	}
	switch {
	case in.PaymentID != id:
		return 0, nil, badRequest("payment_id differs from the path")
	case in.PersonID == "":
		return 0, nil, badRequest("person_id is required")
	case (in.SourceAccountID == "") == !in.FromHPF:
		return 0, nil, badRequest("one of source_account_id and from_hpf")
	}
	req, _ := json.Marshal(in)
	policy := s.currentLoanPolicy()
	p := loanPayment{id: id, personID: in.PersonID, kind: core.RepaymentArrears, request: req, sourceAccountID: in.SourceAccountID, fromHPF: in.FromHPF}
	return s.once(ctx, p, c.now, func(tx *sql.Tx, l loanTerms, pos core.LoanPosition) (core.PrepaymentStatus, core.Repayment, error) {
		out := core.PrepaymentStatus{Status: core.PrepaymentRejected}
		if pos.OverduePeriods == 0 {
			out.Reason = core.ReasonNoArrears
			return out, core.Repayment{}, nil
		}
		amount := pos.ArrearsFen + pos.PenaltyFen
		out.AmountFen, out.PenaltyFen = amount, pos.PenaltyFen
		// The HPF balance pays arrears whatever the early-repayment policy.
		policy.PrepayFromHPF = true
		refused, err := s.sourceRefused(ctx, tx, p, amount, policy)
		if err != nil || refused {
			out.Reason = core.ReasonSourceRefused
			return out, core.Repayment{}, err
		}
		rep := core.Repayment{Kind: core.RepaymentArrears, AmountFen: amount, PenaltyFen: pos.PenaltyFen}
		for _, in := range l.schedule(c.now) {
			if in.Status == "overdue" {
				rep.PrincipalFen += in.PrincipalFen
				rep.InterestFen += in.InterestFen
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE loans SET overdue_from = 0, overdue_count = 0 WHERE person_id = ?`, in.PersonID); err != nil {
			return out, rep, err
		}
		out.Status = core.PrepaymentApplied
		return out, rep, nil
	})
}
