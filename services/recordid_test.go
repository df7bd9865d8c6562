package services

import (
	"bytes"
	"encoding/hex"
	"io"
	"testing"
)

func TestRecordKind(t *testing.T) {
	const k RecordKind = "sw"
	id := k.New()
	if !k.Valid(id) || k.Safe(id) != id || id == k.New() {
		t.Fatalf("New made %q", id)
	}
	for _, bad := range []string{"", "sw_", id[:34], id + "0", "tr" + id[2:], "sw_" + "0123456789ABCDEF0123456789abcdef",
		"sw-0123456789abcdef0123456789abcdef", "sw_0123456789abcdef0123456789abcdeg"} {
		if k.Valid(bad) || k.Safe(bad) != "invalid" {
			t.Errorf("%q admitted", bad)
		}
	}
}

// TestRandomHexHasALetter: a draw of digits only is drawn again.
func TestRandomHexHasALetter(t *testing.T) {
	digits := bytes.Repeat([]byte{0x12, 0x34, 0x56, 0x78}, 3) // "123456781234…": no letter
	mixed := bytes.Repeat([]byte{0x1a, 0x2b, 0x3c, 0x4d}, 3)
	r := io.MultiReader(bytes.NewReader(digits), bytes.NewReader(digits), bytes.NewReader(mixed))
	if got, want := randomHex(r, 12), hex.EncodeToString(mixed); got != want {
		t.Fatalf("randomHex = %s, want the first draw with a letter, %s", got, want)
	}
}
