package transfer

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/keyset"
	"handheld/services/mask"
	"handheld/services/notify"
	"handheld/services/outbox"
	"handheld/services/store"
)

// Transfer is a transfer as its person sees it: the old account's
// reference masked, the statuses it went through.
type Transfer struct {
	ID               string
	CaseNumber       string
	FromCentre       string
	CentreName       string
	AccountRefMasked string
	// AmountFen is the balance the old centre shared when asked for, then
	// the amount it moved; 0 while unknown.
	AmountFen int64
	Status    string
	Reason    string // the old centre's refusal reason
	CreatedAt time.Time
	UpdatedAt time.Time
	DueOn     string
	Events    []Event
}

// Event is one status a transfer took.
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

// row is a transfers row, the account reference opened.
type row struct {
	ID, CaseNumber, Subject, FromCentre, CentreName, AccountRef string
	AmountFen                                                   int64
	PlatformRef                                                 string
	Sequence                                                    int
	Status, Reason, Locale, Channel                             string
	CreatedAt, UpdatedAt, HeardAt                               time.Time
	DueOn                                                       string
}

const rowColumns = `id, case_number, subject, from_centre, centre_name, account_ref, amount_fen, platform_ref, sequence,
	status, reason, locale, channel, created_at, updated_at, heard_at, due_on, request_hash`

func (s *Service) load(ctx context.Context, where string, args ...any) (row, string, error) {
	return s.scanRow(s.Store.QueryRow(ctx, `SELECT `+rowColumns+` FROM transfers WHERE `+where, args...))
}

func (s *Service) scanRow(sc interface{ Scan(dest ...any) error }) (row, string, error) {
	var t row
	var hash string
	err := sc.Scan(&t.ID, &t.CaseNumber, &t.Subject, &t.FromCentre, &t.CentreName, &t.AccountRef, &t.AmountFen, &t.PlatformRef,
		&t.Sequence, &t.Status, &t.Reason, &t.Locale, &t.Channel, store.ScanTime(&t.CreatedAt), store.ScanTime(&t.UpdatedAt),
		store.ScanTime(&t.HeardAt), &t.DueOn, &hash)
	if err != nil {
		return t, hash, err
	}
	t.AccountRef, err = s.Store.OpenText(t.AccountRef, sealedAccountRef.Place(t.ID))
	return t, hash, err
}

// insert writes the row, the account reference sealed.
func (t row) insert(ctx context.Context, st *store.Store, tx *store.Tx, r Request) error {
	ref, err := st.SealText(t.AccountRef, sealedAccountRef.Place(t.ID))
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO transfers (id, case_number, subject, from_centre, centre_name, account_ref, amount_fen,
		status, idempotency_key, request_hash, locale, channel, created_at, updated_at, heard_at, due_on)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
		t.ID, t.CaseNumber, t.Subject, t.FromCentre, t.CentreName, ref, t.AmountFen, t.Status, r.IdempotencyKey, r.RequestHash,
		t.Locale, t.Channel, t.CreatedAt, t.UpdatedAt, t.HeardAt, t.DueOn)
	return err
}

// view is what the person sees of a row.
func (s *Service) view(t row, events []Event) Transfer {
	return Transfer{ID: t.ID, CaseNumber: t.CaseNumber, FromCentre: t.FromCentre, CentreName: t.CentreName,
		AccountRefMasked: s.Mask.Apply(mask.AccountNumber, t.Channel, t.AccountRef), AmountFen: t.AmountFen,
		Status: t.Status, Reason: t.Reason, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt, DueOn: t.DueOn, Events: events}
}

// Get is one of p's transfers with its history; another person's id is
// not_found, like an unknown one. Audited.
func (s *Service) Get(ctx context.Context, p services.Principal, id string) (Transfer, error) {
	if err := p.Depositor(); err != nil {
		return Transfer{}, err
	}
	v, err := s.get(ctx, p.Subject, id)
	rec := audit.Record{At: s.Now(), Subject: p.Subject, Actor: p.Actor(), Channel: p.Channel, Action: ActionRead, Target: "transfer:" + idKind.Safe(id)}
	if err := audit.Outcome(ctx, s.Audit, s.Logger, rec, err); err != nil {
		return Transfer{}, err
	}
	return v, nil
}

