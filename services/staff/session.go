package staff

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/ratelimit"
)

// Credentials are what the sign-in form posts, with where it came from.
type Credentials struct {
	StaffID  string
	Password string
	TOTP     string // six digits when the account has TOTP; else ignored
	// Address is the client's address: failures are counted per staff id
	// and address, and per staff id alone.
	Address   string
	RequestID string
}

// Session is a signed-in staff member's server-side session. Token, the
// cookie's value, is never stored: kv holds the session under its hash.
type Session struct {
	Token     string    `json:"-"`
	StaffID   string    `json:"staff_id"`
	Name      string    `json:"name"`
	SignedIn  time.Time `json:"signed_in"`
	Expires   time.Time `json:"expires"` // the absolute timeout
	PwChanged time.Time `json:"pw_changed"`
}

// Principal is who the session acts for.
func (s Session) Principal() services.Principal {
	return services.Principal{Subject: Actor(s.StaffID), Role: services.RoleStaff, Channel: services.ChannelWeb,
		Session: sessionTag(s.Token), ExpiresAt: s.Expires, AuthTime: s.SignedIn}
}

// CSRF is the token every form of this session carries: a keyed hash of
// the session token, so it changes with every sign-in and is worthless
// without the cookie.
func (s *Service) CSRF(token string) string { return s.mac("csrf", token) }

// LoginCSRF is the sign-in form's token, keyed by the pre-session cookie
// the form page sets.
func (s *Service) LoginCSRF(pre string) string { return s.mac("login csrf", pre) }

// CheckCSRF reports whether got is want, in constant time; empty never is.
func CheckCSRF(got, want string) bool {
	return got != "" && want != "" && hmac.Equal([]byte(got), []byte(want))
}

func (s *Service) mac(purpose, v string) string {
	return base64.RawURLEncoding.EncodeToString(s.Secret.Sum([]byte("staff " + purpose + "\x00" + v)))
}

// sessionTag names a session in the trail without its token.
func sessionTag(token string) string {
	h := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(h[:9])
}

