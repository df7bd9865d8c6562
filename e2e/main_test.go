package e2e

import (
	"flag"
	"os"
	"testing"
)

// parallelTests is how many tests marked parallel run at once when
// -parallel is not given. Go's default is the number of CPUs, but an e2e
// test spends most of its time waiting (for the simulator's review and
// payout delays, token lifetimes, retries), not computing: on two cores
// six at a time still leave them idle half the time.
const parallelTests = "6"

func TestMain(m *testing.M) {
	flag.Parse()
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "test.parallel" })
	if !given {
		_ = flag.Set("test.parallel", parallelTests)
	}
	code := m.Run()
	chromium.close()
	os.Exit(code)
}
