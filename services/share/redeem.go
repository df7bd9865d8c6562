package share

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/store"
)

// Redeem names what a party redeems: the code a person handed over, or
// the id of its own request the person approved. Exactly one is given.
type Redeem struct {
	Code      string
	RequestID string
}

// Redemption is what a party gets: the answers, and the same signed with
// the centre's shares key as a compact JWS (typ hpf-share+jwt) that
// anyone holding the JWKS can check offline.
type Redemption struct {
	ShareID  string
	Answers  []Result
	JWS      string
	IssuedAt time.Time
	// UsesLeft is how many more times the share may answer.
	UsesLeft int
}

// Claims are the signed answers' claims: iss the centre, aud the party,
// sub the person's pseudonym for that party, iat, jti the use's id, the
// share's id and the answers (each predicate with its value and answer).
type Claims struct {
	jwt.RegisteredClaims
	Party   string         `json:"party"`
	Share   string         `json:"share"`
	Answers []SignedAnswer `json:"answers"`
}

// SignedAnswer is one predicate with its answer, as signed.
type SignedAnswer struct {
	Name   string `json:"name"`
	Value  any    `json:"value,omitempty"`
	Answer Answer `json:"answer"`
}

// Redeem answers a share for the party p: the share must be made for p
// (another party's code is the same answer as an unknown one), active
// (not expired, used up or revoked) and ask only what p may ask. The use
// is counted by one conditional UPDATE, so two redemptions of a share's
// last use at once see exactly one win, and a revocation is effective at
// once. Redemptions naming no share of p's are counted: past the policy's
// max_failed_redemptions in its window, p is refused with rate_limited.
// Audited (share.redeem: ok, or denied).
func (s *Service) Redeem(ctx context.Context, p services.Principal, r Redeem) (out Redemption, err error) {
	party, err := s.partyOf(p)
	if err != nil {
		return Redemption{}, err
	}
	var sh Share
	defer func() {
		target := "share:unknown"
		if sh.ID != "" {
			target = "share:" + sh.ID
		}
		rec := audit.Record{Subject: sh.Subject, Actor: p.Subject, Channel: auditChannel(p), Action: ActionRedeem, Target: target}
		if err != nil && services.AsError(err).Code.Status() < 500 {
			rec.Result = "denied"
		}
		if aerr := s.audited(ctx, rec, err); aerr != nil && err == nil {
			out, err = Redemption{}, aerr
		}
	}()
	switch {
	case (r.Code == "") == (r.RequestID == ""):
		return Redemption{}, services.Invalid(services.FieldError{Field: "code", Code: services.FieldRequired,
			Params: map[string]any{"other": "request_id"}})
	}
	if err := s.guessesLeft(ctx, party.ID); err != nil {
		return Redemption{}, err
	}
	if sh, err = s.find(ctx, party.ID, r); err != nil {
		if code := services.ErrorCode(err); code == services.CodeShareCodeInvalid || code == services.CodeShareRequestNotFound {
			s.guessed(ctx, party.ID)
		}
		return Redemption{}, err
	}
	if err := sh.refusal(); err != nil {
		return Redemption{}, err
	}
	for i, pr := range sh.Predicates {
		if !slices.Contains(party.Predicates, pr.Name) {
			return Redemption{}, &services.Error{Code: services.CodeSharePredicateNotAllowed,
				Fields: []services.FieldError{{Field: "predicates." + strconv.Itoa(i) + ".name", Code: services.FieldOneOf}}}
		}
	}
	results := s.evaluate(ctx, sh.Subject, sh.Predicates)
	counted := slices.ContainsFunc(results, func(r Result) bool { return r.Answer != CannotTell })
	now := store.Timestamp(s.Now())
	useID := KindUse.New()
	jws, err := s.sign(party.ID, sh, results, useID, now)
	if err != nil {
		return Redemption{}, err
	}
	answers := make([]Answer, len(results))
	for i, r := range results {
		answers[i] = r.Answer
	}
	stored, err := encodePredicates(sh.Predicates, answers)
	if err != nil {
		return Redemption{}, internal("encode", err)
	}
	spend := 0
	if counted {
		spend = 1
	}
	err = s.Store.Tx(ctx, func(tx *store.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE shares SET uses = uses + $1 WHERE id = $2 AND party = $3 AND revoked_at IS NULL
			AND valid_until > $4 AND uses < max_uses`, spend, sh.ID, party.ID, now)
		if err != nil {
			return internal("count use", err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			// Revoked, used up or expired since it was read: say which.
			again, rerr := s.scanShare(tx.QueryRow(ctx, `SELECT `+shareColumns+` FROM shares WHERE id = $1`, sh.ID))
			if rerr == nil {
				if refusal := again.refusal(); refusal != nil {
					return refusal
				}
			}
			return services.E(services.CodeShareUsedUp)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO share_uses (id, share_id, party, answers, counted, at) VALUES ($1, $2, $3, $4, $5, $6)`,
			useID, sh.ID, party.ID, stored, counted, now); err != nil {
			return internal("record use", err)
		}
		return nil
	})
	if err != nil {
		return Redemption{}, err
	}
	return Redemption{ShareID: sh.ID, Answers: results, JWS: jws, IssuedAt: now, UsesLeft: sh.MaxUses - sh.Used - spend}, nil
}

