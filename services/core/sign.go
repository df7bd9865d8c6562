package core

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"time"
)

// Headers carrying a request signature.
const (
	HeaderKeyID     = "X-Core-Key"
	HeaderTimestamp = "X-Core-Timestamp" // Unix seconds
	HeaderNonce     = "X-Core-Nonce"     // 16+ random bytes, hex
	HeaderSignature = "X-Core-Signature" // hex HMAC-SHA256
	HeaderRequestID = "X-Request-ID"
)

// SignatureWindow is how far a request's timestamp may be from the server's
// clock. A nonce must be remembered at least twice this long.
const SignatureWindow = 5 * time.Minute

// Sign computes the request signature: HMAC-SHA256 with the shared secret over
// the method, the path with its raw query, the timestamp, the nonce and the
// hex SHA-256 of the body, joined by newlines.
func Sign(secret []byte, method, pathAndQuery string, ts int64, nonce string, body []byte) string {
	digest := sha256.Sum256(body)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(method))
	mac.Write([]byte{'\n'})
	mac.Write([]byte(pathAndQuery))
	mac.Write([]byte{'\n'})
	mac.Write([]byte(strconv.FormatInt(ts, 10)))
	mac.Write([]byte{'\n'})
	mac.Write([]byte(nonce))
	mac.Write([]byte{'\n'})
	mac.Write([]byte(hex.EncodeToString(digest[:])))
	return hex.EncodeToString(mac.Sum(nil))
}

// VerifySignature checks a signature in constant time and the timestamp
// window. It does not check the nonce: the server owns its nonce store.
func VerifySignature(secret []byte, method, pathAndQuery string, ts int64, nonce string, body []byte, sig string, now time.Time) bool {
	if len(nonce) < 16 || len(nonce) > 128 {
		return false
	}
	skew := now.Sub(time.Unix(ts, 0))
	if skew > SignatureWindow || skew < -SignatureWindow {
		return false
	}
	want := Sign(secret, method, pathAndQuery, ts, nonce, body)
	return hmac.Equal([]byte(want), []byte(sig))
}

// SignHeaders names the four headers that carry a signature in one
// contract (the core's, the data-sharing exchange's, the national
// platform's: each its own prefix, one scheme).
type SignHeaders struct{ KeyID, Timestamp, Nonce, Signature string }

// VerifyRequest checks a signed request as a server of such a contract
// does: a known key id, the timestamp within SignatureWindow, the
// signature over the method, the escaped path (these contracts carry no
// query), the timestamp, the nonce and the body, and then the nonce
// unused under that key (recorded in nonces). A full nonce store refuses.
func VerifyRequest(r *http.Request, body []byte, h SignHeaders, keys map[string][]byte, nonces Nonces, now time.Time) bool {
	keyID := r.Header.Get(h.KeyID)
	secret, ok := keys[keyID]
	if !ok {
		return false
	}
	ts, err := strconv.ParseInt(r.Header.Get(h.Timestamp), 10, 64)
	if err != nil {
		return false
	}
	nonce := r.Header.Get(h.Nonce)
	if !VerifySignature(secret, r.Method, r.URL.EscapedPath(), ts, nonce, body, r.Header.Get(h.Signature), now) {
		return false
	}
	fresh, err := nonces.Use(r.Context(), keyID, nonce, now)
	return fresh && err == nil
}
