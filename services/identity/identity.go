// Package identity signs people and devices in on every channel — WeChat
// mini-program, employer app, kiosk — and keeps their sessions: access
// tokens, single-use refresh tokens with reuse detection, revocation, kiosk
// idle timeouts, operator lockouts. Nothing here stores or logs a name, ID
// number, phone or openid: people are known by a pseudonymous subject id.
package identity

import (
	"context"
	"crypto/ed25519"
	"time"

	"handheld/services/audit"
	"handheld/services/core"
	"handheld/services/token"
	"handheld/services/wechat"
)

// Tokens is the answer to every successful sign-in (docs/api.md §Authentication).
type Tokens struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
}

// Policy holds the lifetimes and limits a centre configures.
type Policy struct {
	AccessTTL        time.Duration // ≤ 15 min
	RefreshTTL       map[string]time.Duration
	BindingTTL       time.Duration // 5 min
	DeviceTokenTTL   time.Duration // 1 h
	KioskIdle        time.Duration // 3 min
	KioskAbsolute    time.Duration // 15 min
	LockoutFailures  int           // 5: one address's failures that lock it out of one operator
	LockoutWindow    time.Duration // 15 min
	LockoutDuration  time.Duration // 15 min
	DeviceClockSkew  time.Duration // 2 min
	RevocationCache  time.Duration // 2 s: how stale another replica's logout may be
	RevocationMemory int           // entries in the local revocation cache

	// LockoutOperatorFailures (20) failures from all addresses together
	// lock the operator; LockoutDelay (1 s) after a failure, doubling up to
	// LockoutDelayMax (30 s), the address waits before trying again.
	LockoutOperatorFailures int
	LockoutDelay            time.Duration
	LockoutDelayMax         time.Duration

	// Password is what an operator's chosen password must meet;
	// DefaultPasswordPolicy when zero.
	Password PasswordPolicy

	// KioskLoginTTL (60 s) is how long a kiosk's phone-QR sign-in code can
	// be confirmed; DefaultKioskLoginTTL when zero.
	KioskLoginTTL time.Duration

	// OperatorCredentialTTL is how long the sealed check of an operator's
	// last accepted password may stand in for the core during its
	// maintenance window or an outage; DefaultOperatorCredentialTTL when
	// zero, never cached when negative.
	OperatorCredentialTTL time.Duration
}

// Device is a registered kiosk.
type Device struct {
	ID        string
	Location  string
	PublicKey ed25519.PublicKey
	Enabled   bool
}

// The interfaces identity needs from its collaborators.
type (
	coreIdentity interface {
		VerifyRealName(ctx context.Context, name, idNumber string) (core.Person, error)
		VerifyFace(ctx context.Context, fc core.FaceCheck) (core.FaceResult, error)
		Person(ctx context.Context, personID string) (core.Person, error)
		AuthenticateOperator(ctx context.Context, login core.OperatorLogin) (core.Operator, error)
		Operators(ctx context.Context, unitCode string) (core.OperatorList, error)
		ChangeOperatorPassword(ctx context.Context, ch core.PasswordChange) (core.Operator, error)
	}
	weChat interface {
		Code2Session(ctx context.Context, code string) (wechat.Session, error)
		PhoneNumber(ctx context.Context, code string) (string, error)
		StartFaceCheck(ctx context.Context, f wechat.FaceCheck) (string, time.Duration, error)
		FaceResult(ctx context.Context, verifyID string, f wechat.FaceCheck) (int64, error)
		Sandbox() bool
	}
	tokenMinter interface {
		Mint(c token.Claims) (string, time.Time, error)
		Verify(tok string) (token.Claims, error)
	}
	auditor interface {
		Append(ctx context.Context, r audit.Record) error
	}
	ephemeral interface {
		SetNX(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error)
		Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
		Get(ctx context.Context, key string) ([]byte, bool, error)
		GetDel(ctx context.Context, key string) ([]byte, bool, error)
		Touch(ctx context.Context, key string, ttl time.Duration) (bool, error)
		Incr(ctx context.Context, key string, ttl time.Duration) (int64, error)
		TTL(ctx context.Context, key string) (time.Duration, error)
		Del(ctx context.Context, key string) error
		CompareAndSwap(ctx context.Context, key string, old, next []byte) (bool, error)
	}
)
