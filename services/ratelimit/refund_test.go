package ratelimit_test

import (
	"context"
	"testing"
	"time"

	"handheld/services/ratelimit"
	"handheld/services/redistest"
)

// budgetPolicies are a person's daily budget and an address guard on the
// same class: Refund gives back only the budget's unit.
func budgetPolicies() []ratelimit.Policy {
	return []ratelimit.Policy{
		{Name: "certificate_issue_subject", Key: ratelimit.KeySubject, Classes: []ratelimit.Class{"certificate_issue"},
			Rate: 10, Burst: 3, Period: 24 * time.Hour, Budget: true},
		{Name: "certificate_issue_ip", Key: ratelimit.KeyIP, Classes: []ratelimit.Class{"certificate_issue"},
			Rate: 10, Burst: 5, Period: 24 * time.Hour},
	}
}

// Replays and failures on our side give the budget's unit back: however
// many, the person still has a full budget, while the address guard keeps
// counting them.
func testRefundKeepsTheBudget(t *testing.T, l *ratelimit.Limiter) {
	t.Helper()
	r := ratelimit.Request{Class: "certificate_issue", Channel: "miniapp", Subject: "s-1", IP: "192.0.2.1"}
	for i := range 4 {
		d := allow(t, l, r)
		if !d.Allowed {
			t.Fatalf("request %d refused by %s although every earlier one was refunded", i+1, d.Policy)
		}
		l.Refund(context.Background(), r)
	}
	// The address guard (burst 5) counted all four: one left.
	if d := allow(t, l, r); !d.Allowed || d.Policy != "certificate_issue_ip" || d.Remaining != 0 {
		t.Fatalf("fifth request: %+v, want allowed with the address guard at 0 remaining", d)
	}
	// Without refunds the budget (burst 3) is spent by three more from
	// another address.
	r.IP = "192.0.2.2"
	for i := range 2 {
		if d := allow(t, l, r); !d.Allowed {
			t.Fatalf("request %d from a new address: %+v", i+1, d)
		}
	}
	if d := allow(t, l, r); d.Allowed || d.Policy != "certificate_issue_subject" {
		t.Fatalf("budget spent: %+v, want refused by certificate_issue_subject", d)
	}
	// A refund with nothing spent (or no budget) is harmless.
	l.Refund(context.Background(), ratelimit.Request{Class: "certificate_issue", Subject: "s-unknown"})
	l.Refund(context.Background(), ratelimit.Request{Class: "read", Subject: "s-1"})
}

func TestRefundInMemory(t *testing.T) {
	testRefundKeepsTheBudget(t, mustNew(t, ratelimit.Config{Now: newClock().Now}, budgetPolicies()...))
}

func TestRefundInRedis(t *testing.T) {
	t.Parallel()
	testRefundKeepsTheBudget(t, redisLimiter(t, redistest.Client(t), budgetPolicies()...))
}

func TestBudgetOnlyPerSubject(t *testing.T) {
	p := budgetPolicies()[1]
	p.Budget = true
	if err := p.Validate(); err == nil {
		t.Fatal("a per-address budget validated")
	}
}
