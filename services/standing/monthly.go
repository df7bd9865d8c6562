package standing

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/notify"
	"handheld/services/outbox"
	"handheld/services/schedule"
	"handheld/services/store"
	"handheld/services/withdrawal"
)

// Why a month failed, beyond the withdrawal reasons (withdrawal.Reason*,
// the first of an ineligible answer's): the payout account is no longer
// the person's, the amount is over what is free this month, or the
// application was refused for another reason.
const (
	FailPayoutAccount = "payout_account_unknown"
	FailCapReached    = withdrawal.ReasonCapReached
	FailRefused       = "refused"
)

// batch is how many standing withdrawals one query of the job reads.
const batch = 100

// Job is the scheduled job (schedule.Runner): every hour, the months due
// now. Each step is safe to repeat, as the runner requires.
func (s *Service) Job() schedule.Job {
	return schedule.Job{Name: JobName, Every: jobEvery, Run: func(ctx context.Context, _ time.Time) (string, error) {
		return s.Run(ctx, s.Now())
	}}
}

// tally is what one run did, for its progress note.
type tally struct{ applied, failed, paused, later int }

func (t tally) String() string {
	return fmt.Sprintf("applied=%d failed=%d paused=%d retry=%d", t.applied, t.failed, t.paused, t.later)
}

// Run makes the applications due at at: for every active standing
// withdrawal signed up by then whose month (at's, Asia/Shanghai) has no
// outcome yet, from the policy's day of the month, one application, or
// the month's failure recorded and reported. One whose confirmation is
// due is paused instead, with a message. A month that failed for a
// reason that may pass (the core or the store away) is left for the next
// run in the same month; once the month is over it is not tried again.
func (s *Service) Run(ctx context.Context, at time.Time) (string, error) {
	month := monthOf(at)
	var t tally
	after := ""
	for {
		rows, err := s.Store.Query(ctx, `SELECT `+columns+`, subject FROM standing_withdrawals sw
			WHERE status = 'active' AND id > $1 AND created_at <= $2
			AND NOT EXISTS (SELECT 1 FROM standing_withdrawal_months m WHERE m.standing_id = sw.id AND m.month = $3)
			ORDER BY id LIMIT `+strconv.Itoa(batch), after, store.Timestamp(at), month)
		if err != nil {
			return t.String(), internal("due", err)
		}
		var list []due
		for rows.Next() {
			var d due
			var err error
			d.Standing, err = scanWith(rows, &d.subject)
			if err != nil {
				rows.Close()
				return t.String(), internal("due", err)
			}
			list = append(list, d)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return t.String(), internal("due", err)
		}
		for _, d := range list {
			if err := ctx.Err(); err != nil {
				return t.String(), err
			}
			s.one(ctx, d, month, at, &t)
		}
		if len(list) < batch {
			return t.String(), nil
		}
		after = list[len(list)-1].ID
	}
}

// due is a standing withdrawal the job considers, with its subject.
type due struct {
	Standing
	subject string
}

func scanWith(rows interface{ Scan(dest ...any) error }, subject *string) (Standing, error) {
	var st Standing
	err := rows.Scan(&st.ID, &st.Kind, &st.AmountFen, &st.PayoutAccountID, &st.Status, &st.PauseReason, &st.Channel, &st.Locale,
		store.ScanTime(&st.ConfirmedAt), store.ScanTime(&st.CreatedAt), store.ScanTime(&st.UpdatedAt), subject)
	return st, err
}

// one handles one standing withdrawal's month.
func (s *Service) one(ctx context.Context, d due, month string, at time.Time, t *tally) {
	pol, ok := s.Policies[d.Kind]
	if !ok { // the centre withdrew the kind's standing withdrawals
		s.record(ctx, d, month, Month{Outcome: OutcomeFailed, Reason: FailRefused}, t)
		return
	}
	if by := reconfirmBy(d.Standing, pol); !by.IsZero() && !at.Before(by) {
		if err := s.pauseForReconfirm(ctx, d); err != nil {
			s.Logger.ErrorContext(ctx, "standing withdrawal: pause for confirmation", "standing", d.ID, "err", err)
			t.later++
			return
		}
		t.paused++
		return
	}
	if at.In(services.CentreTime).Day() < pol.DayOfMonth {
		return
	}
	p := services.Principal{Subject: d.subject, Role: services.RoleDepositor, Channel: d.Channel}
	key := "standing:" + d.ID + ":" + month
	sum := sha256.Sum256([]byte(key + "|" + d.Kind + "|" + strconv.FormatInt(d.AmountFen, 10) + "|" + d.PayoutAccountID))
	app, _, err := s.Withdrawals.ApplyStanding(ctx, p, withdrawal.Request{Kind: d.Kind, AmountFen: d.AmountFen,
		PayoutAccountID: d.PayoutAccountID, IdempotencyKey: key, RequestHash: hex.EncodeToString(sum[:]), Locale: d.Locale},
		withdrawal.StandingTerms{IntervalMonths: 1, CapPerMonthFen: pol.CapPerMonthFen}, at)
	m := Month{Outcome: OutcomeApplied, ApplicationID: app.ID, AmountFen: d.AmountFen}
	if err != nil {
		reason, final := failure(err)
		if !final {
			s.Logger.WarnContext(ctx, "standing withdrawal: month left for the next run", "standing", d.ID, "month", month, "err", err)
			t.later++
			return
		}
		m = Month{Outcome: OutcomeFailed, Reason: reason, AmountFen: d.AmountFen}
	}
	s.record(ctx, d, month, m, t)
}

