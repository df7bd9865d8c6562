// Package keyset makes the opaque cursors of lists paged by (created at,
// id), newest first: the cursor is the last item's time and id, so a page
// is one indexed range query however deep, and a cursor selects only among
// the rows the query already restricts to the caller's own. It reveals
// nothing the caller does not see on the page.
package keyset

import (
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"handheld/services"
	"handheld/services/store"
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

// After is the condition that keeps the rows after cursor in a list
// ordered by (created_at DESC, id DESC), its arguments numbered from $n:
// "" and none for an empty cursor, ok false for one Decode refuses.
func After(cursor string, validID func(string) bool, n int) (cond string, args []any, ok bool) {
	if cursor == "" {
		return "", nil, true
	}
	at, id, ok := Decode(cursor, validID)
	if !ok {
		return "", nil, false
	}
	a, b := "$"+strconv.Itoa(n), "$"+strconv.Itoa(n+1)
	return ` AND (created_at < ` + a + ` OR (created_at = ` + a + ` AND id < ` + b + `))`, []any{store.Timestamp(at), id}, true
}

// Trim cuts a page read with limit+1 rows to limit, and is the cursor of
// the next page: "" when this one is the last. key is a row's created at
// and id.
func Trim[T any](rows []T, limit int, key func(T) (time.Time, string)) ([]T, string) {
	if len(rows) <= limit {
		return rows, ""
	}
	rows = rows[:limit]
	return rows, Encode(key(rows[limit-1]))
}

// Page checks a list's request and says what to read: limit is 0 for def,
// else 1–max; cursor is "" or one Encode made for an id validID accepts.
// cond and args are After's, numbered from $n. A limit or cursor out of
// shape is an invalid-input error naming the field.
func Page(limit, def, max int, cursor string, validID func(string) bool, n int) (read int, cond string, args []any, err error) {
	if limit == 0 {
		limit = def
	}
	if limit < 1 || limit > max {
		return 0, "", nil, services.Invalid(services.FieldError{Field: "limit", Code: services.FieldOutOfRange,
			Params: map[string]any{"min": 1, "max": max}})
	}
	cond, args, ok := After(cursor, validID, n)
	if !ok {
		return 0, "", nil, services.Invalid(services.FieldError{Field: "cursor", Code: services.FieldFormat})
	}
	return limit, cond, args, nil
}
