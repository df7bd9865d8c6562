package token_test

import (
	"testing"
)

// The benchmarks report what the cache buys per request; they assert nothing
// about timing, which depends on the machine.

func BenchmarkVerifyCached(b *testing.B) {
	f := newFixture(b, 100_000)
	tok := f.mint(b, depositor)
	if _, err := f.tokens.Verify(tok); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.tokens.Verify(tok); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyCachedParallel(b *testing.B) {
	f := newFixture(b, 100_000)
	toks := make([]string, 1024)
	for i := range toks {
		toks[i] = f.mint(b, depositor)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := f.tokens.Verify(toks[i%len(toks)]); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

func BenchmarkVerifyUncached(b *testing.B) {
	f := newFixture(b, 0)
	tok := f.mint(b, depositor)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.tokens.VerifyNoCache(tok); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMint(b *testing.B) {
	f := newFixture(b, 0)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := f.tokens.Mint(depositor); err != nil {
			b.Fatal(err)
		}
	}
}
