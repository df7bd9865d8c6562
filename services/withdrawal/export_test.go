package withdrawal

import (
	"context"
	"time"

	"handheld/services/store"
)

// Unlocked makes s accept applications without the per-person lock, so that
// a benchmark can weigh the lock against the same work without it. Only
// benchmarks call it: without the lock, racing applications over-commit.
func Unlocked(s *Service) {
	s.lock = func(context.Context, *store.Tx, string) error { return nil }
}

// TimeLock makes s report how long each per-person lock takes to get, so
// that a benchmark can tell the lock's share of an application.
func TimeLock(s *Service, took func(time.Duration)) {
	lock := s.lock
	s.lock = func(ctx context.Context, tx *store.Tx, subject string) error {
		start := time.Now()
		defer func() { took(time.Since(start)) }()
		return lock(ctx, tx, subject)
	}
}
