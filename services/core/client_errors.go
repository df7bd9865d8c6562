package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"handheld/services"
)

// Outcomes reported to ClientConfig.Observe. They are few and fixed so they
// can be metric labels; a circuit breaker counts only error and timeout as
// failures (not_found, rejected and maintenance are answers from a healthy core).
const (
	OutcomeOK          = "ok"
	OutcomeNotFound    = "not_found"   // 404: no such person, account, unit or application
	OutcomeRejected    = "rejected"    // 400, 409, 401 bad_credentials: the core refused the input
	OutcomeMaintenance = "maintenance" // 503 maintenance: a planned batch window
	OutcomeTimeout     = "timeout"     // the deadline passed before an answer
	OutcomeCanceled    = "canceled"    // the caller gave up (its context was canceled)
	OutcomeError       = "error"       // anything else: 5xx, connection, malformed answer, bad signature
)

// ErrInvalidCredentials is the Cause of the core.rejected error that
// AuthenticateOperator returns for a wrong unit code, operator id or
// password, so the identity layer can tell "wrong password" (count it,
// answer 401) from "the core refused for another reason" with errors.Is.
var ErrInvalidCredentials = errors.New("core: operator credentials rejected")

// ErrSignatureRejected is wrapped in the Cause of the core.unavailable error
// returned when the core refuses our signature (wrong key id or secret, a
// skewed clock, a replayed nonce). It is a misconfiguration, not an outage:
// readiness checks and retry policies can recognize it with errors.Is.
var ErrSignatureRejected = errors.New("core: request signature rejected")

// statusError translates a non-2xx answer. The core's message is not copied
// into the cause: it is vendor text that may quote personal data.
func (c *Client) statusError(r request, resp *http.Response, body []byte) (string, error) {
	var eb ErrorBody
	_ = json.Unmarshal(body, &eb) // a gateway may answer HTML; eb.Code stays ""
	code := eb.Code
	if len(code) > 64 || !validHeaderValue(code) {
		code = "?"
	}
	status := resp.StatusCode
	cause := fmt.Errorf("core %s: HTTP %d %s", r.endpoint, status, code)
	if e, ok := unitRefusal(status, code, cause); ok {
		return OutcomeRejected, e
	}

	switch {
	case status == http.StatusNotFound && code == ErrNotFound:
		return OutcomeNotFound, &services.Error{Code: r.notFound, Cause: cause}
	case status == http.StatusNotFound && code == ErrNoAccount:
		return OutcomeNotFound, &services.Error{Code: services.CodeAccountNotFound, Cause: cause}
	case status >= 500 && code == ErrMaintenance:
		return OutcomeMaintenance, &services.Error{
			Code:       services.CodeCoreMaintenance,
			RetryAfter: retryAfter(resp.Header.Get("Retry-After"), c.now()),
			Cause:      cause,
		}
	case status == http.StatusUnauthorized && code == ErrBadCredentials && r.credentials:
		return OutcomeRejected, &services.Error{
			Code:   services.CodeCoreRejected,
			Params: map[string]any{"reason": ErrBadCredentials},
			Cause:  fmt.Errorf("%w (%v)", ErrInvalidCredentials, cause),
		}
	case status == http.StatusUnauthorized && (code == ErrBadSignature || code == ErrReplayed):
		return OutcomeError, &services.Error{
			Code:  services.CodeCoreUnavailable,
			Cause: fmt.Errorf("%w: %v: check the key id, the secret and the clock", ErrSignatureRejected, cause),
		}
	case status == http.StatusConflict:
		return OutcomeRejected, &services.Error{
			Code:   services.CodeCoreRejected,
			Params: map[string]any{"reason": ErrConflict},
			Cause:  cause,
		}
	case status == http.StatusBadRequest:
		return OutcomeRejected, &services.Error{
			Code:   services.CodeCoreRejected,
			Params: map[string]any{"reason": ErrBadRequest},
			Cause:  cause,
		}
	}
	// 404 without a contract code (a wrong BaseURL), 403, 429, other 5xx:
	// the core is unusable right now, whatever the reason.
	return OutcomeError, &services.Error{
		Code:       services.CodeCoreUnavailable,
		RetryAfter: retryAfter(resp.Header.Get("Retry-After"), c.now()),
		Cause:      cause,
	}
}

// transportError translates a failure to get an answer at all. It drops the
// URL that net/http puts into its errors: the path carries a person id and
// the query carries what was asked.
func transportError(ctx context.Context, endpoint string, err error) (string, error) {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	outcome := OutcomeError
	var ne net.Error
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		outcome = OutcomeCanceled
		err = fmt.Errorf("%w (%v)", context.Canceled, err)
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
		outcome = OutcomeTimeout
		if !errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("%w (%v)", context.DeadlineExceeded, err)
		}
	case errors.As(err, &ne) && ne.Timeout():
		outcome = OutcomeTimeout
	}
	return outcome, &services.Error{
		Code:  services.CodeCoreUnavailable,
		Cause: fmt.Errorf("core %s: %w", endpoint, err),
	}
}

// retryAfter reads a Retry-After header in either form (delay-seconds or an
// HTTP date, RFC 9110 §10.2.3); zero when absent, malformed or in the past.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		const maxSecs = int64(7 * 24 * time.Hour / time.Second)
		return time.Duration(min(secs, maxSecs)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d.Round(time.Second)
		}
	}
	return 0
}
