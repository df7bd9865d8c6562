package coresim

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"handheld/services/core"
)

// application is a withdrawal as the core holds it.
type application struct {
	core.Withdrawal
	status, reason   string
	created, updated time.Time
}

func (a application) view() core.WithdrawalStatus {
	return core.WithdrawalStatus{ApplicationID: a.ApplicationID, Status: a.status, Reason: a.reason, UpdatedAt: a.updated.In(shanghai())}
}

// sameContent is the idempotency test: a repeated delivery must carry
// exactly what the first one did.
func (a application) sameContent(w core.Withdrawal) bool {
	x, y := a.Withdrawal, w
	return x.ApplicationID == y.ApplicationID && x.PersonID == y.PersonID && x.Kind == y.Kind &&
		x.AmountFen == y.AmountFen && x.PayoutMethod == y.PayoutMethod && x.PayoutAccount == y.PayoutAccount && x.PayoutAccountID == y.PayoutAccountID &&
		x.CloseAccount == y.CloseAccount && slices.Equal(x.EvidenceRefs, y.EvidenceRefs) &&
		slices.Equal(x.SharedEvidence, y.SharedEvidence) && slices.Equal(x.Materials, y.Materials)
}

func loadApplication(ctx context.Context, q querier, id string) (application, error) {
	var a application
	var created, updated int64
	var refs, shared, materials string
	err := q.QueryRowContext(ctx, `SELECT application_id, person_id, kind, amount_fen, payout_method, payout_account,
			payout_account_id, evidence_refs, shared_evidence, materials, close_account, status, reason, created_at, updated_at
		FROM withdrawals WHERE application_id = ?`, id).
		Scan(&a.ApplicationID, &a.PersonID, &a.Kind, &a.AmountFen, &a.PayoutMethod, &a.PayoutAccount,
			&a.PayoutAccountID, &refs, &shared, &materials, &a.CloseAccount, &a.status, &a.reason, &created, &updated)
	if err == sql.ErrNoRows {
		return a, notFound("no such application")
	}
	if err != nil {
		return a, err
	}
	if err := json.Unmarshal([]byte(refs), &a.EvidenceRefs); err != nil {
		return a, fmt.Errorf("coresim: application %s: evidence_refs: %w", id, err)
	}
	if err := json.Unmarshal([]byte(shared), &a.SharedEvidence); err != nil {
		return a, fmt.Errorf("coresim: application %s: shared_evidence: %w", id, err)
	}
	if err := json.Unmarshal([]byte(materials), &a.Materials); err != nil {
		return a, fmt.Errorf("coresim: application %s: materials: %w", id, err)
	}
	a.created, a.updated = time.Unix(0, created), time.Unix(0, updated)
	return a, nil
}

// evidenceJSON is how evidence_refs is stored: a JSON array, "[]" for
// none, so that no evidence and an empty list are the same content.
func evidenceJSON(refs []string) (string, error) {
	if len(refs) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(refs)
	return string(b), err
}

// validKind reports whether k is a GLOSSARY withdrawal reason code.
func validKind(k string) bool {
	switch k {
	case "01", "02", "03", "04", "05", "06", "07", "08", "09", "99":
		return true
	}
	return false
}

