package withdrawal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sync/errgroup"

	"handheld/services"
	"handheld/services/core"
	"handheld/services/notify"
	"handheld/services/outbox"
	"handheld/services/store"
)

// 7×24 for applications (issue 17, part 4): when the core cannot be asked
// (its nightly maintenance window, an outage), an application is still
// accepted, "to be checked", with nothing of the core's: its shape, the
// person's own applications in flight, the evidence they name. The
// outbox's TopicCheck delivery judges it with every rule an application
// meets at once when the core returns, then writes it as an ordinary
// accepted application under the same id (and delivers it), or refuses it
// and tells the person.

// TopicCheck is the outbox topic of an application to be checked.
const TopicCheck outbox.TopicName = "withdrawal.check"

// StatusToBeChecked is an application accepted while the core could not
// be asked.
const StatusToBeChecked = "to_be_checked"

// Reasons a check refuses an application (withdrawal.rejection.<reason>).
const (
	CheckNotEligible          = "check_not_eligible"
	CheckAmount               = "check_amount"
	CheckInFlight             = "check_in_flight"
	CheckPayoutAccountUnknown = "payout_account_unknown"
	CheckEvidenceUnknown      = "evidence_unknown"
	CheckNoKind               = "check_no_kind"
)

// The sealed columns of a check, like the application's.
var (
	sealedCheckEvidenceRefs = store.SealedColumn{Table: "withdrawal_checks", Key: []string{"id"}, Column: "evidence_refs", Text: true}
	sealedCheckEvidence     = store.SealedColumn{Table: "withdrawal_checks", Key: []string{"id"}, Column: "evidence", Text: true}
)

// check is a withdrawal_checks row.
type check struct {
	ID, CaseNumber, Subject, Kind string
	AmountFen                     int64
	PayoutAccountID               string
	EvidenceRefs                  string // JSON array
	Evidence                      Evidence
	Key, Hash, Locale, Channel    string
	Status, Reason                string
	CreatedAt, UpdatedAt          time.Time
	DueOn                         string
}

const checkColumns = `id, case_number, subject, kind, amount_fen, payout_account_id, evidence_refs, evidence,
	idempotency_key, request_hash, locale, channel, status, reason, created_at, updated_at, due_on`

// coreDown reports whether err means the core could not be asked.
func coreDown(err error) bool {
	switch services.ErrorCode(err) {
	case services.CodeCoreUnavailable, services.CodeCoreMaintenance:
		return true
	}
	return false
}

// acceptUnchecked stores r as an application to be checked: its evidence
// gathered and claimed, one per person and kind in flight, the check
// queued on the outbox, all in one transaction.
func (s *Service) acceptUnchecked(ctx context.Context, p services.Principal, pol Policy, r Request) (Application, error) {
	id := idKind.New()
	ev, err := s.gather(ctx, p, pol, r, id)
	if err != nil {
		return Application{}, err
	}
	refs, _ := json.Marshal(r.EvidenceRefs)
	if r.EvidenceRefs == nil {
		refs = []byte("[]")
	}
	now := store.Timestamp(s.Now())
	c := check{ID: id, CaseNumber: newCaseNumber(now), Subject: p.Subject, Kind: pol.Kind, AmountFen: r.AmountFen,
		PayoutAccountID: r.PayoutAccountID, EvidenceRefs: string(refs), Evidence: ev, Key: r.IdempotencyKey, Hash: r.RequestHash,
		Locale: r.Locale, Channel: p.Channel, Status: "pending", CreatedAt: now, UpdatedAt: now, DueOn: s.dueOn(now, pol.Kind)}
	err = s.Store.Tx(ctx, func(tx *store.Tx) error {
		if err := s.lock(ctx, tx, p.Subject); err != nil {
			return err
		}
		open, _, err := s.own(ctx, tx, p.Subject, now)
		if err != nil {
			return err
		}
		for _, o := range open {
			if o.Kind == pol.Kind {
				return services.Errorf(services.CodeWithdrawalInFlight, "withdrawal: %s in flight", pol.Kind)
			}
		}
		if err := c.insert(ctx, tx); err != nil {
			return err
		}
		if err := s.claim(ctx, tx, p, ev, id); err != nil {
			return err
		}
		_, err = outbox.Enqueue(ctx, tx, outbox.Message{ID: string(TopicCheck) + ":" + id, Topic: TopicCheck, Payload: []byte(id)}, now)
		return err
	})
	var se *services.Error
	switch {
	case errors.As(err, &se):
		return Application{}, err
	case errors.Is(err, store.ErrConflict):
		return Application{}, services.Errorf(services.CodeWithdrawalInFlight, "withdrawal: %s to be checked already: %w", pol.Kind, err)
	case err != nil:
		return Application{}, services.Errorf(services.CodeInternal, "withdrawal: store check: %w", err)
	}
	s.Wake()
	return s.checkView(c), nil
}

