package staff

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/kv"
	"handheld/services/store"
	"handheld/services/store/storetest"
	"handheld/services/suite"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type rig struct {
	*Service
	clock *clock
	trail *audit.Log
}

func newRig(t *testing.T, s *store.Store) *rig {
	t.Helper()
	c := &clock{t: time.Date(2026, 3, 4, 2, 0, 0, 0, time.UTC)}
	trail := audit.New(s, audit.Options{Now: c.now})
	t.Cleanup(func() { _ = trail.Close(context.Background()) })
	secret := []byte("0123456789abcdef0123456789abcdef")
	p := DefaultPolicy()
	p.LockoutFailures, p.LockoutAccountFailures = 3, 6
	svc, err := New(Deps{Store: s, KV: kv.NewMemory(c.now, services.NewHashKey(secret, suite.Env())), Audit: trail, Secret: services.NewHashKey(secret, suite.Env()), Policy: p, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	return &rig{Service: svc, clock: c, trail: trail}
}

func TestSignInSessionsAndLockout(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newRig(t, s)
		ctx := t.Context()
		iss, err := r.Add(ctx, NewAccount{StaffID: "S0001", Name: "王主任"})
		if err != nil {
			t.Fatal(err)
		}
		if fe := r.Policy.Password.Check("password", iss.Password, "S0001", ""); len(fe) > 0 {
			t.Errorf("generated password %q fails the policy: %v", iss.Password, fe)
		}
		if _, err := r.Add(ctx, NewAccount{StaffID: "S0001", Name: "again"}); services.ErrorCode(err) != services.CodeCentreStaffExists {
			t.Errorf("second add: %v", err)
		}
		if _, err := r.Add(ctx, NewAccount{StaffID: "S0002", Name: "x", Password: "short"}); services.ErrorCode(err) != services.CodeInvalid {
			t.Errorf("weak password: %v", err)
		}
		var hash string
		if err := s.QueryRow(ctx, `SELECT password_hash FROM staff_accounts WHERE staff_id = 'S0001'`).Scan(&hash); err != nil ||
			len(hash) < 20 || hash[:10] != "$argon2id$" {
			t.Errorf("stored hash %q %v", hash, err)
		}

		good := Credentials{StaffID: "S0001", Password: iss.Password, Address: "10.0.0.1"}
		a, err := r.SignIn(ctx, good)
		if err != nil {
			t.Fatal(err)
		}
		b, err := r.SignIn(ctx, good)
		if err != nil || a.Token == b.Token || len(a.Token) != 43 {
			t.Fatalf("two sign-ins share a token or fail: %v", err)
		}
		if got, err := r.Session(ctx, a.Token); err != nil || got.StaffID != "S0001" || got.Principal().Role != services.RoleStaff {
			t.Errorf("session: %+v %v", got, err)
		}
		if _, err := r.Session(ctx, "forged"); services.ErrorCode(err) != services.CodeTokenInvalid {
			t.Errorf("forged token: %v", err)
		}
		if _, err := r.Session(ctx, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"); services.ErrorCode(err) != services.CodeIdleTimeout {
			t.Errorf("unknown token: %v", err)
		}
		// Idle: 16 minutes without a request.
		r.clock.add(16 * time.Minute)
		if _, err := r.Session(ctx, a.Token); services.ErrorCode(err) != services.CodeIdleTimeout {
			t.Errorf("idle session: %v", err)
		}
		// Absolute: kept alive every 10 minutes, ended after 8 hours.
		c, err := r.SignIn(ctx, good)
		if err != nil {
			t.Fatal(err)
		}
		for range 47 {
			r.clock.add(10 * time.Minute)
			if _, err := r.Session(ctx, c.Token); err != nil {
				t.Fatalf("live session: %v", err)
			}
		}
		r.clock.add(10 * time.Minute)
		if _, err := r.Session(ctx, c.Token); services.ErrorCode(err) != services.CodeTokenExpired {
			t.Errorf("past the absolute timeout: %v", err)
		}
		// Sign out ends it.
		d, _ := r.SignIn(ctx, good)
		if err := r.SignOut(ctx, d, "req"); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Session(ctx, d.Token); err == nil {
			t.Error("session lives after sign-out")
		}
		// Disabling ends live sessions and refuses sign-in as a wrong password does.
		e, _ := r.SignIn(ctx, good)
		if err := r.SetStatus(ctx, "S0001", StatusDisabled); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Session(ctx, e.Token); services.ErrorCode(err) != services.CodeSessionRevoked {
			t.Errorf("disabled account's session: %v", err)
		}
		if _, err := r.SignIn(ctx, Credentials{StaffID: "S0001", Password: iss.Password, Address: "10.0.0.9"}); services.ErrorCode(err) != services.CodeBadCredentials {
			t.Errorf("disabled sign-in: %v", err)
		}
		if err := r.SetStatus(ctx, "S0001", StatusActive); err != nil {
			t.Fatal(err)
		}
		// A reset ends sessions signed in with the old password.
		f, _ := r.SignIn(ctx, good)
		iss2, err := r.Reset(ctx, "S0001", "", false)
		if err != nil {
			t.Fatal(err)
		}
		r.clock.add(time.Millisecond)
		if _, err := r.Session(ctx, f.Token); services.ErrorCode(err) != services.CodeSessionRevoked {
			t.Errorf("session after reset: %v", err)
		}
		good.Password = iss2.Password
		if _, err := r.SignIn(ctx, good); err != nil {
			t.Fatalf("new password: %v", err)
		}
	})
}

