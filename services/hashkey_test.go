package services

import (
	"testing"

	"handheld/services/suite"
)

// Pseudonyms key stored rows (bindings, operators, staff changes in
// flight): the format is pinned under each suite, since a change would
// orphan them. The HMAC-SM3 value was computed independently with
// OpenSSL's SM3 (HMAC over "openid\x00oABC").
func TestPseudonymIsStable(t *testing.T) {
	secret := []byte("secret-of-32-bytes-for-the-test!")
	for _, tc := range []struct {
		suite suite.Suite
		want  string
	}{
		{suite.Intl, "8069bcd9087a9eb4b5ed936358ffd6e52bd72306ab2f37499153b10ced017cb4"},
		{suite.SM, "2370e302007d7a2f296588397d8ca99d704295ecbaa5d568c001c174e6de5416"},
	} {
		k := NewHashKey(secret, tc.suite)
		if got := k.Pseudonym("openid", "oABC"); got != tc.want {
			t.Errorf("%s: Pseudonym = %s, want %s", tc.suite, got, tc.want)
		}
		if k.Pseudonym("openid", "oABC") == k.Pseudonym("operator", "oABC") {
			t.Errorf("%s: two namespaces meet", tc.suite)
		}
	}
	if NewHashKey(secret, suite.Intl).Pseudonym("openid", "x") == NewHashKey(secret, suite.SM).Pseudonym("openid", "x") {
		t.Error("the two suites agree")
	}
}

func TestDeriveSeparatesUses(t *testing.T) {
	k := NewHashKey([]byte("secret-of-32-bytes-for-the-test!"), suite.SM)
	a, b := k.Derive("a"), k.Derive("b")
	if string(a.Bytes()) == string(b.Bytes()) || a.Suite() != suite.SM || a.Size() != 32 {
		t.Errorf("Derive: %x %x %s", a.Bytes(), b.Bytes(), a.Suite())
	}
}

func TestOpaqueOpensOnlyWhereItWasSealed(t *testing.T) {
	for _, s := range suite.All() {
		k := NewHashKey([]byte("secret-of-32-bytes-for-the-test!"), s)
		o, err := k.Opaque("list")
		if err != nil {
			t.Fatal(err)
		}
		sealed := o.Seal("core-cursor-7", "deposits\x00alice")
		if got, ok := o.Open(sealed, "deposits\x00alice"); !ok || got != "core-cursor-7" {
			t.Errorf("%s: Open = %q, %v", s, got, ok)
		}
		other, _ := k.Opaque("other")
		for name, try := range map[string]func() (string, bool){
			"another context": func() (string, bool) { return o.Open(sealed, "deposits\x00bob") },
			"another label":   func() (string, bool) { return other.Open(sealed, "deposits\x00alice") },
			"cut":             func() (string, bool) { return o.Open(sealed[:len(sealed)-2], "deposits\x00alice") },
			"not base64":      func() (string, bool) { return o.Open("!!", "deposits\x00alice") },
			"too long":        func() (string, bool) { return o.Open(string(make([]byte, 600)), "deposits\x00alice") },
		} {
			if _, ok := try(); ok {
				t.Errorf("%s: %s opened", s, name)
			}
		}
		if o.Seal("", "x") != "" {
			t.Errorf("%s: empty sealed to something", s)
		}
	}
}
