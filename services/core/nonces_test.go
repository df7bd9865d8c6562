package core

import (
	"testing"
	"time"
)

func TestNonceStoreKeepsNoncesTwoWindowsAndStaysBounded(t *testing.T) {
	n := NewNonceStore(4)
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	use := func(nonce string, at time.Time) (bool, error) { return n.Use(t.Context(), "k", nonce, at) }
	if ok, _ := use("a", t0); !ok {
		t.Fatal("first use refused")
	}
	// Remembered for at least 2 × SignatureWindow, across a rotation.
	for _, d := range []time.Duration{time.Minute, 2*SignatureWindow - time.Second, 2 * SignatureWindow, 4*SignatureWindow - time.Second} {
		if ok, _ := use("a", t0.Add(d)); ok {
			t.Fatalf("nonce accepted again after %v", d)
		}
	}
	// Other key ids have their own nonces.
	if ok, _ := n.Use(t.Context(), "other", "a", t0); !ok {
		t.Fatal("same nonce under another key id refused")
	}
	// Bounded: the store refuses rather than forgets.
	for _, x := range []string{"b", "c"} {
		if ok, err := use(x, t0.Add(4*SignatureWindow-time.Second)); !ok || err != nil {
			t.Fatalf("use %s: %v %v", x, ok, err)
		}
	}
	if _, err := use("d", t0.Add(4*SignatureWindow-time.Second)); err != ErrNoncesFull {
		t.Fatalf("over the limit: got %v, want ErrNoncesFull", err)
	}
	// Long after, everything has expired and there is room again.
	if ok, err := use("d", t0.Add(10*SignatureWindow)); !ok || err != nil {
		t.Fatalf("after expiry: %v %v", ok, err)
	}
}
