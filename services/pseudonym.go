package services

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
)

// Pseudonym is an HMAC-SHA256, in hex, of a namespaced value (an openid, an
// operator id, an ID number, a staff id): stable, so it can key a table or
// name someone in the audit trail, and useless to whoever reads it without
// the secret. The namespace keeps one kind of value from meeting another.
func Pseudonym(secret []byte, namespace, value string) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(namespace))
	mac.Write([]byte{0})
	mac.Write([]byte(value))
	return hex.EncodeToString(mac.Sum(nil))
}