// find is the share r names among those made for partyID. A code or a
// request naming none is share.code_invalid or share_request.not_found.
func (s *Service) find(ctx context.Context, partyID string, r Redeem) (Share, error) {
	var query string
	var arg string
	if r.Code != "" {
		code := normalizeCode(r.Code)
		if code == "" {
			return Share{}, services.E(services.CodeShareCodeInvalid)
		}
		query, arg = `code_hash = $1`, s.codeHash(code)
	} else {
		if !KindRequest.Valid(r.RequestID) {
			return Share{}, services.E(services.CodeShareRequestNotFound)
		}
		req, err := s.loadRequest(ctx, `id = $1 AND party = $2`, r.RequestID, partyID)
		if err != nil {
			return Share{}, err
		}
		switch req.Status {
		case RequestApproved:
		case RequestPending:
			return Share{}, services.E(services.CodeShareRequestPending)
		default:
			return Share{}, services.E(services.CodeShareRequestClosed)
		}
		query, arg = `id = $1`, req.ShareID
	}
	sh, err := s.scanShare(s.Store.QueryRow(ctx, `SELECT `+shareColumns+` FROM shares WHERE `+query+` AND party = $2`, arg, partyID))
	if notFound(err) {
		return Share{}, services.E(services.CodeShareCodeInvalid)
	}
	if err != nil {
		return Share{}, internal("find", err)
	}
	return sh, nil
}

// guessKey counts a party's redemptions that named no share of its own.
func guessKey(partyID string) string { return "share-redeem-failures:" + partyID }

// guessesLeft refuses a party that has named no share of its own too
// often in the window, with Retry-After until the window ends.
func (s *Service) guessesLeft(ctx context.Context, partyID string) error {
	v, ok, err := s.Counter.Get(ctx, guessKey(partyID))
	if err != nil {
		return services.Errorf(services.CodeInternal, "share: failure counter: %w", err)
	}
	if !ok {
		return nil
	}
	if n, err := strconv.Atoi(string(v)); err == nil && n >= s.Policy.MaxFailedRedemptions {
		wait, err := s.Counter.TTL(ctx, guessKey(partyID))
		if err != nil || wait <= 0 {
			wait = s.Policy.FailedRedemptionWindow
		}
		return &services.Error{Code: services.CodeRateLimited, RetryAfter: max(wait.Round(time.Second), time.Second)}
	}
	return nil
}

// guessed counts one redemption that named no share of the party's.
func (s *Service) guessed(ctx context.Context, partyID string) {
	if _, err := s.Counter.Incr(ctx, guessKey(partyID), s.Policy.FailedRedemptionWindow); err != nil {
		s.Logger.WarnContext(ctx, "share: failure not counted", "cause", err.Error())
	}
}

// sign makes the compact JWS of a redemption's answers.
func (s *Service) sign(partyID string, sh Share, results []Result, useID string, at time.Time) (string, error) {
	answers := make([]SignedAnswer, len(results))
	for i, r := range results {
		answers[i] = SignedAnswer{Name: r.Name, Value: r.Value, Answer: r.Answer}
	}
	claims := Claims{
		RegisteredClaims: jwt.RegisteredClaims{Issuer: s.Issuer, Subject: s.personFor(partyID, sh.Subject),
			Audience: jwt.ClaimStrings{partyID}, IssuedAt: jwt.NewNumericDate(at), ID: useID},
		Party: partyID, Share: sh.ID, Answers: answers,
	}
	method, key := s.signer.JWT()
	t := jwt.NewWithClaims(method, claims)
	t.Header["kid"] = s.signer.KID
	t.Header["typ"] = JWSType
	out, err := t.SignedString(key)
	if err != nil {
		return "", services.Errorf(services.CodeInternal, "share: sign: %w", err)
	}
	return out, nil
}
