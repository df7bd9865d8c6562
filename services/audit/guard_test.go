package audit

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"handheld/services"
	"handheld/services/store/storetest"
)

func TestGuardRejectsPersonalData(t *testing.T) {
	bad := []string{
		"110101199003074514",         // ID number
		"11010119900307451X",         // ID number, check character X
		"id:11010119900307451x",      // lower-case x, after a prefix
		"person/110101199003074514",  //
		"13812345678",                // mobile
		"tel13812345678",             // mobile behind letters
		"+8613812345678",             // with the country code
		"008619912345678",            //
		"138 1234 5678",              // grouped
		"138-1234-5678",              //
		"6222021234567890",           // 16-digit card
		"6222021234567890123",        // 19-digit card
		"card:6222 0212 3456 7890",   // grouped card
		"6222-0212-3456-7890-123",    //
		"１３８１２３４５６７８",                // full-width digits
		"account:110101199003074514", //
		"x12345678901234567890123",   // any run of 16 digits or more
	}
	for _, v := range bad {
		for _, field := range []string{"subject", "actor", "action", "target"} {
			r := rec(1)
			switch field {
			case "subject":
				r.Subject = v
			case "actor":
				r.Actor = v
			case "action":
				r.Action = "read." + v
			case "target":
				r.Target = v
			}
			err := check(r)
			if field == "action" && errors.Is(err, ErrInvalid) {
				continue // not an action's shape: refused all the same
			}
			if !errors.Is(err, ErrPersonalData) || services.ErrorCode(err) != services.CodeInternal {
				t.Errorf("%s %q: %v, want ErrPersonalData", field, v, err)
				continue
			}
			if digits := regexp.MustCompile(`[0-9]{5,}`).FindString(v); digits != "" && strings.Contains(err.Error(), digits) {
				t.Errorf("the error quotes the value: %v", err)
			}
		}
	}
}

func TestGuardAcceptsIdentifiers(t *testing.T) {
	mac := hmac.New(sha256.New, []byte("secret"))
	mac.Write([]byte("operator-1"))
	good := []string{
		"sub_7q4mzxkq2f3a",
		"operator:" + hex.EncodeToString(mac.Sum(nil)),
		"device:kiosk-0017",
		"verifier:ecard-12",
		"session:s_ab2cd3ef4gh5ij6kl7mn",
		"system",
		"account:acc_9",
		"application:2025-000123",                         // short digit runs
		"loan:12345678901",                                // 11 digits, not a mobile prefix
		"unit:91330106MA2GL3K700",                         // unified social credit code with letters
		"page:2025-06-01T08:00:00Z",                       // a time
		"申请:12345",                                        // non-ASCII text
		"SHA256:" + strings.Repeat("1234567890abcdef", 4), // a digest holding a 10-digit run
	}
	for _, v := range good {
		r := rec(1)
		r.Subject, r.Actor, r.Target = v, v, v
		if err := check(r); err != nil {
			t.Errorf("%q: %v, want accepted", v, err)
		}
	}
}

// TestGuardAcceptsHexDigests checks many HMAC pseudonyms, as operators are
// known by (in full as actors, cut to 26 hex digits in their sessions'
// subjects): in hex, about one in a hundred holds a run of digits shaped
// like a mobile or a card, and none may be refused for it.
func TestGuardAcceptsHexDigests(t *testing.T) {
	t.Parallel()
	suspicious := regexp.MustCompile(`[0-9]{11,}`)
	seen := 0
	for i := range 10000 {
		mac := hmac.New(sha256.New, []byte("secret"))
		fmt.Fprintf(mac, "operator-%d", i)
		digest := hex.EncodeToString(mac.Sum(nil))
		actor, subject := "operator:"+digest, "op_"+digest[:26]
		if suspicious.MatchString(subject) {
			seen++
		}
		r := rec(1)
		r.Actor, r.Subject = actor, subject
		if err := check(r); err != nil {
			t.Fatalf("%s: %v", actor, err)
		}
	}
	if seen == 0 {
		t.Fatal("no subject held a long digit run: the test checked nothing")
	}
	t.Logf("%d of 10000 subjects held a run of 11 digits or more", seen)
}

func TestCheckRefusesMalformedRecords(t *testing.T) {
	tests := map[string]func(r *Record){
		"no actor":        func(r *Record) { r.Actor = "" },
		"unknown channel": func(r *Record) { r.Channel = "email" },
		"unknown result":  func(r *Record) { r.Result = "maybe" },
		"no action":       func(r *Record) { r.Action = "" },
		"action shape":    func(r *Record) { r.Action = "Login Success" },
		"NUL":             func(r *Record) { r.Target = "a\x00b" },
		"newline":         func(r *Record) { r.RequestID = "a\nb" },
		"invalid UTF-8":   func(r *Record) { r.Subject = "\xff" },
		"too long":        func(r *Record) { r.Target = strings.Repeat("a", maxFieldLen+1) },
		"year 1":          func(r *Record) { r.At = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC) },
	}
	for name, edit := range tests {
		r := rec(1)
		edit(&r)
		if err := check(r); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if err := check(rec(1)); err != nil {
		t.Fatalf("a valid record: %v", err)
	}
}

// TestRejectedRecordIsNotWritten proves the guard runs in Append, before
// anything reaches the trail.
func TestRejectedRecordIsNotWritten(t *testing.T) {
	s := storetest.Migrated(t, storetest.SQLiteDSN(t))
	l := newLog(t, s, Options{})
	r := rec(1)
	r.Target = "account:110101199003074514"
	if err := l.Append(t.Context(), r); !errors.Is(err, ErrPersonalData) {
		t.Fatalf("Append: %v, want ErrPersonalData", err)
	}
	if err := l.Enqueue(t.Context(), r); !errors.Is(err, ErrPersonalData) {
		t.Fatalf("Enqueue: %v, want ErrPersonalData", err)
	}
	if err := l.Append(t.Context(), rec(2)); err != nil {
		t.Fatal(err)
	}
	if n := count(t, s); n != 1 {
		t.Fatalf("%d rows, want only the valid record", n)
	}
}

// actionShaped accepts exactly what the documented pattern does.
func FuzzActionShaped(f *testing.F) {
	pattern := regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$`)
	for _, s := range []string{"login.success", "account.read", "a", "a_1.b2", "", ".", "a.", ".a", "a..b", "A.b",
		"1a", "a-b", "a.b.c.d", "a._", "a.b\n", "账户.read", "a b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := actionShaped(s), pattern.MatchString(s); got != want {
			t.Errorf("actionShaped(%q) = %v, the pattern says %v", s, got, want)
		}
	})
}
