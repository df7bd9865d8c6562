package coresim

import (
	"encoding/base64"
	"strconv"
	"strings"
)

// Cursors are opaque to clients: base64url of "<kind>:<position>". The kind
// stops a cursor from one list being used on another.
const (
	cursorDeposits = "d"
	cursorSchedule = "s"
	cursorStaff    = "u"
	// cursorUnitLedger pages the unit ledger by sequence number.
	cursorUnitLedger = "l"
)

func encodeCursor(kind, pos string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(kind + ":" + pos))
}

// decodeCursor returns the position in a cursor; "" for no cursor.
func decodeCursor(kind, c string) (string, error) {
	if c == "" {
		return "", nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(c)
	pos, ok := strings.CutPrefix(string(raw), kind+":")
	if err != nil || !ok || pos == "" {
		return "", badRequest("cursor: not a cursor of this list")
	}
	return pos, nil
}

// decodeIntCursor is decodeCursor for numeric positions; 0 for no cursor.
func decodeIntCursor(kind, c string) (int, error) {
	pos, err := decodeCursor(kind, c)
	if err != nil || pos == "" {
		return 0, err
	}
	n, err := strconv.Atoi(pos)
	if err != nil || n <= 0 {
		return 0, badRequest("cursor: not a cursor of this list")
	}
	return n, nil
}

// pageLimit reads ?limit=: default 20, at most 100 (larger is capped).
func pageLimit(s string) (int, error) {
	if s == "" {
		return 20, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, badRequest("limit: want a whole number from 1 to 100")
	}
	return min(n, 100), nil
}
