package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"handheld/bff/loadtest"
)

// bench -h lists every scenario, and a misspelt name stops the command
// before anything starts (nothing is printed to stdout).
func TestBenchUsageAndUnknownScenario(t *testing.T) {
	var errOut bytes.Buffer
	_ = run(context.Background(), []string{"bench", "-h"}, &bytes.Buffer{}, &errOut)
	for _, s := range loadtest.Scenarios() {
		if !strings.Contains(errOut.String(), "  "+s.Name+" ") {
			t.Errorf("bench -h does not list %q:\n%s", s.Name, errOut.String())
		}
	}
	var out bytes.Buffer
	err := run(context.Background(), []string{"bench", "-d", "1ms", "burst", "acount"}, &out, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), `"acount"`) || out.Len() != 0 {
		t.Fatalf("bench with a misspelt scenario: %v, stdout %q", err, out.String())
	}
}
