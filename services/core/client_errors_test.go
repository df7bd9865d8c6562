package core

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"handheld/services"
)

func TestClientTranslatesCoreErrors(t *testing.T) {
	ctx := context.Background()
	// calls maps a name to one client call, so each row can pick the
	// endpoint whose not-found code it checks.
	calls := map[string]func(*Client) error{
		"account":    func(c *Client) error { _, err := c.Account(ctx, "P1"); return err },
		"verify":     func(c *Client) error { _, err := c.VerifyRealName(ctx, "张三", "110101199003074514"); return err },
		"unit":       func(c *Client) error { _, err := c.Unit(ctx, "91110000100000000A"); return err },
		"staff":      func(c *Client) error { _, err := c.Staff(ctx, "91110000100000000A", 10, ""); return err },
		"withdrawal": func(c *Client) error { _, err := c.Withdrawal(ctx, "A1"); return err },
		"cancel":     func(c *Client) error { _, err := c.CancelWithdrawal(ctx, "A1"); return err },
		"operator": func(c *Client) error {
			_, err := c.AuthenticateOperator(ctx, OperatorLogin{UnitCode: "U1", OperatorID: "op", Password: "hunter2-secret"})
			return err
		},
	}
	tests := []struct {
		name        string
		call        string
		status      int
		body        string
		retryAfter  string
		wantCode    services.Code
		wantOutcome string
		wantRetry   time.Duration
		wantReason  string
		wantIs      error
	}{
		{"person not found", "account", 404, `{"code":"not_found","message":"no person P1"}`, "", services.CodePersonNotFound, OutcomeNotFound, 0, "", nil},
		{"real name mismatch", "verify", 404, `{"code":"not_found","message":"no match"}`, "", services.CodePersonNotFound, OutcomeNotFound, 0, "", nil},
		{"no account", "account", 404, `{"code":"no_account","message":""}`, "", services.CodeAccountNotFound, OutcomeNotFound, 0, "", nil},
		{"unit not found", "unit", 404, `{"code":"not_found","message":""}`, "", services.CodeUnitNotFound, OutcomeNotFound, 0, "", nil},
		{"staff of unknown unit", "staff", 404, `{"code":"not_found","message":""}`, "", services.CodeUnitNotFound, OutcomeNotFound, 0, "", nil},
		{"application not found", "withdrawal", 404, `{"code":"not_found","message":""}`, "", services.CodeNotFound, OutcomeNotFound, 0, "", nil},
		{"404 without contract body", "account", 404, `<html>nginx</html>`, "", services.CodeCoreUnavailable, OutcomeError, 0, "", nil},
		{"maintenance seconds", "account", 503, `{"code":"maintenance","message":"batch"}`, "120", services.CodeCoreMaintenance, OutcomeMaintenance, 2 * time.Minute, "", nil},
		{"maintenance http date", "account", 503, `{"code":"maintenance","message":"batch"}`, "Sun, 15 Jun 2025 15:16:40 GMT", services.CodeCoreMaintenance, OutcomeMaintenance, 10 * time.Minute, "", nil},
		{"maintenance without retry-after", "account", 503, `{"code":"maintenance"}`, "", services.CodeCoreMaintenance, OutcomeMaintenance, 0, "", nil},
		{"unavailable", "account", 503, `{"code":"unavailable"}`, "", services.CodeCoreUnavailable, OutcomeError, 0, "", nil},
		{"500 plain text", "account", 500, `oops`, "", services.CodeCoreUnavailable, OutcomeError, 0, "", nil},
		{"bad credentials", "operator", 401, `{"code":"bad_credentials","message":"wrong password hunter2-secret"}`, "", services.CodeCoreRejected, OutcomeRejected, 0, "bad_credentials", ErrInvalidCredentials},
		{"operator unit unknown", "operator", 404, `{"code":"not_found"}`, "", services.CodeUnitNotFound, OutcomeNotFound, 0, "", nil},
		{"bad credentials outside auth", "account", 401, `{"code":"bad_credentials"}`, "", services.CodeCoreUnavailable, OutcomeError, 0, "", nil},
		{"bad signature", "account", 401, `{"code":"bad_signature"}`, "", services.CodeCoreUnavailable, OutcomeError, 0, "", ErrSignatureRejected},
		{"replayed", "operator", 401, `{"code":"replayed"}`, "", services.CodeCoreUnavailable, OutcomeError, 0, "", ErrSignatureRejected},
		{"cancel after a decision", "cancel", 409, `{"code":"conflict"}`, "", services.CodeCoreRejected, OutcomeRejected, 0, "conflict", nil},
		{"cancel of unknown application", "cancel", 404, `{"code":"not_found"}`, "", services.CodeNotFound, OutcomeNotFound, 0, "", nil},
		{"conflict", "withdrawal", 409, `{"code":"conflict"}`, "", services.CodeCoreRejected, OutcomeRejected, 0, "conflict", nil},
		{"bad request", "verify", 400, `{"code":"bad_request","message":"id_number 110101199003074514 invalid"}`, "", services.CodeCoreRejected, OutcomeRejected, 0, "bad_request", nil},
		{"throttled", "account", 429, `{"code":"unavailable"}`, "30", services.CodeCoreUnavailable, OutcomeError, 30 * time.Second, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeCore(t, func(w http.ResponseWriter, r *http.Request) {
				if tt.retryAfter != "" {
					w.Header().Set("Retry-After", tt.retryAfter)
				}
				answer(tt.status, tt.body)(w, r)
			})
			c, rec := newTestClient(t, f)
			err := calls[tt.call](c)
			var e *services.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is not a *services.Error", err)
			}
			if e.Code != tt.wantCode {
				t.Errorf("code = %s, want %s (err %v)", e.Code, tt.wantCode, err)
			}
			if e.RetryAfter != tt.wantRetry {
				t.Errorf("RetryAfter = %s, want %s", e.RetryAfter, tt.wantRetry)
			}
			if got, _ := e.Params["reason"].(string); got != tt.wantReason {
				t.Errorf("Params[reason] = %q, want %q", got, tt.wantReason)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.wantIs)
			}
			if e.Cause == nil {
				t.Errorf("no cause kept for the log")
			}
			for _, secret := range []string{"hunter2-secret", "110101199003074514", "张三", "no person P1"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q carries request or answer text %q", err, secret)
				}
			}
			if obs := rec.all(); len(obs) != 1 || obs[0].outcome != tt.wantOutcome {
				t.Errorf("observations = %v, want one %s", obs, tt.wantOutcome)
			}
		})
	}
}

