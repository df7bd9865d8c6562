package services

import "strconv"

// Yuan writes fen as yuan with two decimals, grouping thousands with sep
// ("" for no grouping): 1234567 → "12,345.67". Integer arithmetic only, so
// no amount is ever rounded; every int64 is written, math.MinInt64
// included.
func Yuan(fen int64, sep string) string {
	u := uint64(fen)
	b := make([]byte, 0, 32)
	if fen < 0 {
		u = -u // two's complement: exact for math.MinInt64 too
		b = append(b, '-')
	}
	whole := strconv.FormatUint(u/100, 10)
	for i := range len(whole) {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b = append(b, sep...)
		}
		b = append(b, whole[i])
	}
	cents := u % 100
	return string(append(b, '.', byte('0'+cents/10), byte('0'+cents%10)))
}
