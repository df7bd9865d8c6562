package usertext_test

import (
	"slices"
	"strings"
	"testing"

	"handheld/services"
	"handheld/services/usertext"
)

// noEmoji stands for a document's fonts: everything but the emoji block.
func noEmoji(s string) []rune {
	var out []rune
	for _, r := range s {
		if r >= 0x1F300 && r <= 0x1FAFF && !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

func TestCheck(t *testing.T) {
	cases := []struct {
		name, in string
		code     string // "" for fine
		char     string
	}{
		{"Chinese", "异地购房贷款申请（上海市）", "", ""},
		{"Latin with punctuation", "Mortgage at Bank of X, branch #3 — 2026", "", ""},
		{"CJK Extension B", "吉𠮷 𡈽𪚥", "", ""},
		{"ideographic space", "购房\u3000贷款", "", ""},
		{"decomposed accent composes", "Cafe\u0301", "", ""},
		{"control", "a\x00b", services.FieldFormat, "U+0000"},
		{"tab", "a\tb", services.FieldFormat, "U+0009"},
		{"newline", "a\nb", services.FieldFormat, "U+000A"},
		{"C1 control", "a\u0085b", services.FieldFormat, "U+0085"},
		{"bidi override", "abc\u202Edef", services.FieldFormat, "U+202E"},
		{"bidi isolate", "abc\u2067def", services.FieldFormat, "U+2067"},
		{"zero-width joiner", "a\u200Db", services.FieldFormat, "U+200D"},
		{"byte-order mark", "a\uFEFFb", services.FieldFormat, "U+FEFF"},
		{"private use", "a\uE000b", services.FieldFormat, "U+E000"},
		{"supplementary private use", "a\U000F0000b", services.FieldFormat, "U+F0000"},
		{"unassigned", "a\u0378b", services.FieldFormat, "U+0378"},
		{"noncharacter", "a\uFFFFb", services.FieldFormat, "U+FFFF"},
		{"noncharacter block", "a\uFDD0b", services.FieldFormat, "U+FDD0"},
		{"plane noncharacter", "a\U0002FFFEb", services.FieldFormat, "U+2FFFE"},
		{"replacement character (a lone surrogate or bad UTF-8)", "a\uFFFDb", services.FieldFormat, "U+FFFD"},
		{"invalid UTF-8", "a\xffb", services.FieldFormat, "U+FFFD"},
		{"line separator", "a\u2028b", services.FieldFormat, "U+2028"},
		{"combining mark without a precomposed form", "a\u0489b", services.FieldFormat, "U+0489"},
		{"stacked marks", "e\u0301\u0301", services.FieldFormat, "U+0301"},
		{"variation selector", "☺\uFE0F", services.FieldFormat, "U+FE0F"},
		{"emoji", "买房😀", services.FieldUnprintable, "U+1F600"},
		{"long", strings.Repeat("贷", 101), services.FieldTooLong, ""},
		{"long in runes, not bytes", strings.Repeat("𠮷", 100), "", ""},
	}
	for _, tc := range cases {
		in := usertext.Clean(tc.in)
		fe := usertext.Check("purpose", in, 100, noEmoji)
		switch {
		case tc.code == "" && fe != nil:
			t.Errorf("%s: refused %+v", tc.name, fe)
		case tc.code != "" && fe == nil:
			t.Errorf("%s: accepted %+q", tc.name, in)
		case fe != nil && (fe.Field != "purpose" || fe.Code != tc.code || tc.char != "" && fe.Params["char"] != tc.char):
			t.Errorf("%s: %+v, want %s %s", tc.name, fe, tc.code, tc.char)
		}
	}
}

func TestClean(t *testing.T) {
	if got := usertext.Clean("  Cafe\u0301 \u3000"); got != "Café" {
		t.Errorf("Clean = %+q, want NFC and trimmed", got)
	}
	if fe := usertext.Check("name", "😀", 10, nil); fe != nil {
		t.Errorf("without a printer's check, an emoji is text: %+v", fe)
	}
}
