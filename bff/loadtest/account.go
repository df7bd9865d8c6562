package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"handheld/bff"
	"handheld/services/core"
	"handheld/services/coresim"
	"handheld/services/ratelimit"
)

// stack is a handheld against the simulator served over real HTTP, with
// Redis for limits and sessions.
type stack struct {
	base string
	sim  *coresim.Sim
	stop func()
}

// roomy are policies that count every request but refuse none at bench load.
func roomy() []ratelimit.Policy {
	var out []ratelimit.Policy
	for _, p := range ratelimit.DefaultPolicies() {
		p.Rate, p.Burst, p.Period = 100_000, 100_000, time.Second
		if p.Key == ratelimit.KeyChannel { // ceilings stay above the per-address limits
			p.Rate, p.Burst = 200_000, 200_000
		}
		out = append(out, p)
	}
	return out
}

func startStack(ctx context.Context, o Options, edit func(*bff.Config)) (*stack, error) {
	dir, err := os.MkdirTemp("", "handheld-bench-sim-")
	if err != nil {
		return nil, err
	}
	secret := strings.Repeat("b", 32)
	sim, err := coresim.Open(ctx, coresim.Config{Path: filepath.Join(dir, "coresim.db"), Keys: map[string][]byte{"handheld": []byte(secret)}, Now: time.Now})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	base, stopApp, err := benchApp(ctx, func(c *bff.Config) {
		c.RedisURL = o.RedisURL
		c.CoreURL = "http://" + ln.Addr().String()
		c.CoreSecret = secret
		c.RateLimits = roomy()
		edit(c)
	})
	if err != nil {
		return nil, err
	}
	return &stack{base: base, sim: sim, stop: func() {
		stopApp()
		_ = srv.Close()
		_ = sim.Close()
		_ = os.RemoveAll(dir)
	}}, nil
}

// signIn binds a sandbox openid to the first depositor and returns a bearer header.
func (s *stack) signIn() (http.Header, error) { return signInAt(s.base, s.sim) }

// signInAt signs the simulator's first depositor in at the handheld at base.
func signInAt(base string, sim *coresim.Sim) (http.Header, error) {
	post := func(path, bearer string, body any) (map[string]any, error) {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", base+path, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		var m map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || resp.StatusCode != 200 {
			return nil, fmt.Errorf("%s: %d %v", path, resp.StatusCode, m)
		}
		return m, nil
	}
	m, err := post("/api/v1/auth/wechat", "", map[string]string{"code": "sandbox:oBenchUser000001"})
	if err != nil {
		return nil, err
	}
	p := sim.Personas()[0]
	m, err = post("/api/v1/auth/bind", fmt.Sprint(m["binding_token"]), map[string]string{"name": p.Name, "id_number": p.IDNumber,
		"face_result": p.FaceToken}) // the sandbox's face result
	if err != nil {
		return nil, err
	}
	return http.Header{"Authorization": {"Bearer " + fmt.Sprint(m["access_token"])}}, nil
}

