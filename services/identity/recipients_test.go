package identity_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/core"
	"handheld/services/identity"
	"handheld/services/keys"
	"handheld/services/kv"
	"handheld/services/store"
	"handheld/services/store/storetest"
	"handheld/services/suite"
	"handheld/services/token"
	"handheld/services/wechat"
	"handheld/services/wechat/wechattest"
)

// realNames is the core's real-name check: every well-formed person exists
// and has an account, under a person id derived from the ID number.
type realNames struct{ notCalled }

func (realNames) VerifyRealName(_ context.Context, _, idNumber string) (core.Person, error) {
	return core.Person{PersonID: "P" + idNumber[len(idNumber)-6:], HasAccount: true}, nil
}

// Person is the core's record by person id; every test person is 张伟.
func (realNames) Person(_ context.Context, personID string) (core.Person, error) {
	return core.Person{PersonID: personID, Name: "张伟", IDNumber: "330106" + "198503" + personID[1:], HasAccount: true}, nil
}

// recordingKV remembers every value written, to prove no openid is among them.
type recordingKV struct {
	kv.Store
	mu       sync.Mutex
	values   [][]byte
	counters []string // keys of Incr
}

func (r *recordingKV) Incr(ctx context.Context, k string, ttl time.Duration) (int64, error) {
	r.mu.Lock()
	r.counters = append(r.counters, k)
	r.mu.Unlock()
	return r.Store.Incr(ctx, k, ttl)
}

func (r *recordingKV) Set(ctx context.Context, k string, v []byte, ttl time.Duration) error {
	r.mu.Lock()
	r.values = append(r.values, bytes.Clone(v))
	r.mu.Unlock()
	return r.Store.Set(ctx, k, v, ttl)
}

// wechatFixture is identity over a real store, the real WeChat adapter
// against the fake WeChat, and a clock that ticks a second per reading so
// that bindings made one after another have distinct bound_at.
type wechatFixture struct {
	svc   *identity.Service
	store *store.Store
	wx    *wechattest.Server
	kv    *recordingKV
	codes atomic.Int64
}

func newWeChatFixture(t *testing.T, s *store.Store, edits ...func(*identity.Deps)) *wechatFixture {
	t.Helper()
	ring, err := keys.Ensure(filepath.Join(t.TempDir(), "keys"), time.Now(), suite.Env())
	if err != nil {
		t.Fatal(err)
	}
	tok, err := token.New(token.Config{Issuer: "handheld", Audience: "handheld", TTL: 15 * time.Minute, Leeway: 5 * time.Second}, ring)
	if err != nil {
		t.Fatal(err)
	}
	var tick atomic.Int64
	start := time.Now()
	now := func() time.Time { return start.Add(time.Duration(tick.Add(1)) * time.Second) }
	srv := wechattest.NewServer(t)
	secret := []byte("0123456789abcdef0123456789abcdef")
	wx, err := wechat.New(wechat.Config{AppID: srv.AppID, AppSecret: srv.AppSecret, APIBase: srv.URL, Timeout: 2 * time.Second},
		kv.NewMemory(time.Now, services.NewHashKey(secret, suite.Env())))
	if err != nil {
		t.Fatal(err)
	}
	log := audit.New(s, audit.Options{})
	t.Cleanup(func() { _ = log.Close(context.Background()) })
	rec := &recordingKV{Store: kv.NewMemory(time.Now, services.NewHashKey(secret, suite.Env()))}
	deps := identity.Deps{
		Store: s, Core: realNames{}, WeChat: wx, Tokens: tok, KV: rec, Audit: log,
		HashKey: services.NewHashKey(secret, suite.Env()), Now: now, Assurance: identity.DefaultAssurance(),
		Policy: identity.Policy{AccessTTL: 15 * time.Minute, BindingTTL: 5 * time.Minute,
			KioskIdle: 3 * time.Minute, KioskAbsolute: 15 * time.Minute,
			LockoutFailures: 5, LockoutWindow: 15 * time.Minute, LockoutDuration: 15 * time.Minute, LockoutOperatorFailures: 20,
			RefreshTTL: map[string]time.Duration{services.ChannelMiniApp: time.Hour}},
	}
	for _, edit := range edits {
		edit(&deps)
	}
	svc, err := identity.New(deps)
	if err != nil {
		t.Fatal(err)
	}
	return &wechatFixture{svc: svc, store: s, wx: srv, kv: rec}
}

