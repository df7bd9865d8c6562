package ratelimit_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"handheld/services/ratelimit"
)

func validPolicy() ratelimit.Policy {
	return ratelimit.Policy{Name: "login_ip", Key: ratelimit.KeyIP, Classes: []ratelimit.Class{"login"},
		Rate: 20, Burst: 10, Period: time.Minute}
}

func TestPolicyValidateNamesTheField(t *testing.T) {
	tests := []struct {
		name   string
		change func(p *ratelimit.Policy)
		field  string // "" when valid
	}{
		{"valid", func(p *ratelimit.Policy) {}, ""},
		{"all classes and channels", func(p *ratelimit.Policy) { p.Classes, p.Channels = nil, nil }, ""},
		{"some channels", func(p *ratelimit.Policy) { p.Channels = []string{"miniapp", "public"} }, ""},
		{"empty name", func(p *ratelimit.Policy) { p.Name = "" }, "name"},
		{"name with colon", func(p *ratelimit.Policy) { p.Name = "login:ip" }, "name"},
		{"upper-case name", func(p *ratelimit.Policy) { p.Name = "LoginIP" }, "name"},
		{"unknown key", func(p *ratelimit.Policy) { p.Key = "phone" }, "key"},
		{"empty key", func(p *ratelimit.Policy) { p.Key = "" }, "key"},
		{"bad class", func(p *ratelimit.Policy) { p.Classes = []ratelimit.Class{"login", "Read All"} }, "classes"},
		{"misspelt class", func(p *ratelimit.Policy) { p.Classes = []ratelimit.Class{ratelimit.ClassLogin, "logon"} }, "classes"},
		{"unknown channel", func(p *ratelimit.Policy) { p.Channels = []string{"wechat"} }, "channels"},
		{"zero rate", func(p *ratelimit.Policy) { p.Rate = 0 }, "rate"},
		{"negative burst", func(p *ratelimit.Policy) { p.Burst = -1 }, "burst"},
		{"zero burst", func(p *ratelimit.Policy) { p.Burst = 0 }, "burst"},
		{"zero period", func(p *ratelimit.Policy) { p.Period = 0 }, "period"},
		{"absurd rate", func(p *ratelimit.Policy) { p.Rate, p.Period = 1_000_000_000, time.Second }, "rate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := validPolicy()
			tt.change(&p)
			err := p.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want an error naming %s", tt.field)
			}
			if want := `"` + p.Name + `": ` + tt.field + ":"; !strings.Contains(err.Error(), want) {
				t.Errorf("Validate() = %q, want it to contain %q", err, want)
			}
		})
	}
}

func TestValidatePoliciesRefusesDuplicateNames(t *testing.T) {
	err := ratelimit.ValidatePolicies([]ratelimit.Policy{validPolicy(), validPolicy()})
	if err == nil || !strings.Contains(err.Error(), `"login_ip": name: defined twice`) {
		t.Fatalf("ValidatePolicies = %v, want a duplicate-name error", err)
	}
	if _, err := ratelimit.New(ratelimit.Config{}, []ratelimit.Policy{validPolicy(), validPolicy()}); err == nil {
		t.Fatal("New accepted two policies of one name")
	}
}

func TestDefaultPoliciesAreValid(t *testing.T) {
	ps := ratelimit.DefaultPolicies()
	if err := ratelimit.ValidatePolicies(ps); err != nil {
		t.Fatal(err)
	}
	if _, err := ratelimit.New(ratelimit.Config{}, ps); err != nil {
		t.Fatal(err)
	}
	// Every class the routes use is covered by a per-caller policy, and
	// every channel has a ceiling.
	covered := map[ratelimit.Class]bool{}
	ceilings := map[string]bool{}
	for _, p := range ps {
		for _, c := range p.Classes {
			covered[c] = true
		}
		if p.Key == ratelimit.KeyChannel {
			for _, c := range p.Channels {
				ceilings[c] = true
			}
		}
	}
	for _, c := range ratelimit.Classes() {
		if !covered[c] {
			t.Errorf("no default policy for class %q", c)
		}
	}
	for _, c := range []string{"miniapp", "app", "kiosk", "public"} {
		if !ceilings[c] {
			t.Errorf("no ceiling for channel %q", c)
		}
	}
}

func TestParsePolicies(t *testing.T) {
	got, err := ratelimit.ParsePolicies([]byte(`
- name: certificate_issue_subject
  key: subject
  classes: [certificate_issue]
  rate: 10
  burst: 5
  period: 24h
- name: ceiling_kiosk
  key: channel
  channels: [kiosk]
  rate: 200
  burst: 200
  period: 1s
  fail_closed: true
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []ratelimit.Policy{
		{Name: "certificate_issue_subject", Key: "subject", Classes: []ratelimit.Class{"certificate_issue"},
			Rate: 10, Burst: 5, Period: 24 * time.Hour},
		{Name: "ceiling_kiosk", Key: "channel", Channels: []string{"kiosk"},
			Rate: 200, Burst: 200, Period: time.Second, FailClosed: true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParsePolicies (-want +got):\n%s", diff)
	}
}

func TestParsePoliciesFailsFast(t *testing.T) {
	tests := map[string]struct{ yaml, want string }{
		"misspelt field": {"- name: a\n  key: ip\n  rate: 1\n  brust: 1\n  period: 1s\n", "brust"},
		"bad period":     {"- name: a\n  key: ip\n  rate: 1\n  burst: 1\n  period: soon\n", "soon"},
		"invalid policy": {"- name: a\n  key: ip\n  rate: 1\n  burst: 1\n", `"a": period:`},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := ratelimit.ParsePolicies([]byte(tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ParsePolicies = %v, want an error mentioning %q", err, tt.want)
			}
		})
	}
}

// Every class a route can count under is listed, and the shipped policies
// name only those: the list is what the configuration is checked against.
func TestClassesListed(t *testing.T) {
	for _, c := range ratelimit.Classes() {
		if c == "" {
			t.Error("empty class listed")
		}
	}
	for _, p := range ratelimit.DefaultPolicies() {
		for _, c := range p.Classes {
			if !slices.Contains(ratelimit.Classes(), c) {
				t.Errorf("policy %s names unlisted class %q", p.Name, c)
			}
		}
	}
	if err := ratelimit.ValidatePolicies(ratelimit.DefaultPolicies()); err != nil {
		t.Fatal(err)
	}
}
