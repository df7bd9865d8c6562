package core_test

import (
	"context"
	"testing"

	"handheld/services/core"
)

// BenchmarkReaderAccountCached is the balance screen's common case: the
// answer is in the cache (decrypt and decode, no core call).
func BenchmarkReaderAccountCached(b *testing.B) {
	rig := newReaderRig(b, rigOptions{plainHTTP: true})
	ps, _ := rig.depositors(b)
	id := ps[0].PersonID
	ctx := context.Background()
	if _, _, err := rig.reader.Account(ctx, id); err != nil {
		b.Fatal(err)
	}
	calls := rig.sim.Calls("account")
	b.ReportAllocs()
	for b.Loop() {
		if _, f, err := rig.reader.Account(ctx, id); err != nil || f.Stale {
			b.Fatalf("Account = %+v, %v", f, err)
		}
	}
	if n := rig.sim.Calls("account") - calls; n != 0 {
		b.Fatalf("%d core calls while cached", n)
	}
}

// BenchmarkReaderAccountMiss is a read that goes to the core every time
// (FreshFor 0): cache lookup, breaker, a signed HTTP call to the simulator
// on loopback, encryption and the cache write.
func BenchmarkReaderAccountMiss(b *testing.B) {
	rig := newReaderRig(b, rigOptions{
		plainHTTP: true,
		reader:    func(c *core.ReaderConfig) { c.Account.FreshFor = 0 },
	})
	ps, _ := rig.depositors(b)
	id := ps[0].PersonID
	ctx := context.Background()
	calls := rig.sim.Calls("account")
	b.ReportAllocs()
	for b.Loop() {
		if _, f, err := rig.reader.Account(ctx, id); err != nil || f.Stale {
			b.Fatalf("Account = %+v, %v", f, err)
		}
	}
	if n := rig.sim.Calls("account") - calls; n < int64(b.N) {
		b.Fatalf("%d core calls for %d reads, want one each", n, b.N)
	}
}
