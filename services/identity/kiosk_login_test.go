package identity_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/identity"
	"handheld/services/keys"
	"handheld/services/kv"
	"handheld/services/redistest"
	"handheld/services/store/storetest"
	"handheld/services/suite"
	"handheld/services/token"
)

var kvSecret = []byte("0123456789abcdef0123456789abcdef")

// kioskFixture is identity with two kiosks, a clock the test moves and a
// kv the test chooses (in-process for logic, real Redis for races).
type kioskFixture struct {
	svc  *identity.Service
	kv   *countingKV
	keys map[string]ed25519.PrivateKey
	mu   sync.Mutex
	now  time.Time
}

func (f *kioskFixture) clock() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.now }
func (f *kioskFixture) wait(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

func newKioskFixture(t *testing.T, redis bool) *kioskFixture {
	t.Helper()
	// The clock starts behind real time: the token minter keeps real time and
	// refuses an auth_time in its future.
	f := &kioskFixture{keys: map[string]ed25519.PrivateKey{}, now: time.Now().Add(-30 * time.Minute)}
	var store kv.Store = kv.NewMemory(f.clock, services.NewHashKey(kvSecret, suite.Env()))
	if redis {
		store = kv.NewRedis(redistest.Client(t), redistest.Prefix(t), services.NewHashKey(kvSecret, suite.Env()), time.Second)
	}
	f.kv = &countingKV{Store: store}
	ring, err := keys.Ensure(filepath.Join(t.TempDir(), "keys"), time.Now(), suite.Env())
	if err != nil {
		t.Fatal(err)
	}
	tok, err := token.New(token.Config{Issuer: "handheld", Audience: "handheld", TTL: 15 * time.Minute, DeviceTTL: time.Hour,
		Leeway: 5 * time.Second, CacheSize: 100}, ring)
	if err != nil {
		t.Fatal(err)
	}
	s := storetest.Migrated(t, storetest.SQLiteDSN(t))
	log := audit.New(s, audit.Options{})
	t.Cleanup(func() { _ = log.Close(context.Background()) })
	var devices []identity.Device
	for _, id := range []string{"kiosk-a", "kiosk-b"} {
		pub, priv, _ := ed25519.GenerateKey(rand.Reader)
		f.keys[id] = priv
		devices = append(devices, identity.Device{ID: id, Location: "Hall " + id, PublicKey: pub, Enabled: true})
	}
	f.svc, err = identity.New(identity.Deps{
		Store: s, Core: notCalled{}, WeChat: notCalled{}, Tokens: tok, KV: f.kv, Audit: log, Devices: devices,
		HashKey: services.NewHashKey(kvSecret, suite.Env()), Assurance: identity.DefaultAssurance(), PublicBaseURL: "https://gjj.example.cn/",
		Policy: identity.Policy{AccessTTL: 15 * time.Minute, KioskIdle: 3 * time.Minute, KioskAbsolute: 15 * time.Minute,
			DeviceTokenTTL: time.Hour, DeviceClockSkew: 2 * time.Minute,
			LockoutFailures: 5, LockoutWindow: 15 * time.Minute, LockoutDuration: 15 * time.Minute, LockoutOperatorFailures: 20},
		Now: f.clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// device signs a kiosk in and returns its principal, as the auth
// middleware would.
func (f *kioskFixture) device(t *testing.T, id string) services.Principal {
	t.Helper()
	ts := strconv.FormatInt(f.clock().Unix(), 10)
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	nonce := hex.EncodeToString(b)
	sig := ed25519.Sign(f.keys[id], identity.DeviceMessage("POST", "/api/v1/kiosk/session", ts, nonce, nil))
	tok, err := f.svc.StartDeviceSession(context.Background(), identity.DeviceProof{DeviceID: id, Timestamp: ts, Nonce: nonce,
		Signature: base64.StdEncoding.EncodeToString(sig), Method: "POST", Path: "/api/v1/kiosk/session"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.svc.Authenticate(context.Background(), tok.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// phone is a mini-program session face-checked at authTime.
func phone(subject string, acr services.ACR, authTime time.Time) services.Principal {
	return services.Principal{Subject: subject, Role: services.RoleDepositor, Channel: services.ChannelMiniApp,
		Session: "ses_phone_" + subject, ACR: acr, AuthTime: authTime}
}

func wantKioskCode(t *testing.T, what string, err error, want services.Code) {
	t.Helper()
	if got := services.ErrorCode(err); got != want {
		t.Fatalf("%s: %v, want %s", what, err, want)
	}
}

// The whole flow: the kiosk's code, the phone's preview and confirmation,
// and the kiosk collecting a citizen session once, carrying the phone's
// face check.
func TestKioskLoginHappyPathAndOnce(t *testing.T) {
	ctx := context.Background()
	f := newKioskFixture(t, false)
	dev := f.device(t, "kiosk-a")
	lc, err := f.svc.CreateLoginCode(ctx, dev)
	if err != nil {
		t.Fatal(err)
	}
	if !identity.LoginCodePattern.MatchString(lc.Code) || lc.URL != "https://gjj.example.cn/kiosk-login?code="+lc.Code || lc.ExpiresIn != 60*time.Second {
		t.Fatalf("login code %+v", lc)
	}
	if st, err := f.svc.PollLoginCode(ctx, dev, lc.Code); err != nil || st.Status != identity.LoginCodePending || st.Tokens != nil || st.ExpiresIn <= 0 {
		t.Fatalf("pending poll %+v %v", st, err)
	}
	faced := f.clock().Add(-time.Minute).Truncate(time.Second)
	ph := phone("sub_li", services.ACRFace, faced)
	pv, err := f.svc.PreviewKioskLogin(ctx, ph, lc.Code)
	if err != nil || pv.DeviceID != "kiosk-a" || pv.Location != "Hall kiosk-a" || pv.ExpiresIn <= 0 {
		t.Fatalf("preview %+v %v", pv, err)
	}
	f.wait(5 * time.Second)
	cf, err := f.svc.ConfirmKioskLogin(ctx, ph, lc.Code)
	if err != nil || cf.DeviceID != "kiosk-a" || !cf.ConfirmedAt.Equal(f.clock()) {
		t.Fatalf("confirm %+v %v", cf, err)
	}
	_, err = f.svc.ConfirmKioskLogin(ctx, phone("sub_other", services.ACRFace, f.clock()), lc.Code)
	wantKioskCode(t, "second confirm", err, services.CodeKioskLoginUsed)
	_, err = f.svc.PreviewKioskLogin(ctx, ph, lc.Code)
	wantKioskCode(t, "preview after confirm", err, services.CodeKioskLoginUsed)

	st, err := f.svc.PollLoginCode(ctx, dev, lc.Code)
	if err != nil || st.Status != identity.LoginCodeConfirmed || st.Tokens == nil || st.Tokens.RefreshToken != "" {
		t.Fatalf("confirmed poll %+v %v", st, err)
	}
	citizen, err := f.svc.Authenticate(ctx, st.Tokens.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if citizen.Subject != "sub_li" || citizen.Role != services.RoleDepositor || citizen.Channel != services.ChannelKiosk ||
		citizen.Device != "kiosk-a" || citizen.ACR != services.ACRFace || !citizen.AuthTime.Equal(faced) {
		t.Fatalf("citizen %+v", citizen)
	}
	_, err = f.svc.PollLoginCode(ctx, dev, lc.Code)
	wantKioskCode(t, "second poll", err, services.CodeKioskLoginUsed)

	// A kiosk citizen session cannot confirm a code, here or at another
	// kiosk.
	other, _ := f.svc.CreateLoginCode(ctx, dev)
	_, err = f.svc.ConfirmKioskLogin(ctx, citizen, other.Code)
	wantKioskCode(t, "kiosk citizen confirms", err, services.CodeForbidden)
	_, err = f.svc.PreviewKioskLogin(ctx, citizen, other.Code)
	wantKioskCode(t, "kiosk citizen previews", err, services.CodeForbidden)
	_, err = f.svc.ConfirmKioskLogin(ctx, dev, other.Code)
	wantKioskCode(t, "device confirms", err, services.CodeForbidden)
	_, err = f.svc.CreateLoginCode(ctx, ph)
	wantKioskCode(t, "phone creates", err, services.CodeForbidden)
}

// Another kiosk, or the same kiosk after signing in again, polls a code:
// exactly as a code that does not exist.
func TestKioskLoginBoundToItsKiosk(t *testing.T) {
	ctx := context.Background()
	f := newKioskFixture(t, false)
	a, b := f.device(t, "kiosk-a"), f.device(t, "kiosk-b")
	lc, _ := f.svc.CreateLoginCode(ctx, a)
	_, err := f.svc.PollLoginCode(ctx, b, lc.Code)
	wantKioskCode(t, "other kiosk", err, services.CodeKioskLoginNotFound)
	_, err = f.svc.PollLoginCode(ctx, b, strings.Repeat("A", 32))
	wantKioskCode(t, "unknown code", err, services.CodeKioskLoginNotFound)
	a2 := f.device(t, "kiosk-a")
	_, err = f.svc.PollLoginCode(ctx, a2, lc.Code)
	wantKioskCode(t, "same kiosk, other device session", err, services.CodeKioskLoginNotFound)
	// Confirmed, kiosk B still cannot collect it.
	if _, err := f.svc.ConfirmKioskLogin(ctx, phone("sub_li", services.ACRFace, f.clock()), lc.Code); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.PollLoginCode(ctx, b, lc.Code)
	wantKioskCode(t, "other kiosk after confirm", err, services.CodeKioskLoginNotFound)
	if st, err := f.svc.PollLoginCode(ctx, a, lc.Code); err != nil || st.Tokens == nil {
		t.Fatalf("own kiosk: %+v %v", st, err)
	}
}

// After its time a code is expired to everyone; much later it is gone.
// A kiosk that signed out leaves its codes expired too.
func TestKioskLoginExpiry(t *testing.T) {
	ctx := context.Background()
	f := newKioskFixture(t, false)
	dev := f.device(t, "kiosk-a")
	lc, _ := f.svc.CreateLoginCode(ctx, dev)
	ph := phone("sub_li", services.ACRFace, f.clock())
	f.wait(59 * time.Second)
	if st, err := f.svc.PollLoginCode(ctx, dev, lc.Code); err != nil || st.ExpiresIn != time.Second {
		t.Fatalf("poll at 59 s: %+v %v", st, err)
	}
	f.wait(time.Second)
	ph.AuthTime = f.clock()
	_, err := f.svc.PollLoginCode(ctx, dev, lc.Code)
	wantKioskCode(t, "poll at 60 s", err, services.CodeKioskLoginExpired)
	_, err = f.svc.PreviewKioskLogin(ctx, ph, lc.Code)
	wantKioskCode(t, "preview at 60 s", err, services.CodeKioskLoginExpired)
	_, err = f.svc.ConfirmKioskLogin(ctx, ph, lc.Code)
	wantKioskCode(t, "confirm at 60 s", err, services.CodeKioskLoginExpired)
	first, firstDev := lc, dev

	// Confirmed in the last second, collected a moment after its time.
	dev = f.device(t, "kiosk-a")
	lc, _ = f.svc.CreateLoginCode(ctx, dev)
	f.wait(59 * time.Second)
	ph.AuthTime = f.clock()
	if _, err := f.svc.ConfirmKioskLogin(ctx, ph, lc.Code); err != nil {
		t.Fatal(err)
	}
	f.wait(2 * time.Second)
	if st, err := f.svc.PollLoginCode(ctx, dev, lc.Code); err != nil || st.Tokens == nil {
		t.Fatalf("late collection: %+v %v", st, err)
	}

	// The kiosk signs out: its pending code can no longer be confirmed.
	lc, _ = f.svc.CreateLoginCode(ctx, dev)
	if err := f.svc.Logout(ctx, dev); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.ConfirmKioskLogin(ctx, ph, lc.Code)
	wantKioskCode(t, "kiosk signed out", err, services.CodeKioskLoginExpired)

	// Long after its time the record is gone: no such code.
	f.wait(time.Hour)
	_, err = f.svc.PollLoginCode(ctx, firstDev, first.Code)
	wantKioskCode(t, "an hour later", err, services.CodeKioskLoginNotFound)
}

// Confirming needs a recent face check; a phone-number or stale one is
// asked to step up.
func TestKioskLoginNeedsARecentFaceCheck(t *testing.T) {
	ctx := context.Background()
	f := newKioskFixture(t, false)
	dev := f.device(t, "kiosk-a")
	lc, _ := f.svc.CreateLoginCode(ctx, dev)
	for name, ph := range map[string]services.Principal{
		"stale face": phone("sub_li", services.ACRFace, f.clock().Add(-6*time.Minute)),
		"phone":      phone("sub_li", services.ACRPhone, f.clock()),
		"realname":   phone("sub_li", services.ACRRealName, f.clock()),
	} {
		_, err := f.svc.ConfirmKioskLogin(ctx, ph, lc.Code)
		wantKioskCode(t, name, err, services.CodeStepUpRequired)
	}
	if st, _ := f.svc.PollLoginCode(ctx, dev, lc.Code); st.Status != identity.LoginCodePending {
		t.Fatalf("refused confirmations changed the code: %+v", st)
	}
}

// A malformed code is a field error, and kv is not asked.
func TestKioskLoginMalformedCode(t *testing.T) {
	ctx := context.Background()
	f := newKioskFixture(t, false)
	dev := f.device(t, "kiosk-a")
	ph := phone("sub_li", services.ACRFace, f.clock())
	for _, code := range []string{"", "short", strings.Repeat("A", 33), strings.Repeat("A", 31) + "=", strings.Repeat("A", 31) + "<",
		strings.Repeat("A", 4096), "<script>alert(1)</script>AAAAAAA", strings.Repeat("é", 16)} {
		f.kv.calls.Store(0)
		_, err := f.svc.PollLoginCode(ctx, dev, code)
		wantKioskCode(t, "poll "+code, err, services.CodeInvalid)
		_, err = f.svc.PreviewKioskLogin(ctx, ph, code)
		wantKioskCode(t, "preview "+code, err, services.CodeInvalid)
		_, err = f.svc.ConfirmKioskLogin(ctx, ph, code)
		wantKioskCode(t, "confirm "+code, err, services.CodeInvalid)
		if f.kv.calls.Load() != 0 {
			t.Fatalf("%q: kv asked", code)
		}
		if fe := services.AsError(err).Fields; len(fe) != 1 || fe[0].Field != "code" {
			t.Fatalf("%q: fields %+v", code, fe)
		}
	}
}

// On real Redis: of many phones confirming one code at once exactly one
// wins, and of many polls collecting it exactly one gets tokens. Neither
// the key nor the value in Redis holds the code.
func TestKioskLoginRacesOnRedis(t *testing.T) {
	ctx := context.Background()
	f := newKioskFixture(t, true)
	dev := f.device(t, "kiosk-a")
	lc, err := f.svc.CreateLoginCode(ctx, dev)
	if err != nil {
		t.Fatal(err)
	}
	race := func(n int, try func(i int) error) (wins int64, codes map[services.Code]int) {
		var won atomic.Int64
		var mu sync.Mutex
		codes = map[services.Code]int{}
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := try(i); err != nil {
					mu.Lock()
					codes[services.ErrorCode(err)]++
					mu.Unlock()
					return
				}
				won.Add(1)
			}()
		}
		wg.Wait()
		return won.Load(), codes
	}
	wins, codes := race(12, func(i int) error {
		_, err := f.svc.ConfirmKioskLogin(ctx, phone("sub_"+strconv.Itoa(i), services.ACRFace, f.clock()), lc.Code)
		return err
	})
	if wins != 1 || codes[services.CodeKioskLoginUsed] != 11 {
		t.Fatalf("confirmations: %d won, refusals %v", wins, codes)
	}
	var collected atomic.Pointer[identity.Tokens]
	wins, codes = race(12, func(int) error {
		st, err := f.svc.PollLoginCode(ctx, dev, lc.Code)
		if err == nil && st.Tokens != nil {
			collected.Store(st.Tokens)
		}
		return err
	})
	if wins != 1 || codes[services.CodeKioskLoginUsed] != 11 || collected.Load() == nil {
		t.Fatalf("polls: %d won, refusals %v", wins, codes)
	}
	c := redistest.Client(t)
	keys, err := c.Keys(ctx, redistest.Prefix(t)+"kiosklogin:*").Result()
	if err != nil || len(keys) != 1 {
		t.Fatalf("keys %v %v", keys, err)
	}
	v, _ := c.Get(ctx, keys[0]).Result()
	if strings.Contains(keys[0], lc.Code) || strings.Contains(v, lc.Code) || !strings.Contains(v, `"st":"collected"`) {
		t.Fatalf("redis holds %q = %q", keys[0], v)
	}
}

// The code's lifetime is the centre's to set, within bounds.
func TestKioskLoginTTLIsValidated(t *testing.T) {
	for _, ttl := range []time.Duration{-time.Second, time.Millisecond, 6 * time.Minute} {
		_, err := identity.New(identity.Deps{Store: storetest.Migrated(t, storetest.SQLiteDSN(t)), Core: notCalled{}, WeChat: notCalled{},
			Tokens: &token.Tokens{}, KV: kv.NewMemory(time.Now, services.NewHashKey(kvSecret, suite.Env())), Audit: audit.New(nil, audit.Options{}), HashKey: services.NewHashKey(kvSecret, suite.Env()),
			Assurance: identity.DefaultAssurance(),
			Policy: identity.Policy{AccessTTL: 15 * time.Minute, KioskIdle: 3 * time.Minute, KioskAbsolute: 15 * time.Minute,
				LockoutFailures: 5, LockoutWindow: 15 * time.Minute, LockoutDuration: 15 * time.Minute, LockoutOperatorFailures: 20,
				KioskLoginTTL: ttl}})
		if err == nil || !strings.Contains(err.Error(), "kiosk login code TTL") {
			t.Errorf("ttl %s: %v", ttl, err)
		}
	}
}
