package core

import (
	"bytes"
	"crypto/cipher"
	"encoding/json"
	"handheld/services/suite"
	"math/rand/v2"
	"testing"
	"time"
)

func TestReaderSealOpensOnlyUnderItsKey(t *testing.T) {
	t.Parallel()
	aead, err := readerAEAD([]byte("reader-cache-key-reader-cache-k!"))
	if err != nil {
		t.Fatal(err)
	}
	other, err := readerAEAD([]byte("another-secret-another-secret-32"))
	if err != nil {
		t.Fatal(err)
	}
	v := remembered{AsOf: time.Date(2025, 6, 16, 10, 0, 0, 0, time.UTC), Payload: json.RawMessage(`{"name":"张伟"}`)}
	key := cacheKey("person", "P1", "")
	a, err := seal(aead, key, v)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := seal(aead, key, v)
	if bytes.Equal(a, b) {
		t.Error("two seals of one value are equal: the nonce is not fresh")
	}
	if bytes.Contains(a, []byte("张伟")) {
		t.Error("the sealed value holds the name in clear")
	}
	got, err := open(aead, key, a)
	if err != nil || !got.AsOf.Equal(v.AsOf) || string(got.Payload) != string(v.Payload) {
		t.Fatalf("open = %+v, %v; want %+v", got, err, v)
	}

	tampered := bytes.Clone(a)
	tampered[len(tampered)-1] ^= 1
	for _, tc := range []struct {
		name   string
		aead   cipher.AEAD
		key    string
		sealed []byte
	}{
		{"another person's key", aead, cacheKey("person", "P2", ""), a},
		{"another secret", other, key, a},
		{"tampered", aead, key, tampered},
		{"truncated", aead, key, a[:10]},
		{"unknown version", aead, key, append([]byte{9}, a[1:]...)},
	} {
		if _, err := open(tc.aead, tc.key, tc.sealed); err == nil {
			t.Errorf("%s: open succeeded", tc.name)
		}
	}
}

func TestReaderCacheKeysDoNotCollide(t *testing.T) {
	t.Parallel()
	if a, b := cacheKey("deposits", "a:b", ""), cacheKey("deposits", "a", "b:"); a == b {
		t.Errorf("person ids with a colon collide: %q", a)
	}
}

func TestReaderBackoffIsJitteredExponential(t *testing.T) {
	t.Parallel()
	r := &Reader{jitter: rand.New(rand.NewPCG(1, 2))}
	base := 20 * time.Millisecond
	for n := range 4 {
		want := base << n
		for range 100 {
			d := r.backoff(base, n)
			if d < want/2 || d > want*3/2 {
				t.Fatalf("backoff(%s, %d) = %s, want within ±50%% of %s", base, n, d, want)
			}
		}
	}
	p := ReadPolicy{Timeout: time.Second, Retries: 2, Backoff: 20 * time.Millisecond}
	if got, want := p.budget(), 3*time.Second+30*time.Millisecond+60*time.Millisecond; got != want {
		t.Errorf("budget = %s, want %s (3 attempts and the longest waits)", got, want)
	}
}

func TestReaderFreshnessWindows(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 6, 16, 10, 0, 0, 0, time.UTC)
	p := ReadPolicy{FreshFor: 30 * time.Second, StaleFor: time.Hour}
	tests := []struct {
		age           time.Duration
		fresh, usable bool
	}{
		{0, true, true},
		{29 * time.Second, true, true},
		{30 * time.Second, false, true},
		{59 * time.Minute, false, true},
		{time.Hour, false, false},
		{-10 * time.Second, true, true}, // another replica's clock runs a little fast
		{-2 * time.Hour, false, false},  // ...or very fast: never pinned
	}
	for _, tc := range tests {
		asOf := now.Add(-tc.age)
		if got := p.fresh(asOf, now); got != tc.fresh {
			t.Errorf("fresh(age %s) = %v, want %v", tc.age, got, tc.fresh)
		}
		if got := p.usable(asOf, now); got != tc.usable {
			t.Errorf("usable(age %s) = %v, want %v", tc.age, got, tc.usable)
		}
	}
	if (ReadPolicy{}).fresh(now, now) {
		t.Error("FreshFor 0 serves from the cache")
	}
}

// readerAEAD is the cache's sealing as NewReader makes it, under the
// suite the tests run in.
func readerAEAD(key []byte) (cipher.AEAD, error) {
	s := suite.Env()
	return s.AEAD(key[:s.KeySize()])
}

// Only types nothing of which a caller could change under another are
// handed out as copies of one decoded value.
func TestShareableTypes(t *testing.T) {
	type withTime struct{ At time.Time }
	for name, got := range map[string][2]bool{
		"Person":      {shareable[Person](), true},
		"Account":     {shareable[Account](), true},
		"[4]int64":    {shareable[[4]int64](), true},
		"DepositPage": {shareable[DepositPage](), false},
		"*Person":     {shareable[*Person](), false},
		"time.Time":   {shareable[withTime](), false},
		"map":         {shareable[map[string]int](), false},
		"any":         {shareable[any](), false},
	} {
		if got[0] != got[1] {
			t.Errorf("shareable[%s] = %v, want %v", name, got[0], got[1])
		}
	}
}

// A decoded value is kept only beside the answer it was decoded from: a
// newer answer drops it, a reader late with an older answer's value cannot
// put it back, and it goes when the answer stops being fresh.
func TestLocalCacheKeepsValuesOfTheirAnswerOnly(t *testing.T) {
	c := newLocalCache(10)
	value := func(now time.Time) (any, bool) {
		e, ok := c.get("k", now)
		return e.value, ok && e.value != nil
	}
	t0 := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	c.put("k", remembered{AsOf: t0, Payload: json.RawMessage(`{"balance_fen":1}`)}, t0.Add(30*time.Second))
	if v, ok := value(t0); ok {
		t.Fatalf("a value %v before any reader decoded one", v)
	}
	c.keepValue("k", t0, Account{BalanceFen: 1})
	if v, ok := value(t0.Add(time.Second)); !ok || v.(Account).BalanceFen != 1 {
		t.Fatalf("value = %v %v, want the kept account", v, ok)
	}

	t1 := t0.Add(40 * time.Second)
	c.put("k", remembered{AsOf: t1, Payload: json.RawMessage(`{"balance_fen":2}`)}, t1.Add(30*time.Second))
	if v, ok := value(t1); ok {
		t.Fatalf("a newer answer still serves the older value %v", v)
	}
	c.keepValue("k", t0, Account{BalanceFen: 1}) // a slow reader of the older answer
	if v, ok := value(t1); ok {
		t.Fatalf("an older answer's value was kept beside the newer answer: %v", v)
	}
	c.keepValue("k", t1, Account{BalanceFen: 2})
	if v, ok := value(t1.Add(29 * time.Second)); !ok || v.(Account).BalanceFen != 2 {
		t.Fatalf("value = %v %v, want the newer account", v, ok)
	}
	if v, ok := value(t1.Add(30 * time.Second)); ok {
		t.Fatalf("a value past its answer's freshness: %v", v)
	}
}
