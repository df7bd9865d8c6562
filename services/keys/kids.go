package keys

import (
	"slices"
	"strings"
)

// KeyIDs lists the kids of every verifying key of purpose, sorted, so a
// consumer can index them its own way (the compact e-card names its key by
// the last part of the kid).
func (r *Ring) KeyIDs(purpose string) []string {
	var out []string
	for kid, p := range r.public {
		if p.Purpose == purpose {
			out = append(out, kid)
		}
	}
	slices.Sort(out)
	return out
}

// KeyIDSuffix is the random part of a well-formed kid (its last 8 hex
// digits), "" for any other string.
func KeyIDSuffix(kid string) string {
	if !kidPattern.MatchString(kid) {
		return ""
	}
	return kid[strings.LastIndexByte(kid, '-')+1:]
}