// login signs openid in through a fresh wx.login code.
func (f *wechatFixture) login(t *testing.T, openid string) identity.WeChatLogin {
	t.Helper()
	code := "code-" + strings.Repeat("x", int(f.codes.Add(1)))
	f.wx.AddLogin(code, openid, "")
	l, err := f.svc.LoginWeChat(context.Background(), code)
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	return l
}

// bind signs an unbound openid in and binds it to the person with idNumber.
func (f *wechatFixture) bind(t *testing.T, openid, idNumber string) {
	t.Helper()
	l := f.login(t, openid)
	if l.BindingToken == "" {
		t.Fatalf("openid already bound, want a binding token")
	}
	if _, err := f.svc.Bind(context.Background(), l.BindingToken, identity.BindRequest{Name: "张伟", IDNumber: idNumber,
		FaceResult: f.passedFace(t, l.BindingToken, "张伟", idNumber)}); err != nil {
		t.Fatalf("bind: %v", err)
	}
}

// passedFace starts a face check for a binding and has the fake WeChat
// pass it, as the mini-program's wx.requestFacialVerify would.
func (f *wechatFixture) passedFace(t *testing.T, bindingToken, name, idNumber string) string {
	t.Helper()
	fc, err := f.svc.StartBindingFaceCheck(context.Background(), bindingToken, name, idNumber)
	if err != nil {
		t.Fatalf("face check: %v", err)
	}
	if !f.wx.CompleteFace(fc.VerifyID, wechattest.FacePassed) {
		t.Fatalf("the fake WeChat does not know verify id %q", fc.VerifyID)
	}
	return fc.VerifyID
}

