package ecard

import "errors"

// base45Alphabet is RFC 9285's: the 45 characters of a QR code's
// alphanumeric mode, so a base45 text fills 5.5 bits per character of the
// code instead of 8 in byte mode.
const base45Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"

// base45Values maps a byte to its base45 value plus one (0: not base45).
var base45Values = func() (t [256]byte) {
	for i := range len(base45Alphabet) {
		t[base45Alphabet[i]] = byte(i + 1)
	}
	return t
}()

// errBase45 is any text that is not RFC 9285 base45.
var errBase45 = errors.New("not base45")

// base45Encode encodes b: each two bytes become three characters, a last
// odd byte two.
func base45Encode(b []byte) string {
	out := make([]byte, 0, len(b)/2*3+2)
	for i := 0; i+1 < len(b); i += 2 {
		n := int(b[i])<<8 | int(b[i+1])
		out = append(out, base45Alphabet[n%45], base45Alphabet[n/45%45], base45Alphabet[n/2025])
	}
	if len(b)%2 == 1 {
		n := int(b[len(b)-1])
		out = append(out, base45Alphabet[n%45], base45Alphabet[n/45])
	}
	return string(out)
}

// base45Decode is the strict inverse of base45Encode: a character outside
// the alphabet, a length of 3k+1, or a group worth more than its bytes can
// hold is an error (RFC 9285 section 6).
func base45Decode(s string) ([]byte, error) {
	if len(s)%3 == 1 {
		return nil, errBase45
	}
	out := make([]byte, 0, len(s)/3*2+1)
	for i := 0; i < len(s); i += 3 {
		n, width := 0, min(3, len(s)-i)
		for j := width - 1; j >= 0; j-- {
			v := base45Values[s[i+j]]
			if v == 0 {
				return nil, errBase45
			}
			n = n*45 + int(v-1)
		}
		if width == 3 {
			if n > 0xffff {
				return nil, errBase45
			}
			out = append(out, byte(n>>8), byte(n))
			continue
		}
		if n > 0xff {
			return nil, errBase45
		}
		out = append(out, byte(n))
	}
	return out, nil
}