// helloWorld is the baseline: a bare Fiber app answering a small JSON.
func helloWorld() (string, func(), error) {
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get("/", func(c *fiber.Ctx) error { return c.JSON(fiber.Map{"hello": "world"}) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	go func() { _ = app.Listener(ln) }()
	return "http://" + ln.Addr().String() + "/", func() { _ = app.Shutdown() }, nil
}

// noCache reads the core on every request (singleflight still merges
// identical concurrent reads).
func noCache(c *bff.Config) {
	rc := core.DefaultReaderConfig()
	for _, p := range []*core.ReadPolicy{&rc.Person, &rc.Account, &rc.Deposits, &rc.Loan, &rc.Certificate, &rc.Employer} {
		p.FreshFor = 0
	}
	c.CoreReads = &rc
}

// benchAccount: full-stack GET /me/account against a bare Fiber hello
// world. The hello world runs before and after each configuration, and each
// configuration's ratio is to the mean of the two on either side of it: on
// a shared machine the baseline drifts within a run by more than the
// differences measured.
func benchAccount(ctx context.Context, o Options, w io.Writer) error {
	hello, stopHello, err := helloWorld()
	if err != nil {
		return err
	}
	defer stopHello()
	bare := func() (result, error) {
		return load(ctx, "bare Fiber JSON hello world", hello, nil, o.Concurrency, o.Duration)
	}
	before, err := bare()
	if err != nil {
		return err
	}
	results := []result{before}
	for _, run := range []struct {
		label string
		edit  func(*bff.Config)
	}{
		{"GET /me/account, core cache on (30 s)", func(*bff.Config) {}},
		{"GET /me/account, every read to the core", noCache},
		{"GET /me/account, core cache on, 国密 suite (sm)", func(c *bff.Config) { c.Crypto = "sm" }},
	} {
		s, err := startStack(ctx, o, run.edit)
		if err != nil {
			return err
		}
		auth, err := s.signIn()
		if err != nil {
			s.stop()
			return err
		}
		r, err := load(ctx, run.label, s.base+"/api/v1/me/account", auth, o.Concurrency, o.Duration)
		s.stop()
		if err != nil {
			return err
		}
		after, err := bare()
		if err != nil {
			return err
		}
		r.base = (before.rps + after.rps) / 2
		before = after
		after.base = after.rps
		results = append(results, r, after)
	}
	table(w, results...)
	fmt.Fprintln(w, "\neach /me/account ratio is to the mean of the bare runs just before and after it")
	return nil
}

// slowCore starts a stack with the fresh cache off, signs in, then gives
// the core the latencies in faults.
func slowCore(ctx context.Context, o Options, faults string) (*stack, http.Header, error) {
	s, err := startStack(ctx, o, noCache)
	if err != nil {
		return nil, nil, err
	}
	auth, err := s.signIn()
	if err == nil {
		err = s.sim.SetFaults(faults)
	}
	if err != nil {
		s.stop()
		return nil, nil, err
	}
	return s, auth, nil
}

// benchHome: /me/home with its parts' core latencies at 20, 40 and 60 ms:
// fetched in parallel, p50 should sit near the slowest part, not the sum.
func benchHome(ctx context.Context, o Options, w io.Writer) error {
	s, auth, err := slowCore(ctx, o, "account=latency:20ms;loan=latency:40ms;person=latency:60ms")
	if err != nil {
		return err
	}
	defer s.stop()
	r, err := load(ctx, "GET /me/home (account 20 ms, loan 40 ms, person 60 ms)", s.base+"/api/v1/me/home", auth, min(o.Concurrency, 8), o.Duration)
	if err != nil {
		return err
	}
	table(w, r)
	fmt.Fprintf(w, "\nslowest part 60 ms, sum 120 ms: p50 %s is %s above the slowest part\n", r.p50.Round(time.Millisecond), (r.p50 - 60*time.Millisecond).Round(time.Millisecond))
	return nil
}

// benchBurst: 100 concurrent identical reads for one subject, with the
// cache off and the core slow enough for them to overlap, cost the core
// one call.
func benchBurst(ctx context.Context, o Options, w io.Writer) error {
	s, auth, err := slowCore(ctx, o, "account=latency:100ms")
	if err != nil {
		return err
	}
	defer s.stop()
	before := s.sim.Calls("account")
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 100}}
	for range 100 {
		wg.Go(func() {
			req, _ := http.NewRequestWithContext(ctx, "GET", s.base+"/api/v1/me/account", nil)
			req.Header = auth.Clone()
			resp, err := client.Do(req)
			if err != nil {
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				mu.Lock()
				ok++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	calls := s.sim.Calls("account") - before
	fmt.Fprintf(w, "| concurrent reads | answered 200 | account calls at the core |\n|---|---|---|\n| 100 | %d | %d |\n", ok, calls)
	if ok != 100 {
		return errors.New("not every read was answered")
	}
	return nil
}
