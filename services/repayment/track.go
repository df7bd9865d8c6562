package repayment

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"handheld/services"
	"handheld/services/keyset"
	"handheld/services/notify"
	"handheld/services/outbox"
	"handheld/services/store"
)

// Payment is an early repayment or arrears payment as its person sees it.
type Payment struct {
	ID               string
	CaseNumber       string
	Kind             string
	AmountFen        int64
	Mode             string
	SourceAccountID  string
	FromHPF          bool
	Status           string
	Reason           string
	InterestSavedFen int64
	PenaltyFen       int64
	MonthsAfter      int
	PaymentAfterFen  int64
	Settled          bool
	AppliedOn        string
	CreatedAt        time.Time
	UpdatedAt        time.Time
	DueOn            string
	Events           []Event
}

// Event is one status a payment took.
type Event struct {
	Status string
	Reason string
	At     time.Time
}

// Page sizes of List.
const (
	DefaultLimit = 20
	MaxLimit     = 100
)

// row is a loan_prepayments row.
type row struct {
	ID, CaseNumber, Subject, Kind string
	AmountFen                     int64
	Mode, SourceAccountID         string
	FromHPF                       bool
	Status, Reason                string
	InterestSavedFen, PenaltyFen  int64
	MonthsAfter                   int
	PaymentAfterFen               int64
	Settled                       bool
	AppliedOn, Locale, Channel    string
	CreatedAt, UpdatedAt          time.Time
	DueOn                         string
}

const rowColumns = `id, case_number, subject, kind, amount_fen, mode, source_account_id, from_hpf, status, reason,
	interest_saved_fen, penalty_fen, months_after, payment_after_fen, settled, applied_on, locale, channel, created_at, updated_at,
	due_on, request_hash`

func (s *Service) load(ctx context.Context, where string, args ...any) (row, string, error) {
	return scanRow(s.Store.QueryRow(ctx, `SELECT `+rowColumns+` FROM loan_prepayments WHERE `+where, args...))
}

func scanRow(sc interface{ Scan(dest ...any) error }) (row, string, error) {
	var t row
	var hash string
	err := sc.Scan(&t.ID, &t.CaseNumber, &t.Subject, &t.Kind, &t.AmountFen, &t.Mode, &t.SourceAccountID, &t.FromHPF, &t.Status,
		&t.Reason, &t.InterestSavedFen, &t.PenaltyFen, &t.MonthsAfter, &t.PaymentAfterFen, &t.Settled, &t.AppliedOn, &t.Locale,
		&t.Channel, store.ScanTime(&t.CreatedAt), store.ScanTime(&t.UpdatedAt), &t.DueOn, &hash)
	return t, hash, err
}

// view is what the person sees of a row.
func (s *Service) view(t row, events []Event) Payment {
	return Payment{ID: t.ID, CaseNumber: t.CaseNumber, Kind: t.Kind, AmountFen: t.AmountFen, Mode: t.Mode,
		SourceAccountID: t.SourceAccountID, FromHPF: t.FromHPF, Status: t.Status, Reason: t.Reason,
		InterestSavedFen: t.InterestSavedFen, PenaltyFen: t.PenaltyFen, MonthsAfter: t.MonthsAfter, PaymentAfterFen: t.PaymentAfterFen,
		Settled: t.Settled, AppliedOn: t.AppliedOn, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt, DueOn: t.DueOn, Events: events}
}

// Get is one of p's payments with its history; another person's id is
// not_found, like an unknown one. Audited.
func (s *Service) Get(ctx context.Context, p services.Principal, id string) (Payment, error) {
	if err := p.Depositor(); err != nil {
		return Payment{}, err
	}
	v, err := s.get(ctx, p.Subject, id)
	if err := s.audited(ctx, p, ActionRead, "loan_payment:"+idKind.Safe(id), err); err != nil {
		return Payment{}, err
	}
	return v, nil
}