// subject is the subject an openid is bound to, read from a bound login.
func (f *wechatFixture) subject(t *testing.T, openid string) string {
	t.Helper()
	l := f.login(t, openid)
	if l.Tokens == nil {
		t.Fatal("openid not bound")
	}
	p, err := f.svc.Authenticate(context.Background(), l.Tokens.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	return p.Subject
}

func (f *wechatFixture) sealedColumn(t *testing.T) []string {
	t.Helper()
	rows, err := f.store.Query(context.Background(), `SELECT openid_sealed FROM wechat_bindings ORDER BY bound_at`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

const (
	openidA = "oOpenID-alice-0001"
	openidB = "oOpenID-alice-phone2"
	idAlice = "330106198503124133"
)

func TestOpenIDAfterBind(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		f := newWeChatFixture(t, s)
		ctx := context.Background()
		f.bind(t, openidA, idAlice)
		subject := f.subject(t, openidA)
		got, ok, err := f.svc.OpenID(ctx, subject)
		if err != nil || !ok || got != openidA {
			t.Fatalf("OpenID = %q, %v, %v; want %q, true, nil", got, ok, err, openidA)
		}
		// A second WeChat account of the same person, bound later, is the
		// one messages go to.
		f.bind(t, openidB, idAlice)
		if got, ok, err := f.svc.OpenID(ctx, subject); err != nil || !ok || got != openidB {
			t.Fatalf("after a second binding OpenID = %q, %v, %v; want %q", got, ok, err, openidB)
		}
		// Neither the table nor the kv store ever held an openid in clear.
		sealed := f.sealedColumn(t)
		if len(sealed) != 2 {
			t.Fatalf("%d bindings, want 2", len(sealed))
		}
		for _, v := range sealed {
			if v == "" || strings.Contains(v, "oOpenID") {
				t.Errorf("openid_sealed %q: empty or in clear", v)
			}
			if kid, ok := s.KeyID([]byte(v)); !ok || kid != storetest.RingKeyID {
				t.Errorf("openid_sealed %q is not sealed under the ring's current key", v)
			}
		}
		if sealed[0] == sealed[1] {
			t.Error("two bindings sealed to the same text")
		}
		f.kv.mu.Lock()
		defer f.kv.mu.Unlock()
		if len(f.kv.values) == 0 {
			t.Fatal("no kv writes recorded: the check below would prove nothing")
		}
		for _, v := range f.kv.values {
			if bytes.Contains(v, []byte("oOpenID")) {
				t.Errorf("kv value holds an openid in clear: %q", v)
			}
		}
	})
}

// A binding made before openids were sealed gets one at the next login.
func TestLoginRefreshesMissingSealedOpenID(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		f := newWeChatFixture(t, s)
		ctx := context.Background()
		f.bind(t, openidA, idAlice)
		subject := f.subject(t, openidA)
		if _, err := s.Exec(ctx, `UPDATE wechat_bindings SET openid_sealed = ''`); err != nil {
			t.Fatal(err)
		}
		if _, ok, err := f.svc.OpenID(ctx, subject); ok || err != nil {
			t.Fatalf("old binding: ok=%v err=%v, want not ok", ok, err)
		}
		if l := f.login(t, openidA); l.Tokens == nil {
			t.Fatal("bound user got no tokens")
		}
		if got, ok, err := f.svc.OpenID(ctx, subject); err != nil || !ok || got != openidA {
			t.Fatalf("after login OpenID = %q, %v, %v; want %q", got, ok, err, openidA)
		}
		// An intact value is left alone: logins do not rewrite the row.
		after := f.sealedColumn(t)
		f.login(t, openidA)
		if again := f.sealedColumn(t); again[0] != after[0] {
			t.Errorf("sealed value %q → %q: rewritten though intact", after[0], again[0])
		}
	})
}

func TestOpenIDUnknownSubject(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		f := newWeChatFixture(t, s)
		f.bind(t, openidA, idAlice)
		got, ok, err := f.svc.OpenID(context.Background(), "s_nobody")
		if err != nil || ok || got != "" {
			t.Fatalf("OpenID(unknown) = %q, %v, %v; want \"\", false, nil", got, ok, err)
		}
	})
}

// A sealed value that was altered, cut, or moved to another binding is an
// error, never a panic and never someone else's openid.
func TestOpenIDTamperedSealedValue(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		f := newWeChatFixture(t, s)
		ctx := context.Background()
		f.bind(t, openidA, idAlice)
		f.bind(t, "oOpenID-bob-0002", "330108199311051571")
		alice := f.subject(t, openidA)
		sealed := f.sealedColumn(t)
		good, other := sealed[0], sealed[1]
		head := strings.LastIndex(good, ".") + 1
		raw, err := base64.RawURLEncoding.DecodeString(good[head:])
		if err != nil {
			t.Fatal(err)
		}
		raw[len(raw)/2] ^= 0x01 // inside the ciphertext: only the tag check can catch it
		flipped := good[:head] + base64.RawURLEncoding.EncodeToString(raw)
		for name, v := range map[string]string{
			"flipped":      flipped,
			"cut":          good[:len(good)-4],
			"short":        "AAAA",
			"not base64":   "!!not base64!!",
			"other's copy": other,
			"unknown key":  strings.Replace(good, storetest.RingKeyID, "sealing-20000101-ffffffff", 1),
			"legacy short": good[head:],
		} {
			if _, err := s.Exec(ctx, `UPDATE wechat_bindings SET openid_sealed = $1 WHERE subject_id = $2`, v, alice); err != nil {
				t.Fatal(err)
			}
			got, ok, err := f.svc.OpenID(ctx, alice)
			if err == nil || ok || got != "" {
				t.Errorf("%s: OpenID = %q, %v, %v; want an error", name, got, ok, err)
			}
			if err != nil && strings.Contains(err.Error(), "oOpenID") {
				t.Errorf("%s: error names an openid: %v", name, err)
			}
		}
	})
}

