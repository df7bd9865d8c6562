package account

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
)

// Lists whose cursors are sealed; the name is bound into the seal, so a
// deposits cursor is no schedule cursor.
const (
	listDeposits = "deposits"
	listSchedule = "schedule"
)

// maxCursorLen bounds what is decoded at all: sealed core cursors are short.
const maxCursorLen = 512

// errCursor is any cursor that this service did not issue to this subject
// for this list; the client sees a field error on "cursor".
var errCursor = errors.New("account: not a cursor of this list")

// sealer protects what crosses to the client and back.
//
// A core's cursor is the core's business: it may spell a position, a
// query, even the core's person id. The person id already comes from the
// token, which alone prevents reading another person's list; sealing goes
// further. The client gets the core cursor encrypted and authenticated
// (AES-256-GCM) with the list and the subject as associated data, so it can
// neither read nor alter it, nor replay it under another subject or on
// another list, and a forged cursor never reaches the core.
//
// Entry ids are an HMAC of the subject and the core's entry id: stable, so
// a client can key its rows, and free of the core's customer number that
// core ids carry.
type sealer struct {
	aead  cipher.AEAD
	idKey []byte
}

func newSealer(secret []byte) (sealer, error) {
	block, err := aes.NewCipher(derive(secret, "handheld/account/cursor/v1"))
	if err != nil {
		return sealer{}, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return sealer{}, err
	}
	return sealer{aead: aead, idKey: derive(secret, "handheld/account/entry-id/v1")}, nil
}

// derive makes one 32-byte key per purpose from the service secret.
func derive(secret []byte, purpose string) []byte {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(purpose))
	return mac.Sum(nil)
}

// cursor seals a core cursor for subject and list; "" stays "" (last page).
func (s sealer) cursor(list, subject, coreCursor string) string {
	if coreCursor == "" {
		return ""
	}
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(coreCursor)+s.aead.Overhead())
	_, _ = rand.Read(nonce)
	sealed := s.aead.Seal(nonce, nonce, []byte(coreCursor), associated(list, subject))
	return base64.RawURLEncoding.EncodeToString(sealed)
}

// open returns the core cursor inside c; "" for no cursor.
func (s sealer) open(list, subject, c string) (string, error) {
	if c == "" {
		return "", nil
	}
	if len(c) > maxCursorLen {
		return "", errCursor
	}
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(raw) < s.aead.NonceSize()+s.aead.Overhead()+1 {
		return "", errCursor
	}
	n := s.aead.NonceSize()
	plain, err := s.aead.Open(nil, raw[:n], raw[n:], associated(list, subject))
	if err != nil {
		return "", errCursor
	}
	return string(plain), nil
}

func associated(list, subject string) []byte { return []byte(list + "\x00" + subject) }

// entryID is the opaque id a client sees for a core entry id.
func (s sealer) entryID(subject, coreID string) string {
	mac := hmac.New(sha256.New, s.idKey)
	mac.Write([]byte(subject + "\x00" + coreID))
	return "e_" + base64.RawURLEncoding.EncodeToString(mac.Sum(nil)[:15])
}