func (c check) insert(ctx context.Context, tx *store.Tx) error {
	refs, err := tx.SealText(c.EvidenceRefs, sealedCheckEvidenceRefs.Place(c.ID))
	if err != nil {
		return err
	}
	evidence := ""
	if plain := encodeEvidence(c.Evidence); plain != "" {
		if evidence, err = tx.SealText(plain, sealedCheckEvidence.Place(c.ID)); err != nil {
			return err
		}
	}
	_, err = tx.Exec(ctx, `INSERT INTO withdrawal_checks (`+checkColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
		c.ID, c.CaseNumber, c.Subject, c.Kind, c.AmountFen, c.PayoutAccountID, refs, evidence, c.Key, c.Hash,
		c.Locale, c.Channel, c.Status, c.Reason, c.CreatedAt, c.UpdatedAt, c.DueOn)
	return err
}

// loadCheck reads one check by a condition, its sealed columns opened.
func (s *Service) loadCheck(ctx context.Context, where string, args ...any) (check, error) {
	return s.scanCheck(s.Store.QueryRow(ctx, `SELECT `+checkColumns+` FROM withdrawal_checks WHERE `+where, args...))
}

// scanCheck reads the checkColumns of one row, opening the sealed columns.
func (s *Service) scanCheck(sc interface{ Scan(dest ...any) error }) (check, error) {
	var c check
	var evidence string
	err := sc.Scan(&c.ID, &c.CaseNumber, &c.Subject, &c.Kind, &c.AmountFen, &c.PayoutAccountID, &c.EvidenceRefs, &evidence,
		&c.Key, &c.Hash, &c.Locale, &c.Channel, &c.Status, &c.Reason, store.ScanTime(&c.CreatedAt), store.ScanTime(&c.UpdatedAt), &c.DueOn)
	if err != nil {
		return c, err
	}
	if c.EvidenceRefs, err = s.Store.OpenText(c.EvidenceRefs, sealedCheckEvidenceRefs.Place(c.ID)); err != nil {
		return c, err
	}
	if evidence != "" {
		if evidence, err = s.Store.OpenText(evidence, sealedCheckEvidence.Place(c.ID)); err != nil {
			return c, err
		}
	}
	c.Evidence, err = decodeEvidence(evidence)
	return c, err
}

// checkView is what the person sees of a check not passed: to be checked,
// rejected with the check's reason, or cancelled.
func (s *Service) checkView(c check) Application {
	status := StatusToBeChecked
	switch c.Status {
	case "failed":
		status = StatusRejected
	case "cancelled":
		status = StatusCancelled
	}
	v := Application{ID: c.ID, CaseNumber: c.CaseNumber, Kind: c.Kind, Status: status, Reason: c.Reason, AmountFen: c.AmountFen,
		PayoutAccountID: c.PayoutAccountID, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, DueOn: c.DueOn,
		ConsentID: c.Evidence.ConsentID, MaterialIDs: []string{}}
	_ = json.Unmarshal([]byte(c.EvidenceRefs), &v.EvidenceRefs)
	for _, m := range c.Evidence.Materials {
		v.MaterialIDs = append(v.MaterialIDs, m.ID)
	}
	if pol, ok := s.Policies.Policy(c.Kind); ok {
		v.ClosesAccount, v.Found = pol.ClosesAccount, c.Evidence.Found(pol, v.EvidenceRefs)
	}
	v.Events = []Event{{Status: StatusToBeChecked, At: c.CreatedAt}}
	if status != StatusToBeChecked {
		v.Events = append(v.Events, Event{Status: status, Reason: c.Reason, At: c.UpdatedAt})
	}
	return v
}

