package withdrawal

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/sync/errgroup"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/core"
	"handheld/services/outbox"
	"handheld/services/store"
)

// Request is an application as the person makes it. IdempotencyKey and
// RequestHash (of the raw request) make retries safe: the same key with
// the same request gets the first answer again, with another request
// idempotency.key_reused.
type Request struct {
	Kind      string
	AmountFen int64
	// PayoutAccountID names one of the person's own payout accounts
	// (PayoutAccounts); the core's list is asked again to check it.
	PayoutAccountID string
	EvidenceRefs    []string
	// ConsentID names the person's shared-data consent for this kind
	// (POST /me/evidence-lookups); its facts go with the application, and
	// no other application may use it.
	ConsentID string
	// MaterialIDs name the person's uploads (POST /me/materials) that
	// stand in for evidence shared data did not find.
	MaterialIDs    []string
	IdempotencyKey string
	RequestHash    string
	Locale         string
}

// Input bounds.
const (
	maxEvidenceRefs = 10
	maxEvidenceRef  = 64
	// MaxAmountFen bounds amount_fen before any policy is read (10^12 fen,
	// ten billion yuan): far above any balance, it keeps the number a
	// gateway can check and the one the handler checks the same.
	MaxAmountFen = 1_000_000_000_000
)

// Eligibility tells p whether they may withdraw for kind and how much.
// Audited (read.withdrawal_eligibility): it reads the account.
func (s *Service) Eligibility(ctx context.Context, p services.Principal, kind string) (Eligibility, error) {
	pol, err := s.policyOf(p, kind)
	if err != nil {
		return Eligibility{}, err
	}
	var el Eligibility
	personID, err := s.People.PersonID(ctx, p.Subject)
	if err == nil {
		el, _, err = s.judge(ctx, p.Subject, personID, pol)
	}
	if err == nil && !pol.OfferedOn(p.Channel) {
		el.Eligible, el.MaxAmountFen = false, 0
		el.Reasons = append(el.Reasons, Reason{Code: ReasonChannel})
	}
	rec := audit.Record{Subject: p.Subject, Actor: p.Actor(), Channel: p.Channel, Action: ActionEligibility, Target: "withdrawal_kind:" + kind}
	if err := audit.Outcome(ctx, s.Audit, s.Logger, rec, err); err != nil {
		return Eligibility{}, err
	}
	return el, nil
}

// Apply accepts an application: validated, judged again here with the same
// rules as Eligibility, and stored with its outbox row in one transaction.
// The core decides later; the answer is the accepted application. replayed
// is true when the same request was accepted before under the same key.
func (s *Service) Apply(ctx context.Context, p services.Principal, r Request) (app Application, replayed bool, err error) {
	return s.apply(ctx, p, r, nil)
}

// apply is Apply with the kind's policy adjusted first (a standing
// withdrawal's terms, ApplyStanding); adjust nil leaves it as configured.
func (s *Service) apply(ctx context.Context, p services.Principal, r Request, adjust func(*Policy)) (app Application, replayed bool, err error) {
	rec := audit.Record{Subject: p.Subject, Actor: p.Actor(), Channel: p.Channel, Action: ActionApply, Target: "withdrawal"}
	defer func() {
		if app.ID != "" {
			rec.Target = "withdrawal:" + app.ID
		}
		if aerr := audit.Outcome(ctx, s.Audit, s.Logger, rec, err); aerr != nil && err == nil {
			app, replayed, err = Application{}, false, aerr
		}
	}()
	pol, err := s.policyOf(p, r.Kind)
	if err != nil {
		return Application{}, false, err
	}
	if adjust != nil {
		adjust(&pol)
	}
	if !pol.OfferedOn(p.Channel) {
		return Application{}, false, &services.Error{Code: services.CodeWithdrawalNotEligible,
			Params: map[string]any{"reasons": Texts([]Reason{{Code: ReasonChannel}})}}
	}
	if err := s.validate(r); err != nil {
		return Application{}, false, err
	}
	if app, ok, err := s.byKey(ctx, p.Subject, r); ok || err != nil {
		return app, ok, err
	}
	app, err = s.accept(ctx, p, pol, r)
	if err != nil {
		// A concurrent retry with the same key may have won: its answer
		// is this request's answer too.
		if prev, ok, kerr := s.byKey(ctx, p.Subject, r); ok || kerr != nil {
			return prev, ok, kerr
		}
		return Application{}, false, err
	}
	s.Wake()
	return app, false, nil
}