func (s *Service) get(ctx context.Context, subject, id string) (Transfer, error) {
	if !idKind.Valid(id) {
		return Transfer{}, services.Errorf(services.CodeNotFound, "transfer: malformed id")
	}
	t, _, err := s.load(ctx, `id = $1 AND subject = $2`, id, subject)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Transfer{}, services.Errorf(services.CodeNotFound, "transfer: none")
	case err != nil:
		return Transfer{}, services.Errorf(services.CodeInternal, "transfer: get: %w", err)
	}
	events, err := s.events(ctx, id)
	if err != nil {
		return Transfer{}, err
	}
	return s.view(t, events), nil
}

func (s *Service) events(ctx context.Context, id string) ([]Event, error) {
	rows, err := s.Store.Query(ctx, `SELECT status, reason, at FROM transfer_events WHERE transfer_id = $1`, id)
	if err != nil {
		return nil, services.Errorf(services.CodeInternal, "transfer: events: %w", err)
	}
	defer rows.Close()
	out := []Event{}
	for rows.Next() {
		var e Event
		if err := rows.Scan(&e.Status, &e.Reason, store.ScanTime(&e.At)); err != nil {
			return nil, services.Errorf(services.CodeInternal, "transfer: events: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, services.Errorf(services.CodeInternal, "transfer: events: %w", err)
	}
	sortEvents(out)
	return out, nil
}

// sortEvents orders a history along the way a transfer goes: statuses
// recorded in one transaction share an instant.
func sortEvents(es []Event) {
	for i := 1; i < len(es); i++ {
		for j := i; j > 0 && (es[j].At.Before(es[j-1].At) || es[j].At.Equal(es[j-1].At) && rank[es[j].Status] < rank[es[j-1].Status]); j-- {
			es[j], es[j-1] = es[j-1], es[j]
		}
	}
}

// List is p's transfers, newest first, limit 1..MaxLimit (0 means
// DefaultLimit), continued with the previous page's cursor. Audited.
func (s *Service) List(ctx context.Context, p services.Principal, limit int, cursor string) ([]Transfer, string, error) {
	if err := p.Depositor(); err != nil {
		return nil, "", err
	}
	items, next, err := s.list(ctx, p.Subject, limit, cursor)
	rec := audit.Record{At: s.Now(), Subject: p.Subject, Actor: p.Actor(), Channel: p.Channel, Action: ActionRead, Target: "transfers"}
	if err := audit.Outcome(ctx, s.Audit, s.Logger, rec, err); err != nil {
		return nil, "", err
	}
	return items, next, nil
}

func (s *Service) list(ctx context.Context, subject string, limit int, cursor string) ([]Transfer, string, error) {
	limit, after, args, err := keyset.Page(limit, DefaultLimit, MaxLimit, cursor, idKind.Valid, 2)
	if err != nil {
		return nil, "", err
	}
	rows, err := s.Store.Query(ctx, `SELECT `+rowColumns+` FROM transfers WHERE subject = $1`+after+
		` ORDER BY created_at DESC, id DESC LIMIT `+strconv.Itoa(limit+1), append([]any{subject}, args...)...)
	if err != nil {
		return nil, "", services.Errorf(services.CodeInternal, "transfer: list: %w", err)
	}
	defer rows.Close()
	var out []row
	for rows.Next() {
		t, _, err := s.scanRow(rows)
		if err != nil {
			return nil, "", services.Errorf(services.CodeInternal, "transfer: list: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, "", services.Errorf(services.CodeInternal, "transfer: list: %w", err)
	}
	out, next := keyset.Trim(out, limit, func(r row) (time.Time, string) { return r.CreatedAt, r.ID })
	items := make([]Transfer, 0, len(out))
	for _, t := range out {
		items = append(items, s.view(t, nil))
	}
	return items, next, nil
}

// recordStatus records that t took status (once: a second record of the
// same status is a no-op) and queues the person's notification in the
// same transaction.
func (s *Service) recordStatus(ctx context.Context, tx *store.Tx, t row, status, reason string, at time.Time) error {
	res, err := tx.Exec(ctx, `INSERT INTO transfer_events (transfer_id, status, reason, at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (transfer_id, status) DO NOTHING`, t.ID, status, reason, store.Timestamp(at))
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return err
	}
	ev, err := json.Marshal(notify.Event{Subject: t.Subject, ApplicationID: t.ID, CaseNumber: t.CaseNumber, Kind: Kind,
		Status: notify.TransferStatus(status), Reason: reason, AmountFen: t.AmountFen, Locale: t.Locale, At: at})
	if err != nil {
		return err
	}
	_, err = outbox.Enqueue(ctx, tx, outbox.Message{ID: string(notify.Topic) + ":" + t.ID + ":" + status, Topic: notify.Topic, Payload: ev}, at)
	return err
}