// NewToken is a fresh random token for a cookie: 256 bits.
func (s *Service) NewToken() (string, error) {
	b := make([]byte, 32)
	if _, err := io.ReadFull(s.rand(), b); err != nil {
		return "", services.Errorf(services.CodeInternal, "staff: token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// tokenShape is what NewToken makes; anything else is not looked up.
var tokenShape = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)

var totpShape = regexp.MustCompile(`^[0-9]{6}$`)

func sessionKey(token string) string { return "staffsession:" + token }

// SignIn checks credentials under the lockout policy and starts a new
// session with a new token (never one the browser brought: no fixation).
// Every refusal for credentials is auth.bad_credentials, whether the id
// is unknown, the account disabled, the password or the code wrong, and
// an unknown id takes as long as a known one; a locked pair or id is
// auth.locked with Retry-After.
func (s *Service) SignIn(ctx context.Context, c Credentials) (Session, error) {
	var fields []services.FieldError
	if c.StaffID == "" || utf8.RuneCountInString(c.StaffID) > 64 {
		fields = append(fields, services.FieldError{Field: "staff_id", Code: services.FieldRequired})
	}
	if c.Password == "" || utf8.RuneCountInString(c.Password) > s.Policy.Password.MaxLength {
		fields = append(fields, services.FieldError{Field: "password", Code: services.FieldRequired})
	}
	if c.TOTP != "" && !totpShape.MatchString(strings.TrimSpace(c.TOTP)) {
		fields = append(fields, services.FieldError{Field: "totp", Code: services.FieldFormat})
	}
	if len(fields) > 0 {
		return Session{}, services.Invalid(fields...)
	}
	tag := s.idTag(c.StaffID)
	lk := lockKeys{idLock: "stafflock:" + tag, idFail: "stafffail:" + tag,
		pairLock: "staffpairlock:" + tag + "@" + ratelimit.AddressKey(c.Address),
		pairFail: "staffpairfail:" + tag + "@" + ratelimit.AddressKey(c.Address)}
	for _, key := range []string{lk.idLock, lk.pairLock} {
		d, err := s.KV.TTL(ctx, key)
		if err != nil {
			return Session{}, services.Errorf(services.CodeUnavailable, "staff: lockout check: %w", err)
		}
		if d > 0 {
			return Session{}, &services.Error{Code: services.CodeLocked, RetryAfter: d}
		}
	}
	acc, ok, err := s.check(ctx, c)
	if err != nil {
		return Session{}, err
	}
	if !ok {
		return Session{}, s.failed(ctx, c, tag, lk)
	}
	_ = s.KV.Del(ctx, lk.pairFail)
	token, err := s.NewToken()
	if err != nil {
		return Session{}, err
	}
	now := s.Now()
	sess := Session{Token: token, StaffID: acc.StaffID, Name: acc.Name, SignedIn: now,
		Expires: now.Add(s.Policy.AbsoluteTimeout), PwChanged: acc.PasswordChangedAt}
	raw, err := json.Marshal(sess)
	if err != nil {
		return Session{}, services.Errorf(services.CodeInternal, "staff: session: %w", err)
	}
	if err := s.KV.Set(ctx, sessionKey(token), raw, s.Policy.IdleTimeout); err != nil {
		return Session{}, services.Errorf(services.CodeUnavailable, "staff: session: %w", err)
	}
	if err := s.record(ctx, audit.Record{Actor: Actor(acc.StaffID), Action: ActionLogin, Target: "session:" + sessionTag(token),
		RequestID: c.RequestID, Result: "ok"}); err != nil {
		_ = s.KV.Del(ctx, sessionKey(token))
		return Session{}, err
	}
	return sess, nil
}

// check tells whether the credentials open an active account; an unknown
// id is checked against a dummy hash so that it takes as long.
func (s *Service) check(ctx context.Context, c Credentials) (Account, bool, error) {
	acc, hash, secret, err := s.account(ctx, c.StaffID)
	switch {
	case services.ErrorCode(err) == services.CodeNotFound || !ValidID(c.StaffID):
		checkPassword(dummyHash, c.Password)
		return Account{}, false, nil
	case err != nil:
		return Account{}, false, err
	}
	if !checkPassword(hash, c.Password) || acc.Status != StatusActive {
		return Account{}, false, nil
	}
	if secret == "" {
		return acc, !s.Policy.RequireTOTP, nil
	}
	code := strings.TrimSpace(c.TOTP)
	if code == "" {
		return Account{}, false, nil
	}
	plain, err := s.Store.OpenText(secret, sealedTOTP.Place(c.StaffID))
	if err != nil {
		return Account{}, false, services.Errorf(services.CodeInternal, "staff: open totp: %w", err)
	}
	valid, err := totp.ValidateCustom(code, plain, s.Now().UTC(), totp.ValidateOpts{Period: 30, Skew: 1, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil || !valid {
		return Account{}, false, nil
	}
	// A code is good once: one overheard or shoulder-surfed is spent.
	fresh, err := s.KV.SetNX(ctx, "stafftotp:"+s.idTag(c.StaffID)+":"+code, []byte{1}, 2*time.Minute)
	if err != nil {
		return Account{}, false, services.Errorf(services.CodeUnavailable, "staff: totp replay: %w", err)
	}
	return acc, fresh, nil
}

type lockKeys struct{ idLock, idFail, pairLock, pairFail string }

// failed counts a failure for the pair and the id, locks whichever reached
// its threshold, and audits both.
func (s *Service) failed(ctx context.Context, c Credentials, tag string, lk lockKeys) error {
	p := s.Policy
	pairN, err := s.KV.Incr(ctx, lk.pairFail, p.LockoutWindow)
	if err != nil {
		return services.Errorf(services.CodeUnavailable, "staff: count failure: %w", err)
	}
	idN, err := s.KV.Incr(ctx, lk.idFail, p.LockoutWindow)
	if err != nil {
		return services.Errorf(services.CodeUnavailable, "staff: count failure: %w", err)
	}
	actor := "staff-attempt:" + tag
	if err := s.record(ctx, audit.Record{Actor: actor, Action: ActionLoginFailure, Target: "staff", RequestID: c.RequestID, Result: "denied"}); err != nil {
		return err
	}
	lock, failKey := "", ""
	switch {
	case idN >= int64(p.LockoutAccountFailures):
		lock, failKey = lk.idLock, lk.idFail
	case pairN >= int64(p.LockoutFailures):
		lock, failKey = lk.pairLock, lk.pairFail
	default:
		return services.E(services.CodeBadCredentials)
	}
	if err := s.KV.Set(ctx, lock, []byte{1}, p.LockoutDuration); err != nil {
		return services.Errorf(services.CodeUnavailable, "staff: lock: %w", err)
	}
	_ = s.KV.Del(ctx, failKey)
	if err := s.record(ctx, audit.Record{Actor: actor, Action: ActionLockout, Target: "staff", RequestID: c.RequestID, Result: "denied"}); err != nil {
		return err
	}
	return &services.Error{Code: services.CodeLocked, RetryAfter: p.LockoutDuration}
}

// Session is the live session behind a cookie value: unknown, idle past
// IdleTimeout, past AbsoluteTimeout, of a disabled account or from before
// a password reset is auth.token_missing, auth.idle_timeout,
// auth.token_expired or auth.session_revoked; a live one has its idle
// time renewed.
func (s *Service) Session(ctx context.Context, token string) (Session, error) {
	if !tokenShape.MatchString(token) {
		return Session{}, services.Errorf(services.CodeTokenInvalid, "staff: malformed session token")
	}
	raw, ok, err := s.KV.Get(ctx, sessionKey(token))
	if err != nil {
		return Session{}, services.Errorf(services.CodeUnavailable, "staff: session: %w", err)
	}
	if !ok {
		return Session{}, services.Errorf(services.CodeIdleTimeout, "staff: no session (idle or never)")
	}
	var sess Session
	if err := json.Unmarshal(raw, &sess); err != nil {
		return Session{}, services.Errorf(services.CodeTokenInvalid, "staff: session record: %w", err)
	}
	sess.Token = token
	if !s.Now().Before(sess.Expires) {
		_ = s.KV.Del(ctx, sessionKey(token))
		return Session{}, services.Errorf(services.CodeTokenExpired, "staff: session past its absolute timeout")
	}
	acc, _, _, err := s.account(ctx, sess.StaffID)
	if err != nil && services.ErrorCode(err) != services.CodeNotFound {
		return Session{}, err
	}
	if err != nil || acc.Status != StatusActive || !acc.PasswordChangedAt.Equal(sess.PwChanged) {
		_ = s.KV.Del(ctx, sessionKey(token))
		return Session{}, services.Errorf(services.CodeSessionRevoked, "staff: account disabled or password reset")
	}
	if _, err := s.KV.Touch(ctx, sessionKey(token), s.Policy.IdleTimeout); err != nil {
		return Session{}, services.Errorf(services.CodeUnavailable, "staff: session: %w", err)
	}
	return sess, nil
}

// SignOut ends the session and audits it.
func (s *Service) SignOut(ctx context.Context, sess Session, requestID string) error {
	if err := s.KV.Del(ctx, sessionKey(sess.Token)); err != nil {
		return services.Errorf(services.CodeUnavailable, "staff: sign out: %w", err)
	}
	return s.record(ctx, audit.Record{Actor: Actor(sess.StaffID), Action: ActionLogout, Target: "session:" + sessionTag(sess.Token),
		RequestID: requestID, Result: "ok"})
}
