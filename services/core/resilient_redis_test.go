package core_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"handheld/services"
	"handheld/services/core"
	"handheld/services/coresim"
	"handheld/services/kv"
	"handheld/services/redistest"
	"handheld/services/suite"
)

// TestReaderEncryptsCacheInRedis reads through a real Redis and then looks
// at what Redis holds: no name, ID number, phone, bank card, person id or
// account number in clear, in keys or values. A second Reader (another
// replica) is served from the same cache.
func TestReaderEncryptsCacheInRedis(t *testing.T) {
	t.Parallel()
	rc := redistest.Client(t)
	prefix := redistest.Prefix(t)
	store := kv.NewRedis(rc, prefix, services.NewHashKey([]byte("kv-key-hashing-secret"), suite.Env()), time.Second)
	h := newHarness(t)
	ctx := context.Background()
	ps, _ := h.depositors(t)
	p := ps[0]

	cfg := testReaderConfig(h, &readerEvents{})
	reader, err := core.NewReader(h.client, cfg, store)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := reader.Person(ctx, p.PersonID); err != nil {
		t.Fatalf("Person: %v", err)
	}
	facts, _, err := reader.CertificateFacts(ctx, p.PersonID)
	if err != nil {
		t.Fatalf("CertificateFacts: %v", err)
	}

	keys, err := rc.Keys(ctx, escapeGlob(prefix)+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 {
		t.Fatalf("Redis holds %d keys under the test prefix, want 2 (person, certificate facts)", len(keys))
	}
	personal := []string{p.Name, p.IDNumber, p.Phone, p.BankCard, p.PersonID, facts.Account.AccountNumber}
	for _, k := range keys {
		v, err := rc.Get(ctx, k).Bytes()
		if err != nil {
			t.Fatalf("GET: %v", err)
		}
		if ttl := rc.PTTL(ctx, k).Val(); ttl <= 0 || ttl > 24*time.Hour {
			t.Errorf("a cache key lives %s, want at most StaleFor (24h)", ttl)
		}
		for _, s := range personal {
			if s == "" {
				t.Fatal("a persona field is empty: the check would prove nothing")
			}
			if strings.Contains(k, s) || bytes.Contains(v, []byte(s)) {
				t.Errorf("Redis key %q or its value holds personal data in clear", k)
			}
		}
		if bytes.Contains(v, []byte("as_of")) || bytes.Contains(v, []byte("payload")) {
			t.Errorf("Redis value under %q is readable JSON, want ciphertext", k)
		}
	}

	// Another replica, same Redis and secret: served from the cache.
	replica, err := core.NewReader(h.client, cfg, store)
	if err != nil {
		t.Fatal(err)
	}
	before := h.sim.Calls(coresim.GroupPerson)
	got, f, err := replica.Person(ctx, p.PersonID)
	if err != nil || got.Name != p.Name || f.Stale {
		t.Fatalf("replica Person = %+v, %v; want the cached person", f, err)
	}
	if n := h.sim.Calls(coresim.GroupPerson) - before; n != 0 {
		t.Errorf("replica made %d core calls, want 0 (the cache is shared)", n)
	}
}

func escapeGlob(s string) string {
	return strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`, `]`, `\]`).Replace(s)
}
