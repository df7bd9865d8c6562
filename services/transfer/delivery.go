package transfer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/core"
	"handheld/services/outbox"
	"handheld/services/platform"
	"handheld/services/store"
)

// Send is the outbox handler of TopicSend: it asks the platform for the
// transfer, with its id as transfer_ref (the same ref answers the same
// transfer, so a second delivery is harmless), records what the platform
// answered and starts the poller. Any error is retried by the outbox.
func (s *Service) Send(ctx context.Context, m outbox.Message) error {
	t, _, err := s.load(ctx, `id = $1`, string(m.Payload))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return outbox.Permanent(fmt.Errorf("transfer: no transfer %s", m.Payload))
	case err != nil:
		return err
	case t.Status != StatusAccepted:
		return nil // cancelled before it left, or a repeated delivery
	}
	personID, err := s.People.PersonID(ctx, t.Subject)
	if err != nil {
		return err
	}
	person, _, err := s.Reader.Person(ctx, personID)
	if err != nil {
		return err
	}
	local, _, err := s.Reader.Account(ctx, personID)
	if err != nil {
		return err
	}
	pt, err := s.Platform.RequestTransfer(ctx, platform.TransferRequest{TransferRef: t.ID, FromCentre: t.FromCentre,
		ToCentre: s.CentreCode, AccountRef: t.AccountRef, Subject: platform.Subject{IDNumber: person.IDNumber, Name: person.Name},
		ToAccount: local.AccountNumber, CallbackURL: s.CallbackURL})
	if err != nil {
		return err
	}
	if pt.TransferRef != t.ID {
		return fmt.Errorf("transfer %s: the platform answered transfer_ref %q", t.ID, pt.TransferRef)
	}
	// The poller starts with the answer recorded, whoever recorded the
	// transfer's move first: the platform's first callback may come back
	// before its answer to this request.
	t, moved, err := s.advanceLatest(ctx, t, pt, func(tx *store.Tx, at time.Time) error {
		_, err := outbox.Enqueue(ctx, tx, outbox.Message{ID: string(TopicPoll) + ":" + t.ID, Topic: TopicPoll, Payload: []byte(t.ID)},
			at.Add(s.Policy.PollInterval))
		return err
	})
	switch {
	case err != nil:
		return err
	case !moved && t.Status == StatusCancelled:
		// The person cancelled while it was on its way: cancel it at the
		// platform too.
		if _, err := s.Platform.CancelTransfer(ctx, pt.PlatformRef); err != nil && !errors.Is(err, platform.ErrNotCancelable) {
			return err
		}
	case !moved:
		return fmt.Errorf("transfer %s: moved by others under every try to record the platform's answer", t.ID)
	}
	s.Wake()
	return nil
}

// Poll is the outbox handler of TopicPoll, the remedy for lost callbacks:
// while a transfer waits on the old centre and nothing was heard of it for
// Policy.QuietAfter, it asks the platform and records what changed. The
// outbox leases the row, so one replica polls at a time.
func (s *Service) Poll(ctx context.Context, m outbox.Message) error {
	t, _, err := s.load(ctx, `id = $1`, string(m.Payload))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return outbox.Permanent(fmt.Errorf("transfer: no transfer %s", m.Payload))
	case err != nil:
		return err
	case Finished(t.Status) || t.Status == StatusFundsMoved:
		return nil // finished, or the merge has it
	case t.Status == StatusAccepted || t.PlatformRef == "":
		return outbox.Again(s.Policy.PollInterval)
	}
	if quiet := s.Now().Sub(t.HeardAt); quiet < s.Policy.QuietAfter {
		return outbox.Again(min(s.Policy.QuietAfter-quiet, s.Policy.PollInterval))
	}
	pt, err := s.Platform.TransferStatus(ctx, t.PlatformRef)
	if services.ErrorCode(err) == services.CodePlatformUnavailable {
		// Down or slow: ask again at the usual pace, not the outbox's
		// growing backoff, so the news comes soon after it is back.
		s.Logger.InfoContext(ctx, "transfer: platform unavailable, polling on", "transfer", t.ID)
		return outbox.Again(s.Policy.PollInterval)
	}
	if err != nil {
		return err
	}
	if _, err := s.advance(ctx, t, pt, nil); err != nil {
		return err
	}
	return outbox.Again(s.Policy.PollInterval)
}

