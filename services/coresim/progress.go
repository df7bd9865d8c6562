package coresim

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"handheld/services/core"
)

// Reasons the simulated core gives when it rejects a withdrawal
// (core.WithdrawalStatus.Reason).
const (
	ReasonNoAccount           = "no_account"              // the person has no HPF account
	ReasonAccountFrozen       = "account_frozen"          // status 06
	ReasonAccountClosed       = "account_closed"          // status 03, 04 or 05
	ReasonAccountNotNormal    = "account_not_normal"      // purchase, building and rent need status 01; critical illness 01 or 02
	ReasonAccountNotSealed    = "account_not_sealed"      // leaving the city and closing (99) need status 02
	ReasonInsufficientBalance = "insufficient_balance"    // amount above the balance
	ReasonNotRetired          = "not_retired"             // retirement before 60 (men) or 55 (women)
	ReasonNoLoan              = "no_loan"                 // loan repayment without an outstanding loan
	ReasonContinuity          = "insufficient_continuity" // too few unbroken months of deposits
	ReasonRentTooFrequent     = "rent_too_frequent"       // a rent withdrawal within the last 3 months
	ReasonEvidenceMissing     = "evidence_missing"        // purchase or critical illness without a document to confirm
	ReasonCloseAmountMismatch = "close_amount_mismatch"   // closing the account for other than the whole balance
	// ReasonEvidenceUnknown: an evidence reference names no record of the
	// applicant of the category the kind needs (unknown, another
	// person's, or another category).
	ReasonEvidenceUnknown = "evidence_unknown"
	// ReasonPayoutAccountUnknown: the payout account is not one the
	// applicant holds (or its number or kind does not match).
	ReasonPayoutAccountUnknown = "payout_account_unknown"
)

// Continuity the core requires, in unbroken months of deposits.
const (
	continuityPurchase = 6 // kinds 01 purchase and 02 build/renovate
	continuityRent     = 3 // kind 07 rent
	rentIntervalMonths = 3 // at most one rent withdrawal per quarter
)

// settle advances the person's open applications to now, taking the writer
// only when one of them is due: submitted → approved or rejected after
// ReviewDelay, approved → paid after PayoutDelay. Transitions are stamped
// with the time they were due, not the time they were noticed, so the
// outcome depends only on the clock, never on when someone asked.
func (s *Sim) settle(ctx context.Context, personID string, now time.Time) error {
	var due bool
	err := s.rdb.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM withdrawals WHERE person_id = ?
		AND ((status = 'submitted' AND created_at <= ?) OR (status = 'approved' AND updated_at <= ?)))`,
		personID, now.Add(-s.reviewDelay).UnixNano(), now.Add(-s.payoutDelay).UnixNano()).Scan(&due)
	if err != nil || !due {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error { return s.settleTx(ctx, tx, personID, now) })
}

// settleTx is settle inside a write transaction.
func (s *Sim) settleTx(ctx context.Context, tx *sql.Tx, personID string, now time.Time) error {
	rows, err := tx.QueryContext(ctx, `SELECT application_id FROM withdrawals WHERE person_id = ?
		AND status IN ('submitted', 'approved') ORDER BY created_at, application_id`, personID)
	if err != nil {
		return err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, id := range ids {
		a, err := loadApplication(ctx, tx, id)
		if err != nil {
			return err
		}
		if a.status == core.WithdrawalSubmitted {
			at := a.created.Add(s.reviewDelay)
			if now.Before(at) {
				continue
			}
			reason, err := review(ctx, tx, a, at)
			if err != nil {
				return err
			}
			a.status, a.reason, a.updated = core.WithdrawalApproved, reason, at
			if reason != "" {
				a.status = core.WithdrawalRejected
			}
			if err := setStatus(ctx, tx, id, a.status, reason, at); err != nil {
				return err
			}
		}
		if a.status == core.WithdrawalApproved {
			at := a.updated.Add(s.payoutDelay)
			if now.Before(at) {
				continue
			}
			if err := pay(ctx, tx, a, at); err != nil {
				return err
			}
		}
	}
	return nil
}

// review decides an application on the account as it stands at time at;
// "" approves it.
func review(ctx context.Context, tx *sql.Tx, a application, at time.Time) (string, error) {
	acc, err := loadAccount(ctx, tx, a.PersonID, at)
	var e *apiError
	if errors.As(err, &e) && e.code == core.ErrNoAccount {
		return ReasonNoAccount, nil
	}
	if err != nil {
		return "", err
	}
	switch acc.Status {
	case core.StatusFrozen:
		return ReasonAccountFrozen, nil
	case core.StatusClosedMerge, core.StatusClosedTransfer, core.StatusClosedWithdrawal:
		return ReasonAccountClosed, nil
	}
	switch {
	case a.CloseAccount && a.AmountFen != acc.BalanceFen:
		return ReasonCloseAmountMismatch, nil
	case a.AmountFen > acc.BalanceFen:
		return ReasonInsufficientBalance, nil
	}
	switch a.Kind {
	case "01", "02":
		if acc.Status != core.StatusNormal {
			return ReasonAccountNotNormal, nil
		}
		if acc.ContinuousMonths < continuityPurchase {
			return ReasonContinuity, nil
		}
		if a.Kind == "01" && !hasEvidence(a, core.EvidencePropertyRegistration) {
			return ReasonEvidenceMissing, nil
		}
	case "03":
		var idNumber string
		if err := tx.QueryRowContext(ctx, `SELECT id_number FROM persons WHERE person_id = ?`, a.PersonID).Scan(&idNumber); err != nil {
			return "", err
		}
		if !retired(idNumber, at) {
			return ReasonNotRetired, nil
		}
	case "05", "99": // leaving the city; closing for other reasons
		if acc.Status != core.StatusSealed {
			return ReasonAccountNotSealed, nil
		}
	case "06":
		l, ok, err := loadLoan(ctx, tx, a.PersonID)
		if err != nil {
			return "", err
		}
		if !ok || l.summary(at).Settled {
			return ReasonNoLoan, nil
		}
	case "07":
		if acc.Status != core.StatusNormal {
			return ReasonAccountNotNormal, nil
		}
		if acc.ContinuousMonths < continuityRent {
			return ReasonContinuity, nil
		}
		var recent bool
		err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM deposits WHERE person_id = ? AND kind = 'withdrawal'
				AND withdrawal_kind = '07' AND posted_on > ?)
			OR EXISTS (SELECT 1 FROM withdrawals WHERE person_id = ? AND kind = '07' AND status = 'approved' AND application_id <> ?)`,
			a.PersonID, date(at.AddDate(0, -rentIntervalMonths, 0)), a.PersonID, a.ApplicationID).Scan(&recent)
		if err != nil {
			return "", err
		}
		if recent {
			return ReasonRentTooFrequent, nil
		}
	case "09":
		if acc.Status != core.StatusNormal && acc.Status != core.StatusSealed {
			return ReasonAccountNotNormal, nil
		}
		if !hasEvidence(a, core.EvidenceDiagnosis) {
			return ReasonEvidenceMissing, nil
		}
	}
	// Shared facts must come from a source that can evidence them, and
	// uploads must have arrived whole.
	if reason, err := reviewEvidence(ctx, tx, a); reason != "" || err != nil {
		return reason, err
	}
	// What the application names must be the applicant's own: the
	// records its evidence refers to, the account the money goes to.
	unknown, err := unknownEvidence(ctx, tx, a.PersonID, kindEvidence(a.Kind), a.EvidenceRefs)
	if err != nil {
		return "", err
	}
	if len(unknown) > 0 {
		return ReasonEvidenceUnknown, nil
	}
	held, err := holdsPayoutAccount(ctx, tx, a.PersonID, a.PayoutAccountID, a.PayoutMethod, a.PayoutAccount)
	if err != nil || !held {
		return ReasonPayoutAccountUnknown, err
	}
	return "", nil
}