// submitWithdrawal stores an application, idempotently by application id:
// 201 the first time, 200 with the current status for the same content,
// 409 for different content under the same id.
func (s *Sim) submitWithdrawal(ctx context.Context, c call) (int, any, error) {
	id := c.r.PathValue("application_id")
	var in core.Withdrawal
	if err := decodeJSON(c.body, &in); err != nil {
		return 0, nil, err
	}
	if in.ApplicationID == "" {
		in.ApplicationID = id
	}
	switch {
	case in.ApplicationID != id:
		return 0, nil, badRequest("application_id differs from the path")
	case in.PersonID == "":
		return 0, nil, badRequest("person_id is required")
	case !validKind(in.Kind):
		return 0, nil, badRequest("kind: want a reason code 01-09 or 99")
	case in.AmountFen <= 0:
		return 0, nil, badRequest("amount_fen must be positive")
	case in.PayoutMethod != "bank_card" && in.PayoutMethod != "ecny":
		return 0, nil, badRequest("payout_method: want bank_card or ecny")
	case in.PayoutAccount == "":
		return 0, nil, badRequest("payout_account is required")
	case slices.Contains(in.EvidenceRefs, ""):
		return 0, nil, badRequest("evidence_refs: empty reference")
	case slices.ContainsFunc(in.SharedEvidence, func(e core.SharedEvidence) bool { return e.Evidence == "" || e.Source == "" || e.Fact == "" }):
		return 0, nil, badRequest("shared_evidence: evidence, source and fact are required")
	case slices.ContainsFunc(in.Materials, func(m core.MaterialRef) bool { return m.ID == "" || m.Evidence == "" || len(m.SHA256) != 64 }):
		return 0, nil, badRequest("materials: id, evidence and a hex sha256 are required")
	}
	refs, err := evidenceJSON(in.EvidenceRefs)
	if err != nil {
		return 0, nil, err
	}
	shared, materials, err := evidenceColumns(in)
	if err != nil {
		return 0, nil, err
	}
	status := http.StatusCreated
	var out core.WithdrawalStatus
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		old, err := loadApplication(ctx, tx, id)
		if err == nil {
			if !old.sameContent(in) {
				return &apiError{status: http.StatusConflict, code: core.ErrConflict, msg: "application id already used for a different application"}
			}
			if err := s.settleTx(ctx, tx, old.PersonID, c.now); err != nil {
				return err
			}
			old, err = loadApplication(ctx, tx, id)
			status, out = http.StatusOK, old.view()
			return err
		}
		if !isNotFound(err) {
			return err
		}
		if _, err := loadPersonBy(ctx, tx, "p.person_id", in.PersonID); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO withdrawals (application_id, person_id, kind, amount_fen, payout_method, payout_account,
				payout_account_id, evidence_refs, shared_evidence, materials, close_account, status, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, id, in.PersonID, in.Kind, in.AmountFen, in.PayoutMethod, in.PayoutAccount,
			in.PayoutAccountID, refs, shared, materials, in.CloseAccount, core.WithdrawalSubmitted, c.now.UnixNano(), c.now.UnixNano())
		out = core.WithdrawalStatus{ApplicationID: id, Status: core.WithdrawalSubmitted, UpdatedAt: c.now.In(shanghai())}
		return err
	})
	if err != nil {
		return 0, nil, err
	}
	return status, out, nil
}

// withdrawal answers an application's status, advanced to now.
func (s *Sim) withdrawal(ctx context.Context, c call) (int, any, error) {
	id := c.r.PathValue("application_id")
	a, err := loadApplication(ctx, s.rdb, id)
	if err != nil {
		return 0, nil, err
	}
	if err := s.settle(ctx, a.PersonID, c.now); err != nil {
		return 0, nil, err
	}
	if a, err = loadApplication(ctx, s.rdb, id); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, a.view(), nil
}

// cancelWithdrawal cancels an application the core has not decided yet.
func (s *Sim) cancelWithdrawal(ctx context.Context, c call) (int, any, error) {
	id := c.r.PathValue("application_id")
	var out core.WithdrawalStatus
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		a, err := loadApplication(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := s.settleTx(ctx, tx, a.PersonID, c.now); err != nil {
			return err
		}
		if a, err = loadApplication(ctx, tx, id); err != nil {
			return err
		}
		switch a.status {
		case core.WithdrawalCancelled:
		case core.WithdrawalSubmitted:
			a.status, a.updated = core.WithdrawalCancelled, c.now
			if err := setStatus(ctx, tx, a.ApplicationID, a.status, "", a.updated); err != nil {
				return err
			}
		default:
			return &apiError{status: http.StatusConflict, code: core.ErrConflict, msg: "the application is " + a.status + " and can no longer be cancelled"}
		}
		out = a.view()
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, out, nil
}

func setStatus(ctx context.Context, tx *sql.Tx, id, status, reason string, at time.Time) error {
	_, err := tx.ExecContext(ctx, `UPDATE withdrawals SET status = ?, reason = ?, updated_at = ? WHERE application_id = ?`,
		status, reason, at.UnixNano(), id)
	return err
}

func isNotFound(err error) bool {
	var e *apiError
	return errors.As(err, &e) && e.code == core.ErrNotFound
}
