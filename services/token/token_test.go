package token_test

import (
	"encoding/base64"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"handheld/services"
	"handheld/services/keys"
	"handheld/services/suite"
	"handheld/services/token"
)

// clock is the injected time source; tests move it by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2025, 3, 14, 10, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// fixture is a key directory, its ring, a clock and the Tokens built on them.
type fixture struct {
	dir    string
	ring   *keys.Ring
	clock  *clock
	tokens *token.Tokens
}

const (
	issuer   = "https://hpf.example.cn"
	audience = "handheld"
	ttl      = 10 * time.Minute
	leeway   = 5 * time.Second
)

func config(c *clock, cacheSize int) token.Config {
	return token.Config{Issuer: issuer, Audience: audience, TTL: ttl, Leeway: leeway, Now: c.Now, CacheSize: cacheSize}
}

func newFixture(t testing.TB, cacheSize int) *fixture {
	t.Helper()
	f := &fixture{dir: filepath.Join(t.TempDir(), "keys"), clock: newClock()}
	var err error
	if f.ring, err = keys.Ensure(f.dir, f.clock.Now(), suite.Env()); err != nil {
		t.Fatal(err)
	}
	if f.tokens, err = token.New(config(f.clock, cacheSize), f.ring); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) mint(t testing.TB, c token.Claims) string {
	t.Helper()
	tok, _, err := f.tokens.Mint(c)
	if err != nil {
		t.Fatalf("Mint: %v", err)
	}
	return tok
}

var depositor = token.Claims{Subject: "s_01JQ7ZK3", Channel: services.ChannelMiniApp, Role: services.RoleDepositor, Session: "sess_1",
	ACR: services.ACRFace, AuthTime: time.Date(2025, 3, 14, 9, 58, 0, 0, time.UTC)}

// segment decodes one part of a compact JWT into a map.
func segment(t testing.TB, tok string, i int) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[i])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMintVerifyRoundTrip(t *testing.T) {
	f := newFixture(t, 0)
	now := f.clock.Now()
	employer := token.Claims{Subject: "op_1", Channel: services.ChannelApp, Role: services.RoleEmployer, Session: "sess_2", Unit: "91350100M000100Y43"}
	kiosk := token.Claims{Subject: "device:k1", Channel: services.ChannelKiosk, Role: services.RoleKiosk, Session: "sess_3", Device: "k1"}
	for _, in := range []token.Claims{depositor, employer, kiosk} {
		tok, exp, err := f.tokens.Mint(in)
		if err != nil {
			t.Fatalf("Mint(%+v): %v", in, err)
		}
		if !exp.Equal(now.Add(ttl)) {
			t.Errorf("Mint exp = %v, want now+TTL %v", exp, now.Add(ttl))
		}
		got, err := f.tokens.Verify(tok)
		if err != nil {
			t.Fatalf("Verify(minted %s token): %v", in.Role, err)
		}
		want := in
		want.IssuedAt, want.NotBefore, want.ExpiresAt = now, now, now.Add(ttl)
		if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(token.Claims{}, "ID")); diff != "" {
			t.Errorf("Verify claims (-want +got):\n%s", diff)
		}
		if len(got.ID) != 22 {
			t.Errorf("jti = %q, want 128 random bits in base64url", got.ID)
		}

		kid := f.ring.Signer(keys.PurposeTokens).KID
		wantHeader := map[string]any{"alg": suite.Env().Signature(), "typ": "at+jwt", "kid": kid}
		if diff := cmp.Diff(wantHeader, segment(t, tok, 0)); diff != "" {
			t.Errorf("header (-want +got):\n%s", diff)
		}
		wantNames := []string{"aud", "chn", "exp", "iat", "iss", "jti", "nbf", "role", "sid", "sub"}
		if in.Unit != "" {
			wantNames = append(wantNames, "unit")
		}
		if in.Device != "" {
			wantNames = append(wantNames, "dev")
		}
		if in.ACR != "" {
			wantNames = append(wantNames, "acr", "auth_time")
		}
		slices.Sort(wantNames)
		if diff := cmp.Diff(wantNames, slices.Sorted(maps.Keys(segment(t, tok, 1)))); diff != "" {
			t.Errorf("claim names for %s (-want +got):\n%s", in.Role, diff)
		}
	}
	if a, b := f.mint(t, depositor), f.mint(t, depositor); a == b {
		t.Error("two mints of the same claims gave the same token; jti is not random")
	}
}

