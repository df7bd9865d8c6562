package suite_test

import (
	"testing"
	"time"

	"handheld/services/keys"
	"handheld/services/suite"
)

// The sm suite's costs beside the intl suite's, operation by operation:
// each benchmark times the sm operation and then the intl one for as many
// iterations, and reports x_intl, how many times slower sm is (README).

// compare runs sm under the benchmark's timer, then intl as often, and
// reports the ratio.
func compare(b *testing.B, sm, intl func()) {
	for b.Loop() {
		sm()
	}
	own := b.Elapsed()
	start := time.Now()
	for range b.N {
		intl()
	}
	b.ReportMetric(float64(own)/float64(time.Since(start)), "x_intl")
}

func rings(b *testing.B) map[suite.Suite]*keys.Ring {
	out := map[suite.Suite]*keys.Ring{}
	for _, s := range suite.All() {
		r, err := keys.Ensure(b.TempDir(), time.Now(), s, keys.PurposeTokens)
		if err != nil {
			b.Fatal(err)
		}
		out[s] = r
	}
	return out
}

// msg is about what an access token's signing input weighs.
var msg = make([]byte, 400)

func BenchmarkSign(b *testing.B) {
	r := rings(b)
	sign := func(s suite.Suite) func() {
		signer := r[s].Signer(keys.PurposeTokens)
		return func() {
			if _, err := signer.Sign(msg); err != nil {
				b.Fatal(err)
			}
		}
	}
	compare(b, sign(suite.SM), sign(suite.Intl))
}

func BenchmarkVerify(b *testing.B) {
	r := rings(b)
	verify := func(s suite.Suite) func() {
		signer := r[s].Signer(keys.PurposeTokens)
		sig, err := signer.Sign(msg)
		if err != nil {
			b.Fatal(err)
		}
		pub, _ := r[s].Public(signer.KID)
		return func() {
			if !pub.Verify(msg, sig) {
				b.Fatal("does not verify")
			}
		}
	}
	compare(b, verify(suite.SM), verify(suite.Intl))
}

// BenchmarkHash is one audit record's worth of hashing (about 200 bytes).
func BenchmarkHash(b *testing.B) {
	rec := make([]byte, 200)
	hash := func(s suite.Suite) func() { return func() { s.Sum(rec) } }
	compare(b, hash(suite.SM), hash(suite.Intl))
}

// BenchmarkMAC is one keyed hash of a short value (an ID number).
func BenchmarkMAC(b *testing.B) {
	key, v := make([]byte, 32), []byte("330106198503124133")
	mac := func(s suite.Suite) func() {
		return func() {
			m := s.MAC(key)
			m.Write(v)
			m.Sum(nil)
		}
	}
	compare(b, mac(suite.SM), mac(suite.Intl))
}

// BenchmarkSeal seals a 2 KiB certificate document.
func BenchmarkSeal(b *testing.B) {
	doc := make([]byte, 2048)
	seal := func(s suite.Suite) func() {
		a, err := s.AEAD(make([]byte, s.KeySize()))
		if err != nil {
			b.Fatal(err)
		}
		out := make([]byte, 0, len(doc)+a.Overhead())
		return func() { a.Seal(out[:0], nil, doc, nil) }
	}
	compare(b, seal(suite.SM), seal(suite.Intl))
}
