package withdrawal

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/keyset"
	"handheld/services/mask"
	"handheld/services/notify"
	"handheld/services/outbox"
	"handheld/services/store"
)

// Application is an application as its person sees it: the payout account
// masked, the statuses it went through.
type Application struct {
	ID            string
	CaseNumber    string
	Kind          string
	Status        string
	Reason        string // the core's reason for a rejection
	AmountFen     int64
	PayoutMethod  string
	PayoutAccount string // masked
	// PayoutAccountID is the core's id of the account paid to.
	PayoutAccountID string
	EvidenceRefs    []string
	// ConsentID and MaterialIDs are the shared-data consent and the
	// uploads the application rests on; Found says, per evidence, how it
	// was found (Evidence.Found).
	ConsentID     string
	MaterialIDs   []string
	Found         map[string]string
	ClosesAccount bool
	CreatedAt     time.Time
	UpdatedAt     time.Time
	DueOn         string // statutory decision date, YYYY-MM-DD
	Events        []Event
}

// Event is one status an application took.
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

// row is a withdrawals row.
type row struct {
	ID, CaseNumber, Subject, Kind, CoreKind string
	AmountFen                               int64
	PayoutMethod, PayoutAccount             string
	PayoutAccountID                         string
	EvidenceRefs                            string
	Evidence                                Evidence
	ClosesAccount                           bool
	Status, Reason, Locale, Channel         string
	CreatedAt, UpdatedAt                    time.Time
	DueOn                                   string
}

const rowColumns = `id, case_number, subject, kind, core_kind, amount_fen, payout_method, payout_account, payout_account_id,
	evidence_refs, evidence, closes_account, status, reason, locale, channel, created_at, updated_at, due_on, request_hash`

// load reads one row by a condition; hash is its request hash.
func (s *Service) load(ctx context.Context, where string, args ...any) (row, string, error) {
	return s.scanRow(s.Store.QueryRow(ctx, `SELECT `+rowColumns+` FROM withdrawals WHERE `+where, args...))
}

// scanRow reads the rowColumns of one row, opening the sealed columns.
func (s *Service) scanRow(sc interface{ Scan(dest ...any) error }) (row, string, error) {
	var a row
	var hash, evidence string
	err := sc.Scan(&a.ID, &a.CaseNumber, &a.Subject, &a.Kind, &a.CoreKind, &a.AmountFen, &a.PayoutMethod, &a.PayoutAccount, &a.PayoutAccountID,
		&a.EvidenceRefs, &evidence, &a.ClosesAccount, &a.Status, &a.Reason, &a.Locale, &a.Channel,
		store.ScanTime(&a.CreatedAt), store.ScanTime(&a.UpdatedAt), &a.DueOn, &hash)
	if err != nil {
		return a, hash, err
	}
	if a.PayoutAccount, err = s.Store.OpenText(a.PayoutAccount, sealedPayoutAccount.Place(a.ID)); err != nil {
		return a, hash, err
	}
	if a.EvidenceRefs, err = s.Store.OpenText(a.EvidenceRefs, sealedEvidenceRefs.Place(a.ID)); err != nil {
		return a, hash, err
	}
	if evidence != "" {
		if evidence, err = s.Store.OpenText(evidence, sealedEvidence.Place(a.ID)); err != nil {
			return a, hash, err
		}
	}
	a.Evidence, err = decodeEvidence(evidence)
	return a, hash, err
}

// view is what the person sees of a row.
func (s *Service) view(a row, events []Event) Application {
	v := Application{
		ID: a.ID, CaseNumber: a.CaseNumber, Kind: a.Kind, Status: a.Status, Reason: a.Reason, AmountFen: a.AmountFen,
		PayoutMethod: a.PayoutMethod, PayoutAccountID: a.PayoutAccountID, ClosesAccount: a.ClosesAccount,
		CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt, DueOn: a.DueOn, Events: events,
	}
	v.PayoutAccount = s.maskPayout(a.PayoutMethod, a.Channel, a.PayoutAccount)
	_ = json.Unmarshal([]byte(a.EvidenceRefs), &v.EvidenceRefs)
	v.ConsentID, v.MaterialIDs = a.Evidence.ConsentID, []string{}
	for _, m := range a.Evidence.Materials {
		v.MaterialIDs = append(v.MaterialIDs, m.ID)
	}
	if pol, ok := s.Policies.Policy(a.Kind); ok {
		v.Found = a.Evidence.Found(pol, v.EvidenceRefs)
	}
	return v
}

