package transfer

import (
	"context"
	"errors"
	"regexp"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/mask"
	"handheld/services/outbox"
	"handheld/services/platform"
	"handheld/services/store"
)

// Request is a transfer as the person asks for it. AccountRef is the
// account's reference at the old centre, whole or as the accounts-elsewhere
// screen shows it masked. IdempotencyKey and RequestHash make retries safe.
type Request struct {
	FromCentre     string
	AccountRef     string
	IdempotencyKey string
	RequestHash    string
	Locale         string
}

var (
	centreShape     = regexp.MustCompile(`^[0-9]{6}$`)
	accountRefShape = regexp.MustCompile(`^[0-9A-Z*]{8,32}$`)
)

// Apply accepts a transfer: validated, judged by the policy on the
// platform's answer for this person and their local account, and stored
// with its outbox row in one transaction. replayed is true when the same
// request was accepted before under the same key. Audited.
func (s *Service) Apply(ctx context.Context, p services.Principal, r Request) (t Transfer, replayed bool, err error) {
	rec := audit.Record{At: s.Now(), Subject: p.Subject, Actor: p.Actor(), Channel: p.Channel, Action: ActionApply, Target: "transfer"}
	defer func() {
		if t.ID != "" {
			rec.Target = "transfer:" + t.ID
		}
		if aerr := audit.Outcome(ctx, s.Audit, s.Logger, rec, err); aerr != nil && err == nil {
			t, replayed, err = Transfer{}, false, aerr
		}
	}()
	if err := p.Depositor(); err != nil {
		return Transfer{}, false, err
	}
	if err := validate(r); err != nil {
		return Transfer{}, false, err
	}
	if t, ok, err := s.byKey(ctx, p.Subject, r); ok || err != nil {
		return t, ok, err
	}
	t, err = s.accept(ctx, p, r)
	if err != nil {
		if prev, ok, kerr := s.byKey(ctx, p.Subject, r); ok || kerr != nil {
			return prev, ok, kerr
		}
		return Transfer{}, false, err
	}
	s.Wake()
	return t, false, nil
}

func validate(r Request) error {
	var fields []services.FieldError
	if !centreShape.MatchString(r.FromCentre) {
		fields = append(fields, services.FieldError{Field: "from_centre", Code: services.FieldFormat, Params: map[string]any{"format": "6 digits"}})
	}
	if !accountRefShape.MatchString(r.AccountRef) {
		fields = append(fields, services.FieldError{Field: "account_ref", Code: services.FieldFormat,
			Params: map[string]any{"format": "8-32 of 0-9 A-Z (or * as masked)"}})
	}
	if len(fields) > 0 {
		return services.Invalid(fields...)
	}
	return nil
}