// failure is the reason code of a refused month, and whether the refusal
// is final for the month: a 4xx answer is, a 5xx (the core or the store
// away) may pass by the next run.
func failure(err error) (string, bool) {
	var e *services.Error
	if !errors.As(err, &e) || e.Code.Status() >= http.StatusInternalServerError {
		return "", false
	}
	switch e.Code {
	case services.CodeWithdrawalNotEligible:
		if texts, ok := e.Params["reasons"].([]services.Text); ok && len(texts) > 0 {
			return strings.TrimPrefix(texts[0].Key, "withdrawal.reason."), true
		}
	case services.CodeWithdrawalInFlight:
		return withdrawal.ReasonInFlight, true
	case services.CodeWithdrawalAmountOverLimit:
		return FailCapReached, true
	case services.CodeWithdrawalPayoutAccountUnknown:
		return FailPayoutAccount, true
	}
	return FailRefused, true
}

// record writes the month's outcome once; the run that writes it reports
// a failure to the person (in the same transaction) and audits it.
func (s *Service) record(ctx context.Context, d due, month string, m Month, t *tally) {
	now := store.Timestamp(s.Now())
	written := false
	err := s.Store.Tx(ctx, func(tx *store.Tx) error {
		res, err := tx.Exec(ctx, `INSERT INTO standing_withdrawal_months (standing_id, month, outcome, application_id, reason, amount_fen, at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (standing_id, month) DO NOTHING`,
			d.ID, month, m.Outcome, m.ApplicationID, m.Reason, m.AmountFen, now)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil || n == 0 {
			return err
		}
		written = true
		if m.Outcome != OutcomeFailed {
			return nil
		}
		return s.tell(ctx, tx, d, NotifyFailed, m.Reason, d.ID+":"+month+":failed", now)
	})
	if err != nil {
		s.Logger.ErrorContext(ctx, "standing withdrawal: record month", "standing", d.ID, "month", month, "err", err)
		t.later++
		return
	}
	if !written {
		return // another run recorded it
	}
	result := "ok"
	if m.Outcome == OutcomeFailed {
		result, t.failed = "denied", t.failed+1
		s.Wake()
	} else {
		t.applied++
	}
	target := "standing_withdrawal:" + d.ID + " month:" + month
	if m.ApplicationID != "" {
		target += " withdrawal:" + m.ApplicationID
	}
	rec := audit.Record{At: now, Subject: d.subject, Actor: "system", Channel: "system", Action: ActionApply, Target: target, Result: result}
	_ = audit.Outcome(ctx, s.Audit, s.Logger, rec, nil)
}

// pauseForReconfirm pauses d until its person confirms it again, with a
// message; a second run finds it paused and does nothing.
func (s *Service) pauseForReconfirm(ctx context.Context, d due) error {
	now := store.Timestamp(s.Now())
	paused := false
	err := s.Store.Tx(ctx, func(tx *store.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE standing_withdrawals SET status = 'paused', pause_reason = $1, updated_at = $2
			WHERE id = $3 AND status = 'active'`, PausedReconfirm, now, d.ID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		paused = true
		return s.tell(ctx, tx, d, NotifyReconfirm, "", d.ID+":reconfirm:"+strconv.FormatInt(d.ConfirmedAt.Unix(), 10), now)
	})
	if err != nil || !paused {
		return err
	}
	s.Wake()
	rec := audit.Record{At: now, Subject: d.subject, Actor: "system", Channel: "system", Action: ActionReconfirmDue,
		Target: "standing_withdrawal:" + d.ID}
	return audit.Outcome(ctx, s.Audit, s.Logger, rec, nil)
}

// tell queues the person's message about d in tx: one inbox message (and
// WeChat copy, with their grant) per id however often it is delivered.
func (s *Service) tell(ctx context.Context, tx *store.Tx, d due, status, reason, id string, at time.Time) error {
	payload, err := json.Marshal(notify.Event{Subject: d.subject, ApplicationID: d.ID, CaseNumber: d.ID, Kind: d.Kind,
		Status: status, Reason: reason, AmountFen: d.AmountFen, Locale: d.Locale, At: at, ID: "standing:" + id})
	if err != nil {
		return err
	}
	_, err = outbox.Enqueue(ctx, tx, outbox.Message{ID: string(notify.Topic) + ":standing:" + id, Topic: notify.Topic, Payload: payload}, at)
	return err
}