func maskChannel(channel string) string {
	switch channel {
	case services.ChannelKiosk:
		return mask.Kiosk
	case services.ChannelApp:
		return mask.App
	}
	return mask.MiniApp
}

// Get is one of p's applications with its history; another person's id
// is not_found, like an unknown one.
func (s *Service) Get(ctx context.Context, p services.Principal, id string) (Application, error) {
	if err := p.Depositor(); err != nil {
		return Application{}, err
	}
	v, err := s.get(ctx, p.Subject, id)
	rec := audit.Record{Subject: p.Subject, Actor: p.Actor(), Channel: p.Channel, Action: ActionRead, Target: "withdrawal:" + idKind.Safe(id)}
	if err := audit.Outcome(ctx, s.Audit, s.Logger, rec, err); err != nil {
		return Application{}, err
	}
	return v, nil
}

func (s *Service) get(ctx context.Context, subject, id string) (Application, error) {
	if !idKind.Valid(id) {
		return Application{}, services.Errorf(services.CodeNotFound, "withdrawal: malformed id")
	}
	a, _, err := s.load(ctx, `id = $1 AND subject = $2`, id, subject)
	if errors.Is(err, store.ErrNotFound) {
		// Accepted to be checked, and not (yet) an application.
		c, cerr := s.loadCheck(ctx, `id = $1 AND subject = $2 AND status <> 'passed'`, id, subject)
		switch {
		case cerr == nil:
			return s.checkView(c), nil
		case !errors.Is(cerr, store.ErrNotFound):
			return Application{}, services.Errorf(services.CodeInternal, "withdrawal: get check: %w", cerr)
		}
		// Passed between the two reads: the application exists now.
		a, _, err = s.load(ctx, `id = $1 AND subject = $2`, id, subject)
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Application{}, services.Errorf(services.CodeNotFound, "withdrawal: no application")
	case err != nil:
		return Application{}, services.Errorf(services.CodeInternal, "withdrawal: get: %w", err)
	}
	events, err := s.events(ctx, id)
	if err != nil {
		return Application{}, err
	}
	return s.view(a, events), nil
}

