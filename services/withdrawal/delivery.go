package withdrawal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

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

// Submit is the outbox handler of TopicSubmit for one message: SubmitBatch
// of one.
func (s *Service) Submit(ctx context.Context, m outbox.Message) error {
	return s.SubmitBatch(ctx, []outbox.Message{m})[0]
}

// SubmitBatch is the outbox's batch handler of TopicSubmit: it sends
// accepted applications to the core, each with its id as the core's
// idempotency key, so a second delivery (after a crash, a timeout, a lease
// taken over) is harmless. The applications and their people are read in
// one query each, sent at once, and the core's answers recorded in one
// transaction, which also closes their outbox rows (outbox.Delivered), so
// that a busy outbox pays a few round trips to the store per batch rather
// than a dozen per application. Any error is retried by the outbox with
// backoff; a refusal of the content itself is permanent.
func (s *Service) SubmitBatch(ctx context.Context, ms []outbox.Message) []error {
	errs := make([]error, len(ms))
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = string(m.Payload)
	}
	found, err := s.loadAll(ctx, ids)
	if err != nil {
		return fill(errs, err)
	}
	var todo []int
	var subjects []string
	for i, id := range ids {
		switch a, ok := found[id]; {
		case !ok:
			errs[i] = outbox.Permanent(fmt.Errorf("withdrawal: no application %s", idKind.Safe(id)))
		case a.Status == StatusAccepted:
			todo, subjects = append(todo, i), append(subjects, a.Subject)
		} // else cancelled before it left, or a repeated delivery
	}
	if len(todo) == 0 {
		return errs
	}
	persons, err := s.People.PersonIDs(ctx, subjects)
	if err != nil {
		for _, i := range todo {
			errs[i] = err
		}
		return errs
	}
	answers := make([]core.WithdrawalStatus, len(ms))
	var calls sync.WaitGroup
	for _, i := range todo {
		a := found[ids[i]]
		personID, ok := persons[a.Subject]
		if !ok {
			errs[i] = services.Errorf(services.CodeSessionRevoked, "withdrawal %s: unknown subject", a.ID)
			continue
		}
		calls.Go(func() { answers[i], errs[i] = s.send(outbox.Traced(ctx, ms[i]), a, personID) })
	}
	calls.Wait()

	var moves []move
	var of []int // the message of each move
	for _, i := range todo {
		if errs[i] == nil {
			moves, of = append(moves, move{a: found[ids[i]], st: answers[i], poll: true, delivered: &ms[i]}), append(of, i)
		}
	}
	moved, err := s.advance(ctx, moves...)
	for j, i := range of {
		switch {
		case err != nil:
			errs[i] = err
		case !moved[j]:
			// The person cancelled while it was on its way: cancel it at
			// the core too (idempotent there).
			errs[i] = s.cancelAtCore(outbox.Traced(ctx, ms[i]), ids[i])
		}
	}
	if len(moves) > 0 {
		s.Wake()
	}
	return errs
}

// send submits accepted application a of person personID to the core,
// its uploads first.
func (s *Service) send(ctx context.Context, a row, personID string) (core.WithdrawalStatus, error) {
	var refs []string
	if err := json.Unmarshal([]byte(a.EvidenceRefs), &refs); err != nil {
		return core.WithdrawalStatus{}, outbox.Permanent(fmt.Errorf("withdrawal %s: evidence refs: %w", a.ID, err))
	}
	if err := s.deliverMaterials(ctx, a.ID, a.Evidence); err != nil {
		return core.WithdrawalStatus{}, err
	}
	st, err := s.Core.SubmitWithdrawal(ctx, core.Withdrawal{
		ApplicationID: a.ID, PersonID: personID, Kind: a.CoreKind, AmountFen: a.AmountFen,
		PayoutMethod: a.PayoutMethod, PayoutAccount: a.PayoutAccount, PayoutAccountID: a.PayoutAccountID,
		EvidenceRefs: refs, SharedEvidence: a.Evidence.Shared, Materials: a.Evidence.Materials, CloseAccount: a.ClosesAccount,
	})
	switch {
	case services.ErrorCode(err) == services.CodeCoreRejected:
		return st, outbox.Permanent(err)
	case err != nil:
		return st, err
	}
	if _, ok := rank[st.Status]; !ok { // this application's failure, not its batch's (advance)
		return st, fmt.Errorf("withdrawal %s: core status %q", a.ID, st.Status)
	}
	return st, nil
}

// cancelAtCore cancels application id at the core when the person
// cancelled it here while its submission was on its way.
func (s *Service) cancelAtCore(ctx context.Context, id string) error {
	cur, _, err := s.load(ctx, `id = $1`, id)
	if err != nil || cur.Status != StatusCancelled {
		return err
	}
	_, err = s.Core.CancelWithdrawal(ctx, id)
	return err
}

