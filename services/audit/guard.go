package audit

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"handheld/services"
)

// maxFieldLen caps every text field, in bytes: identifiers are short, and a
// long field is more likely a payload pasted by mistake than an id.
const maxFieldLen = 256

// The closed vocabularies of Record.Channel and Record.Result.
var (
	channels = map[string]bool{"miniapp": true, "app": true, "kiosk": true, "public": true, "system": true, "web": true}
	results  = map[string]bool{"ok": true, "denied": true, "error": true}
)

// Check is the guard Append and Enqueue apply, for callers that build
// record fields and want to know they will pass before an operation.
func Check(r Record) error { return check(r) }

// check refuses a record that is incomplete, malformed, or carries what
// looks like personal data. It runs before the record is queued, so that one
// bad record fails its own caller and never the batch it would have joined.
// Errors name the field and the rule, never the value.
func check(r Record) error {
	if y := r.At.Year(); y < 1970 || y > 9999 {
		return invalid("at: year %d outside 1970–9999", y)
	}
	fields := []struct{ name, value string }{
		{"subject", r.Subject}, {"actor", r.Actor}, {"channel", r.Channel}, {"action", r.Action},
		{"target", r.Target}, {"request_id", r.RequestID}, {"result", r.Result},
	}
	for _, f := range fields {
		if err := wellFormed(f.value); err != nil {
			return invalid("%s: %s", f.name, err)
		}
	}
	switch {
	case r.Actor == "":
		return invalid("actor: required")
	case !actionShaped(r.Action):
		return invalid("action: want lower-case words joined by dots, like login.success")
	case !channels[r.Channel]:
		return invalid("channel: want miniapp, app, kiosk, web, public or system")
	case !results[r.Result]:
		return invalid("result: want ok, denied or error")
	}
	for _, f := range []struct{ name, value string }{{"subject", r.Subject}, {"actor", r.Actor}, {"action", r.Action}, {"target", r.Target}} {
		if what := personalData(f.value); what != "" {
			return &services.Error{Code: services.CodeInternal,
				Cause: fmt.Errorf("%w: %s holds what looks like %s; pass an identifier", ErrPersonalData, f.name, what)}
		}
	}
	return nil
}

// actionShaped reports whether action is lower-case words joined by dots,
// each word a letter then letters, digits or underscores
// (^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$, checked on every record without
// the regexp engine).
func actionShaped(action string) bool {
	for word := range strings.SplitSeq(action, ".") {
		if word == "" || word[0] < 'a' || word[0] > 'z' {
			return false
		}
		for _, c := range []byte(word[1:]) {
			if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
				return false
			}
		}
	}
	return true
}

// wellFormed refuses what PostgreSQL would refuse for the whole batch
// (invalid UTF-8, NUL) and what has no place in an identifier.
func wellFormed(s string) error {
	if len(s) > maxFieldLen {
		return fmt.Errorf("longer than %d bytes", maxFieldLen)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("not UTF-8")
	}
	for _, c := range s {
		if unicode.IsControl(c) {
			return fmt.Errorf("control character")
		}
	}
	return nil
}

func invalid(format string, args ...any) error {
	return &services.Error{Code: services.CodeInternal, Cause: fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)}
}

// personalData names the kind of personal data s seems to hold, or "".
//
// It looks at every maximal run of digits, wherever it stands ("id:…",
// "tel13812345678"): 17 digits and an X is an ID number (GB 11643); 16 or
// more digits is a bank card or an ID number; 11 digits 1[3-9]… is a
// mainland mobile, also behind 86 or 0086. Phones and cards written in
// groups ("138 1234 5678", "6222-0212-3456-7890") are caught too.
//
// Shape cannot tell an ID number from an organisation code written as 18
// digits: such a unified social credit code is refused too, so refer to
// units by a code with letters in it or by an internal id.
//
// One exception: a run inside a hexadecimal digest of 24 characters or more
// (an HMAC pseudonym, a SHA-256, an operator's subject "op_" and 26 hex
// digits) is not looked at. About one SHA-256 in a
// hundred, written in hex, holds a run shaped like a phone or a card by
// chance, and operators are known by such digests.
func personalData(s string) string {
	s = strings.Map(asciiDigit, s)
	for i := 0; i < len(s); {
		if !isAlnum(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && isAlnum(s[j]) {
			j++
		}
		if what := inToken(s[i:j]); what != "" {
			return what
		}
		i = j
	}
	if !strings.ContainsAny(s, " -") || digits(s) < 11 { // what grouped numbers need at least
		return ""
	}
	switch {
	case groupedMobile.MatchString(s):
		return "a mobile number"
	case groupedCard.MatchString(s):
		return "a card number"
	}
	return ""
}

// inToken checks the digit runs of one alphanumeric token.
func inToken(tok string) string {
	if isHexDigest(tok) {
		return ""
	}
	for i := 0; i < len(tok); {
		if !isDigit(tok[i]) {
			i++
			continue
		}
		j := i
		for j < len(tok) && isDigit(tok[j]) {
			j++
		}
		run := tok[i:j]
		switch {
		case len(run) == 17 && j < len(tok) && (tok[j] == 'X' || tok[j] == 'x'):
			return "an ID number"
		case len(run) >= 16:
			return "a card or ID number"
		case len(run) >= 11 && mobile.MatchString(run):
			return "a mobile number"
		}
		i = j
	}
	return ""
}

var (
	mobile        = regexp.MustCompile(`^(?:0086|86)?1[3-9][0-9]{9}$`)
	groupedMobile = regexp.MustCompile(`(?:^|[^0-9])1[3-9][0-9][ -][0-9]{4}[ -][0-9]{4}(?:$|[^0-9])`)
	groupedCard   = regexp.MustCompile(`(?:^|[^0-9])[0-9]{4}(?:[ -][0-9]{4}){3}(?:[ -]?[0-9]{1,3})?(?:$|[^0-9])`)
)

// digits counts the ASCII digits in s.
func digits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			n++
		}
	}
	return n
}

// isHexDigest reports whether tok is 32 or more hex digits, letters among
// them: the shape of a digest, not of a number.
func isHexDigest(tok string) bool {
	if len(tok) < 24 {
		return false
	}
	letters := false
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		switch {
		case isDigit(c):
		case 'a' <= c && c <= 'f', 'A' <= c && c <= 'F':
			letters = true
		default:
			return false
		}
	}
	return letters
}

// asciiDigit turns full-width digits, as Chinese input methods type them,
// into ASCII ones so that the same rules see them.
func asciiDigit(r rune) rune {
	if '０' <= r && r <= '９' {
		return r - '０' + '0'
	}
	return r
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isAlnum(c byte) bool {
	return isDigit(c) || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}
