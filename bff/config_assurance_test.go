package bff

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"handheld/services"
	"handheld/services/identity"
)

func loadAssurance(t *testing.T, doc string) (Config, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "centre.yaml")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return LoadConfig(map[string]string{"HANDHELD_CONFIG_FILE": path})
}

// A centre can accept phones for binding and lengthen a service's window;
// what it does not set keeps the shipped defaults.
func TestAssuranceFromTheConfigFile(t *testing.T) {
	cfg, err := loadAssurance(t, `assurance:
  bind_factors: [face, phone]
  services:
    certificate: {acr: face, max_age: 10m}
`)
	if err != nil {
		t.Fatal(err)
	}
	a := cfg.Assurance
	if len(a.BindFactors) != 2 || a.Services[identity.ServiceCertificate].MaxAge != 10*time.Minute {
		t.Fatalf("assurance %+v", a)
	}
	if w := a.Services[identity.ServiceWithdrawal]; w.ACR != services.ACRFace || w.MaxAge != 5*time.Minute {
		t.Fatalf("withdrawal lost its default: %+v", w)
	}
}

// A typo in a service or class stops start-up and names the setting: it
// must never leave money unprotected.
func TestAssuranceTyposStopStartUp(t *testing.T) {
	for doc, want := range map[string]string{
		"assurance:\n  services:\n    withdrawl: {acr: face, max_age: 5m}\n":  "withdrawl",
		"assurance:\n  services:\n    withdrawal: {acr: fase, max_age: 5m}\n": "fase",
		"assurance:\n  bind_factors: [sms]\n":                                 "sms",
		"assurance:\n  bind_factors: []\n":                                    "bind_factors",
		"assurance:\n  attempts: 0\n":                                         "attempts",
	} {
		_, err := loadAssurance(t, doc)
		if err == nil || !strings.Contains(err.Error(), "assurance") || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v", doc, err)
		}
	}
	cfg := Defaults()
	delete(cfg.Assurance.Services, identity.ServicePayoutAccount)
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "payout_account") {
		t.Fatalf("a missing service: %v", err)
	}
}

// The policy survives a YAML round trip, as the fault test's replicas read it.
func TestAssuranceRoundTrips(t *testing.T) {
	b, err := yaml.Marshal(struct {
		Assurance identity.Assurance `yaml:"assurance"`
	}{identity.DefaultAssurance()})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := loadAssurance(t, string(b))
	if err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	if got := cfg.Assurance.Services[identity.ServiceWithdrawal]; got.MaxAge != 5*time.Minute || got.ACR != services.ACRFace {
		t.Fatalf("round trip: %+v\n%s", got, b)
	}
}