// accept judges and stores a new transfer. The cheap rules (the centre)
// come first, so a request that names this centre or an unknown one asks
// nobody; then the platform (is it the person's, and sealed?) and the
// core (the local account); then, in one transaction, the in-flight rule
// again, which the store's unique index settles between racing requests.
func (s *Service) accept(ctx context.Context, p services.Principal, r Request) (Transfer, error) {
	if err := s.Policy.JudgeCentre(s.CentreCode, r.FromCentre); err != nil {
		return Transfer{}, err
	}
	inFlight, err := s.inFlight(ctx, p.Subject)
	if err != nil {
		return Transfer{}, err
	}
	personID, err := s.People.PersonID(ctx, p.Subject)
	if err != nil {
		return Transfer{}, err
	}
	person, _, err := s.Reader.Person(ctx, personID)
	if err != nil {
		return Transfer{}, err
	}
	local, _, err := s.Reader.Account(ctx, personID)
	if err != nil && services.ErrorCode(err) != services.CodeAccountNotFound {
		return Transfer{}, err
	}
	answer, err := s.Platform.Accounts(ctx, platform.AccountQuery{RequestingCentre: s.CentreCode, Purpose: "transfer",
		Subject: platform.Subject{IDNumber: person.IDNumber, Name: person.Name}})
	if err != nil {
		return Transfer{}, err
	}
	elsewhere := s.match(p.Channel, answer.Accounts, r.FromCentre, r.AccountRef)
	if err := s.Policy.Judge(Facts{OwnCentre: s.CentreCode, FromCentre: r.FromCentre, Elsewhere: elsewhere,
		LocalStatus: local.Status, InFlight: inFlight}); err != nil {
		return Transfer{}, err
	}
	now := store.Timestamp(s.Now())
	t := row{ID: idKind.New(), Subject: p.Subject, FromCentre: r.FromCentre, CentreName: elsewhere.CentreName,
		AccountRef: elsewhere.AccountRef, Status: StatusAccepted, Locale: r.Locale, Channel: p.Channel,
		CreatedAt: now, UpdatedAt: now, HeardAt: now, DueOn: s.dueOn(now)}
	t.CaseNumber = newCaseNumber(now)
	if elsewhere.BalanceFen != nil {
		t.AmountFen = *elsewhere.BalanceFen
	}
	err = s.Store.Tx(ctx, func(tx *store.Tx) error {
		if err := t.insert(ctx, s.Store, tx, r); err != nil {
			return err
		}
		if _, err := outbox.Enqueue(ctx, tx, outbox.Message{ID: string(TopicSend) + ":" + t.ID, Topic: TopicSend,
			Payload: []byte(t.ID)}, now); err != nil {
			return err
		}
		return s.recordStatus(ctx, tx, t, StatusAccepted, "", now)
	})
	var se *services.Error
	switch {
	case errors.As(err, &se):
		return Transfer{}, err
	case errors.Is(err, store.ErrConflict):
		return Transfer{}, services.Errorf(services.CodeTransferInFlight, "transfer: in flight (store): %w", err)
	case err != nil:
		return Transfer{}, services.Errorf(services.CodeInternal, "transfer: store: %w", err)
	}
	return s.view(t, nil), nil
}

// match finds the account the person named among those the platform
// answered for them: at the centre, under the whole reference or the
// masked one the screen showed. nil when none (or, masked, more than one)
// matches: then it is not theirs as far as anyone here can tell.
func (s *Service) match(channel string, accounts []platform.Account, centre, ref string) *platform.Account {
	var found *platform.Account
	n := 0
	for i, a := range accounts {
		if a.Centre != centre {
			continue
		}
		if a.AccountRef == ref {
			return &accounts[i]
		}
		if s.Mask.Apply(mask.AccountNumber, channel, a.AccountRef) == ref {
			found, n = &accounts[i], n+1
		}
	}
	if n != 1 {
		return nil
	}
	return found
}

// inFlight counts the subject's unfinished transfers.
func (s *Service) inFlight(ctx context.Context, subject string) (int, error) {
	var n int
	err := s.Store.QueryRow(ctx, `SELECT COUNT(*) FROM transfers WHERE subject = $1
		AND status IN ('accepted', 'sent', 'accepted_by_old_centre', 'funds_moved')`, subject).Scan(&n)
	if err != nil {
		return 0, services.Errorf(services.CodeInternal, "transfer: in flight: %w", err)
	}
	return n, nil
}

// byKey finds the transfer this subject asked for under r's key: the same
// request gets it again (as first accepted), another is
// idempotency.key_reused.
func (s *Service) byKey(ctx context.Context, subject string, r Request) (Transfer, bool, error) {
	t, hash, err := s.load(ctx, `subject = $1 AND idempotency_key = $2`, subject, r.IdempotencyKey)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Transfer{}, false, nil
	case err != nil:
		return Transfer{}, false, services.Errorf(services.CodeInternal, "transfer: by key: %w", err)
	case hash != r.RequestHash:
		return Transfer{}, false, services.E(services.CodeIdempotencyKeyReused)
	}
	t.Status, t.Reason, t.UpdatedAt = StatusAccepted, "", t.CreatedAt
	return s.view(t, nil), true, nil
}