// Merge is the outbox handler of TopicMerge: the funds have moved, so it
// credits them to the person's account through the core, idempotent there
// by the transfer's id, and records the transfer merged.
func (s *Service) Merge(ctx context.Context, m outbox.Message) error {
	t, _, err := s.load(ctx, `id = $1`, string(m.Payload))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return outbox.Permanent(fmt.Errorf("transfer: no transfer %s", m.Payload))
	case err != nil:
		return err
	case t.Status != StatusFundsMoved:
		return nil // merged already
	}
	personID, err := s.People.PersonID(ctx, t.Subject)
	if err != nil {
		return err
	}
	if _, err := s.Core.CreditTransferIn(ctx, core.TransferIn{TransferID: t.ID, PersonID: personID, AmountFen: t.AmountFen,
		FromCentre: t.FromCentre, PlatformRef: t.PlatformRef}); err != nil {
		return err
	}
	if _, err := s.move(ctx, t, StatusMerged, "", t.Sequence, t.AmountFen, t.PlatformRef, false, nil); err != nil {
		return err
	}
	s.Wake()
	return nil
}

// advance records what the platform says of t: the statuses passed on the
// way to pt's (each once), its sequence, and when it was heard. A sequence
// at or below the one recorded is old news (a duplicate callback, one
// overtaken by a later one): only the hearing is noted. moved is false
// when t had changed meanwhile (another replica, the person): nothing is
// written then.
func (s *Service) advance(ctx context.Context, t row, pt platform.Transfer, then func(tx *store.Tx, at time.Time) error) (bool, error) {
	to := fromPlatform(pt.Status)
	if to == "" {
		return false, fmt.Errorf("transfer %s: platform status %q", t.ID, pt.Status)
	}
	amount := t.AmountFen
	if to == StatusFundsMoved {
		amount = pt.AmountFen
	}
	if pt.Sequence <= t.Sequence {
		to = t.Status
	}
	return s.move(ctx, t, to, pt.Reason, max(pt.Sequence, t.Sequence), amount, pt.PlatformRef, true, then)
}

// advanceLatest is advance, tried again on the transfer as it is now
// when another writer moved it between the read and the write (a callback
// racing the answer it follows, the poller, a second callback): the
// platform's word is recorded, never dropped by the race. It stops, not
// moved, at a cancelled transfer (the caller's to handle) or after a few
// tries, and returns the transfer as it last read it.
func (s *Service) advanceLatest(ctx context.Context, t row, pt platform.Transfer, then func(tx *store.Tx, at time.Time) error) (row, bool, error) {
	for try := 0; ; try++ {
		moved, err := s.advance(ctx, t, pt, then)
		if err != nil || moved || try == 3 {
			return t, moved, err
		}
		if t, _, err = s.load(ctx, `id = $1`, t.ID); err != nil || t.Status == StatusCancelled {
			return t, false, err
		}
	}
}