// Check is the outbox handler of TopicCheck: it judges an application
// accepted while the core could not be asked, exactly as accept does, and
// either writes it as an accepted application under the same id, case
// number and Idempotency-Key (queuing its delivery), or refuses it with a
// reason and a message to the person. While the core still cannot be
// asked it fails, and the outbox tries again with backoff.
func (s *Service) Check(ctx context.Context, m outbox.Message) error {
	c, err := s.loadCheck(ctx, `id = $1`, string(m.Payload))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return outbox.Permanent(fmt.Errorf("withdrawal: no check %s", m.Payload))
	case err != nil:
		return err
	case c.Status != "pending":
		return nil // passed, refused or cancelled already
	}
	pol, ok := s.Policies.Policy(c.Kind)
	if !ok {
		return s.refuse(ctx, c, CheckNoKind)
	}
	personID, err := s.People.PersonID(ctx, c.Subject)
	if err != nil {
		return err
	}
	var r Request
	r.Kind, r.AmountFen, r.PayoutAccountID, r.IdempotencyKey, r.RequestHash, r.Locale = c.Kind, c.AmountFen, c.PayoutAccountID, c.Key, c.Hash, c.Locale
	_ = json.Unmarshal([]byte(c.EvidenceRefs), &r.EvidenceRefs)
	el, f, payout, held, unknown, err := s.facts(ctx, c.Subject, personID, pol, r)
	if err != nil {
		return err // the core is still away: again later
	}
	if reason := s.checkReason(pol, el, r, held, unknown); reason != "" {
		return s.refuse(ctx, c, reason)
	}
	now := store.Timestamp(s.Now())
	a := row{
		ID: c.ID, CaseNumber: c.CaseNumber, Subject: c.Subject, Kind: pol.Kind, CoreKind: pol.CoreKind,
		AmountFen: c.AmountFen, PayoutMethod: payout.Kind, PayoutAccount: payout.Number, PayoutAccountID: payout.ID,
		EvidenceRefs: c.EvidenceRefs, Evidence: c.Evidence, ClosesAccount: pol.ClosesAccount, Status: StatusAccepted,
		Locale: c.Locale, Channel: c.Channel, CreatedAt: c.CreatedAt, UpdatedAt: now, DueOn: c.DueOn,
	}
	var refused string
	err = s.Store.Tx(ctx, func(tx *store.Tx) error {
		if err := s.lock(ctx, tx, c.Subject); err != nil {
			return err
		}
		res, err := tx.Exec(ctx, `UPDATE withdrawal_checks SET status = 'passed', updated_at = $1 WHERE id = $2 AND status = 'pending'`, now, c.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // cancelled meanwhile
		}
		g := f
		if g.Open, g.Paid, err = s.own(ctx, tx, c.Subject, now); err != nil {
			return err
		}
		if refused = s.checkReason(pol, s.Policies.Evaluate(pol, g), r, held, unknown); refused != "" {
			return errRefused
		}
		if err := a.insert(ctx, tx, r); err != nil {
			return err
		}
		if _, err := outbox.Enqueue(ctx, tx, outbox.Message{ID: string(TopicSubmit) + ":" + a.ID, Topic: TopicSubmit,
			Payload: []byte(a.ID)}, now); err != nil {
			return err
		}
		if err := s.recordStatus(ctx, tx, a, StatusToBeChecked, "", c.CreatedAt); err != nil {
			return err
		}
		return s.recordStatus(ctx, tx, a, StatusAccepted, "", now)
	})
	switch {
	case errors.Is(err, errRefused):
		return s.refuse(ctx, c, refused)
	case errors.Is(err, store.ErrConflict):
		return s.refuse(ctx, c, CheckInFlight)
	case err != nil:
		return err
	}
	s.Wake()
	return nil
}

var errRefused = errors.New("withdrawal: refused on check")

// facts asks the core, at once, what accept asks: the eligibility facts,
// the person's payout accounts and whether the evidence names their
// records.
func (s *Service) facts(ctx context.Context, subject, personID string, pol Policy, r Request) (el Eligibility, f Facts, payout core.PayoutAccount, held bool, unknown []string, err error) {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		el, f, err = s.judge(gctx, subject, personID, pol)
		return err
	})
	g.Go(func() (err error) {
		payout, held, err = s.payoutAccount(gctx, personID, r.PayoutAccountID)
		return err
	})
	if len(r.EvidenceRefs) > 0 {
		g.Go(func() (err error) {
			unknown, err = s.unknownEvidence(gctx, personID, pol, r.EvidenceRefs)
			return err
		})
	}
	err = g.Wait()
	return el, f, payout, held, unknown, err
}

