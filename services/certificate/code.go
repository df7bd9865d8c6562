package certificate

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"time"

	"handheld/services"
)

// Verify codes are 16 symbols of 5 bits, 80 random bits: far beyond what
// guessing at the verify rate limit can reach. They are shown in four
// groups of four, like 7KQ2-M9XD-4T8W-J3HR.
const (
	codeLen      = 16
	codeBytes    = 10
	codeGroup    = 4
	maxCodeInput = 64 // bytes; a longer input is refused before any work
	idBytes      = 16
	numberDigits = 6
)

// newVerifyCode draws a canonical code (16 symbols, no separators).
func newVerifyCode(r io.Reader) (string, error) {
	var b [codeBytes]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("certificate: verify code: %w", err)
	}
	out := make([]byte, 0, codeLen)
	var acc uint64 // 80 bits are read 40 at a time
	for half := range 2 {
		acc = 0
		for _, c := range b[half*5 : half*5+5] {
			acc = acc<<8 | uint64(c)
		}
		for i := 7; i >= 0; i-- {
			out = append(out, services.Crockford[(acc>>(uint(i)*5))&31])
		}
	}
	return string(out), nil
}

// FormatCode groups a canonical code for people: 7KQ2-M9XD-4T8W-J3HR.
func FormatCode(canonical string) string {
	var b strings.Builder
	for i := 0; i < len(canonical); i += codeGroup {
		if i > 0 {
			b.WriteByte('-')
		}
		b.WriteString(canonical[i:min(i+codeGroup, len(canonical))])
	}
	return b.String()
}

// NormalizeCode turns what someone typed or scanned into the canonical
// code: case is ignored, dashes and spaces are dropped, O reads as 0 and
// I or L as 1. Anything else that is not 16 symbols of the alphabet is
// certificate.bad_code.
func NormalizeCode(input string) (string, error) {
	if len(input) > maxCodeInput {
		return "", services.Errorf(services.CodeCertificateBadCode, "verify code of %d bytes", len(input))
	}
	out := make([]byte, 0, codeLen)
	for i := 0; i < len(input); i++ {
		c := input[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		switch c {
		case '-', ' ':
			continue
		case 'O':
			c = '0'
		case 'I', 'L':
			c = '1'
		}
		if strings.IndexByte(services.Crockford, c) < 0 {
			return "", services.Errorf(services.CodeCertificateBadCode, "verify code has a character outside the alphabet")
		}
		out = append(out, c)
	}
	if len(out) != codeLen {
		return "", services.Errorf(services.CodeCertificateBadCode, "verify code has %d symbols, want %d", len(out), codeLen)
	}
	return string(out), nil
}

// newID draws a certificate id: 32 hex digits (128 bits). An id that is
// all digits is drawn again, since the audit trail's guard would take a
// long digit run in a target for a card number.
func newID(r io.Reader) (string, error) {
	for {
		var b [idBytes]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return "", fmt.Errorf("certificate: id: %w", err)
		}
		id := hex.EncodeToString(b[:])
		if strings.ContainsAny(id, "abcdef") {
			return id, nil
		}
	}
}

// validID reports whether id can be a certificate id, so that a path
// parameter of any other shape is not found without a query.
func validID(id string) bool {
	if len(id) != 2*idBytes {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil && strings.ToLower(id) == id
}

// nextNumber gives out the next certificate number of the year in the
// centre's clock: <centre code>-<yyyy>-<6-digit sequence>. The counter
// is bumped in a statement of its own, before the certificate is rendered,
// so that rendering never holds a database lock; a number whose issue
// then fails is skipped, never given out twice.
func (s *Service) nextNumber(ctx context.Context, at time.Time) (string, error) {
	prefix := fmt.Sprintf("%s-%04d", s.CentreCode, at.In(services.CentreTime).Year())
	var n int64
	err := s.Store.QueryRow(ctx, `INSERT INTO certificate_numbers (prefix, last_number) VALUES ($1, 1)
		ON CONFLICT (prefix) DO UPDATE SET last_number = certificate_numbers.last_number + 1
		RETURNING last_number`, prefix).Scan(&n)
	if err != nil {
		return "", services.Errorf(services.CodeInternal, "certificate: number: %w", err)
	}
	return fmt.Sprintf("%s-%0*d", prefix, numberDigits, n), nil
}