// accept judges and stores a new application. The core is asked, at
// once, for the eligibility facts, the person's payout accounts (fresh)
// and whether the evidence names their records; then, in one transaction
// serialized per person, the person's own applications are read again and
// the judgement repeated on them, so that applications racing each other
// never reserve more than is free.
func (s *Service) accept(ctx context.Context, p services.Principal, pol Policy, r Request) (Application, error) {
	personID, err := s.People.PersonID(ctx, p.Subject)
	if err != nil {
		return Application{}, err
	}
	el, f, payout, held, unknown, err := s.facts(ctx, p.Subject, personID, pol, r)
	if err != nil {
		if coreDown(err) && s.Policies.AcceptWhenCoreDown {
			return s.acceptUnchecked(ctx, p, pol, r)
		}
		return Application{}, err
	}
	if err := s.admit(pol, el, r); err != nil {
		return Application{}, err
	}
	switch {
	case !held:
		return Application{}, services.E(services.CodeWithdrawalPayoutAccountUnknown)
	case len(unknown) > 0:
		return Application{}, services.E(services.CodeWithdrawalEvidenceUnknown)
	}
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
	a := row{
		ID: id, CaseNumber: newCaseNumber(now), Subject: p.Subject, Kind: pol.Kind, CoreKind: pol.CoreKind,
		AmountFen: r.AmountFen, PayoutMethod: payout.Kind, PayoutAccount: payout.Number, PayoutAccountID: payout.ID,
		EvidenceRefs: string(refs), Evidence: ev, ClosesAccount: pol.ClosesAccount, Status: StatusAccepted, Locale: r.Locale, Channel: p.Channel,
		CreatedAt: now, UpdatedAt: now, DueOn: s.dueOn(now, pol.Kind),
	}
	err = s.Store.Tx(ctx, func(tx *store.Tx) error {
		if err := s.lock(ctx, tx, p.Subject); err != nil {
			return err
		}
		// What this person has in flight now, after every earlier
		// application of theirs has committed or given up.
		g := f
		var err error
		if g.Open, g.Paid, err = s.own(ctx, tx, p.Subject, f.Now); err != nil {
			return err
		}
		if err := s.admit(pol, s.Policies.Evaluate(pol, g), r); err != nil {
			return err
		}
		if err := a.insert(ctx, tx, r); err != nil {
			return err
		}
		if err := s.claim(ctx, tx, p, ev, a.ID); err != nil {
			return err
		}
		if _, err := outbox.Enqueue(ctx, tx, outbox.Message{ID: string(TopicSubmit) + ":" + a.ID, Topic: TopicSubmit,
			Payload: []byte(a.ID)}, now); err != nil {
			return err
		}
		return s.recordStatus(ctx, tx, a, StatusAccepted, "", now)
	})
	var se *services.Error
	switch {
	case errors.As(err, &se):
		return Application{}, err
	case errors.Is(err, store.ErrConflict):
		return Application{}, services.Errorf(services.CodeWithdrawalInFlight, "withdrawal: %s in flight (store): %w", pol.Kind, err)
	case err != nil:
		return Application{}, services.Errorf(services.CodeInternal, "withdrawal: store: %w", err)
	}
	return s.view(a, nil), nil
}

