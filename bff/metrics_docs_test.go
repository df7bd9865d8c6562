package bff

import (
	"context"
	"log/slog"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"gopkg.in/yaml.v3"
)

// registered is every metric family an App registers, by name, with its
// label names: read from the descriptors, so that a vector nothing has
// touched yet counts too. The app has a Redis URL (nothing needs to
// answer there) so that the Redis pool's family is registered as well.
// It is built once for the tests that ask.
func registered(t *testing.T) map[string][]string {
	t.Helper()
	reg, err := registeredOnce()
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

var registeredOnce = sync.OnceValues(func() (map[string][]string, error) {
	dir, err := os.MkdirTemp("", "handheld-metrics-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	cfg, err := LoadConfig(map[string]string{"HANDHELD_DATA_DIR": dir, "HANDHELD_REDIS_URL": "redis://127.0.0.1:6379/15"})
	if err != nil {
		return nil, err
	}
	a, err := New(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, err
	}
	defer a.Close()
	return describe(a.metrics.registry), nil
})

var (
	descName   = regexp.MustCompile(`fqName: "([^"]+)"`)
	descLabels = regexp.MustCompile(`constLabels: \{([^}]*)\}, variableLabels: \{([^}]*)\}`)
)

// describe reads the names and labels out of the registry's descriptors,
// which client_golang prints and offers no accessor for.
func describe(r *prometheus.Registry) map[string][]string {
	ch := make(chan *prometheus.Desc)
	go func() { r.Describe(ch); close(ch) }()
	out := map[string][]string{}
	for d := range ch {
		s := d.String()
		name := descName.FindStringSubmatch(s)[1]
		var labels []string
		if m := descLabels.FindStringSubmatch(s); m != nil {
			for _, pair := range strings.Split(m[1], ",") {
				if k, _, ok := strings.Cut(pair, "="); ok {
					labels = append(labels, k)
				}
			}
			for _, l := range strings.Split(m[2], ",") {
				if l != "" {
					labels = append(labels, l)
				}
			}
		}
		slices.Sort(labels)
		out[name] = labels
	}
	return out
}

// runtimeMetric: the Go runtime and process collectors' own families,
// documented as a group.
func runtimeMetric(name string) bool {
	return strings.HasPrefix(name, "process_") || strings.HasPrefix(name, "go_") && !strings.HasPrefix(name, "go_sql_")
}

// documentedMetrics reads the table of docs/operations.md § Metrics an
// operator watches: name → its labels column.
func documentedMetrics(t *testing.T) map[string][]string {
	t.Helper()
	section := docSection(t, "## Metrics an operator watches")
	row := regexp.MustCompile("(?m)^\\| `([a-z_:]+)` \\| (counter|gauge|histogram) \\|([a-z_, ]*)\\| .+ \\|$")
	out := map[string][]string{}
	for _, m := range row.FindAllStringSubmatch(section, -1) {
		var labels []string
		for l := range strings.SplitSeq(m[3], ",") {
			if l = strings.TrimSpace(l); l != "" {
				labels = append(labels, l)
			}
		}
		slices.Sort(labels)
		out[m[1]] = labels
	}
	if len(out) == 0 {
		t.Fatal("docs/operations.md: no metrics table under § Metrics an operator watches")
	}
	return out
}

func docSection(t *testing.T, heading string) string {
	t.Helper()
	b, err := os.ReadFile("../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "\n"+heading+"\n")
	if !ok {
		t.Fatalf("docs/operations.md has no %q", heading)
	}
	section, _, _ := strings.Cut(rest, "\n## ")
	return section
}

// Every metric the app registers is in the operator's table with its
// labels, and the table names no metric that does not exist.
func TestEveryMetricIsDocumented(t *testing.T) {
	reg := registered(t)
	docs := documentedMetrics(t)
	for _, name := range slices.Sorted(maps.Keys(reg)) {
		if runtimeMetric(name) {
			continue
		}
		labels, ok := docs[name]
		switch {
		case !ok:
			t.Errorf("%s is registered but not in docs/operations.md § Metrics an operator watches", name)
		case !slices.Equal(labels, reg[name]):
			t.Errorf("%s: documented labels %v, registered %v", name, labels, reg[name])
		}
	}
	for name := range docs {
		if _, ok := reg[name]; !ok {
			t.Errorf("docs/operations.md documents %s, which is not registered", name)
		}
	}
}

// allowedLabels are the label names a metric may carry: each takes values
// from a small fixed set (route templates, groups, topics, classes), never
// from a request. A new label must be added here, on purpose.
var allowedLabels = map[string]bool{
	"route": true, "method": true, "status": true, "endpoint": true, "outcome": true, "group": true,
	"hit": true, "policy": true, "topic": true, "api": true, "result": true, "level": true,
	"version": true, "go_version": true, "revision": true, "db_name": true,
}

// No metric carries a label that could hold personal data.
func TestMetricLabelsAreFixedSets(t *testing.T) {
	for name, labels := range registered(t) {
		if runtimeMetric(name) {
			continue
		}
		for _, l := range labels {
			if !allowedLabels[l] {
				t.Errorf("%s has label %q, not one of the fixed sets", name, l)
			}
		}
	}
}

// ruleFile is the part of a Prometheus rule file the checks read.
type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// Every alert in bff/deploy/prometheus/alerts.yaml is about metrics that
// exist, says what it means and what to do, has a severity, and is in the
// operator's table of alerts; and the table names no alert that is not in
// the file.
func TestAlertRules(t *testing.T) {
	b, err := os.ReadFile("deploy/prometheus/alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var f ruleFile
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("alerts.yaml: %v", err)
	}
	reg := registered(t)
	table := docSection(t, "## Alerts")
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `(\\w+)` \\|").FindAllStringSubmatch(table, -1) {
		documented[m[1]] = true
	}
	seen := map[string]bool{}
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				t.Errorf("group %s: a rule without alert (recording rules belong elsewhere)", g.Name)
				continue
			}
			if seen[r.Alert] {
				t.Errorf("%s given twice", r.Alert)
			}
			seen[r.Alert] = true
			if !documented[r.Alert] {
				t.Errorf("%s is not in docs/operations.md § Alerts", r.Alert)
			}
			if s := r.Labels["severity"]; s != "critical" && s != "warning" {
				t.Errorf("%s: severity %q, want critical or warning", r.Alert, s)
			}
			if len(strings.TrimSpace(r.Annotations["summary"])) < 10 {
				t.Errorf("%s: no summary annotation", r.Alert)
			}
			if len(strings.Fields(r.Annotations["description"])) < 20 {
				t.Errorf("%s: the description must say what it means and what to do: %q", r.Alert, r.Annotations["description"])
			}
			names := metricNames(r.Expr)
			if len(names) == 0 {
				t.Errorf("%s: expression names no metric: %s", r.Alert, r.Expr)
			}
			for _, n := range names {
				if _, ok := reg[family(n, reg)]; !ok {
					t.Errorf("%s: expression names %s, which is not registered", r.Alert, n)
				}
			}
		}
	}
	for name := range documented {
		if !seen[name] {
			t.Errorf("docs/operations.md § Alerts lists %s, which alerts.yaml does not have", name)
		}
	}
}

