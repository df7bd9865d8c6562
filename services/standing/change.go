package standing

import (
	"context"
	"errors"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/store"
)

// Pause stops p's standing withdrawal from applying until resumed. A
// paused one stays paused (its reason kept); a stopped one is
// standing_withdrawal.stopped. Audited, as every change.
func (s *Service) Pause(ctx context.Context, p services.Principal, id string) (Standing, error) {
	return s.change(ctx, p, id, ActionPause, func(st *Standing) error {
		if st.Status == StatusActive {
			st.Status, st.PauseReason = StatusPaused, PausedByPerson
		}
		return nil
	})
}

// Resume lets a standing withdrawal the person paused apply again, from
// the next run. One paused for its confirmation needs Confirm.
func (s *Service) Resume(ctx context.Context, p services.Principal, id string) (Standing, error) {
	return s.change(ctx, p, id, ActionResume, func(st *Standing) error {
		if st.PauseReason == PausedReconfirm {
			return services.E(services.CodeStandingReconfirm)
		}
		st.Status, st.PauseReason = StatusActive, ""
		return nil
	})
}

// Stop ends a standing withdrawal for good; stopping a stopped one
// changes nothing. The person may then sign up for the kind again.
func (s *Service) Stop(ctx context.Context, p services.Principal, id string) (Standing, error) {
	return s.change(ctx, p, id, ActionStop, func(st *Standing) error {
		st.Status, st.PauseReason = StatusStopped, ""
		return nil
	})
}

// Confirm is the person confirming their standing withdrawal again (the
// policy's reconfirm_every_months counts from now); one paused for it
// applies again from the next run. One the person paused stays paused.
func (s *Service) Confirm(ctx context.Context, p services.Principal, id string) (Standing, error) {
	now := store.Timestamp(s.Now())
	return s.change(ctx, p, id, ActionConfirm, func(st *Standing) error {
		st.ConfirmedAt = now
		if st.PauseReason == PausedReconfirm {
			st.Status, st.PauseReason = StatusActive, ""
		}
		return nil
	})
}

// change applies to one of p's standing withdrawals, read and written in
// one transaction; a stopped one takes no change but Stop.
func (s *Service) change(ctx context.Context, p services.Principal, id, action string, apply func(*Standing) error) (st Standing, err error) {
	rec := audit.Record{Subject: p.Subject, Actor: p.Actor(), Channel: p.Channel, Action: action, Target: "standing_withdrawal:" + idKind.Safe(id)}
	defer func() {
		if aerr := audit.Outcome(ctx, s.Audit, s.Logger, rec, err); aerr != nil && err == nil {
			st, err = Standing{}, aerr
		}
	}()
	if err := p.Depositor(); err != nil {
		return Standing{}, err
	}
	// The write holds only if the state read is still there: a change
	// racing another (a stop and a resume at once, the job pausing it)
	// reads again and is judged on what won, so a stopped one never
	// comes back.
	for range 3 {
		err = s.Store.Tx(ctx, func(tx *store.Tx) error {
			var err error
			if st, err = s.own(ctx, tx, p.Subject, id); err != nil {
				return err
			}
			if st.Status == StatusStopped {
				if action == ActionStop {
					return nil
				}
				return services.E(services.CodeStandingStopped)
			}
			status, reason := st.Status, st.PauseReason
			if err := apply(&st); err != nil {
				return err
			}
			st.UpdatedAt = store.Timestamp(s.Now())
			res, err := tx.Exec(ctx, `UPDATE standing_withdrawals SET status = $1, pause_reason = $2, confirmed_at = $3, updated_at = $4
				WHERE id = $5 AND subject = $6 AND status = $7 AND pause_reason = $8`,
				st.Status, st.PauseReason, st.ConfirmedAt, st.UpdatedAt, st.ID, p.Subject, status, reason)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil || n != 1 {
				return errors.Join(errChanged, err)
			}
			return nil
		})
		if !errors.Is(err, errChanged) {
			break
		}
	}
	if err != nil {
		if services.ErrorCode(err) != services.CodeInternal {
			return Standing{}, err
		}
		return Standing{}, internal(action, err)
	}
	return s.shown(st), nil
}

// errChanged is a change whose row another changed in between.
var errChanged = errors.New("standing: changed meanwhile")