func TestMintNeverOutlivesTheSession(t *testing.T) {
	f := newFixture(t, 0)
	now := f.clock.Now()
	for _, tt := range []struct {
		session time.Time
		want    time.Time
	}{
		{now.Add(3 * time.Minute), now.Add(3 * time.Minute)},
		{now.Add(3*time.Minute + 500*time.Millisecond), now.Add(3 * time.Minute)},
		{now.Add(time.Hour), now.Add(ttl)},
	} {
		c := depositor
		c.ExpiresAt = tt.session
		tok, exp, err := f.tokens.Mint(c)
		if err != nil {
			t.Fatal(err)
		}
		got, err := f.tokens.Verify(tok)
		if err != nil {
			t.Fatal(err)
		}
		if !exp.Equal(tt.want) || !got.ExpiresAt.Equal(tt.want) {
			t.Errorf("session ends %v: exp = %v (claim %v), want %v", tt.session, exp, got.ExpiresAt, tt.want)
		}
	}
	for _, past := range []time.Time{now, now.Add(-time.Second), now.Add(400 * time.Millisecond)} {
		c := depositor
		c.ExpiresAt = past
		if _, _, err := f.tokens.Mint(c); err == nil {
			t.Errorf("Mint with a session ending at %v succeeded", past)
		}
	}
}

