// Package token mints and verifies handheld's access tokens: short-lived JWTs
// (RFC 9068 "at+jwt") signed with the current Ed25519 key of the "tokens"
// purpose. Verification trusts nothing in the token that could choose how it
// is checked: the algorithm is pinned, the key comes from the ring by kid and
// must be a tokens key, and iss, aud and exp are required.
package token

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"handheld/services"
	"handheld/services/keys"
)

// Limits. MaxTTL keeps a stolen token useful for minutes, not hours; MaxSize
// bounds the work an unauthenticated caller can make Verify do.
const (
	MaxTTL = 15 * time.Minute
	// MaxDeviceTTL bounds kiosk device tokens: a device credential, not a
	// person's, and revocable through its session like every other token.
	MaxDeviceTTL = time.Hour
	MaxLeeway    = time.Minute
	MaxSize      = 4096
)

// tokenType is the JOSE typ of an access token (RFC 9068 §2.1); checking it
// stops any other JWT we sign from being replayed as an access token.
const tokenType = "at+jwt"

// Claims is what an access token says about its bearer. Subject is a
// pseudonymous id, never an ID number: tokens are readable by anyone who
// holds them. On the wire: sub, chn, role, sid, unit, dev, iat, nbf, exp, jti,
// plus iss and aud from the Config.
type Claims struct {
	Subject   string // sub
	Channel   string // chn: miniapp | app | kiosk
	Role      string // role: depositor | employer | kiosk | verifier | party
	Session   string // sid: every token belongs to a session, so logout can end it
	Unit      string // unit: the unit code an employer token may reach; employer only
	Device    string // dev: the kiosk device; required for role kiosk, kiosk channel only
	IssuedAt  time.Time
	NotBefore time.Time
	ExpiresAt time.Time
	ID        string // jti
	// ACR and AuthTime (acr, auth_time) say how and when the person was
	// last identified: required on depositor tokens, absent on others.
	// AuthTime is the last face check for ACRFace, else the sign-in.
	ACR      services.ACR
	AuthTime time.Time
	// OperatorRole (op_role) is an employer operator's role in the unit,
	// admin or clerk, which the employer routes' policy checks;
	// PasswordChange (pwd_change) marks a session signed in with a
	// temporary password, which may only change it. Employer tokens only.
	OperatorRole   services.OperatorRole
	PasswordChange bool
}

// validate holds the invariants of a claim set. Mint checks them so a bug
// upstream cannot issue a token with, say, a unit scope on a depositor; Verify
// checks them again because a token is only as good as its weakest issuer.
func (c Claims) validate() error {
	switch {
	case c.Subject == "":
		return errors.New("sub is empty")
	case c.Session == "":
		return errors.New("sid is empty")
	case !slices.Contains([]string{services.ChannelMiniApp, services.ChannelApp, services.ChannelKiosk}, c.Channel):
		return fmt.Errorf("chn %q is not a channel", c.Channel)
	case !slices.Contains([]string{services.RoleDepositor, services.RoleEmployer, services.RoleKiosk, services.RoleVerifier, services.RoleParty}, c.Role):
		return fmt.Errorf("role %q is not a role", c.Role)
	case (c.Role == services.RoleEmployer) != (c.Unit != ""):
		return errors.New("unit must be set on employer tokens and only on them")
	case c.Role == services.RoleKiosk && c.Device == "":
		return errors.New("dev is required on kiosk tokens")
	case c.Device != "" && c.Channel != services.ChannelKiosk:
		return errors.New("dev is only allowed on the kiosk channel")
	case (c.Role == services.RoleDepositor) != (c.ACR != ""):
		return errors.New("acr must be set on depositor tokens and only on them")
	case c.OperatorRole != "" && (c.Role != services.RoleEmployer || !c.OperatorRole.Valid()):
		return fmt.Errorf("op_role %q is not an operator role of an employer token", c.OperatorRole)
	case c.PasswordChange && c.Role != services.RoleEmployer:
		return errors.New("pwd_change is only allowed on employer tokens")
	case c.ACR != "" && c.ACR.Rank() == 0:
		return fmt.Errorf("acr %q is not an assurance class", c.ACR)
	case (c.ACR != "") != !c.AuthTime.IsZero():
		return errors.New("auth_time goes with acr")
	case !c.AuthTime.IsZero() && !c.IssuedAt.IsZero() && c.AuthTime.After(c.IssuedAt.Add(MaxLeeway)):
		return errors.New("auth_time is after iat")
	}
	return nil
}

// wireClaims is the JSON form of Claims.
type wireClaims struct {
	jwt.RegisteredClaims
	Channel string `json:"chn"`
	Role    string `json:"role"`
	Session string `json:"sid"`
	Unit    string `json:"unit,omitempty"`
	Device  string `json:"dev,omitempty"`
	ACR     string `json:"acr,omitempty"`
	// AuthTime is OpenID Connect's auth_time, in seconds since the epoch.
	AuthTime       *jwt.NumericDate `json:"auth_time,omitempty"`
	OperatorRole   string           `json:"op_role,omitempty"`
	PasswordChange bool             `json:"pwd_change,omitempty"`
}

