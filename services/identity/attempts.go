package identity

import (
	"context"
	"time"

	"handheld/services"
)

// Identity checks (bind, kiosk sign-in, face checks, step-ups) are limited
// per ID number and per WeChat user, so that nobody can walk a list of ID
// numbers, or one ID number through a list of names, from any number of
// addresses. The keys are keyed HMACs: kv never sees an ID number or an
// openid.

// attemptKeys returns the counters an attempt counts against: the ID
// number's and, when given, the WeChat user's.
func (s *Service) attemptKeys(idNumber, openidHash string) []string {
	keys := []string{"attempts:id:" + s.pseudonym("id_number", idNumber)}
	if openidHash != "" {
		keys = append(keys, "attempts:openid:"+openidHash)
	}
	return keys
}

// attempt counts one identity check and refuses it with rate_limited and
// Retry-After once a counter is over the policy's Attempts in its window.
// Counting before the check, not after a failure, keeps concurrent
// attempts from all slipping under the limit.
func (s *Service) attempt(ctx context.Context, idNumber, openidHash string) error {
	for _, key := range s.attemptKeys(idNumber, openidHash) {
		n, err := s.KV.Incr(ctx, key, s.Assurance.AttemptWindow)
		if err != nil {
			return services.Errorf(services.CodeInternal, "attempt counter: %w", err)
		}
		if n > int64(s.Assurance.Attempts) {
			wait, err := s.KV.TTL(ctx, key)
			if err != nil || wait <= 0 {
				wait = s.Assurance.AttemptWindow
			}
			return &services.Error{Code: services.CodeRateLimited, RetryAfter: max(wait.Round(time.Second), time.Second)}
		}
	}
	return nil
}

// attemptsSucceeded clears the counters after the person proved who they
// are: their own mistakes before it should not lock them out later.
func (s *Service) attemptsSucceeded(ctx context.Context, idNumber, openidHash string) {
	for _, key := range s.attemptKeys(idNumber, openidHash) {
		if err := s.KV.Del(ctx, key); err != nil {
			s.Logger.WarnContext(ctx, "attempt counter not cleared", "cause", err.Error())
		}
	}
}
