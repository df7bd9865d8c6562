package share

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"time"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/keyset"
	"handheld/services/store"
	"handheld/services/usertext"
)

// The statuses of a party's request; expired is a pending one past its
// expires_at.
const (
	RequestPending  = "pending"
	RequestApproved = "approved"
	RequestDeclined = "declined"
	RequestExpired  = "expired"
)

// Limits of a request's text.
const (
	MaxNameRunes    = 50
	MaxPurposeRunes = 100
)

// Request is a party's request for a share, as its party and its person
// see it. It never holds the person's ID number or name: only a keyed
// hash of the two is stored.
type Request struct {
	ID         string
	PartyID    string
	PartyName  string
	Predicates []Predicate
	Purpose    string
	ValidUntil time.Time
	MaxUses    int
	Status     string
	ExpiresAt  time.Time
	CreatedAt  time.Time
	DecidedAt  time.Time // zero while pending
	ShareID    string    // the share approving made
}

// NewRequest is what a party asks: whom (by ID number and name, as the
// person gave them to it), which predicates, for how long and how many
// uses, and why (shown to the person).
type NewRequest struct {
	IDNumber   string
	Name       string
	Predicates []Predicate
	Purpose    string
	ValidUntil time.Time
	MaxUses    int
}

// Ask stores a party's request for a share. The answer is the same
// whether or not the ID number and name belong to a depositor: nothing is
// looked up, only their keyed hash is stored, and the person finds the
// request under their own. So a party cannot probe who is a depositor: a
// request naming nobody simply stays pending until it expires, like one
// the person ignores. Audited (share_request.create).
func (s *Service) Ask(ctx context.Context, p services.Principal, r NewRequest) (out Request, err error) {
	party, err := s.partyOf(p)
	if err != nil {
		return Request{}, err
	}
	id := KindRequest.New()
	defer func() {
		target := "share_request:invalid"
		if out.ID != "" {
			target = "share_request:" + out.ID
		}
		rec := audit.Record{Actor: p.Subject, Channel: auditChannel(p), Action: ActionRequestCreate, Target: target}
		if aerr := s.audited(ctx, rec, err); aerr != nil && err == nil {
			out, err = Request{}, aerr
		}
	}()
	now := s.Now()
	idNumber := strings.ToUpper(strings.TrimSpace(r.IDNumber))
	name, purpose := usertext.Clean(r.Name), usertext.Clean(r.Purpose)
	var fields []services.FieldError
	if err := services.ValidateIDNumber(idNumber, now); err != nil {
		fields = append(fields, services.FieldError{Field: "id_number", Code: services.FieldCode(err)})
	}
	if name == "" {
		fields = append(fields, services.FieldError{Field: "name", Code: services.FieldRequired})
	} else if fe := usertext.Check("name", name, MaxNameRunes, nil); fe != nil {
		fields = append(fields, *fe)
	}
	if fe := usertext.Check("purpose", purpose, MaxPurposeRunes, nil); fe != nil {
		fields = append(fields, *fe)
	}
	if len(fields) > 0 {
		return Request{}, services.Invalid(fields...)
	}
	if _, err := s.checkNew(party.ID, r.Predicates, r.ValidUntil, r.MaxUses); err != nil {
		return Request{}, err
	}
	preds, err := encodePredicates(r.Predicates, nil)
	if err != nil {
		return Request{}, internal("encode", err)
	}
	// The request waits until the share it would make could still last
	// its minimum validity.
	expires := now.Add(s.Policy.RequestTTL)
	if last := r.ValidUntil.Add(-s.Policy.MinValidity); last.Before(expires) {
		expires = last
	}
	expires = store.Timestamp(expires)
	created := store.Timestamp(now)
	// One waiting request per party and person: a party may not fill
	// someone's list with requests. The refusal is the same whether or not
	// the ID number and name are a depositor's. The conditional insert
	// holds on one database writer; the counter holds two asks at once on
	// several.
	person := s.personHash(idNumber, name)
	gate := "share-request-ask:" + party.ID + ":" + person
	if n, err := s.Counter.Incr(ctx, gate, askGate); err != nil {
		return Request{}, services.Errorf(services.CodeInternal, "share: ask gate: %w", err)
	} else if n > 1 {
		return Request{}, services.E(services.CodeShareRequestPending)
	}
	defer func() { _ = s.Counter.Del(context.WithoutCancel(ctx), gate) }()
	res, err := s.Store.Exec(ctx, `INSERT INTO share_requests (id, party, person_hash, predicates, purpose, valid_until,
		max_uses, status, expires_at, created_at) SELECT $1, $2, $3, $4, $5, $6, $7, 'pending', $8, $9
		WHERE NOT EXISTS (SELECT 1 FROM share_requests WHERE party = $2 AND person_hash = $3 AND status = 'pending' AND expires_at > $9)`,
		id, party.ID, person, preds, purpose, store.Timestamp(r.ValidUntil), r.MaxUses, expires, created)
	if err != nil {
		return Request{}, internal("ask", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return Request{}, services.E(services.CodeShareRequestPending)
	}
	return Request{ID: id, PartyID: party.ID, PartyName: party.Name, Predicates: r.Predicates, Purpose: purpose,
		ValidUntil: store.Timestamp(r.ValidUntil), MaxUses: r.MaxUses, Status: RequestPending, ExpiresAt: expires, CreatedAt: created}, nil
}

// Asked is one of the party p's own requests, with its status and, once
// approved, its share's id (redeemed with the request's id). Another
// party's request is share_request.not_found, like an unknown one.
func (s *Service) Asked(ctx context.Context, p services.Principal, id string) (Request, error) {
	party, err := s.partyOf(p)
	if err != nil {
		return Request{}, err
	}
	if !KindRequest.Valid(id) {
		return Request{}, services.E(services.CodeShareRequestNotFound)
	}
	return s.loadRequest(ctx, `id = $1 AND party = $2`, id, party.ID)
}

// askGate bounds how long a party's ask for one person holds off another
// ask for the same person running at once, on any replica, should the
// ask die before it lets go.
const askGate = 10 * time.Second

// personHash is the keyed hash a request is filed under: the ID number
// and the name, as a person's own record at the core has them.
func (s *Service) personHash(idNumber, name string) string {
	return s.pseudonym("share.request.person", idNumber+"\x00"+usertext.Clean(name))
}

// personHashOf is p's own hash, from the core's record of them.
func (s *Service) personHashOf(ctx context.Context, p services.Principal) (string, error) {
	personID, err := s.People.PersonID(ctx, p.Subject)
	if err != nil {
		return "", err
	}
	person, _, err := s.Reader.Person(ctx, personID)
	if err != nil {
		return "", err
	}
	return s.personHash(strings.ToUpper(person.IDNumber), person.Name), nil
}

// requestColumns are the columns scanRequest reads, in its order.
const requestColumns = `id, party, predicates, purpose, valid_until, max_uses, status, expires_at, created_at, decided_at, share_id`

func (s *Service) scanRequest(row interface{ Scan(...any) error }) (Request, error) {
	var r Request
	var preds string
	var decided sql.NullTime
	if err := row.Scan(&r.ID, &r.PartyID, &preds, &r.Purpose, &r.ValidUntil, &r.MaxUses, &r.Status, &r.ExpiresAt,
		&r.CreatedAt, &decided, &r.ShareID); err != nil {
		return Request{}, err
	}
	var err error
	if r.Predicates, err = decodePredicates(preds); err != nil {
		return Request{}, err
	}
	if decided.Valid {
		r.DecidedAt = store.Timestamp(decided.Time)
	}
	r.ValidUntil, r.ExpiresAt, r.CreatedAt = store.Timestamp(r.ValidUntil), store.Timestamp(r.ExpiresAt), store.Timestamp(r.CreatedAt)
	r.PartyName = s.partyName(r.PartyID)
	if r.Status == RequestPending && !s.Now().Before(r.ExpiresAt) {
		r.Status = RequestExpired
	}
	return r, nil
}

// loadRequest reads one request by a condition on its columns.
func (s *Service) loadRequest(ctx context.Context, cond string, args ...any) (Request, error) {
	r, err := s.scanRequest(s.Store.QueryRow(ctx, `SELECT `+requestColumns+` FROM share_requests WHERE `+cond, args...))
	if notFound(err) {
		return Request{}, services.E(services.CodeShareRequestNotFound)
	}
	if err != nil {
		return Request{}, internal("request", err)
	}
	return r, nil
}

// Requests lists the requests parties made for p, newest first, whatever
// their status. Audited (read.share_requests).
func (s *Service) Requests(ctx context.Context, p services.Principal, limit int, cursor string) (out []Request, next string, err error) {
	if err := p.Depositor(); err != nil {
		return nil, "", err
	}
	defer func() {
		rec := audit.Record{Subject: p.Subject, Actor: p.Actor(), Channel: auditChannel(p), Action: ActionRequestRead, Target: "share_requests"}
		if aerr := s.audited(ctx, rec, err); aerr != nil && err == nil {
			out, next, err = nil, "", aerr
		}
	}()
	limit, cond, args, err := keyset.Page(limit, 20, maxLimit, cursor, KindRequest.Valid, 2)
	if err != nil {
		return nil, "", err
	}
	hash, err := s.personHashOf(ctx, p)
	if err != nil {
		return nil, "", err
	}
	rows, err := s.Store.Query(ctx, `SELECT `+requestColumns+` FROM share_requests WHERE person_hash = $1`+cond+
		` ORDER BY created_at DESC, id DESC LIMIT `+strconv.Itoa(limit+1), append([]any{hash}, args...)...)
	if err != nil {
		return nil, "", internal("requests", err)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := s.scanRequest(rows)
		if err != nil {
			return nil, "", internal("requests", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, "", internal("requests", err)
	}
	out, next = keyset.Trim(out, limit, func(r Request) (time.Time, string) { return r.CreatedAt, r.ID })
	return out, next, nil
}

// Approve answers a pending request of p's with yes: the share it asks
// for is made for its party (redeemed with the request's id; it has no
// code), and the request names it. The party must still be enabled and
// allowed every predicate. Audited (share_request.approve, and
// share.create for the share).
func (s *Service) Approve(ctx context.Context, p services.Principal, id string) (req Request, sh Share, err error) {
	if err := p.Depositor(); err != nil {
		return Request{}, Share{}, err
	}
	shareID := KindShare.New()
	defer func() {
		rec := audit.Record{Subject: p.Subject, Actor: p.Actor(), Channel: auditChannel(p), Action: ActionRequestApprove,
			Target: "share_request:" + KindRequest.Safe(id)}
		if aerr := s.audited(ctx, rec, err); aerr != nil && err == nil {
			req, sh, err = Request{}, Share{}, aerr
		}
		if err == nil {
			rec = audit.Record{Subject: p.Subject, Actor: p.Actor(), Channel: auditChannel(p), Action: ActionCreate, Target: "share:" + sh.ID}
			if aerr := s.audited(ctx, rec, nil); aerr != nil {
				req, sh, err = Request{}, Share{}, aerr
			}
		}
	}()
	req, err = s.ownRequest(ctx, p, id)
	if err != nil {
		return Request{}, Share{}, err
	}
	if req.Status != RequestPending {
		return Request{}, Share{}, services.E(services.CodeShareRequestClosed)
	}
	party, ok := s.party(req.PartyID)
	if !ok {
		return Request{}, Share{}, services.E(services.CodeSharePartyUnknown)
	}
	if err := Check(req.Predicates, party); err != nil {
		return Request{}, Share{}, err
	}
	preds, err := encodePredicates(req.Predicates, nil)
	if err != nil {
		return Request{}, Share{}, internal("encode", err)
	}
	now := store.Timestamp(s.Now())
	err = s.Store.Tx(ctx, func(tx *store.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE share_requests SET status = 'approved', subject = $1, share_id = $2, decided_at = $3
			WHERE id = $4 AND status = 'pending' AND expires_at > $3`, p.Subject, shareID, now, req.ID)
		if err != nil {
			return internal("approve", err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return services.E(services.CodeShareRequestClosed)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO shares (id, subject, party, predicates, request_id, max_uses, uses,
			valid_until, channel, created_at) VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8, $9)`,
			shareID, p.Subject, party.ID, preds, req.ID, req.MaxUses, req.ValidUntil, auditChannel(p), now); err != nil {
			return internal("approve", err)
		}
		return nil
	})
	if err != nil {
		return Request{}, Share{}, err
	}
	if sh, err = s.get(ctx, p.Subject, shareID, false); err != nil {
		return Request{}, Share{}, err
	}
	req.Status, req.ShareID, req.DecidedAt = RequestApproved, shareID, now
	return req, sh, nil
}

// Decline answers a pending request of p's with no; its party sees it
// declined. Audited (share_request.decline).
func (s *Service) Decline(ctx context.Context, p services.Principal, id string) (req Request, err error) {
	if err := p.Depositor(); err != nil {
		return Request{}, err
	}
	defer func() {
		rec := audit.Record{Subject: p.Subject, Actor: p.Actor(), Channel: auditChannel(p), Action: ActionRequestDecline,
			Target: "share_request:" + KindRequest.Safe(id)}
		if aerr := s.audited(ctx, rec, err); aerr != nil && err == nil {
			req, err = Request{}, aerr
		}
	}()
	if req, err = s.ownRequest(ctx, p, id); err != nil {
		return Request{}, err
	}
	now := store.Timestamp(s.Now())
	res, err := s.Store.Exec(ctx, `UPDATE share_requests SET status = 'declined', subject = $1, decided_at = $2
		WHERE id = $3 AND status = 'pending' AND expires_at > $2`, p.Subject, now, req.ID)
	if err != nil {
		return Request{}, internal("decline", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return Request{}, services.E(services.CodeShareRequestClosed)
	}
	req.Status, req.DecidedAt = RequestDeclined, now
	return req, nil
}

// ownRequest is p's request id: filed under p's own hash; any other is
// share_request.not_found.
func (s *Service) ownRequest(ctx context.Context, p services.Principal, id string) (Request, error) {
	if !KindRequest.Valid(id) {
		return Request{}, services.E(services.CodeShareRequestNotFound)
	}
	hash, err := s.personHashOf(ctx, p)
	if err != nil {
		return Request{}, err
	}
	return s.loadRequest(ctx, `id = $1 AND person_hash = $2`, id, hash)
}