func (s *Service) events(ctx context.Context, id string) ([]Event, error) {
	rows, err := s.Store.Query(ctx, `SELECT status, reason, at FROM withdrawal_events WHERE application_id = $1 ORDER BY at, status`, id)
	if err != nil {
		return nil, services.Errorf(services.CodeInternal, "withdrawal: events: %w", err)
	}
	defer rows.Close()
	out := []Event{}
	for rows.Next() {
		var e Event
		if err := rows.Scan(&e.Status, &e.Reason, store.ScanTime(&e.At)); err != nil {
			return nil, services.Errorf(services.CodeInternal, "withdrawal: events: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, services.Errorf(services.CodeInternal, "withdrawal: events: %w", err)
	}
	return out, nil
}

// List is p's applications, newest first, limit 1..MaxLimit (0 means
// DefaultLimit), continued with the previous page's cursor.
func (s *Service) List(ctx context.Context, p services.Principal, limit int, cursor string) ([]Application, string, error) {
	if err := p.Depositor(); err != nil {
		return nil, "", err
	}
	items, next, err := s.list(ctx, p.Subject, limit, cursor, false)
	rec := audit.Record{Subject: p.Subject, Actor: p.Actor(), Channel: p.Channel, Action: ActionRead, Target: "withdrawals"}
	if err := audit.Outcome(ctx, s.Audit, s.Logger, rec, err); err != nil {
		return nil, "", err
	}
	return items, next, nil
}

// InFlight is the subject's applications not finished, newest first, for
// the home screen (the caller audits the screen).
func (s *Service) InFlight(ctx context.Context, subject string) ([]Application, error) {
	items, _, err := s.list(ctx, subject, MaxLimit, "", true)
	return items, err
}

func (s *Service) list(ctx context.Context, subject string, limit int, cursor string, inFlight bool) ([]Application, string, error) {
	limit, after, afterArgs, err := keyset.Page(limit, DefaultLimit, MaxLimit, cursor, idKind.Valid, 2)
	if err != nil {
		return nil, "", err
	}
	where, args := `subject = $1`, []any{subject}
	if inFlight {
		where += ` AND status IN ('accepted', 'submitted', 'approved')`
	}
	where, args = where+after, append(args, afterArgs...)
	rows, err := s.Store.Query(ctx, `SELECT `+rowColumns+` FROM withdrawals WHERE `+where+
		` ORDER BY created_at DESC, id DESC LIMIT `+strconv.Itoa(limit+1), args...)
	if err != nil {
		return nil, "", services.Errorf(services.CodeInternal, "withdrawal: list: %w", err)
	}
	defer rows.Close()
	var out []row
	for rows.Next() {
		a, _, err := s.scanRow(rows)
		if err != nil {
			return nil, "", services.Errorf(services.CodeInternal, "withdrawal: list: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, "", services.Errorf(services.CodeInternal, "withdrawal: list: %w", err)
	}
	out, next := keyset.Trim(out, limit, func(r row) (time.Time, string) { return r.CreatedAt, r.ID })
	items := make([]Application, 0, len(out))
	if cursor == "" {
		// Applications to be checked (or refused on their check) head
		// the first page.
		checks, err := s.pendingChecks(ctx, subject, inFlight)
		if err != nil {
			return nil, "", err
		}
		items = append(items, checks...)
	}
	for _, a := range out {
		items = append(items, s.view(a, nil))
	}
	return items, next, nil
}

// recordStatus records that a took status (once: a second record of the
// same status is a no-op) and, when the centre announces that status,
// queues the person's notification in the same transaction.
func (s *Service) recordStatus(ctx context.Context, tx *store.Tx, a row, status, reason string, at time.Time) error {
	return s.recordStatuses(ctx, tx, statusEntry{a: a, status: status, reason: reason, at: at})
}

// statusEntry is a status an application took, for recordStatuses.
type statusEntry struct {
	a              row
	status, reason string
	at             time.Time
}

// recordStatuses is recordStatus for several statuses, in one statement
// for the statuses and one for the notifications.
func (s *Service) recordStatuses(ctx context.Context, tx *store.Tx, es ...statusEntry) error {
	if len(es) == 0 {
		return nil
	}
	var values strings.Builder
	args := make([]any, 0, 4*len(es))
	for i, e := range es {
		if i > 0 {
			values.WriteString(", ")
		}
		values.WriteString("(" + store.Placeholders(4*i+1, 4) + ")")
		args = append(args, e.a.ID, e.status, e.reason, store.Timestamp(e.at))
	}
	rows, err := tx.Query(ctx, `INSERT INTO withdrawal_events (application_id, status, reason, at) VALUES `+values.String()+`
		ON CONFLICT (application_id, status) DO NOTHING RETURNING application_id, status`, args...)
	if err != nil {
		return err
	}
	type key struct{ id, status string }
	inserted := map[key]bool{}
	for rows.Next() {
		var k key
		if err := rows.Scan(&k.id, &k.status); err != nil {
			rows.Close()
			return err
		}
		inserted[k] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	var notices []outbox.Due
	for _, e := range es {
		if !inserted[key{e.a.ID, e.status}] || !slices.Contains(s.Policies.NotifyOn, e.status) {
			continue
		}
		a := e.a
		ev, err := json.Marshal(notify.Event{Subject: a.Subject, ApplicationID: a.ID, CaseNumber: a.CaseNumber, Kind: a.Kind,
			Status: e.status, Reason: e.reason, AmountFen: a.AmountFen, Locale: a.Locale, At: e.at})
		if err != nil {
			return err
		}
		notices = append(notices, outbox.Due{Message: outbox.Message{ID: string(notify.Topic) + ":" + a.ID + ":" + e.status,
			Topic: notify.Topic, Payload: ev}, At: e.at})
	}
	_, err = outbox.EnqueueAll(ctx, tx, notices...)
	return err
}
