package inbox

import (
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

// position is where a page ended: the last message's creation time and id,
// the list's order. Cursors are not sealed: the list is always the
// caller's own (the subject comes from the token), so a forged cursor can
// only skip around in it. It is validated all the same, so that anything
// but a cursor of this shape is request.invalid, never a query error.
type position struct {
	createdAt time.Time
	id        string
}

func positionOf(m Message) position { return position{createdAt: m.CreatedAt, id: m.ID} }

// String is the cursor: "m1.<unix micros>.<id>", base64url.
func (p position) String() string {
	raw := "m1." + strconv.FormatInt(p.createdAt.UnixMicro(), 10) + "." + p.id
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// maxCursorLen bounds what is decoded at all: a real cursor is under 80.
const maxCursorLen = 120

// Cursor times stay within what both backends store (years 1970–9999).
const maxCursorMicros = 253402300799999999

// parseCursor reads a cursor; "" is the first page.
func parseCursor(c string) (position, bool) {
	if c == "" {
		return position{}, true
	}
	if len(c) > maxCursorLen {
		return position{}, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return position{}, false
	}
	parts := strings.SplitN(string(raw), ".", 3)
	if len(parts) != 3 || parts[0] != "m1" || !idShape.MatchString(parts[2]) {
		return position{}, false
	}
	micros, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || micros < 0 || micros > maxCursorMicros {
		return position{}, false
	}
	return position{createdAt: time.UnixMicro(micros).UTC(), id: parts[2]}, true
}
