package keyset

import (
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