// byKey finds the application this subject made under r's key: the same
// request gets it again, another request is idempotency.key_reused.
func (s *Service) byKey(ctx context.Context, subject string, r Request) (Application, bool, error) {
	// Accepted to be checked: the first answer was the check's, whatever
	// became of it since.
	c, err := s.loadCheck(ctx, `subject = $1 AND idempotency_key = $2`, subject, r.IdempotencyKey)
	switch {
	case err == nil && c.Hash != r.RequestHash:
		return Application{}, false, services.E(services.CodeIdempotencyKeyReused)
	case err == nil:
		c.Status, c.UpdatedAt = "pending", c.CreatedAt
		v := s.checkView(c)
		v.Events = nil
		return v, true, nil
	case !errors.Is(err, store.ErrNotFound):
		return Application{}, false, services.Errorf(services.CodeInternal, "withdrawal: check by key: %w", err)
	}
	a, hash, err := s.load(ctx, `subject = $1 AND idempotency_key = $2`, subject, r.IdempotencyKey)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Application{}, false, nil
	case err != nil:
		return Application{}, false, services.Errorf(services.CodeInternal, "withdrawal: by key: %w", err)
	case hash != r.RequestHash:
		return Application{}, false, services.E(services.CodeIdempotencyKeyReused)
	}
	// The first answer again: the application as it was accepted.
	a.Status, a.Reason, a.UpdatedAt = StatusAccepted, "", a.CreatedAt
	return s.view(a, nil), true, nil
}

// judge gathers the facts for one person and evaluates pol; the person's
// record is read only when the kind needs their age.
func (s *Service) judge(ctx context.Context, subject, personID string, pol Policy) (Eligibility, Facts, error) {
	now := s.Now()
	if !s.asOf.IsZero() {
		now = s.asOf
	}
	f := Facts{Now: now}
	var person core.Person
	var stale [4]bool
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		var fr core.Freshness
		var err error
		f.Account, fr, err = s.Reader.Account(gctx, personID)
		stale[0] = fr.Stale
		return err
	})
	g.Go(func() error {
		var err error
		f.Withdrawals, f.Ledger, stale[1], err = s.ledgerWithdrawals(gctx, personID, now)
		return err
	})
	if pol.RequiresLoan {
		g.Go(func() error {
			var fr core.Freshness
			var err error
			f.Loan, fr, err = s.Reader.Loan(gctx, personID)
			stale[2] = fr.Stale
			return err
		})
	}
	if pol.RequiresRetirementAge {
		g.Go(func() error {
			var fr core.Freshness
			var err error
			person, fr, err = s.Reader.Person(gctx, personID)
			stale[3] = fr.Stale
			return err
		})
	}
	g.Go(func() error {
		var err error
		f.Open, f.Paid, err = s.own(gctx, s.Store, subject, now)
		return err
	})
	if err := g.Wait(); err != nil {
		return Eligibility{}, Facts{}, err
	}
	if person.IDNumber != "" {
		f.Birth, f.Male, _ = birthAndSex(person.IDNumber)
	}
	el := s.Policies.Evaluate(pol, f)
	el.Stale = stale[0] || stale[1] || stale[2] || stale[3]
	return el, f, nil
}

// ledgerWithdrawals reads the withdrawal entries of the last 13 months,
// the balance after the newest entry and the applications paid.
func (s *Service) ledgerWithdrawals(ctx context.Context, personID string, now time.Time) ([]core.Deposit, Ledger, bool, error) {
	q := core.DepositQuery{From: now.In(services.CentreTime).AddDate(0, -13, 0).Format("2006-01"), Limit: 100}
	var out []core.Deposit
	l := Ledger{Paid: map[string]bool{}}
	stale := false
	for range 20 {
		page, fr, err := s.Reader.Deposits(ctx, personID, q)
		if err != nil {
			return nil, Ledger{}, false, err
		}
		stale = stale || fr.Stale
		for _, d := range page.Items {
			if !l.Known {
				l.Known, l.BalanceFen = true, d.BalanceAfterFen
			}
			if d.Kind == core.KindWithdrawal {
				out = append(out, d)
				if d.ApplicationID != "" {
					l.Paid[d.ApplicationID] = true
				}
			}
		}
		if page.NextCursor == "" {
			break
		}
		q.Cursor = page.NextCursor
	}
	return out, l, stale, nil
}

