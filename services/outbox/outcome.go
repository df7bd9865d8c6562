package outbox

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Again tells the worker that the message is not done but nothing failed:
// deliver the same message again after d. It is how a handler polls a status
// that is not final yet (an application the core is still reviewing) without
// counting the polls as failures: attempts goes back to what it was and
// last_error is cleared. A negative d counts as zero, which makes the row due
// at once (the next round that finds it).
func Again(d time.Duration) error {
	return &againError{after: max(d, 0)}
}

type againError struct{ after time.Duration }

func (e *againError) Error() string { return fmt.Sprintf("outbox: again in %s", e.after) }

// Permanent tells the worker that retrying can never succeed (the receiver
// rejected the message as invalid): the row is closed with delivered_at set,
// its error kept in last_error for the operator, and counted as dead rather
// than retried forever. Permanent(nil) is still permanent.
func Permanent(err error) error {
	if err == nil {
		err = errors.New("permanent failure")
	}
	return &permanentError{err: err}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// verdict is what a handler's error means for its row.
type verdict struct {
	outcome string        // one of the Outcome constants
	after   time.Duration // OutcomeAgain: when to deliver again
	text    string        // OutcomeRetry, OutcomeDead: the last_error to store
	closed  bool          // OutcomeDelivered: its handler closed the row (Delivered)
}

// judge reads a handler's error. Again and Permanent are recognised even when
// wrapped, so a handler may add context with fmt.Errorf("…: %w", …).
func judge(err error) verdict {
	var again *againError
	var permanent *permanentError
	switch {
	case err == nil:
		return verdict{outcome: OutcomeDelivered}
	case errors.As(err, &again):
		return verdict{outcome: OutcomeAgain, after: again.after}
	case errors.As(err, &permanent):
		return verdict{outcome: OutcomeDead, text: errorText(err)}
	}
	return verdict{outcome: OutcomeRetry, text: errorText(err)}
}

// maxErrorBytes bounds last_error: enough to say what failed, too little to
// turn the outbox into a log store.
const maxErrorBytes = 500

// errorText is err's message fit for the last_error column: at most
// maxErrorBytes, cut on a rune boundary, valid UTF-8 without NUL bytes
// (PostgreSQL's TEXT rejects both), so that storing the reason for a failure
// can never fail itself.
func errorText(err error) string {
	s := strings.ToValidUTF8(err.Error(), "\uFFFD")
	s = strings.ReplaceAll(s, "\x00", "")
	if len(s) <= maxErrorBytes {
		return s
	}
	cut := maxErrorBytes
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// backoff is how long a message that failed its attempts-th delivery waits:
// base·2^(attempts-1), capped at ceiling, then spread by ±20% according to
// jitter (in [0, 1): 0.5 is no change), so that rows that failed together,
// as they do when the receiver is down, do not all come back together.
func backoff(base, ceiling time.Duration, attempts int, jitter float64) time.Duration {
	d := base
	for i := 1; i < attempts && d < ceiling; i++ {
		d *= 2 // d < ceiling, so this overflows only for ceilings beyond 146 years
	}
	d = min(d, ceiling)
	return time.Duration(float64(d) * (0.8 + 0.4*jitter))
}