// move takes t to status `to` through path(t.Status, to), in one
// transaction with then, guarded by t's status as read (compare and set).
// heard stamps heard_at. Reaching funds_moved queues the merge.
func (s *Service) move(ctx context.Context, t row, to, reason string, seq int, amount int64, platformRef string, heard bool,
	then func(tx *store.Tx, at time.Time) error) (bool, error) {
	steps := path(t.Status, to)
	now := store.Timestamp(s.Now())
	heardAt := t.HeardAt
	if heard {
		heardAt = now
	}
	target := t.Status
	if len(steps) > 0 {
		target = steps[len(steps)-1]
	} else {
		reason = t.Reason
	}
	if platformRef == "" {
		platformRef = t.PlatformRef
	}
	moved := false
	err := s.Store.Tx(ctx, func(tx *store.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE transfers SET status = $1, reason = $2, sequence = $3, amount_fen = $4, platform_ref = $5,
			heard_at = $6, updated_at = $7 WHERE id = $8 AND status = $9`,
			target, reason, seq, amount, platformRef, heardAt, now, t.ID, t.Status)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		moved = true
		cur := t
		cur.AmountFen = amount
		for _, st := range steps {
			r := ""
			if st == StatusRefused {
				r = reason
			}
			if err := s.recordStatus(ctx, tx, cur, st, r, now); err != nil {
				return err
			}
			if st == StatusFundsMoved {
				if _, err := outbox.Enqueue(ctx, tx, outbox.Message{ID: string(TopicMerge) + ":" + t.ID, Topic: TopicMerge,
					Payload: []byte(t.ID)}, now); err != nil {
					return err
				}
			}
		}
		if then != nil {
			return then(tx, now)
		}
		return nil
	})
	return moved, err
}

// Cancel withdraws one of p's transfers before the old centre accepts it.
// Not yet sent: cancelled here (the delivery then stops, or cancels at the
// platform if it was on its way). Sent: cancelled at the platform first.
// Accepted by the old centre or later: transfer.not_cancellable.
// Cancelling twice answers the same. Audited.
func (s *Service) Cancel(ctx context.Context, p services.Principal, id string) (Transfer, error) {
	if err := p.Depositor(); err != nil {
		return Transfer{}, err
	}
	err := s.cancel(ctx, p.Subject, id)
	var v Transfer
	if err == nil {
		v, err = s.get(ctx, p.Subject, id)
	}
	rec := audit.Record{At: s.Now(), Subject: p.Subject, Actor: p.Actor(), Channel: p.Channel, Action: ActionCancel, Target: "transfer:" + idKind.Safe(id)}
	if err := audit.Outcome(ctx, s.Audit, s.Logger, rec, err); err != nil {
		return Transfer{}, err
	}
	return v, nil
}

func (s *Service) cancel(ctx context.Context, subject, id string) error {
	if !idKind.Valid(id) {
		return services.Errorf(services.CodeNotFound, "transfer: malformed id")
	}
	t, _, err := s.load(ctx, `id = $1 AND subject = $2`, id, subject)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return services.Errorf(services.CodeNotFound, "transfer: none")
	case err != nil:
		return services.Errorf(services.CodeInternal, "transfer: cancel: %w", err)
	}
	for range 3 {
		switch {
		case t.Status == StatusCancelled:
			return nil
		case !cancellable(t.Status):
			return services.Errorf(services.CodeTransferNotCancellable, "transfer: %s", t.Status)
		case t.Status == StatusSent:
			pt, err := s.Platform.CancelTransfer(ctx, t.PlatformRef)
			if errors.Is(err, platform.ErrNotCancelable) {
				// The old centre got there first: learn how far it went.
				if pt, err = s.Platform.TransferStatus(ctx, t.PlatformRef); err == nil {
					_, _ = s.advance(ctx, t, pt, nil)
				}
				return services.Errorf(services.CodeTransferNotCancellable, "transfer: the old centre accepted")
			}
			if err != nil {
				return err
			}
			if _, err := s.advance(ctx, t, pt, nil); err != nil {
				return services.Errorf(services.CodeInternal, "transfer: cancel: %w", err)
			}
		default: // accepted: not sent yet
			if _, err := s.move(ctx, t, StatusCancelled, "", t.Sequence, t.AmountFen, "", false, nil); err != nil {
				return services.Errorf(services.CodeInternal, "transfer: cancel: %w", err)
			}
		}
		if t, _, err = s.load(ctx, `id = $1`, id); err != nil {
			return services.Errorf(services.CodeInternal, "transfer: cancel: %w", err)
		}
	}
	if t.Status == StatusCancelled {
		return nil
	}
	return services.Errorf(services.CodeTransferNotCancellable, "transfer: %s", t.Status)
}