func TestMintRejectsBadClaims(t *testing.T) {
	f := newFixture(t, 0)
	with := func(edit func(*token.Claims)) token.Claims { c := depositor; edit(&c); return c }
	tests := map[string]token.Claims{
		"no subject":            with(func(c *token.Claims) { c.Subject = "" }),
		"no session":            with(func(c *token.Claims) { c.Session = "" }),
		"unknown channel":       with(func(c *token.Claims) { c.Channel = "web" }),
		"unknown role":          with(func(c *token.Claims) { c.Role = "admin" }),
		"employer without unit": with(func(c *token.Claims) { c.Role, c.Channel = services.RoleEmployer, services.ChannelApp }),
		"unit on a depositor":   with(func(c *token.Claims) { c.Unit = "91350100M000100Y43" }),
		"kiosk without device":  with(func(c *token.Claims) { c.Role, c.Channel = services.RoleKiosk, services.ChannelKiosk }),
		"device off the kiosk":  with(func(c *token.Claims) { c.Device = "k1" }),
		"depositor without acr": with(func(c *token.Claims) { c.ACR, c.AuthTime = "", time.Time{} }),
		"unknown acr":           with(func(c *token.Claims) { c.ACR = "password" }),
		"acr without auth_time": with(func(c *token.Claims) { c.AuthTime = time.Time{} }),
		"auth_time in the future": with(func(c *token.Claims) {
			c.AuthTime = time.Date(2025, 3, 14, 10, 5, 0, 0, time.UTC)
		}),
		"acr on an employer": with(func(c *token.Claims) {
			c.Role, c.Channel, c.Unit = services.RoleEmployer, services.ChannelApp, "91350100M000100Y43"
		}),
	}
	for name, c := range tests {
		if tok, _, err := f.tokens.Mint(c); err == nil {
			t.Errorf("%s: Mint succeeded (%d bytes), want an error", name, len(tok))
		}
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	f := newFixture(t, 0)
	with := func(edit func(*token.Config)) token.Config { c := config(f.clock, 10); edit(&c); return c }
	tests := map[string]token.Config{
		"no issuer":        with(func(c *token.Config) { c.Issuer = "" }),
		"no audience":      with(func(c *token.Config) { c.Audience = "" }),
		"zero TTL":         with(func(c *token.Config) { c.TTL = 0 }),
		"TTL over 15 min":  with(func(c *token.Config) { c.TTL = 16 * time.Minute }),
		"negative leeway":  with(func(c *token.Config) { c.Leeway = -time.Second }),
		"leeway too large": with(func(c *token.Config) { c.Leeway = 2 * time.Minute }),
		"negative cache":   with(func(c *token.Config) { c.CacheSize = -1 }),
	}
	if _, err := token.New(with(func(*token.Config) {}), f.ring); err != nil {
		t.Fatalf("New with the base config: %v", err)
	}
	for name, cfg := range tests {
		if _, err := token.New(cfg, f.ring); err == nil {
			t.Errorf("%s: New succeeded, want an error", name)
		}
	}
	if _, err := token.New(config(f.clock, 0), nil); err == nil {
		t.Error("New without a ring succeeded")
	}
	ecardOnly, err := keys.Load(f.dir, suite.Env(), keys.PurposeECard)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := token.New(config(f.clock, 0), ecardOnly); err == nil || !strings.Contains(err.Error(), `"tokens" signing key`) {
		t.Errorf("New with a ring lacking tokens keys: %v", err)
	}
}

// TestRotationDoesNotLogAnyoneOut walks the documented rotation: tokens
// signed before it keep verifying, new ones carry the new kid, and only
// deleting the old key file ends the old tokens.
func TestRotationDoesNotLogAnyoneOut(t *testing.T) {
	f := newFixture(t, 0)
	oldKid := f.ring.Signer(keys.PurposeTokens).KID
	before := f.mint(t, depositor)

	newKid, err := keys.Rotate(f.dir, keys.PurposeTokens, f.clock.Now(), suite.Env())
	if err != nil {
		t.Fatal(err)
	}
	reload := func() *token.Tokens {
		r, err := keys.Load(f.dir, suite.Env())
		if err != nil {
			t.Fatal(err)
		}
		tk, err := token.New(config(f.clock, 100), r)
		if err != nil {
			t.Fatal(err)
		}
		return tk
	}
	rotated := reload()
	if _, err := rotated.Verify(before); err != nil {
		t.Errorf("token from before the rotation no longer verifies: %v", err)
	}
	after, _, err := rotated.Mint(depositor)
	if err != nil {
		t.Fatal(err)
	}
	if kid := segment(t, after, 0)["kid"]; kid != newKid {
		t.Errorf("new token kid = %v, want the new key %q", kid, newKid)
	}
	if _, err := rotated.Verify(after); err != nil {
		t.Errorf("new token does not verify: %v", err)
	}

	if err := os.Remove(filepath.Join(f.dir, keys.PurposeTokens, oldKid+".pem")); err != nil {
		t.Fatal(err)
	}
	retired := reload()
	if _, err := retired.Verify(before); services.ErrorCode(err) != services.CodeTokenInvalid {
		t.Errorf("token of a deleted key: error %v, want %s", err, services.CodeTokenInvalid)
	}
	if _, err := retired.Verify(after); err != nil {
		t.Errorf("new token after retiring the old key: %v", err)
	}
}

// Device tokens live DeviceTTL; people's tokens never exceed TTL.
func TestDeviceTTL(t *testing.T) {
	f := newFixture(t, 0)
	now := f.clock.Now()
	ring := f.ring
	tk, err := token.New(token.Config{Issuer: "handheld", Audience: "handheld", TTL: 15 * time.Minute,
		DeviceTTL: time.Hour, Now: f.clock.Now}, ring)
	if err != nil {
		t.Fatal(err)
	}
	_, exp, err := tk.Mint(token.Claims{Subject: "device:k1", Role: services.RoleKiosk, Channel: services.ChannelKiosk, Session: "s1", Device: "k1"})
	if err != nil || exp.Sub(now) != time.Hour {
		t.Fatalf("device token lives %v (%v)", exp.Sub(now), err)
	}
	_, exp, err = tk.Mint(token.Claims{Subject: "s_1", Role: services.RoleDepositor, Channel: services.ChannelKiosk, Session: "s2",
		ACR: services.ACRFace, AuthTime: now})
	if err != nil || exp.Sub(now) != 15*time.Minute {
		t.Fatalf("citizen token lives %v (%v)", exp.Sub(now), err)
	}
	if _, err := token.New(token.Config{Issuer: "h", Audience: "h", TTL: time.Minute, DeviceTTL: 2 * time.Hour}, ring); err == nil {
		t.Fatal("DeviceTTL over an hour accepted")
	}
}

// TestSwitchingSuitesLogsNoOneOut moves the centre from intl to sm: a token
// minted under intl still verifies after the switch, new tokens are SM2,
// and a token's header cannot claim the other suite's algorithm for its key.
func TestSwitchingSuitesLogsNoOneOut(t *testing.T) {
	c := newClock()
	dir := filepath.Join(t.TempDir(), "keys")
	build := func(s suite.Suite) *token.Tokens {
		r, err := keys.Ensure(dir, c.Now(), s)
		if err != nil {
			t.Fatal(err)
		}
		tk, err := token.New(config(c, 0), r)
		if err != nil {
			t.Fatal(err)
		}
		return tk
	}
	before, _, err := build(suite.Intl).Mint(depositor)
	if err != nil {
		t.Fatal(err)
	}
	sm := build(suite.SM)
	if _, err := sm.Verify(before); err != nil {
		t.Errorf("an intl token no longer verifies under sm: %v", err)
	}
	after, _, err := sm.Mint(depositor)
	if err != nil {
		t.Fatal(err)
	}
	if alg := segment(t, after, 0)["alg"]; alg != keys.AlgSM2 {
		t.Errorf("a token minted under sm has alg %v", alg)
	}
	if _, err := sm.Verify(after); err != nil {
		t.Errorf("an sm token does not verify: %v", err)
	}
	parts := strings.Split(before, ".")
	h := segment(t, before, 0)
	h["alg"] = keys.AlgSM2
	hb, _ := json.Marshal(h)
	swapped := base64.RawURLEncoding.EncodeToString(hb) + "." + parts[1] + "." + parts[2]
	if _, err := sm.Verify(swapped); services.ErrorCode(err) != services.CodeTokenInvalid || !strings.Contains(err.Error(), "the header says") {
		t.Errorf("an Ed25519 key's token relabelled SM2SM3: %v", err)
	}
}
