package services

import "testing"

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