func TestLockoutAndNoEnumeration(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newRig(t, s)
		ctx := t.Context()
		iss, err := r.Add(ctx, NewAccount{StaffID: "S0001", Name: "王主任"})
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"S0001", "S9999"} {
			for i := range 3 {
				_, err := r.SignIn(ctx, Credentials{StaffID: id, Password: "Wrong-password-1", Address: "10.0.0.2"})
				want := services.CodeBadCredentials
				if i == 2 {
					want = services.CodeLocked
				}
				if services.ErrorCode(err) != want {
					t.Errorf("%s attempt %d: %v, want %s", id, i+1, err, want)
				}
			}
		}
		// Locked from that address, even with the right password.
		if _, err := r.SignIn(ctx, Credentials{StaffID: "S0001", Password: iss.Password, Address: "10.0.0.2"}); services.ErrorCode(err) != services.CodeLocked {
			t.Errorf("locked pair with the right password: %v", err)
		}
		// Another address still signs in.
		if _, err := r.SignIn(ctx, Credentials{StaffID: "S0001", Password: iss.Password, Address: "10.0.0.3"}); err != nil {
			t.Errorf("other address: %v", err)
		}
		// Spread over addresses, the account locks at 6.
		for i := range 6 {
			_, err = r.SignIn(ctx, Credentials{StaffID: "S0001", Password: "Wrong-password-1", Address: "10.1.0." + string(rune('0'+i))})
		}
		if services.ErrorCode(err) != services.CodeLocked {
			t.Errorf("account lockout: %v", err)
		}
		if _, err := r.SignIn(ctx, Credentials{StaffID: "S0001", Password: iss.Password, Address: "10.9.9.9"}); services.ErrorCode(err) != services.CodeLocked {
			t.Errorf("locked account with the right password: %v", err)
		}
		r.clock.add(16 * time.Minute)
		if _, err := r.SignIn(ctx, Credentials{StaffID: "S0001", Password: iss.Password, Address: "10.9.9.9"}); err != nil {
			t.Errorf("after the lockout: %v", err)
		}
		// The trail names attempts by a hash, never the typed id.
		rows, err := s.Query(ctx, `SELECT actor FROM audit_log WHERE action = $1`, ActionLoginFailure)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			var actor string
			_ = rows.Scan(&actor)
			n++
			if actor == "staff:S9999" || actor == "staff:S0001" || len(actor) < 20 {
				t.Errorf("failure actor %q", actor)
			}
		}
		if n != 9 { // 3 for each id, then 3 more until the account locked
			t.Errorf("%d failures audited", n)
		}
	})
}

func TestTOTP(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newRig(t, s)
		ctx := t.Context()
		iss, err := r.Add(ctx, NewAccount{StaffID: "S0003", Name: "李科长", TOTP: true})
		if err != nil || iss.TOTPURL == "" {
			t.Fatalf("add with totp: %v", err)
		}
		var sealed string
		_ = s.QueryRow(ctx, `SELECT totp_secret FROM staff_accounts WHERE staff_id = 'S0003'`).Scan(&sealed)
		plain, err := s.OpenText(sealed, sealedTOTP.Place("S0003"))
		if err != nil || plain == sealed {
			t.Fatalf("secret not sealed: %v", err)
		}
		c := Credentials{StaffID: "S0003", Password: iss.Password, Address: "10.0.0.1"}
		if _, err := r.SignIn(ctx, c); services.ErrorCode(err) != services.CodeBadCredentials {
			t.Errorf("without a code: %v", err)
		}
		c.TOTP = "12ab56"
		if _, err := r.SignIn(ctx, c); services.ErrorCode(err) != services.CodeInvalid {
			t.Errorf("malformed code: %v", err)
		}
		c.TOTP, _ = totp.GenerateCode(plain, r.clock.now())
		if _, err := r.SignIn(ctx, c); err != nil {
			t.Fatalf("right code: %v", err)
		}
		if _, err := r.SignIn(ctx, c); services.ErrorCode(err) != services.CodeBadCredentials {
			t.Errorf("replayed code: %v", err)
		}
	})
}

func TestPasswordHash(t *testing.T) {
	h, err := hashPassword(nilReader{}, "Correct-Horse-9")
	if err != nil {
		t.Fatal(err)
	}
	if !checkPassword(h, "Correct-Horse-9") || checkPassword(h, "Correct-Horse-8") || checkPassword("$argon2id$v=19$m=1,t=1,p=1$$", "") ||
		checkPassword("plain", "plain") {
		t.Error("checkPassword")
	}
}

// An unknown id's password is checked against dummyHash: it must name the
// same parameters, salt length and key length as a real hash, or the
// check would be quicker and tell which ids exist.
func TestDummyHashCostsWhatARealOneCosts(t *testing.T) {
	h, err := hashPassword(nilReader{}, "Correct-Horse-9")
	if err != nil {
		t.Fatal(err)
	}
	real, dummy := strings.Split(h, "$"), strings.Split(dummyHash, "$")
	if len(dummy) != len(real) || !slices.Equal(dummy[:4], real[:4]) ||
		len(dummy[4]) != len(real[4]) || len(dummy[5]) != len(real[5]) {
		t.Errorf("dummy hash %q is not shaped as a real one %q", dummyHash, h)
	}
	if checkPassword(dummyHash, "") {
		t.Error("the dummy hash matched a password")
	}
}

type nilReader struct{}

func (nilReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(i)
	}
	return len(p), nil
}