// own lists the subject's applications in flight (at: when made) and
// those paid in the last 13 months (at: when paid), read through q (the
// store, or the transaction that holds the subject's lock).
func (s *Service) own(ctx context.Context, q querier, subject string, now time.Time) (open, paid []Open, err error) {
	rows, err := q.Query(ctx, `SELECT id, kind, amount_fen, status, created_at, updated_at FROM withdrawals
		WHERE subject = $1 AND (status IN ('accepted', 'submitted', 'approved') OR (status = 'paid' AND updated_at > $2))`,
		subject, store.Timestamp(now.AddDate(0, -13, 0)))
	if err != nil {
		return nil, nil, services.Errorf(services.CodeInternal, "withdrawal: own: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var o Open
		var status string
		var created, updated time.Time
		if err := rows.Scan(&o.ID, &o.Kind, &o.AmountFen, &status, store.ScanTime(&created), store.ScanTime(&updated)); err != nil {
			return nil, nil, services.Errorf(services.CodeInternal, "withdrawal: own: %w", err)
		}
		if status == StatusPaid {
			o.At = updated
			paid = append(paid, o)
		} else {
			o.At = created
			open = append(open, o)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, services.Errorf(services.CodeInternal, "withdrawal: own: %w", err)
	}
	return open, paid, nil
}

// policyOf checks the caller is a depositor and the kind is offered.
func (s *Service) policyOf(p services.Principal, kind string) (Policy, error) {
	if err := p.Depositor(); err != nil {
		return Policy{}, err
	}
	pol, ok := s.Policies.Policy(kind)
	if !ok {
		return Policy{}, services.Invalid(services.FieldError{Field: "type", Code: services.FieldOneOf,
			Params: map[string]any{"allowed": s.Policies.KindNames()}})
	}
	return pol, nil
}

// validate checks the request's shape before anything is read.
func (s *Service) validate(r Request) error {
	var fields []services.FieldError
	if r.AmountFen < 1 || r.AmountFen > MaxAmountFen {
		fields = append(fields, services.FieldError{Field: "amount_fen", Code: services.FieldOutOfRange,
			Params: map[string]any{"min": 1, "max": int64(MaxAmountFen)}})
	}
	if r.PayoutAccountID == "" {
		fields = append(fields, services.FieldError{Field: "payout.account_id", Code: services.FieldRequired})
	}
	if len(r.EvidenceRefs) > maxEvidenceRefs {
		fields = append(fields, services.FieldError{Field: "evidence_refs", Code: services.FieldOutOfRange, Params: map[string]any{"max": maxEvidenceRefs}})
	}
	for _, ref := range r.EvidenceRefs {
		if ref == "" || len(ref) > maxEvidenceRef || !utf8.ValidString(ref) || strings.IndexFunc(ref, notRefRune) >= 0 {
			fields = append(fields, services.FieldError{Field: "evidence_refs", Code: services.FieldFormat,
				Params: map[string]any{"format": "1–64 of A-Z a-z 0-9 - _ . :"}})
			break
		}
	}
	if r.ConsentID != "" && (len(r.ConsentID) > maxEvidenceRef || strings.IndexFunc(r.ConsentID, notRefRune) >= 0) {
		fields = append(fields, services.FieldError{Field: "consent_id", Code: services.FieldFormat,
			Params: map[string]any{"format": "cns_ and 32 hex digits"}})
	}
	if len(r.MaterialIDs) > maxMaterials {
		fields = append(fields, services.FieldError{Field: "material_ids", Code: services.FieldOutOfRange, Params: map[string]any{"max": maxMaterials}})
	}
	for _, id := range r.MaterialIDs {
		if id == "" || len(id) > maxEvidenceRef || strings.IndexFunc(id, notRefRune) >= 0 {
			fields = append(fields, services.FieldError{Field: "material_ids", Code: services.FieldFormat,
				Params: map[string]any{"format": "32 hex digits"}})
			break
		}
	}
	if len(fields) > 0 {
		return services.Invalid(fields...)
	}
	return nil
}

func notRefRune(r rune) bool {
	return !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' || r == ':')
}

// Texts turns reasons into texts to localize: withdrawal.reason.<code>.
func Texts(reasons []Reason) []services.Text {
	out := make([]services.Text, 0, len(reasons))
	for _, r := range reasons {
		out = append(out, services.Text{Key: "withdrawal.reason." + r.Code, Params: r.Params})
	}
	return out
}
