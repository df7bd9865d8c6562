package kv

import (
	"context"
	"time"
)

// Nonces spends the nonces of signed requests in the shared store, so that
// a request replayed to another replica is refused as it is to the one
// that saw it first. Namespace keeps one caller's nonces apart from
// another's; TTL outlives the signature window (twice it), after which
// the timestamp refuses a replay anyway. The key is hashed like every key.
type Nonces struct {
	Store interface {
		SetNX(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error)
	}
	Namespace string
	TTL       time.Duration
}

// Use records keyID's nonce; false when it was seen before, on any replica.
func (n Nonces) Use(ctx context.Context, keyID, nonce string, _ time.Time) (bool, error) {
	return n.Store.SetNX(ctx, n.Namespace+"\x00"+keyID+"\x00"+nonce, []byte{1}, n.TTL)
}