// loadAll reads the rows of ids in one query, by id.
func (s *Service) loadAll(ctx context.Context, ids []string) (map[string]row, error) {
	rows, err := s.Store.Query(ctx, `SELECT `+rowColumns+` FROM withdrawals WHERE id IN (`+store.Placeholders(1, len(ids))+`)`, store.Args(ids...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	found := make(map[string]row, len(ids))
	for rows.Next() {
		a, _, err := s.scanRow(rows)
		if err != nil {
			return nil, err
		}
		found[a.ID] = a
	}
	return found, rows.Err()
}

// fill sets every element of errs to err and returns errs.
func fill(errs []error, err error) []error {
	for i := range errs {
		errs[i] = err
	}
	return errs
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
	if _, err := s.advance(ctx, move{a: a, st: st}); err != nil {
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
		moved, err := s.advance(ctx, move{a: a, st: core.WithdrawalStatus{Status: StatusCancelled}})
		if err != nil {
			return services.Errorf(services.CodeInternal, "withdrawal: cancel: %w", err)
		}
		if moved[0] {
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
	if _, err := s.advance(ctx, move{a: a, st: st}); err != nil {
		return services.Errorf(services.CodeInternal, "withdrawal: cancel: %w", err)
	}
	return nil
}

// move is one application's change to the status the core gave it.
type move struct {
	a  row
	st core.WithdrawalStatus
	// poll: once moved, queue the first poll of its status.
	poll bool
	// delivered, when not nil, is the outbox message the move answers:
	// once moved, its row is closed in the same transaction
	// (outbox.Delivered).
	delivered *outbox.Message
}

// advance moves each application from its status to the core's,
// recording every status passed on the way (a core that approved and paid
// during an outage still gives the person "approved" then "paid"), all in
// one transaction: one UPDATE per kind of change, one INSERT of the
// statuses, one of the messages they cause. moved[i] is false when the
// i-th application had changed meanwhile (another replica, or the person,
// got there first): nothing is written for it then. A move backwards, or
// to the status it has, writes nothing and counts as moved.
func (s *Service) advance(ctx context.Context, moves ...move) (moved []bool, err error) {
	moved = make([]bool, len(moves))
	type change struct{ from, to, reason string }
	var changes []change
	byChange := map[change][]int{}
	for i, m := range moves {
		target := m.st.Status
		if _, ok := rank[target]; !ok {
			return nil, fmt.Errorf("withdrawal %s: core status %q", m.a.ID, target)
		}
		if target == m.a.Status || rank[target] < rank[m.a.Status] {
			moved[i] = true
			continue
		}
		c := change{from: m.a.Status, to: target, reason: m.st.Reason}
		if _, seen := byChange[c]; !seen {
			changes = append(changes, c)
		}
		byChange[c] = append(byChange[c], i)
	}
	if len(changes) == 0 {
		return moved, nil
	}
	at := store.Timestamp(s.Now())
	err = s.Store.Tx(ctx, func(tx *store.Tx) error {
		var statuses []statusEntry
		var polls []outbox.Due
		var delivered []outbox.Message
		for _, c := range changes {
			idx := byChange[c]
			args := []any{c.to, c.reason, at, c.from}
			for _, i := range idx {
				args = append(args, moves[i].a.ID)
			}
			changed, err := store.Set(tx.Query(ctx, `UPDATE withdrawals SET status = $1, reason = $2, updated_at = $3
				WHERE status = $4 AND id IN (`+store.Placeholders(5, len(idx))+`) RETURNING id`, args...))
			if err != nil {
				return err
			}
			for _, i := range idx {
				m := moves[i]
				moved[i] = changed[m.a.ID] // set on every try: Tx may run this again
				if !moved[i] {
					continue
				}
				if m.delivered != nil {
					delivered = append(delivered, *m.delivered)
				}
				if c.to == StatusCancelled || c.to == StatusRejected {
					// Its uploads may serve the person's next application
					// (its consent never does: it was for this one).
					if err := s.releaseMaterials(ctx, tx, m.a.ID); err != nil {
						return err
					}
				}
				for _, step := range path(c.from, c.to) {
					e := statusEntry{a: m.a, status: step, at: at}
					if step == c.to {
						e.reason = c.reason
					}
					statuses = append(statuses, e)
				}
				if m.poll {
					polls = append(polls, outbox.Due{Message: outbox.Message{ID: string(TopicPoll) + ":" + m.a.ID, Topic: TopicPoll,
						Payload: []byte(m.a.ID)}, At: at.Add(s.Policies.PollInterval)})
				}
			}
		}
		if err := s.recordStatuses(ctx, tx, statuses...); err != nil {
			return err
		}
		if _, err := outbox.EnqueueAll(ctx, tx, polls...); err != nil {
			return err
		}
		return outbox.Delivered(ctx, tx, delivered...)
	})
	return moved, err
}

// path is the statuses an application passes going from one status to a
// later one, the last one included: submitted on the way out of accepted
// (but for a cancel), approved on the way to paid.
func path(from, to string) []string {
	var steps []string
	if from == StatusAccepted && to != StatusCancelled {
		steps = append(steps, StatusSubmitted)
	}
	if to == StatusPaid && rank[from] < rank[StatusApproved] {
		steps = append(steps, StatusApproved)
	}
	if to != StatusSubmitted || from != StatusAccepted {
		steps = append(steps, to)
	}
	return steps
}