// Config holds the settings of New. Issuer and Audience are required; TTL must
// be positive and at most MaxTTL; Leeway absorbs clock skew between replicas
// and is at most MaxLeeway; Now defaults to time.Now. CacheSize bounds the
// verified-token cache; zero disables it.
type Config struct {
	Issuer    string
	Audience  string
	TTL       time.Duration
	DeviceTTL time.Duration // role kiosk tokens; 0 means TTL
	Leeway    time.Duration
	Now       func() time.Time
	CacheSize int
}

// Tokens mints and verifies access tokens. It is safe for concurrent use.
type Tokens struct {
	cfg    Config
	signer keys.Signer
	ring   *keys.Ring
	parser *jwt.Parser
	cache  *cache // nil when disabled
}

// New checks cfg and takes the signing key from ring, failing at start-up
// rather than at the first login when something is missing.
func New(cfg Config, ring *keys.Ring) (*Tokens, error) {
	switch {
	case cfg.Issuer == "":
		return nil, errors.New("token: Issuer is required")
	case cfg.Audience == "":
		return nil, errors.New("token: Audience is required")
	case cfg.TTL <= 0 || cfg.TTL > MaxTTL:
		return nil, fmt.Errorf("token: TTL %v must be positive and at most %v", cfg.TTL, MaxTTL)
	case cfg.DeviceTTL < 0 || cfg.DeviceTTL > MaxDeviceTTL:
		return nil, fmt.Errorf("token: DeviceTTL %v must be between 0 and %v", cfg.DeviceTTL, MaxDeviceTTL)
	case cfg.Leeway < 0 || cfg.Leeway > MaxLeeway:
		return nil, fmt.Errorf("token: Leeway %v must be between 0 and %v", cfg.Leeway, MaxLeeway)
	case cfg.CacheSize < 0:
		return nil, fmt.Errorf("token: CacheSize %d must not be negative", cfg.CacheSize)
	case ring == nil:
		return nil, errors.New("token: no key ring")
	}
	signer := ring.Signer(keys.PurposeTokens)
	if signer.KID == "" {
		return nil, fmt.Errorf("token: the key ring has no %q signing key", keys.PurposeTokens)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	t := &Tokens{cfg: cfg, signer: signer, ring: ring}
	// Either suite's tokens verify, so switching suites logs no one out.
	t.parser = jwt.NewParser(
		jwt.WithValidMethods(keys.JWTAlgs),
		jwt.WithExpirationRequired(),
		jwt.WithIssuer(cfg.Issuer),
		jwt.WithAudience(cfg.Audience),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(cfg.Leeway),
		jwt.WithTimeFunc(cfg.Now),
		jwt.WithStrictDecoding(),
	)
	if cfg.CacheSize > 0 {
		t.cache = newCache(cfg.CacheSize)
	}
	return t, nil
}

// Mint signs c as an access token and returns it with its expiry. It sets
// iat, nbf, jti, iss and aud itself; exp is now+TTL, or c.ExpiresAt when that
// is earlier, so a token never outlives the session it belongs to.
func (t *Tokens) Mint(c Claims) (token string, expiresAt time.Time, err error) {
	if err := c.validate(); err != nil {
		return "", time.Time{}, fmt.Errorf("token: mint: %w", err)
	}
	now := t.cfg.Now().Truncate(time.Second)
	if c.AuthTime.After(now.Add(MaxLeeway)) {
		return "", time.Time{}, fmt.Errorf("token: mint: auth_time %v is in the future", c.AuthTime)
	}
	ttl := t.cfg.TTL
	if c.Role == services.RoleKiosk && t.cfg.DeviceTTL > 0 {
		ttl = t.cfg.DeviceTTL
	}
	exp := now.Add(ttl)
	if !c.ExpiresAt.IsZero() {
		if c.ExpiresAt.Before(exp) {
			exp = c.ExpiresAt.Truncate(time.Second)
		}
		if !exp.After(now) {
			return "", time.Time{}, fmt.Errorf("token: mint: ExpiresAt %v is not in the future", c.ExpiresAt)
		}
	}
	var jti [16]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return "", time.Time{}, fmt.Errorf("token: mint: %w", err)
	}
	w := wireClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    t.cfg.Issuer,
			Subject:   c.Subject,
			Audience:  jwt.ClaimStrings{t.cfg.Audience},
			ExpiresAt: jwt.NewNumericDate(exp),
			NotBefore: jwt.NewNumericDate(now),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        base64.RawURLEncoding.EncodeToString(jti[:]),
		},
		Channel: c.Channel, Role: c.Role, Session: c.Session, Unit: c.Unit, Device: c.Device,
		ACR: string(c.ACR), OperatorRole: string(c.OperatorRole), PasswordChange: c.PasswordChange,
	}
	if !c.AuthTime.IsZero() {
		w.AuthTime = jwt.NewNumericDate(c.AuthTime.Truncate(time.Second))
	}
	method, key := t.signer.JWT()
	tok := jwt.NewWithClaims(method, w)
	tok.Header["kid"] = t.signer.KID
	tok.Header["typ"] = tokenType
	s, err := tok.SignedString(key)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("token: mint: %w", err)
	}
	return s, exp, nil
}
