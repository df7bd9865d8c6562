package operator

import (
	"crypto/rand"
	"testing"

	"handheld/services/identity"
)

// Temporary passwords meet the password policy themselves, and differ.
func TestTemporaryPasswordsMeetThePolicy(t *testing.T) {
	s := &Service{Deps{Rand: rand.Reader}}
	seen := map[string]bool{}
	for range 200 {
		pw, err := s.temporaryPassword()
		if err != nil {
			t.Fatal(err)
		}
		if len(pw) != 19 || seen[pw] {
			t.Fatalf("password %q: wrong length or repeated", pw)
		}
		seen[pw] = true
		if fs := identity.DefaultPasswordPolicy().Check("p", pw, "shop09", "old"); len(fs) > 0 {
			t.Fatalf("%q breaks the policy: %+v", pw, fs)
		}
	}
}
