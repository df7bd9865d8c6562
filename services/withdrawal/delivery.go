package withdrawal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/core"
	"handheld/services/outbox"
	"handheld/services/store"
)

// rank orders statuses along the way an application goes; the three final
// ones share the last rank.
var rank = map[string]int{
	StatusAccepted: 0, StatusSubmitted: 1, StatusApproved: 2,
	StatusRejected: 3, StatusPaid: 3, StatusCancelled: 3,
}

// Submit is the outbox handler of TopicSubmit: it sends an accepted
// application to the core, with its id as the core's idempotency key, so a
// second delivery (after a crash, a timeout, a lease taken over) is
// harmless. Any error is retried by the outbox with backoff; a refusal of
// the content itself is permanent.
func (s *Service) Submit(ctx context.Context, m outbox.Message) error {
	a, _, err := s.load(ctx, `id = $1`, string(m.Payload))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return outbox.Permanent(fmt.Errorf("withdrawal: no application %s", m.Payload))
	case err != nil:
		return err
	case a.Status != StatusAccepted:
		return nil // cancelled before it left, or a repeated delivery
	}
	personID, err := s.People.PersonID(ctx, a.Subject)
	if err != nil {
		return err
	}
	var refs []string
	if err := json.Unmarshal([]byte(a.EvidenceRefs), &refs); err != nil {
		return outbox.Permanent(fmt.Errorf("withdrawal %s: evidence refs: %w", a.ID, err))
	}
	if err := s.deliverMaterials(ctx, a.ID, a.Evidence); err != nil {
		return err
	}
	st, err := s.Core.SubmitWithdrawal(ctx, core.Withdrawal{
		ApplicationID: a.ID, PersonID: personID, Kind: a.CoreKind, AmountFen: a.AmountFen,
		PayoutMethod: a.PayoutMethod, PayoutAccount: a.PayoutAccount, PayoutAccountID: a.PayoutAccountID,
		EvidenceRefs: refs, SharedEvidence: a.Evidence.Shared, Materials: a.Evidence.Materials, CloseAccount: a.ClosesAccount,
	})
	if err != nil {
		if services.ErrorCode(err) == services.CodeCoreRejected {
			return outbox.Permanent(err)
		}
		return err
	}
	moved, err := s.advance(ctx, a, st, func(tx *store.Tx, at time.Time) error {
		_, err := outbox.Enqueue(ctx, tx, outbox.Message{ID: string(TopicPoll) + ":" + a.ID, Topic: TopicPoll, Payload: []byte(a.ID)},
			at.Add(s.Policies.PollInterval))
		return err
	})
	if err != nil {
		return err
	}
	if !moved {
		// The person cancelled while it was on its way: cancel it at the
		// core too (idempotent there).
		if cur, _, err := s.load(ctx, `id = $1`, a.ID); err == nil && cur.Status == StatusCancelled {
			if _, err := s.Core.CancelWithdrawal(ctx, a.ID); err != nil {
				return err
			}
		}
	}
	s.Wake()
	return nil
}

// Poll is the outbox handler of TopicPoll: it asks the core for the
// application's status, records any change, and asks to be run again
// until the application is finished.
func (s *Service) Poll(ctx context.Context, m outbox.Message) error {
	a, _, err := s.load(ctx, `id = $1`, string(m.Payload))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return outbox.Permanent(fmt.Errorf("withdrawal: no application %s", m.Payload))
	case err != nil:
		return err
	case Finished(a.Status):
		return nil
	case a.Status == StatusAccepted:
		return outbox.Again(s.Policies.PollInterval)
	}
	st, err := s.Core.Withdrawal(ctx, a.ID)
	if err != nil {
		return err
	}
	if _, err := s.advance(ctx, a, st, nil); err != nil {
		return err
	}
	if Finished(st.Status) {
		s.Wake()
		return nil
	}
	return outbox.Again(s.Policies.PollInterval)
}

