package services

import (
	"crypto/rand"
	"encoding/hex"
	"io"
	"strings"
)

// RecordKind is the prefix of a record's id: "wd" for a withdrawal, "tr" a
// transfer, "sw" a standing withdrawal. Such an id is the prefix, "_" and
// 32 hex digits (128 random bits): hex of that length is what the audit
// trail's personal-data guard knows for a digest, so no id can pass for a
// phone or card number there, and guessing one is hopeless.
type RecordKind string

// New is a fresh id of the kind.
func (k RecordKind) New() string {
	return string(k) + "_" + RandomHex(16)
}

// RandomHex is n random bytes in lower-case hex with at least one letter
// among the digits: a draw of digits only (once in about 3 million for 16
// bytes, 77 000 for 12) is drawn again, so that no id can look like a
// card or ID number to the audit trail's personal-data guard, which knows
// hex for a digest by its letters.
func RandomHex(n int) string { return randomHex(rand.Reader, n) }

func randomHex(r io.Reader, n int) string {
	b := make([]byte, n)
	for {
		_, _ = io.ReadFull(r, b) // crypto/rand never fails (Go 1.24+)
		if h := hex.EncodeToString(b); strings.ContainsAny(h, "abcdef") {
			return h
		}
	}
}

// Valid admits what New makes and nothing else, before any lookup.
func (k RecordKind) Valid(id string) bool {
	rest, ok := strings.CutPrefix(id, string(k)+"_")
	if !ok || len(rest) != 32 {
		return false
	}
	for _, r := range rest {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	return true
}

// Safe is id for the audit trail when valid, "invalid" otherwise: what a
// caller sent is never written there as it came.
func (k RecordKind) Safe(id string) string {
	if k.Valid(id) {
		return id
	}
	return "invalid"
}