// pay posts an approved application to the ledger, unless the balance no
// longer covers it (another withdrawal was paid in between), no longer
// equals it for an application that closes the account, or the account was
// frozen or closed meanwhile. Closing pays out the whole balance and leaves
// the account at status 05 (closed by withdrawal).
func pay(ctx context.Context, tx *sql.Tx, a application, at time.Time) error {
	var balance int64
	var status string
	var seq int
	err := tx.QueryRowContext(ctx, `SELECT a.balance_fen, a.status, coalesce((SELECT max(seq) FROM deposits d WHERE d.person_id = a.person_id), 0)
		FROM accounts a WHERE a.person_id = ?`, a.PersonID).Scan(&balance, &status, &seq)
	if err == sql.ErrNoRows {
		return setStatus(ctx, tx, a.ApplicationID, core.WithdrawalRejected, ReasonNoAccount, at)
	}
	reject := func(reason string) error {
		return setStatus(ctx, tx, a.ApplicationID, core.WithdrawalRejected, reason, at)
	}
	switch {
	case err != nil:
		return err
	case status == core.StatusFrozen:
		return reject(ReasonAccountFrozen)
	case status == core.StatusClosedMerge || status == core.StatusClosedTransfer || status == core.StatusClosedWithdrawal:
		return reject(ReasonAccountClosed)
	case a.CloseAccount && a.AmountFen != balance:
		return reject(ReasonCloseAmountMismatch)
	case a.AmountFen > balance:
		return reject(ReasonInsufficientBalance)
	}
	balance -= a.AmountFen
	if a.CloseAccount {
		status = core.StatusClosedWithdrawal
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO deposits (person_id, seq, month, posted_on, kind, withdrawal_kind,
			amount_fen, balance_after_fen, application_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, a.PersonID, seq+1,
		monthOf(at).String(), date(at), core.KindWithdrawal, a.Kind, -a.AmountFen, balance, a.ApplicationID); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE accounts SET balance_fen = ?, status = ? WHERE person_id = ?`, balance, status, a.PersonID); err != nil {
		return err
	}
	return setStatus(ctx, tx, a.ApplicationID, core.WithdrawalPaid, "", at)
}

// retired applies the statutory retirement ages the simulator uses: 60 for
// men, 55 for women (the gradual rise from 2025 is not modelled).
func retired(idNumber string, at time.Time) bool {
	birth, male, ok := birthAndSex(idNumber)
	if !ok {
		return false
	}
	age := ageOn(birth, at)
	return male && age >= 60 || !male && age >= 55
}