// Cancel withdraws one of p's applications before the core approves it.
// Not yet delivered: cancelled here (the delivery then stops, or cancels at
// the core if it was on its way). Delivered: cancelled at the core first.
// Decided or paid: withdrawal.not_cancellable. Cancelling twice answers
// the same.
func (s *Service) Cancel(ctx context.Context, p services.Principal, id string) (Application, error) {
	if err := p.Depositor(); err != nil {
		return Application{}, err
	}
	err := s.cancel(ctx, p.Subject, id)
	var v Application
	if err == nil {
		v, err = s.get(ctx, p.Subject, id)
	}
	rec := audit.Record{Subject: p.Subject, Actor: p.Actor(), Channel: p.Channel, Action: ActionCancel, Target: "withdrawal:" + idKind.Safe(id)}
	if err := audit.Outcome(ctx, s.Audit, s.Logger, rec, err); err != nil {
		return Application{}, err
	}
	return v, nil
}

func (s *Service) cancel(ctx context.Context, subject, id string) error {
	if !idKind.Valid(id) {
		return services.Errorf(services.CodeNotFound, "withdrawal: malformed id")
	}
	if found, err := s.cancelCheck(ctx, subject, id); found || err != nil {
		return err
	}
	a, _, err := s.load(ctx, `id = $1 AND subject = $2`, id, subject)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return services.Errorf(services.CodeNotFound, "withdrawal: no application")
	case err != nil:
		return services.Errorf(services.CodeInternal, "withdrawal: cancel: %w", err)
	}
	if a.Status == StatusAccepted {
		moved, err := s.advance(ctx, a, core.WithdrawalStatus{Status: StatusCancelled}, nil)
		if err != nil {
			return services.Errorf(services.CodeInternal, "withdrawal: cancel: %w", err)
		}
		if moved {
			s.Wake()
			return nil
		}
		if a, _, err = s.load(ctx, `id = $1`, id); err != nil {
			return services.Errorf(services.CodeInternal, "withdrawal: cancel: %w", err)
		}
	}
	switch a.Status {
	case StatusCancelled:
		return nil
	case StatusSubmitted:
	default:
		return services.Errorf(services.CodeWithdrawalNotCancellable, "withdrawal: %s", a.Status)
	}
	st, err := s.Core.CancelWithdrawal(ctx, id)
	if err != nil {
		if services.ErrorCode(err) == services.CodeCoreRejected {
			return services.Errorf(services.CodeWithdrawalNotCancellable, "withdrawal: core refused: %w", err)
		}
		return err
	}
	if _, err := s.advance(ctx, a, st, nil); err != nil {
		return services.Errorf(services.CodeInternal, "withdrawal: cancel: %w", err)
	}
	return nil
}

// advance moves a from its status to the core's, recording every status
// passed on the way (a core that approved and paid during an outage still
// gives the person "approved" then "paid"), all in one transaction with
// then (when not nil). moved is false when a had already changed (another
// replica, or the person, got there first): nothing is written then.
func (s *Service) advance(ctx context.Context, a row, st core.WithdrawalStatus, then func(tx *store.Tx, at time.Time) error) (bool, error) {
	target := st.Status
	if _, ok := rank[target]; !ok {
		return false, fmt.Errorf("withdrawal %s: core status %q", a.ID, target)
	}
	if target == a.Status || rank[target] < rank[a.Status] {
		return true, nil
	}
	at := store.Timestamp(s.Now())
	var path []string
	if a.Status == StatusAccepted && target != StatusCancelled {
		path = append(path, StatusSubmitted)
	}
	if target == StatusPaid && rank[a.Status] < rank[StatusApproved] {
		path = append(path, StatusApproved)
	}
	if target != StatusSubmitted || a.Status != StatusAccepted {
		path = append(path, target)
	}
	moved := false
	err := s.Store.Tx(ctx, func(tx *store.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE withdrawals SET status = $1, reason = $2, updated_at = $3 WHERE id = $4 AND status = $5`,
			target, st.Reason, at, a.ID, a.Status)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			moved = false
			return err
		}
		moved = true
		if target == StatusCancelled || target == StatusRejected {
			// Its uploads may serve the person's next application (its
			// consent never does: it was for this one).
			if err := s.releaseMaterials(ctx, tx, a.ID); err != nil {
				return err
			}
		}
		for _, step := range path {
			reason := ""
			if step == target {
				reason = st.Reason
			}
			if err := s.recordStatus(ctx, tx, a, step, reason, at); err != nil {
				return err
			}
		}
		if then != nil {
			return then(tx, at)
		}
		return nil
	})
	return moved, err
}
