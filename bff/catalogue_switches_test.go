package bff

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"handheld/services/catalogue"
	"handheld/services/hours"
	"handheld/services/withdrawal"
)

// switchUse is a service switch named in code: middleware.Service(u.hours,
// hours.X) on a route, or a handler's own Check(hours.X, ...).
var switchUse = regexp.MustCompile(`hours\.(Account|Certificate|Withdrawal|Employer|[A-Z][A-Za-z]*)\b`)

// notSwitches are the hours package's other exported names.
var notSwitches = []string{"New", "Gate", "Policy", "Rule", "Service", "Services", "ChannelAny", "Channels"}

// Every switch a route or handler of bff checks is one the catalogue
// knows, and the shipped catalogue has an item behind each: a switch added
// to a route without its catalogue entry fails here, before a client's
// menu shows a service whose hours it cannot know.
func TestEveryRouteSwitchHasACatalogueItem(t *testing.T) {
	used := map[string]bool{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range switchUse.FindAllStringSubmatch(string(src), -1) {
			if !slices.Contains(notSwitches, m[1]) {
				used[m[1]] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(used) < 4 {
		t.Fatalf("found only %v: the scan is broken", used)
	}
	c, err := catalogue.New(catalogue.Default(), withdrawal.DefaultPolicies())
	if err != nil {
		t.Fatal(err)
	}
	for name := range used {
		sw := hours.Service(strings.ToLower(name))
		if !slices.Contains(hours.Services(), sw) {
			t.Errorf("hours.%s is checked by a route but is not in hours.Services()", name)
			continue
		}
		if !slices.ContainsFunc(c.Items(catalogue.Filter{}), func(s catalogue.Service) bool { return slices.Contains(s.Switches, sw) }) {
			t.Errorf("no catalogue item behind the %s switch", sw)
		}
	}
}
