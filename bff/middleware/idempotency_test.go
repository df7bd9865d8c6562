package middleware

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"handheld/services"
	"handheld/services/idempotency"
	"handheld/services/store"
	"handheld/services/store/storetest"
)

// idemRig is a tiny app with one creating route behind Idempotency. The
// handler answers 201 with a body that counts its runs, so a replay is
// told from a second run; a body of "fail" makes it fail, "teapot" makes it
// answer 418 itself, and while gate is set it waits on it.
type idemRig struct {
	t     *testing.T
	app   *fiber.App
	keys  *idempotency.Keys
	runs  atomic.Int32
	gate  chan struct{}
	clock atomic.Int64 // unix microseconds
}

func newIdemRig(t *testing.T, s *store.Store) *idemRig {
	r := &idemRig{t: t}
	r.clock.Store(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC).UnixMicro())
	now := func() time.Time { return time.UnixMicro(r.clock.Load()) }
	r.keys = idempotency.New(s, now)
	r.app = fiber.New(fiber.Config{Immutable: true, DisableStartupMessage: true, ErrorHandler: func(c *fiber.Ctx, err error) error {
		code := services.ErrorCode(err)
		return c.Status(code.Status()).JSON(fiber.Map{"code": string(code)})
	}})
	r.app.Use(Recover(slog.New(slog.DiscardHandler)), func(c *fiber.Ctx) error {
		if sub := c.Get("X-Subject"); sub != "" {
			c.Locals(localPrincipal, services.Principal{Subject: sub, Role: services.RoleDepositor, Channel: services.ChannelMiniApp})
		}
		return c.Next()
	})
	r.app.Post("/things", Idempotency(r.keys), func(c *fiber.Ctx) error {
		n := r.runs.Add(1)
		if r.gate != nil {
			<-r.gate
		}
		switch string(c.Body()) {
		case "fail":
			return services.Invalid(services.FieldError{Field: "x", Code: services.FieldRequired})
		case "teapot":
			return c.Status(fiber.StatusTeapot).SendString("no")
		case "panic":
			panic("handler bug")
		}
		c.Set(fiber.HeaderCacheControl, "no-store")
		return c.Status(fiber.StatusCreated).JSON(fiber.Map{"run": n, "body": string(c.Body())})
	})
	return r
}

type idemResponse struct {
	status   int
	body     string
	ctype    string
	replayed string
}

func (r *idemRig) post(subject, key, body string) idemResponse {
	r.t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/things", strings.NewReader(body))
	if subject != "" {
		req.Header.Set("X-Subject", subject)
	}
	if key != "" {
		req.Header.Set(HeaderIdempotencyKey, key)
	}
	resp, err := r.app.Test(req, -1)
	if err != nil {
		r.t.Fatalf("POST: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return idemResponse{status: resp.StatusCode, body: string(b), ctype: resp.Header.Get(fiber.HeaderContentType),
		replayed: resp.Header.Get(HeaderIdempotentReplayed)}
}

func (r *idemRig) wantCode(got idemResponse, status int, code services.Code) {
	r.t.Helper()
	if got.status != status || !strings.Contains(got.body, `"`+string(code)+`"`) {
		r.t.Fatalf("got %d %s, want %d %s", got.status, got.body, status, code)
	}
}

func (r *idemRig) advance(d time.Duration) { r.clock.Add(d.Microseconds()) }

func TestIdempotencyKeyChecks(t *testing.T) {
	r := newIdemRig(t, storetest.Migrated(t, storetest.SQLiteDSN(t)))
	r.wantCode(r.post("s1", "", `{}`), 400, services.CodeIdempotencyKeyMissing)
	for _, bad := range []string{strings.Repeat("k", 129), "ключ", "tab\there"} {
		r.wantCode(r.post("s1", bad, `{}`), 400, services.CodeIdempotencyKeyInvalid)
	}
	r.wantCode(r.post("", "k1", `{}`), 401, services.CodeTokenMissing)
	if got := r.post("s1", strings.Repeat("k", 128), `{}`); got.status != 201 {
		t.Fatalf("128-character key: %d %s", got.status, got.body)
	}
	if got := r.post("s1", "a key with spaces ~!", `{}`); got.status != 201 {
		t.Fatalf("printable key: %d %s", got.status, got.body)
	}
	if n := r.runs.Load(); n != 2 {
		t.Fatalf("handler ran %d times, want 2 (refused keys never reach it)", n)
	}
}

func TestIdempotencyReplayReuseRelease(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newIdemRig(t, s)
		first := r.post("s1", "k1", `{"a":1}`)
		if first.status != 201 || first.replayed != "" || !strings.Contains(first.body, `"run":1`) {
			t.Fatalf("first: %+v", first)
		}
		again := r.post("s1", "k1", `{"a":1}`)
		if again.status != 201 || again.body != first.body || again.ctype != first.ctype || again.replayed != "true" {
			t.Fatalf("replay: %+v, first %+v", again, first)
		}
		r.wantCode(r.post("s1", "k1", `{"a":2}`), 422, services.CodeIdempotencyKeyReused)

		// Another caller's key of the same name is another key.
		if other := r.post("s2", "k1", `{"a":1}`); other.status != 201 || other.replayed != "" || !strings.Contains(other.body, `"run":2`) {
			t.Fatalf("other subject: %+v", other)
		}

		// A failure releases the key: the corrected retry runs.
		r.wantCode(r.post("s1", "k2", `fail`), 400, services.CodeInvalid)
		if got := r.post("s1", "k2", `fail`); got.status != 400 || got.replayed != "" {
			t.Fatalf("failure replayed: %+v", got)
		}
		if got := r.post("s1", "k3", `teapot`); got.status != 418 {
			t.Fatalf("teapot: %+v", got)
		}
		if got := r.post("s1", "k3", `{"a":3}`); got.status != 201 || got.replayed != "" {
			t.Fatalf("after a 418 the key is free: %+v", got)
		}
		r.wantCode(r.post("s1", "k4", `panic`), 500, services.CodeInternal)
		if got := r.post("s1", "k4", `{"a":4}`); got.status != 201 || got.replayed != "" {
			t.Fatalf("after a panic the key is free: %+v", got)
		}
		if n := r.runs.Load(); n != 8 {
			t.Fatalf("handler ran %d times, want 8", n)
		}

		// After the retention period the key is new again.
		r.advance(idempotency.Retention + time.Second)
		if got := r.post("s1", "k1", `{"a":2}`); got.status != 201 || got.replayed != "" {
			t.Fatalf("after retention: %+v", got)
		}
	})
}

