package loadtest

import (
	"bytes"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The table gives every run its ratio to the first (the baseline) and
// rounds latencies to the microsecond.
func TestTable(t *testing.T) {
	var got bytes.Buffer
	table(&got,
		result{label: "baseline", requests: 5000, rps: 1000, p50: 1234567 * time.Nanosecond, p99: 9 * time.Millisecond},
		result{label: "measured", requests: 1250, errors: 3, rps: 250, p50: 4 * time.Millisecond, p99: 12*time.Millisecond + 400},
	)
	want := `| run | requests | errors | req/s | ratio | p50 | p99 |
|---|---|---|---|---|---|---|
| baseline | 5000 | 0 | 1000 | 1.00 | 1.235ms | 9ms |
| measured | 1250 | 3 | 250 | 0.25 | 4ms | 12ms |
`
	if diff := cmp.Diff(want, got.String()); diff != "" {
		t.Errorf("table (-want +got):\n%s", diff)
	}
}
