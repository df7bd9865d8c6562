// Package kv is handheld's short-lived shared state — single-use tokens,
// nonces, failure counters, revocations, small caches — in Redis for
// production (shared by every replica) or in process memory for the
// embedded profile. Keys are hashed with a secret before they leave the
// process, so no ID number, openid or session id is ever readable in Redis.
package kv

import (
	"context"
	"encoding/base64"
	"handheld/services"
	"strings"
	"time"
)

// Store is what both backends offer. Consumers declare the subset they use.
type Store interface {
	// SetNX stores value under key unless the key exists; it reports whether it did.
	SetNX(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error)
	// Set stores value under key.
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// Get returns the value, or ok=false when absent or expired.
	Get(ctx context.Context, key string) (value []byte, ok bool, err error)
	// GetDel returns and removes the value in one step (single-use tokens).
	GetDel(ctx context.Context, key string) (value []byte, ok bool, err error)
	// Touch resets the TTL of an existing key and reports whether it existed
	// (idle timeouts).
	Touch(ctx context.Context, key string, ttl time.Duration) (bool, error)
	// Incr adds one and returns the new count; a new key lives for ttl.
	Incr(ctx context.Context, key string, ttl time.Duration) (int64, error)
	// TTL is the remaining lifetime of key, or 0 when absent.
	TTL(ctx context.Context, key string) (time.Duration, error)
	// Del removes key.
	Del(ctx context.Context, key string) error
	// CompareAndSwap replaces the value of key with next, keeping its TTL,
	// only when its current value is exactly old, and reports whether it
	// did. It is one atomic step on every replica: of two requests racing
	// to move a single-use code from one state to the next, exactly one
	// wins (kiosk sign-in by phone QR).
	CompareAndSwap(ctx context.Context, key string, old, next []byte) (bool, error)
}

// hashedKey turns "namespace:rest" into "<prefix>namespace:<HMAC of the whole
// key>", keeping the namespace readable for operators and the rest secret.
func hashedKey(prefix string, secret services.HashKey, key string) string {
	ns := "k"
	if i := strings.IndexByte(key, ':'); i > 0 {
		ns = key[:i]
	}
	return prefix + ns + ":" + base64.RawURLEncoding.EncodeToString(secret.Sum([]byte(key))[:18])
}
