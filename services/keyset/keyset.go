// Package keyset makes the opaque cursors of lists paged by (created at,
// id), newest first: the cursor is the last item's time and id, so a page
// is one indexed range query however deep, and a cursor selects only among
// the rows the query already restricts to the caller's own. It reveals
// nothing the caller does not see on the page.
package keyset

import (
	"encoding/base64"
	"strings"
	"time"
)

// MaxLen is the longest cursor Decode accepts.
const MaxLen = 200

// Encode is the cursor after the item created at at with id.
func Encode(at time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(at.UTC().Format(time.RFC3339Nano) + "|" + id))
}

// Decode reads a cursor Encode made; validID says which ids the list can
// hold, so a forged cursor never reaches a query with a malformed id.
func Decode(c string, validID func(string) bool) (time.Time, string, bool) {
	if len(c) > MaxLen {
		return time.Time{}, "", false
	}
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return time.Time{}, "", false
	}
	at, id, ok := strings.Cut(string(raw), "|")
	t, err := time.Parse(time.RFC3339Nano, at)
	if !ok || err != nil || !validID(id) {
		return time.Time{}, "", false
	}
	return t, id, true
}
