package operator

import (
	"fmt"
	"io"
	"strings"

	"handheld/services"
)

// Temporary passwords: four groups of four characters from an alphabet
// without look-alikes (no 0/O, 1/l/I), joined by hyphens, with at least one
// lower-case letter, one upper-case letter and one digit: about 88 bits,
// easy to read out to a clerk, and meeting the password policy itself.
const (
	tempLower  = "abcdefghijkmnpqrstuvwxyz"
	tempUpper  = "ABCDEFGHJKLMNPQRSTUVWXYZ"
	tempDigits = "23456789"
	tempGroups = 4
	tempGroup  = 4
)

func (s *Service) temporaryPassword() (string, error) {
	alphabet := tempLower + tempUpper + tempDigits
	for range 100 {
		buf := make([]byte, tempGroups*tempGroup)
		if _, err := io.ReadFull(s.Rand, buf); err != nil {
			return "", services.Errorf(services.CodeInternal, "temporary password: %w", err)
		}
		var b strings.Builder
		for i, c := range buf {
			if i > 0 && i%tempGroup == 0 {
				b.WriteByte('-')
			}
			b.WriteByte(alphabet[int(c)%len(alphabet)]) // 256 % 56 leaves a slight bias: 88 bits either way
		}
		pw := b.String()
		if strings.ContainsAny(pw, tempLower) && strings.ContainsAny(pw, tempUpper) && strings.ContainsAny(pw, tempDigits) {
			return pw, nil
		}
	}
	return "", services.Errorf(services.CodeInternal, "temporary password: %w", fmt.Errorf("no password with every class"))
}
