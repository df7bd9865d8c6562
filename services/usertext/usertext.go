// Package usertext checks free text a person types (a certificate's
// purpose, a name) before it is stored or printed, so that what cannot be
// a name or a purpose is refused at input with a field error instead of
// breaking a document later. Text is taken in Unicode normalization form C
// (precomposed, as input methods produce it), trimmed, and then refused
// when it holds a character that has no place in such text:
//
//   - controls (tabs, line breaks, NUL, C1 controls);
//   - format characters: bidi overrides and isolates (U+202A–U+202E,
//     U+2066–U+2069), which make a PDF or a screen read differently from
//     the stored text, zero-width joiners and spaces, the byte-order mark;
//   - private-use, surrogate and unassigned code points, noncharacters
//     (U+FDD0–U+FDEF, U+xxFFFE, U+xxFFFF) and U+FFFD, which stands for
//     bytes that were not UTF-8 or a lone surrogate escape in JSON;
//   - line and paragraph separators;
//   - combining marks left after normalization: documents are drawn glyph
//     by glyph without shaping, so a mark would print beside its letter;
//
// and when it is longer than the field allows, counted in characters
// (runes). A caller that prints the text also passes what its fonts cannot
// draw (emoji, for a certificate), which is refused the same way rather
// than printed as a blank or a box.
package usertext

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"handheld/services"
)

// Clean is the form text is checked and kept in: valid UTF-8 (invalid
// bytes become U+FFFD, which Check refuses), NFC, without leading or
// trailing white space.
func Clean(s string) string {
	return strings.TrimSpace(norm.NFC.String(strings.ToValidUTF8(s, string(unicode.ReplacementChar))))
}

// Check returns the field error for s as field, or nil when it is fine.
// s must be Clean already. max is the length limit in runes; unprintable,
// when not nil, lists the characters the document s goes on cannot draw.
// Codes: services.FieldFormat with Params{"char": "U+202E"} for a
// character that has no place in such text, services.FieldUnprintable
// with the same parameter for one the document cannot print, and
// services.FieldTooLong with Params{"max": max}.
func Check(field, s string, max int, unprintable func(string) []rune) *services.FieldError {
	for _, r := range s {
		if Refused(r) {
			return &services.FieldError{Field: field, Code: services.FieldFormat, Params: map[string]any{"char": codePoint(r)}}
		}
	}
	if utf8.RuneCountInString(s) > max {
		return &services.FieldError{Field: field, Code: services.FieldTooLong, Params: map[string]any{"max": max}}
	}
	if unprintable != nil {
		if bad := unprintable(s); len(bad) > 0 {
			return &services.FieldError{Field: field, Code: services.FieldUnprintable, Params: map[string]any{"char": codePoint(bad[0])}}
		}
	}
	return nil
}

// Refused reports a character that has no place in a name or a purpose
// (see the package documentation). Spaces are allowed; Clean trims them at
// the ends.
func Refused(r rune) bool {
	switch {
	case r == unicode.ReplacementChar, r >= 0xFDD0 && r <= 0xFDEF, r&0xFFFE == 0xFFFE:
		return true
	case unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs, unicode.Zl, unicode.Zp, unicode.M):
		return true
	}
	return !unicode.In(r, unicode.L, unicode.N, unicode.P, unicode.S, unicode.Zs) // unassigned
}

// codePoint names a character for a field error: U+202E. The character
// itself may not display, or may turn the message around.
func codePoint(r rune) string { return fmt.Sprintf("U+%04X", r) }
