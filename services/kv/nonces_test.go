package kv_test

import (
	"testing"
	"time"

	"handheld/services"
	"handheld/services/kv"
	"handheld/services/suite"
)

// A nonce is spent once per key and namespace, for the TTL; two replicas
// sharing the store share what was spent.
func TestNoncesSpentOnceAcrossReplicas(t *testing.T) {
	now := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	shared := kv.NewMemory(clock, services.NewHashKey([]byte("0123456789abcdef0123456789abcdef"), suite.Env()))
	a := kv.Nonces{Store: shared, Namespace: "callback", TTL: 10 * time.Minute}
	b := kv.Nonces{Store: shared, Namespace: "callback", TTL: 10 * time.Minute} // another replica
	other := kv.Nonces{Store: shared, Namespace: "verification", TTL: 10 * time.Minute}
	ctx := t.Context()
	steps := []struct {
		n          kv.Nonces
		key, nonce string
		want       bool
	}{
		{a, "platform", "nonce-0000000000000001", true},
		{b, "platform", "nonce-0000000000000001", false}, // replayed to another replica
		{a, "platform", "nonce-0000000000000001", false},
		{a, "other-key", "nonce-0000000000000001", true},
		{other, "platform", "nonce-0000000000000001", true},
		{b, "platform", "nonce-0000000000000002", true},
	}
	for i, s := range steps {
		got, err := s.n.Use(ctx, s.key, s.nonce, now)
		if err != nil || got != s.want {
			t.Fatalf("step %d: Use = %v, %v; want %v", i, got, err, s.want)
		}
	}
	now = now.Add(11 * time.Minute)
	if got, _ := a.Use(ctx, "platform", "nonce-0000000000000001", now); !got {
		t.Fatal("a nonce is remembered past its TTL")
	}
}
