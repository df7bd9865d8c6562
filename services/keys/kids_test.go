package keys

import (
	"slices"
	"strings"
	"testing"
	"time"

	"handheld/services/suite"
)

func TestKeyIDsAndSuffix(t *testing.T) {
	r, err := Ensure(t.TempDir(), time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC), suite.Intl, PurposeECard, PurposeTokens)
	if err != nil {
		t.Fatal(err)
	}
	kid := r.Signer(PurposeECard).KID
	if got := r.KeyIDs(PurposeECard); !slices.Equal(got, []string{kid}) {
		t.Fatalf("ecard kids %v, want [%s]", got, kid)
	}
	if got := r.KeyIDs(PurposeCertificates); len(got) != 0 {
		t.Fatalf("certificate kids %v on a ring without them", got)
	}
	if got := KeyIDSuffix(kid); len(got) != 8 || !strings.HasSuffix(kid, "-"+got) {
		t.Fatalf("suffix of %s = %q", kid, got)
	}
	for _, bad := range []string{"", "ecard", "ecard-20260314-1a2b3c4", "ecard-20260314-1A2B3C4D", "ecard-2026-1a2b3c4d"} {
		if got := KeyIDSuffix(bad); got != "" {
			t.Errorf("suffix of %q = %q", bad, got)
		}
	}
}