func (s *Service) get(ctx context.Context, subject, id string) (Payment, error) {
	if !idKind.Valid(id) {
		return Payment{}, services.Errorf(services.CodeNotFound, "repayment: malformed id")
	}
	t, _, err := s.load(ctx, `id = $1 AND subject = $2`, id, subject)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Payment{}, services.Errorf(services.CodeNotFound, "repayment: none")
	case err != nil:
		return Payment{}, services.Errorf(services.CodeInternal, "repayment: get: %w", err)
	}
	events, err := s.events(ctx, id)
	if err != nil {
		return Payment{}, err
	}
	return s.view(t, events), nil
}

func (s *Service) events(ctx context.Context, id string) ([]Event, error) {
	rows, err := s.Store.Query(ctx, `SELECT status, reason, at FROM loan_prepayment_events WHERE prepayment_id = $1 ORDER BY at`, id)
	if err != nil {
		return nil, services.Errorf(services.CodeInternal, "repayment: events: %w", err)
	}
	defer rows.Close()
	out := []Event{}
	for rows.Next() {
		var e Event
		if err := rows.Scan(&e.Status, &e.Reason, store.ScanTime(&e.At)); err != nil {
			return nil, services.Errorf(services.CodeInternal, "repayment: events: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, services.Errorf(services.CodeInternal, "repayment: events: %w", err)
	}
	// Accepted comes first even when the core answered within the same
	// instant.
	for i := 1; i < len(out); i++ {
		if out[i].Status == StatusAccepted {
			out[0], out[i] = out[i], out[0]
		}
	}
	return out, nil
}

// List is p's payments, newest first, limit 1..MaxLimit (0 means
// DefaultLimit), continued with the previous page's cursor. Audited.
func (s *Service) List(ctx context.Context, p services.Principal, limit int, cursor string) ([]Payment, string, error) {
	if err := p.Depositor(); err != nil {
		return nil, "", err
	}
	items, next, err := s.list(ctx, p.Subject, limit, cursor)
	if err := s.audited(ctx, p, ActionRead, "loan_payments", err); err != nil {
		return nil, "", err
	}
	return items, next, nil
}

func (s *Service) list(ctx context.Context, subject string, limit int, cursor string) ([]Payment, string, error) {
	limit, after, args, err := keyset.Page(limit, DefaultLimit, MaxLimit, cursor, idKind.Valid, 2)
	if err != nil {
		return nil, "", err
	}
	rows, err := s.Store.Query(ctx, `SELECT `+rowColumns+` FROM loan_prepayments WHERE subject = $1`+after+
		` ORDER BY created_at DESC, id DESC LIMIT `+strconv.Itoa(limit+1), append([]any{subject}, args...)...)
	if err != nil {
		return nil, "", services.Errorf(services.CodeInternal, "repayment: list: %w", err)
	}
	defer rows.Close()
	var out []row
	for rows.Next() {
		t, _, err := scanRow(rows)
		if err != nil {
			return nil, "", services.Errorf(services.CodeInternal, "repayment: list: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, "", services.Errorf(services.CodeInternal, "repayment: list: %w", err)
	}
	out, next := keyset.Trim(out, limit, func(r row) (time.Time, string) { return r.CreatedAt, r.ID })
	items := make([]Payment, 0, len(out))
	for _, t := range out {
		items = append(items, s.view(t, nil))
	}
	return items, next, nil
}

// recordStatus records that t took status (once) and queues the person's
// notification in the same transaction.
func (s *Service) recordStatus(ctx context.Context, tx *store.Tx, t row, status, reason string, at time.Time) error {
	res, err := tx.Exec(ctx, `INSERT INTO loan_prepayment_events (prepayment_id, status, reason, at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (prepayment_id, status) DO NOTHING`, t.ID, status, reason, store.Timestamp(at))
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return err
	}
	ev, err := json.Marshal(notify.Event{Subject: t.Subject, ApplicationID: t.ID, CaseNumber: t.CaseNumber, Kind: "loan_" + t.Kind,
		Status: "prepayment_" + status, Reason: reason, AmountFen: t.AmountFen, Locale: t.Locale, At: at})
	if err != nil {
		return err
	}
	_, err = outbox.Enqueue(ctx, tx, outbox.Message{ID: string(notify.Topic) + ":" + t.ID + ":" + status, Topic: notify.Topic, Payload: ev}, at)
	return err
}