// checkReason is why a check refuses r on el, "" when it passes.
func (s *Service) checkReason(pol Policy, el Eligibility, r Request, held bool, unknown []string) string {
	switch {
	case !held:
		return CheckPayoutAccountUnknown
	case len(unknown) > 0:
		return CheckEvidenceUnknown
	}
	switch err := s.admit(pol, el, r); services.ErrorCode(err) {
	case services.CodeWithdrawalInFlight:
		return CheckInFlight
	case services.CodeWithdrawalNotEligible:
		return CheckNotEligible
	default:
		if err != nil {
			return CheckAmount
		}
	}
	return ""
}

// refuse marks a pending check failed with reason and queues the person's
// message, once.
func (s *Service) refuse(ctx context.Context, c check, reason string) error {
	now := store.Timestamp(s.Now())
	return s.Store.Tx(ctx, func(tx *store.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE withdrawal_checks SET status = 'failed', reason = $1, updated_at = $2
			WHERE id = $3 AND status = 'pending'`, reason, now, c.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		if err := s.releaseMaterials(ctx, tx, c.ID); err != nil {
			return err
		}
		ev, err := json.Marshal(notify.Event{Subject: c.Subject, ApplicationID: c.ID, CaseNumber: c.CaseNumber, Kind: c.Kind,
			Status: StatusRejected, Reason: reason, AmountFen: c.AmountFen, Locale: c.Locale, At: now})
		if err != nil {
			return err
		}
		_, err = outbox.Enqueue(ctx, tx, outbox.Message{ID: string(notify.Topic) + ":" + c.ID + ":" + StatusRejected,
			Topic: notify.Topic, Payload: ev}, now)
		return err
	})
}

// cancelCheck cancels p's pending check id; a check passed meanwhile is
// an application (ok false: cancel that instead).
func (s *Service) cancelCheck(ctx context.Context, subject, id string) (found bool, err error) {
	c, err := s.loadCheck(ctx, `id = $1 AND subject = $2`, id, subject)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return false, nil
	case err != nil:
		return false, services.Errorf(services.CodeInternal, "withdrawal: cancel check: %w", err)
	}
	switch c.Status {
	case "cancelled":
		return true, nil
	case "passed":
		return false, nil
	case "failed":
		return true, services.Errorf(services.CodeWithdrawalNotCancellable, "withdrawal: refused on check")
	}
	now := store.Timestamp(s.Now())
	var n int64
	err = s.Store.Tx(ctx, func(tx *store.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE withdrawal_checks SET status = 'cancelled', updated_at = $1 WHERE id = $2 AND status = 'pending'`, now, id)
		if err != nil {
			return err
		}
		if n, _ = res.RowsAffected(); n == 0 {
			return nil
		}
		return s.releaseMaterials(ctx, tx, id)
	})
	if err != nil {
		return true, services.Errorf(services.CodeInternal, "withdrawal: cancel check: %w", err)
	}
	if n == 0 {
		return s.cancelCheck(ctx, subject, id) // passed or refused meanwhile
	}
	return true, nil
}

// pendingChecks are subject's checks not passed, newest first, for the
// head of the list and the home screen.
func (s *Service) pendingChecks(ctx context.Context, subject string, inFlight bool) ([]Application, error) {
	where := `subject = $1 AND status <> 'passed'`
	if inFlight {
		where = `subject = $1 AND status = 'pending'`
	}
	rows, err := s.Store.Query(ctx, `SELECT `+checkColumns+` FROM withdrawal_checks WHERE `+where+` ORDER BY created_at DESC, id DESC LIMIT 20`, subject)
	if err != nil {
		return nil, services.Errorf(services.CodeInternal, "withdrawal: checks: %w", err)
	}
	defer rows.Close()
	out := []Application{}
	for rows.Next() {
		c, err := s.scanCheck(rows)
		if err != nil {
			return nil, services.Errorf(services.CodeInternal, "withdrawal: checks: %w", err)
		}
		out = append(out, s.checkView(c))
	}
	if err := rows.Err(); err != nil {
		return nil, services.Errorf(services.CodeInternal, "withdrawal: checks: %w", err)
	}
	return out, nil
}
