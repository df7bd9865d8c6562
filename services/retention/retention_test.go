package retention_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"handheld/services/audit"
	"handheld/services/retention"
)

type trail struct {
	mu  sync.Mutex
	got []audit.Record
}

func (t *trail) Enqueue(_ context.Context, r audit.Record) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.got = append(t.got, r)
	return nil
}

// table is a kind's rows by end time; purge removes the oldest batch that
// ended before `before`, as the owners' statements do.
type table struct {
	ends    []time.Time
	befores []time.Time
	fail    error
}

func (tb *table) purge(_ context.Context, before time.Time, batch int) (int, error) {
	tb.befores = append(tb.befores, before)
	if tb.fail != nil {
		return 0, tb.fail
	}
	n := 0
	kept := tb.ends[:0]
	for _, e := range tb.ends {
		if e.Before(before) && n < batch {
			n++
			continue
		}
		kept = append(kept, e)
	}
	tb.ends = kept
	return n, nil
}

func TestPolicyValidate(t *testing.T) {
	if err := retention.DefaultPolicy().Validate(); err != nil {
		t.Fatalf("default: %v", err)
	}
	for name, edit := range map[string]func(*retention.Policy){
		"every":             func(p *retention.Policy) { p.Every = time.Minute },
		"batch":             func(p *retention.Policy) { p.Batch = 1 },
		"outbox":            func(p *retention.Policy) { p.Outbox = 24 * time.Hour },
		"idempotency_keys":  func(p *retention.Policy) { p.IdempotencyKeys = time.Hour },
		"sessions":          func(p *retention.Policy) { p.Sessions = 0 },
		"certificate_files": func(p *retention.Policy) { p.CertificateFiles = -time.Hour },
		"reminder_sends":    func(p *retention.Policy) { p.ReminderSends = 30 * 24 * time.Hour },
	} {
		p := retention.DefaultPolicy()
		edit(&p)
		if err := p.Validate(); err == nil || !strings.HasPrefix(err.Error(), name) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// Each kind is purged batch after batch until nothing old is left, with
// its own age; the note and the trail say what went.
func TestRunPurgesEachKindByItsAgeInBatches(t *testing.T) {
	now := time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	old, young := &table{}, &table{}
	for i := range 25 {
		old.ends = append(old.ends, now.Add(-time.Duration(40+i)*day))
	}
	old.ends = append(old.ends, now.Add(-time.Hour))
	young.ends = []time.Time{now.Add(-2 * day)}
	tr := &trail{}
	r := &retention.Retention{Policy: retention.Policy{Batch: 10}, Audit: tr,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return now },
		Kinds: []retention.Kind{{Name: "old", Keep: 30 * day, Purge: old.purge}, {Name: "young", Keep: 7 * day, Purge: young.purge}}}
	note, err := r.Run(context.Background())
	if err != nil || note != "old=25 young=0" {
		t.Fatalf("note %q err %v", note, err)
	}
	if len(old.ends) != 1 || len(old.befores) != 3 || !old.befores[0].Equal(now.Add(-30*day)) {
		t.Fatalf("old left %d after %d calls (before %v)", len(old.ends), len(old.befores), old.befores)
	}
	if len(young.ends) != 1 || !young.befores[0].Equal(now.Add(-7*day)) {
		t.Fatalf("young: %+v", young)
	}
	if len(tr.got) != 1 || tr.got[0].Action != retention.ActionPurge || tr.got[0].Target != "old:25" || tr.got[0].Actor != "system" {
		t.Fatalf("trail %+v", tr.got)
	}
}

// A kind that fails stops the run with what went so far; the run is
// repeated whole by the schedule, so later kinds wait for it.
func TestRunStopsAtAFailingKind(t *testing.T) {
	now := time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)
	first := &table{ends: []time.Time{now.Add(-100 * 24 * time.Hour)}}
	broken := &table{fail: errors.New("connection reset")}
	after := &table{ends: []time.Time{now.Add(-100 * 24 * time.Hour)}}
	r := &retention.Retention{Policy: retention.Policy{Batch: 10}, Audit: &trail{},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return now },
		Kinds: []retention.Kind{{Name: "a", Keep: time.Hour, Purge: first.purge}, {Name: "b", Keep: time.Hour, Purge: broken.purge},
			{Name: "c", Keep: time.Hour, Purge: after.purge}}}
	note, err := r.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "b: connection reset") || note != "a=1" || len(after.befores) != 0 {
		t.Fatalf("note %q err %v, c called %d times", note, err, len(after.befores))
	}
}