// family is the registered family a series name belongs to: a histogram's
// _bucket, _sum and _count series belong to the histogram.
func family(name string, reg map[string][]string) string {
	if _, ok := reg[name]; ok {
		return name
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok {
			return base
		}
	}
	return name
}

var (
	promString   = regexp.MustCompile("\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^'\\\\]|\\\\.)*'|`[^`]*`")
	promMatchers = regexp.MustCompile(`\{[^}]*\}`)
	promRange    = regexp.MustCompile(`\[[^\]]*\]`)
	promGrouping = regexp.MustCompile(`\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promIdent    = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*(\s*\()?`)
	promKeywords = map[string]bool{"and": true, "or": true, "unless": true, "bool": true, "offset": true,
		"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
		"inf": true, "nan": true, "e": true}
)

// metricNames are the metric names a PromQL expression selects. A PromQL
// parser is a module of hundreds of dependencies; the grammar this needs
// is small: strip strings, label matchers, ranges and grouping clauses,
// then every identifier that is not a call (function or aggregation) nor
// a keyword is a metric name. promtool check rules checks the syntax.
func metricNames(expr string) []string {
	s := promString.ReplaceAllString(expr, `""`)
	s = promMatchers.ReplaceAllString(s, " ")
	s = promRange.ReplaceAllString(s, " ")
	s = promGrouping.ReplaceAllString(s, " ")
	var out []string
	for _, m := range promIdent.FindAllStringSubmatchIndex(s, -1) {
		tok := s[m[0]:m[1]]
		if m[2] >= 0 || promKeywords[strings.ToLower(tok)] { // a call, or a keyword
			continue
		}
		if m[0] > 0 && (s[m[0]-1] >= '0' && s[m[0]-1] <= '9' || s[m[0]-1] == '.') {
			continue // a number's unit or exponent: 5m, 1e3
		}
		out = append(out, tok)
	}
	return out
}

func TestMetricNamesOfExpressions(t *testing.T) {
	tests := []struct {
		expr string
		want []string
	}{
		{`max(handheld_core_up) == 0`, []string{"handheld_core_up"}},
		{`max by (group) (handheld_core_breaker_open) > 0.5`, []string{"handheld_core_breaker_open"}},
		{`sum(rate(a_total{status=~"5..", x="by (y)"}[5m])) / sum(rate(b_total[5m])) > 0.05`, []string{"a_total", "b_total"}},
		{"histogram_quantile(0.95, sum by (le) (rate(lat_bucket[5m]))) > 1e3", []string{"lat_bucket"}},
		{`x / on (instance) group_left(version) y and z offset 5m unless bool w`, []string{"x", "y", "z", "w"}},
	}
	for _, tt := range tests {
		if got := metricNames(tt.expr); !slices.Equal(got, tt.want) {
			t.Errorf("metricNames(%s) = %v, want %v", tt.expr, got, tt.want)
		}
	}
}
