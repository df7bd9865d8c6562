package employer

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
)

// maxCursorLen bounds what is decoded at all: sealed core cursors are short.
const maxCursorLen = 512

// errCursor is any cursor this service did not issue for this list.
var errCursor = errors.New("employer: not a cursor of this list")

// cursorSealer keeps the core's cursors opaque, as services/account does
// for the depositor's lists: the client gets the core cursor encrypted and
// authenticated (AES-256-GCM) with the list (operator, unit, filter and
// search) as associated data, so it can neither read nor alter it, nor use
// it for another query or under another operator, and a forged cursor
// never reaches the core.
type cursorSealer struct{ aead cipher.AEAD }

func newCursorSealer(secret []byte) (cursorSealer, error) {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("handheld/employer/cursor/v1"))
	block, err := aes.NewCipher(mac.Sum(nil))
	if err != nil {
		return cursorSealer{}, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return cursorSealer{}, err
	}
	return cursorSealer{aead: aead}, nil
}

// seal wraps a core cursor for list; "" stays "" (the last page).
func (s cursorSealer) seal(list, coreCursor string) string {
	if coreCursor == "" {
		return ""
	}
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(coreCursor)+s.aead.Overhead())
	_, _ = rand.Read(nonce)
	return base64.RawURLEncoding.EncodeToString(s.aead.Seal(nonce, nonce, []byte(coreCursor), []byte(list)))
}

// open returns the core cursor inside c; "" for no cursor.
func (s cursorSealer) open(list, c string) (string, error) {
	if c == "" {
		return "", nil
	}
	if len(c) > maxCursorLen {
		return "", errCursor
	}
	raw, err := base64.RawURLEncoding.DecodeString(c)
	n := s.aead.NonceSize()
	if err != nil || len(raw) < n+s.aead.Overhead()+1 {
		return "", errCursor
	}
	plain, err := s.aead.Open(nil, raw[:n], raw[n:], []byte(list))
	if err != nil {
		return "", errCursor
	}
	return string(plain), nil
}
