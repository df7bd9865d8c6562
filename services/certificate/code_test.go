package certificate

import (
	"bytes"
	"crypto/rand"
	"regexp"
	"strings"
	"testing"

	"handheld/services"
)

var groupedCode = regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$`)

func TestNewVerifyCodeVectors(t *testing.T) {
	cases := []struct {
		in   []byte
		want string
	}{
		{bytes.Repeat([]byte{0}, 10), "0000000000000000"},
		{bytes.Repeat([]byte{0xff}, 10), "ZZZZZZZZZZZZZZZZ"},
		// Symbols 0…F, five bits each, packed big-endian.
		{[]byte{0x00, 0x44, 0x32, 0x14, 0xc7, 0x42, 0x54, 0xb6, 0x35, 0xcf}, "0123456789ABCDEF"},
	}
	for _, tc := range cases {
		got, err := newVerifyCode(bytes.NewReader(tc.in))
		if err != nil || got != tc.want {
			t.Errorf("newVerifyCode(%x) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	if _, err := newVerifyCode(bytes.NewReader([]byte{1, 2, 3})); err == nil {
		t.Error("a short random source must fail")
	}
}

func TestVerifyCodesRoundTrip(t *testing.T) {
	seen := map[string]bool{}
	for range 500 {
		code, err := newVerifyCode(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if seen[code] {
			t.Fatalf("code %s drawn twice", code)
		}
		seen[code] = true
		grouped := FormatCode(code)
		if !groupedCode.MatchString(grouped) {
			t.Fatalf("FormatCode(%s) = %s", code, grouped)
		}
		for _, typed := range []string{grouped, strings.ToLower(grouped), code, " " + strings.ReplaceAll(grouped, "-", " ") + " "} {
			if got, err := NormalizeCode(typed); err != nil || got != code {
				t.Fatalf("NormalizeCode(%q) = %q, %v; want %q", typed, got, err, code)
			}
		}
	}
}

func TestNormalizeCode(t *testing.T) {
	cases := []struct {
		in, want string // want "" means bad_code
	}{
		{"7KQ2-M9XD-4T8W-J3HR", "7KQ2M9XD4T8WJ3HR"},
		{"7kq2-m9xd-4t8w-j3hr", "7KQ2M9XD4T8WJ3HR"},
		{"7KQ2M9XD4T8WJ3HR", "7KQ2M9XD4T8WJ3HR"},
		{"7KQ2 M9XD 4T8W J3HR", "7KQ2M9XD4T8WJ3HR"},
		{"OOOO-IIII-LLLL-oil0", "0000111111110110"}, // O→0, I and L→1
		{"7KQ2-M9XD-4T8W-J3H", ""},                  // 15 symbols
		{"7KQ2-M9XD-4T8W-J3HRX", ""},                // 17 symbols
		{"7KQ2-M9XD-4T8W-J3HU", ""},                 // U is not in the alphabet
		{"7KQ2_M9XD_4T8W_J3HR", ""},
		{"7KQ2-M9XD-4T8W-J3H！", ""},
		{"", ""},
		{"----", ""},
		{strings.Repeat("0", 65), ""},
		{"%27%20OR%201=1", ""},
	}
	for _, tc := range cases {
		got, err := NormalizeCode(tc.in)
		if tc.want == "" {
			if services.ErrorCode(err) != services.CodeCertificateBadCode {
				t.Errorf("NormalizeCode(%q) = %q, %v; want bad_code", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("NormalizeCode(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestIDs(t *testing.T) {
	// All-digit ids are drawn again: 16 zero bytes, then a usable draw.
	src := bytes.NewReader(append(bytes.Repeat([]byte{0}, 16), bytes.Repeat([]byte{0xab}, 16)...))
	id, err := newID(src)
	if err != nil || id != strings.Repeat("ab", 16) {
		t.Fatalf("newID = %q, %v", id, err)
	}
	for _, tc := range []struct {
		id   string
		want bool
	}{
		{strings.Repeat("ab", 16), true},
		{strings.Repeat("AB", 16), false},
		{strings.Repeat("ab", 15), false},
		{strings.Repeat("zz", 16), false},
		{"../../etc/passwd", false},
		{"", false},
	} {
		if got := validID(tc.id); got != tc.want {
			t.Errorf("validID(%q) = %v", tc.id, got)
		}
	}
}
