package core

import (
	"context"
	"errors"
	"hash/maphash"
	"sync"
	"time"
)

// NonceStore remembers the nonces of accepted requests so none is accepted
// twice. A request is only accepted within SignatureWindow of its
// timestamp, so a nonce must be kept at least twice that long; two
// generations, each 2×window long, keep every nonce between 2 and 4 windows
// in constant time per request and without a sweep. Nonces are kept as
// 64-bit keyed hashes (10 to 20 bytes each), so millions fit: a collision,
// about one in 10^13 per call at a million live nonces, only refuses a call.
type NonceStore struct {
	mu        sync.Mutex
	seed      maphash.Seed
	cur, prev map[uint64]struct{}
	rotated   time.Time
	life      time.Duration
	limit     int
}

// ErrNoncesFull means the store holds its limit of live nonces: the caller
// should answer 503 rather than forget a nonce and allow a replay.
var ErrNoncesFull = errors.New("nonce store full")

// NewNonceStore keeps at most limit live nonces (0: 4,000,000).
func NewNonceStore(limit int) *NonceStore {
	if limit <= 0 {
		limit = 4_000_000 // 2,000 calls a second for 20 minutes; under 100 MB
	}
	return &NonceStore{seed: maphash.MakeSeed(), cur: map[uint64]struct{}{}, prev: map[uint64]struct{}{},
		life: 2 * SignatureWindow, limit: limit}
}

// Nonces spends the nonces of signed requests: Use is true the first time
// keyID's nonce is seen inside the signature window. NonceStore keeps them
// in process (the simulators, one replica); a store the replicas share
// (kv.Nonces) refuses a replay sent to another replica too.
type Nonces interface {
	Use(ctx context.Context, keyID, nonce string, now time.Time) (bool, error)
}

// Use records keyID's nonce; false when it was seen before.
func (n *NonceStore) Use(_ context.Context, keyID, nonce string, now time.Time) (bool, error) {
	key := maphash.String(n.seed, keyID+"\x00"+nonce)
	n.mu.Lock()
	defer n.mu.Unlock()
	switch age := now.Sub(n.rotated); {
	case age >= 2*n.life:
		n.prev, n.cur, n.rotated = map[uint64]struct{}{}, map[uint64]struct{}{}, now
	case age >= n.life:
		n.prev, n.cur, n.rotated = n.cur, map[uint64]struct{}{}, now
	}
	if _, ok := n.cur[key]; ok {
		return false, nil
	}
	if _, ok := n.prev[key]; ok {
		return false, nil
	}
	if len(n.cur)+len(n.prev) >= n.limit {
		return false, ErrNoncesFull
	}
	n.cur[key] = struct{}{}
	return true, nil
}
