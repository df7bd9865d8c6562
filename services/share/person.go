package share

import (
	"context"
	"crypto/rand"
	"errors"
	"strconv"
	"strings"
	"time"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/keyset"
	"handheld/services/store"
)

// NewShare is what a person asks for: the party, the predicates, until
// when and how many times. IdempotencyKey and RequestHash make a retry
// the same share.
type NewShare struct {
	Party          string
	Predicates     []Predicate
	ValidUntil     time.Time
	MaxUses        int
	IdempotencyKey string
	RequestHash    string
}

// Created is a new share with its one-time code, which is shown once and
// never kept: only its keyed hash is stored. Replayed is set when the
// share was made by an earlier request with the same Idempotency-Key (the
// code is then a new one, and the earlier code works no more).
type Created struct {
	Share    Share
	Code     string
	Replayed bool
}

// CodeLength is a code's length in Crockford base32 characters (80
// bits), shown in groups of four: K7QF-3M9X-PV2A-HT6C.
const CodeLength = 16

// maxLimit is the longest page of a list.
const maxLimit = 100

// Create makes a share for p: checked (the party registered and enabled,
// the predicates known, valid and allowed to it, valid_until and max_uses
// within the policy), stored with the hash of a fresh code, audited
// (share.create). A retry with the same Idempotency-Key and body is the
// same share with a new code; with another body, idempotency.key_reused.
func (s *Service) Create(ctx context.Context, p services.Principal, r NewShare) (c Created, err error) {
	if err := p.Depositor(); err != nil {
		return Created{}, err
	}
	defer func() {
		target := "share:invalid"
		if c.Share.ID != "" {
			target = "share:" + c.Share.ID
		}
		rec := audit.Record{Subject: p.Subject, Actor: p.Actor(), Channel: auditChannel(p), Action: ActionCreate, Target: target}
		if aerr := s.audited(ctx, rec, err); aerr != nil && err == nil {
			c, err = Created{}, aerr
		}
	}()
	party, err := s.checkNew(r.Party, r.Predicates, r.ValidUntil, r.MaxUses)
	if err != nil {
		return Created{}, err
	}
	if r.IdempotencyKey == "" {
		return Created{}, services.E(services.CodeIdempotencyKeyMissing)
	}
	preds, err := encodePredicates(r.Predicates, nil)
	if err != nil {
		return Created{}, internal("encode", err)
	}
	code := newCode()
	now := store.Timestamp(s.Now())
	id := KindShare.New()
	replayed := false
	err = s.Store.Tx(ctx, func(tx *store.Tx) error {
		var existing, hash string
		err := tx.QueryRow(ctx, `SELECT id, request_hash FROM shares WHERE subject = $1 AND idempotency_key = $2`,
			p.Subject, r.IdempotencyKey).Scan(&existing, &hash)
		switch {
		case err == nil:
			if hash != r.RequestHash {
				return services.E(services.CodeIdempotencyKeyReused)
			}
			sh, err := s.scanShare(tx.QueryRow(ctx, `SELECT `+shareColumns+` FROM shares WHERE id = $1`, existing))
			if err != nil {
				return internal("replay", err)
			}
			if err := sh.refusal(); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE shares SET code_hash = $1 WHERE id = $2`, s.codeHash(code), existing); err != nil {
				return internal("replay", err)
			}
			id, replayed = existing, true
			return nil
		case !notFound(err):
			return internal("replay", err)
		}
		_, err = tx.Exec(ctx, `INSERT INTO shares (id, subject, party, predicates, code_hash, idempotency_key, request_hash,
			max_uses, uses, valid_until, channel, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $10, $11)`,
			id, p.Subject, party.ID, preds, s.codeHash(code), r.IdempotencyKey, r.RequestHash, r.MaxUses,
			store.Timestamp(r.ValidUntil), auditChannel(p), now)
		if err != nil {
			return internal("insert", err)
		}
		return nil
	})
	if errors.Is(err, store.ErrConflict) {
		// The same key at once from another request: it won; ask again.
		return Created{}, services.E(services.CodeIdempotencyInFlight)
	}
	if err != nil {
		return Created{}, err
	}
	sh, err := s.get(ctx, p.Subject, id, false)
	if err != nil {
		return Created{}, err
	}
	return Created{Share: sh, Code: formatCode(code), Replayed: replayed}, nil
}

// checkNew checks a share's terms, whoever asks for them (a person, or a
// party's request): field errors first, then the party, then whether it
// may ask the predicates.
func (s *Service) checkNew(partyID string, preds []Predicate, validUntil time.Time, maxUses int) (Party, error) {
	now := s.Now()
	var fields []services.FieldError
	if validUntil.Before(now.Add(s.Policy.MinValidity)) || validUntil.After(now.Add(s.Policy.MaxValidity)) {
		fields = append(fields, services.FieldError{Field: "valid_until", Code: services.FieldOutOfRange,
			Params: map[string]any{"min": services.Instant(now.Add(s.Policy.MinValidity)), "max": services.Instant(now.Add(s.Policy.MaxValidity))}})
	}
	if maxUses < 1 || maxUses > s.Policy.MaxUses {
		fields = append(fields, services.FieldError{Field: "max_uses", Code: services.FieldOutOfRange,
			Params: map[string]any{"min": 1, "max": s.Policy.MaxUses}})
	}
	if len(fields) > 0 {
		return Party{}, services.Invalid(fields...)
	}
	if err := Check(preds, Party{Predicates: Names()}); err != nil {
		return Party{}, err
	}
	party, ok := s.party(partyID)
	if !ok {
		return Party{}, services.E(services.CodeSharePartyUnknown)
	}
	return party, Check(preds, party)
}

// List is p's shares, newest first, each with its uses. Audited.
func (s *Service) List(ctx context.Context, p services.Principal, limit int, cursor string) (out []Share, next string, err error) {
	if err := p.Depositor(); err != nil {
		return nil, "", err
	}
	defer func() {
		rec := audit.Record{Subject: p.Subject, Actor: p.Actor(), Channel: auditChannel(p), Action: ActionRead, Target: "shares"}
		if aerr := s.audited(ctx, rec, err); aerr != nil && err == nil {
			out, next, err = nil, "", aerr
		}
	}()
	limit, cond, args, err := keyset.Page(limit, 20, maxLimit, cursor, KindShare.Valid, 2)
	if err != nil {
		return nil, "", err
	}
	rows, err := s.Store.Query(ctx, `SELECT `+shareColumns+` FROM shares WHERE subject = $1`+cond+
		` ORDER BY created_at DESC, id DESC LIMIT `+strconv.Itoa(limit+1), append([]any{p.Subject}, args...)...)
	if err != nil {
		return nil, "", internal("list", err)
	}
	defer rows.Close()
	for rows.Next() {
		sh, err := s.scanShare(rows)
		if err != nil {
			return nil, "", internal("list", err)
		}
		out = append(out, sh)
	}
	if err := rows.Err(); err != nil {
		return nil, "", internal("list", err)
	}
	rows.Close()
	out, next = keyset.Trim(out, limit, func(sh Share) (time.Time, string) { return sh.CreatedAt, sh.ID })
	ids := make([]string, len(out))
	for i, sh := range out {
		ids[i] = sh.ID
	}
	uses, err := s.loadUses(ctx, ids)
	if err != nil {
		return nil, "", err
	}
	for i := range out {
		out[i].Uses = uses[out[i].ID]
	}
	return out, next, nil
}

// Get is one of p's shares with its uses; another person's id is
// share.not_found, like an unknown one. Audited.
func (s *Service) Get(ctx context.Context, p services.Principal, id string) (sh Share, err error) {
	if err := p.Depositor(); err != nil {
		return Share{}, err
	}
	defer func() {
		rec := audit.Record{Subject: p.Subject, Actor: p.Actor(), Channel: auditChannel(p), Action: ActionRead, Target: "share:" + KindShare.Safe(id)}
		if aerr := s.audited(ctx, rec, err); aerr != nil && err == nil {
			sh, err = Share{}, aerr
		}
	}()
	return s.get(ctx, p.Subject, id, true)
}

// get reads subject's share id, with its uses when asked.
func (s *Service) get(ctx context.Context, subject, id string, withUses bool) (Share, error) {
	if !KindShare.Valid(id) {
		return Share{}, services.E(services.CodeShareNotFound)
	}
	sh, err := s.scanShare(s.Store.QueryRow(ctx, `SELECT `+shareColumns+` FROM shares WHERE id = $1 AND subject = $2`, id, subject))
	if notFound(err) {
		return Share{}, services.E(services.CodeShareNotFound)
	}
	if err != nil {
		return Share{}, internal("get", err)
	}
	if withUses {
		uses, err := s.loadUses(ctx, []string{id})
		if err != nil {
			return Share{}, err
		}
		sh.Uses = uses[id]
	}
	return sh, nil
}

// Revoke ends p's share at once: no redemption after it answers, however
// far one had got (the count of uses is conditional on revoked_at).
// Revoking a revoked share is no change. Audited (share.revoke).
func (s *Service) Revoke(ctx context.Context, p services.Principal, id string) (sh Share, err error) {
	if err := p.Depositor(); err != nil {
		return Share{}, err
	}
	defer func() {
		rec := audit.Record{Subject: p.Subject, Actor: p.Actor(), Channel: auditChannel(p), Action: ActionRevoke, Target: "share:" + KindShare.Safe(id)}
		if aerr := s.audited(ctx, rec, err); aerr != nil && err == nil {
			sh, err = Share{}, aerr
		}
	}()
	if !KindShare.Valid(id) {
		return Share{}, services.E(services.CodeShareNotFound)
	}
	if _, err := s.Store.Exec(ctx, `UPDATE shares SET revoked_at = $1 WHERE id = $2 AND subject = $3 AND revoked_at IS NULL`,
		store.Timestamp(s.Now()), id, p.Subject); err != nil {
		return Share{}, internal("revoke", err)
	}
	return s.get(ctx, p.Subject, id, true)
}

// newCode is a fresh code, CodeLength Crockford characters.
func newCode() string {
	b := make([]byte, CodeLength)
	_, _ = rand.Read(b) // crypto/rand never fails (Go 1.24+)
	for i := range b {
		b[i] = services.Crockford[int(b[i])%len(services.Crockford)]
	}
	return string(b)
}

// formatCode groups a code by four: K7QF-3M9X-PV2A-HT6C.
func formatCode(code string) string {
	var b strings.Builder
	for i := 0; i < len(code); i += 4 {
		if i > 0 {
			b.WriteByte('-')
		}
		b.WriteString(code[i:min(i+4, len(code))])
	}
	return b.String()
}

// normalizeCode reads a code as a person may type it: any case, with or
// without the dashes and spaces, O for 0 and I or L for 1. It is "" for
// anything else.
func normalizeCode(in string) string {
	if len(in) > 64 {
		return ""
	}
	var b strings.Builder
	for _, r := range strings.ToUpper(in) {
		switch r {
		case '-', ' ':
			continue
		case 'O':
			r = '0'
		case 'I', 'L':
			r = '1'
		}
		if !strings.ContainsRune(services.Crockford, r) {
			return ""
		}
		b.WriteRune(r)
	}
	if b.Len() != CodeLength {
		return ""
	}
	return b.String()
}

// codeHash is the stored form of a code: keyed, so the table alone
// redeems nothing.
func (s *Service) codeHash(code string) string {
	return s.pseudonym("share.code", code)
}