// OpenIDs reads several people at once; one binding that does not open is
// that person's error alone.
func TestOpenIDsOfSeveralPeople(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		f := newWeChatFixture(t, s)
		ctx := context.Background()
		const openidBob = "oOpenID-bob-0002"
		f.bind(t, openidA, idAlice)
		f.bind(t, openidBob, "330108199311051571")
		f.bind(t, "oOpenID-carol-0003", "11010519491231002X")
		alice, bob, carol := f.subject(t, openidA), f.subject(t, openidBob), f.subject(t, "oOpenID-carol-0003")
		if _, err := s.Exec(ctx, `UPDATE wechat_bindings SET openid_sealed = 'AAAA' WHERE subject_id = $1`, carol); err != nil {
			t.Fatal(err)
		}
		got, failed, err := f.svc.OpenIDs(ctx, alice, bob, carol, "s_nobody")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(map[string]string{alice: openidA, bob: openidBob}, got); diff != "" {
			t.Errorf("openids (-want +got):\n%s", diff)
		}
		if len(failed) != 1 || failed[carol] == nil || strings.Contains(failed[carol].Error(), "oOpenID") {
			t.Errorf("failed %v, want carol's error alone, naming no openid", failed)
		}
		if got, failed, err := f.svc.OpenIDs(ctx); err != nil || len(got) != 0 || len(failed) != 0 {
			t.Errorf("OpenIDs() = %v, %v, %v; want nothing", got, failed, err)
		}
	})
}

// An openid sealed before the ring (AES-GCM under a key derived from the
// hash secret) still opens, and the sealing step moves it onto the ring.
func TestLegacySealedOpenIDMovesOntoTheRing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		f := newWeChatFixture(t, s)
		ctx := context.Background()
		f.bind(t, openidA, idAlice)
		alice := f.subject(t, openidA)
		var hash string
		if err := s.QueryRow(ctx, `SELECT openid_hash FROM wechat_bindings`).Scan(&hash); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Exec(ctx, `UPDATE wechat_bindings SET openid_sealed = $1`, legacySeal(t, openidA, hash)); err != nil {
			t.Fatal(err)
		}
		if got, ok, err := f.svc.OpenID(ctx, alice); err != nil || !ok || got != openidA {
			t.Fatalf("legacy value: OpenID = %q, %v, %v; want %q", got, ok, err, openidA)
		}
		reps, err := s.Reseal(ctx, identity.SealedColumns([]byte("0123456789abcdef0123456789abcdef")), true, 10)
		if err != nil || len(reps) != 1 || reps[0].Resealed != 1 || reps[0].Failed != 0 {
			t.Fatalf("reseal: %+v, %v; want one value moved onto the ring", reps, err)
		}
		if v := f.sealedColumn(t)[0]; !strings.HasPrefix(v, "hs1."+storetest.RingKeyID+".") {
			t.Fatalf("after the sealing step openid_sealed = %q, want it under the ring", v)
		}
		if got, ok, err := f.svc.OpenID(ctx, alice); err != nil || !ok || got != openidA {
			t.Fatalf("after reseal: OpenID = %q, %v, %v; want %q", got, ok, err, openidA)
		}
	})
}

// legacySeal seals openid as identity did before the ring.
func legacySeal(t *testing.T, openid, openidHash string) string {
	t.Helper()
	key, err := hkdf.Key(sha256.New, []byte("0123456789abcdef0123456789abcdef"), nil, "handheld/identity: wechat openid seal v1", 32)
	if err != nil {
		t.Fatal(err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(aead.Seal(nil, nil, []byte(openid), []byte(openidHash)))
}
