package coresim

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"handheld/services/core"
)

func TestParseFaults(t *testing.T) {
	tests := []struct {
		spec    string
		want    Faults
		wantErr string // a part of the error naming the bad piece
	}{
		{"", Faults{}, ""},
		{" ; ", Faults{}, ""},
		{"account=latency:50ms", Faults{"account": {{Kind: FaultLatency, Latency: 50 * time.Millisecond}}}, ""},
		{"account=latency:50ms;loan=error:1.0;withdrawal=down", Faults{
			"account":    {{Kind: FaultLatency, Latency: 50 * time.Millisecond}},
			"loan":       {{Kind: FaultError, Rate: 1}},
			"withdrawal": {{Kind: FaultDown}},
		}, ""},
		{"account=latency:50ms,error:0.2", Faults{"account": {{Kind: FaultLatency, Latency: 50 * time.Millisecond}, {Kind: FaultError, Rate: 0.2}}}, ""},
		{"all=error:0; person = down ;", Faults{"all": {{Kind: FaultError}}, "person": {{Kind: FaultDown}}}, ""},
		{"loan=down;loan=latency:1s", Faults{"loan": {{Kind: FaultDown}, {Kind: FaultLatency, Latency: time.Second}}}, ""},
		{"account", nil, `"account": want group=fault`},
		{"acount=down", nil, `unknown group "acount"`},
		{"health=down", nil, `unknown group "health"`},
		{"loan=eror:1.0", nil, `fault "eror:1.0": unknown`},
		{"loan=error:1.5", nil, `fault "error:1.5"`},
		{"loan=error:-0.1", nil, `fault "error:-0.1"`},
		{"loan=error:NaN", nil, `fault "error:NaN"`},
		{"loan=latency:fast", nil, `fault "latency:fast"`},
		{"loan=latency:-1s", nil, `fault "latency:-1s"`},
		{"loan=down:now", nil, `down takes no argument`},
		{"loan=", nil, `fault "": unknown`},
		{"account=latency:5ms;loan=error:2", nil, `"loan=error:2"`},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			got, err := ParseFaults(tt.spec)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseFaults(%q) error = %v, want one containing %q", tt.spec, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseFaults(%q): %v", tt.spec, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseFaults(%q) (-want +got):\n%s", tt.spec, diff)
			}
			again, err := ParseFaults(got.String())
			if err != nil || !cmp.Equal(got, again) {
				t.Errorf("String() %q does not parse back: %v", got.String(), err)
			}
		})
	}
}

func TestFaultsOverHTTP(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Faults = "account=latency:150ms;loan=error:1.0;withdrawal=down" })
	id := h.personID("张伟")

	start := time.Now()
	var a core.Account
	h.get(path(core.PathAccount, id), &a)
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("account answered in %v despite latency:150ms", d)
	}
	start = time.Now()
	var p core.Person
	h.get(path(core.PathPerson, id), &p)
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("person (no fault) took %v", d)
	}

	resp, b := h.request(http.MethodGet, path(core.PathLoan, id), nil, signing{})
	if resp.StatusCode != http.StatusInternalServerError && resp.StatusCode != http.StatusBadGateway {
		t.Errorf("loan with error:1.0 answered %d", resp.StatusCode)
	}
	wantError(t, resp, b, resp.StatusCode, core.ErrUnavailable)

	_, _, err := h.try(context.Background(), http.MethodGet, path(core.PathWithdrawal, "app-x"), nil, signing{})
	if err == nil {
		t.Fatal("withdrawal=down: the call succeeded, want a transport error")
	}
	if n := h.sim.Calls(GroupWithdrawal); n < 1 {
		t.Errorf("a dropped call is still a call: Calls = %d", n)
	}

	// Mid-run, over the admin endpoint: clear loan and withdrawal, break person.
	put(t, h, "/_sim/faults", "person=error:1", http.StatusNoContent)
	if got := getText(t, h, "/_sim/faults"); got != "person=error:1" {
		t.Errorf("GET /_sim/faults = %q", got)
	}
	var l core.Loan
	h.get(path(core.PathLoan, id), &l)
	resp, b = h.request(http.MethodGet, path(core.PathWithdrawal, "app-x"), nil, signing{})
	wantError(t, resp, b, http.StatusNotFound, core.ErrNotFound)
	resp, b = h.request(http.MethodGet, path(core.PathPerson, id), nil, signing{})
	wantError(t, resp, b, resp.StatusCode, core.ErrUnavailable)

	// A bad spec is refused with the bad part named, and changes nothing.
	body := put(t, h, "/_sim/faults", "loan=eror:1", http.StatusBadRequest)
	if !strings.Contains(body, "eror:1") {
		t.Errorf("400 body %q does not name the bad part", body)
	}
	if got := h.sim.CurrentFaults().String(); got != "person=error:1" {
		t.Errorf("faults after a bad PUT: %q", got)
	}
	put(t, h, "/_sim/faults", "", http.StatusNoContent)
	h.get(path(core.PathPerson, id), &p)
}

func TestLatencyRespectsCancellation(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Faults = "all=latency:5s" })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err := h.try(ctx, http.MethodGet, core.PathHealth, nil, signing{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the deadline", err)
	}
	// The server's handler must return too: closing the server waits for it.
	h.srv.CloseClientConnections()
	done := make(chan struct{})
	go func() { h.srv.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("the handler kept sleeping after the caller left")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v", d)
	}
}

func TestErrorRateIsSeededAndProportional(t *testing.T) {
	run := func() []int {
		h := newHarness(t, func(c *Config) { c.Faults = "all=error:0.3"; c.Seed = 7 })
		var codes []int
		for range 200 {
			resp, _ := h.request(http.MethodGet, core.PathHealth, nil, signing{})
			codes = append(codes, resp.StatusCode)
		}
		return codes
	}
	a, b := run(), run()
	if !cmp.Equal(a, b) {
		t.Error("the same seed gave different fault sequences")
	}
	failed := 0
	for _, c := range a {
		if c != http.StatusOK {
			failed++
		}
	}
	if failed < 30 || failed > 90 {
		t.Errorf("%d of 200 calls failed with error:0.3", failed)
	}
}

func TestInProcessDownAborts(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Faults = "all=down" })
	req, _ := http.NewRequest(http.MethodGet, core.PathHealth, nil)
	defer func() {
		if r := recover(); r != http.ErrAbortHandler {
			t.Errorf("recovered %v, want http.ErrAbortHandler", r)
		}
	}()
	h.sim.Handler().ServeHTTP(recorderWithoutHijack{header: http.Header{}}, req)
	t.Error("the handler returned normally")
}

// recorderWithoutHijack is a ResponseWriter like an in-process transport's.
type recorderWithoutHijack struct{ header http.Header }

func (r recorderWithoutHijack) Header() http.Header         { return r.header }
func (r recorderWithoutHijack) Write(b []byte) (int, error) { return len(b), nil }
func (r recorderWithoutHijack) WriteHeader(int)             {}

// put sends an admin PUT with a text body and returns the answer's body.
func put(t *testing.T, h *harness, p, body string, want int) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, h.srv.URL+p, strings.NewReader(body))
	resp, err := h.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("PUT %s %q: %d %s, want %d", p, body, resp.StatusCode, b, want)
	}
	return string(b)
}

func getText(t *testing.T, h *harness, p string) string {
	t.Helper()
	resp, err := h.http.Get(h.srv.URL + p)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strings.TrimSpace(string(b))
}
