package keyset

import (
	"errors"
	"handheld/services"
	"strings"
	"testing"
	"time"
)

func TestRoundTripAndRefusals(t *testing.T) {
	valid := func(id string) bool { return strings.HasPrefix(id, "w_") && len(id) == 6 }
	at := time.Date(2026, 12, 5, 1, 32, 0, 123456789, time.FixedZone("CST", 8*3600))
	c := Encode(at, "w_abcd")
	got, id, ok := Decode(c, valid)
	if !ok || !got.Equal(at) || id != "w_abcd" {
		t.Fatalf("Decode(Encode) = %v %q %v", got, id, ok)
	}
	for name, bad := range map[string]string{
		"not base64":   "%%%",
		"no separator": Encode(at, "")[:10],
		"bad id":       Encode(at, "x; drop"),
		"bad time":     "bm90LWEtdGltZXx3X2FiY2Q", // "not-a-time|w_abcd"
		"too long":     strings.Repeat("A", MaxLen+1),
	} {
		if _, _, ok := Decode(bad, valid); ok {
			t.Errorf("%s: %q accepted", name, bad)
		}
	}
}

func TestAfterAndTrim(t *testing.T) {
	valid := func(id string) bool { return id != "" }
	if cond, args, ok := After("", valid, 2); !ok || cond != "" || args != nil {
		t.Fatalf("empty cursor: %q %v %v", cond, args, ok)
	}
	if _, _, ok := After("not a cursor!", valid, 2); ok {
		t.Fatal("a forged cursor was accepted")
	}
	at := time.Date(2026, 12, 6, 9, 0, 0, 123456789, time.UTC)
	cond, args, ok := After(Encode(at, "x1"), valid, 3)
	if !ok || cond != ` AND (created_at < $3 OR (created_at = $3 AND id < $4))` || len(args) != 2 ||
		!args[0].(time.Time).Equal(at.Truncate(time.Microsecond)) || args[1] != "x1" {
		t.Fatalf("After = %q %v %v", cond, args, ok)
	}
	type r struct {
		at time.Time
		id string
	}
	key := func(x r) (time.Time, string) { return x.at, x.id }
	rows := []r{{at, "a"}, {at, "b"}, {at, "c"}}
	if got, next := Trim(rows, 3, key); len(got) != 3 || next != "" {
		t.Fatalf("last page: %d %q", len(got), next)
	}
	got, next := Trim(rows, 2, key)
	if len(got) != 2 || next != Encode(at, "b") {
		t.Fatalf("a page with more: %d %q", len(got), next)
	}
}

func TestPage(t *testing.T) {
	valid := func(id string) bool { return strings.HasPrefix(id, "w_") && len(id) == 6 }
	if n, cond, args, err := Page(0, 20, 100, "", valid, 2); err != nil || n != 20 || cond != "" || args != nil {
		t.Fatalf("defaults: %d %q %v %v", n, cond, args, err)
	}
	c := Encode(time.Date(2026, 12, 5, 1, 32, 0, 0, time.UTC), "w_abcd")
	if n, cond, args, err := Page(100, 20, 100, c, valid, 3); err != nil || n != 100 || !strings.Contains(cond, "$3") || len(args) != 2 {
		t.Fatalf("a full page after a cursor: %d %q %v %v", n, cond, args, err)
	}
	for _, tt := range []struct {
		limit  int
		cursor string
		field  string
	}{{-1, "", "limit"}, {101, "", "limit"}, {10, "junk", "cursor"}, {10, Encode(time.Now(), "x_abcd"), "cursor"}} {
		_, _, _, err := Page(tt.limit, 20, 100, tt.cursor, valid, 2)
		var se *services.Error
		if !errors.As(err, &se) || se.Code != services.CodeInvalid || len(se.Fields) != 1 || se.Fields[0].Field != tt.field {
			t.Errorf("limit %d cursor %q: %v, want invalid %s", tt.limit, tt.cursor, err, tt.field)
		}
	}
}