func TestIdempotencyInFlight(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newIdemRig(t, s)
		r.gate = make(chan struct{})
		done := make(chan idemResponse)
		go func() { done <- r.post("s1", "k1", `{}`) }()
		waitFor(t, func() bool { return r.runs.Load() == 1 })
		r.wantCode(r.post("s1", "k1", `{}`), 409, services.CodeIdempotencyInFlight)
		r.wantCode(r.post("s1", "k1", `{"other":1}`), 422, services.CodeIdempotencyKeyReused)
		close(r.gate)
		if first := <-done; first.status != 201 {
			t.Fatalf("first: %+v", first)
		}
		if got := r.post("s1", "k1", `{}`); got.status != 201 || got.replayed != "true" {
			t.Fatalf("after completion: %+v", got)
		}
	})
}

func TestIdempotencyAbandonedClaimIsTakenOver(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newIdemRig(t, s)
		// A replica claimed the key and died before answering.
		scope := "s1 POST /things"
		if _, _, err := r.keys.Claim(t.Context(), scope, "k1", requestHash("POST", "/things", []byte(`{}`))); err != nil {
			t.Fatal(err)
		}
		r.wantCode(r.post("s1", "k1", `{}`), 409, services.CodeIdempotencyInFlight)
		r.advance(idempotency.ClaimTimeout + time.Second)
		if got := r.post("s1", "k1", `{}`); got.status != 201 || got.replayed != "" {
			t.Fatalf("abandoned claim: %+v", got)
		}
		if got := r.post("s1", "k1", `{}`); got.replayed != "true" {
			t.Fatalf("then replayed: %+v", got)
		}
	})
}

func TestIdempotencyConcurrentDuplicates(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newIdemRig(t, s)
		r.gate = make(chan struct{})
		const n = 12
		var wg sync.WaitGroup
		results := make(chan idemResponse, n)
		for range n {
			wg.Go(func() { results <- r.post("s1", "same", `{"x":1}`) })
		}
		// Every duplicate is refused while the one claim holds.
		waitFor(t, func() bool { return len(results) == n-1 })
		close(r.gate)
		wg.Wait()
		close(results)
		created, inFlight := 0, 0
		for got := range results {
			switch {
			case got.status == 201 && got.replayed == "":
				created++
			case got.status == 409:
				inFlight++
			default:
				t.Errorf("unexpected %+v", got)
			}
		}
		if created != 1 || inFlight != n-1 || r.runs.Load() != 1 {
			t.Fatalf("created %d, in flight %d, runs %d; want 1, %d, 1", created, inFlight, r.runs.Load(), n-1)
		}
	})
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal(errors.New("condition not met in 10 s"))
		}
		time.Sleep(5 * time.Millisecond)
	}
}