func TestClientHonoursItsTimeout(t *testing.T) {
	release := make(chan struct{})
	f := newFakeCore(t, func(w http.ResponseWriter, r *http.Request) {
		// Hold the answer until the client gives up (or the test ends): if
		// the client ignored its deadline the test would hang and fail.
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	t.Cleanup(func() { close(release) })
	c, rec := newTestClient(t, f, func(cfg *ClientConfig) { cfg.Timeout = 50 * time.Millisecond })

	_, err := c.Account(context.Background(), "P1")
	if code := services.ErrorCode(err); code != services.CodeCoreUnavailable {
		t.Fatalf("Account = %v, want core.unavailable", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("cause %v does not say the deadline passed", err)
	}
	if diff := cmp.Diff([]observation{{"account", OutcomeTimeout}}, rec.all(), cmp.AllowUnexported(observation{})); diff != "" {
		t.Errorf("observations (-want +got):\n%s", diff)
	}
}

func TestClientHonoursTheCallersShorterDeadline(t *testing.T) {
	release := make(chan struct{})
	f := newFakeCore(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	t.Cleanup(func() { close(release) })
	c, _ := newTestClient(t, f, func(cfg *ClientConfig) { cfg.Timeout = time.Hour })

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.Account(ctx, "P1"); !errors.Is(err, context.DeadlineExceeded) || services.ErrorCode(err) != services.CodeCoreUnavailable {
		t.Fatalf("Account = %v, want core.unavailable after the caller's deadline", err)
	}
}

func TestClientReportsCancellation(t *testing.T) {
	release := make(chan struct{})
	f := newFakeCore(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	t.Cleanup(func() { close(release) })
	c, rec := newTestClient(t, f)

	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for len(f.requests()) == 0 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	_, err := c.Account(ctx, "P1")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Account = %v, want a cause wrapping context.Canceled", err)
	}
	if obs := rec.all(); len(obs) != 1 || obs[0].outcome != OutcomeCanceled {
		t.Errorf("observations = %v, want one canceled", obs)
	}
}

func TestClientLimitsAnswerSize(t *testing.T) {
	big := `{"items":[],"next_cursor":"` + strings.Repeat("x", maxResponseBytes) + `"}`
	for _, tt := range []struct {
		name    string
		chunked bool // no Content-Length: the limit must hold while reading
	}{{"declared length", false}, {"chunked", true}} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeCore(t, func(w http.ResponseWriter, r *http.Request) {
				if !tt.chunked {
					w.Header().Set("Content-Length", fmt.Sprint(len(big)))
				}
				w.WriteHeader(200)
				if tt.chunked {
					w.(http.Flusher).Flush()
				}
				io.WriteString(w, big)
			})
			c, rec := newTestClient(t, f)
			_, err := c.Deposits(context.Background(), "P1", DepositQuery{})
			if code := services.ErrorCode(err); code != services.CodeCoreUnavailable {
				t.Fatalf("Deposits with a %d byte answer = %v, want core.unavailable", len(big), err)
			}
			if !strings.Contains(err.Error(), "limit") {
				t.Errorf("cause %q does not name the size limit", err)
			}
			if obs := rec.all(); len(obs) != 1 || obs[0].outcome != OutcomeError {
				t.Errorf("observations = %v, want one error", obs)
			}
		})
	}

	// Just under the cap still decodes: the limit is not off by one.
	fits := `{"items":[],"next_cursor":"` + strings.Repeat("x", maxResponseBytes-len(`{"items":[],"next_cursor":""}`)) + `"}`
	f := newFakeCore(t, answer(200, fits))
	c, _ := newTestClient(t, f)
	if _, err := c.Deposits(context.Background(), "P1", DepositQuery{}); err != nil {
		t.Fatalf("Deposits with a %d byte answer: %v", len(fits), err)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2025, 6, 15, 15, 26, 40, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"-5", 0},
		{"90", 90 * time.Second},
		{" 90 ", 90 * time.Second},
		{"99999999999", 7 * 24 * time.Hour},
		{"Sun, 15 Jun 2025 15:36:40 GMT", 10 * time.Minute},
		{"Sun, 15 Jun 2025 15:00:00 GMT", 0}, // in the past
		{"soon", 0},
	}
	for _, tt := range tests {
		if got := retryAfter(tt.in, now); got != tt.want {
			t.Errorf("retryAfter(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
