package services

import "testing"

// Pseudonyms key stored rows (bindings, operators, staff changes in
// flight): the format is pinned, since a change would orphan them.
func TestPseudonymIsStable(t *testing.T) {
	secret := []byte("secret-of-32-bytes-for-the-test!")
	if got, want := Pseudonym(secret, "openid", "oABC"), "8069bcd9087a9eb4b5ed936358ffd6e52bd72306ab2f37499153b10ced017cb4"; got != want {
		t.Errorf("Pseudonym = %s, want %s", got, want)
	}
	if Pseudonym(secret, "openid", "oABC") == Pseudonym(secret, "operator", "oABC") {
		t.Error("two namespaces meet")
	}
}
