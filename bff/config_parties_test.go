package bff

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"handheld/services/share"
)

// TestPartySettings: the embedded profile adds the demo bank; a party with
// an unknown predicate, a repeated id (the demo bank's included), a secret
// that is no SHA-256, or a share policy out of bounds stops start-up naming
// the setting.
func TestPartySettings(t *testing.T) {
	sum := sha256.Sum256([]byte("a-party-secret"))
	good := PartyCredential{ID: "zheshang-mortgage", Name: "浙商银行", Predicates: []string{share.BalanceAtLeast},
		SecretSHA256: hex.EncodeToString(sum[:]), Enabled: true}
	cfg := Defaults()
	cfg.Parties = []PartyCredential{good}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	creds, registry := parties(cfg)
	if len(creds) != 2 || len(registry) != 2 || registry[1].ID != DemoPartyID || len(registry[1].Predicates) != len(share.Names()) {
		t.Fatalf("parties %+v %+v", creds, registry)
	}
	cfg.Profile = ProfileProduction
	if _, registry := parties(cfg); len(registry) != 1 {
		t.Errorf("production registers the demo bank: %+v", registry)
	}
	for name, tt := range map[string]struct {
		mut  func(*Config)
		want string
	}{
		"unknown predicate":  {func(c *Config) { p := good; p.Predicates = []string{"salary_is"}; c.Parties = []PartyCredential{p} }, "parties"},
		"the demo bank's id": {func(c *Config) { p := good; p.ID = DemoPartyID; c.Parties = []PartyCredential{p} }, "parties"},
		"repeated":           {func(c *Config) { c.Parties = []PartyCredential{good, good} }, "parties"},
		"secret not hashed":  {func(c *Config) { p := good; p.SecretSHA256 = "a-party-secret"; c.Parties = []PartyCredential{p} }, "parties"},
		"bad id":             {func(c *Config) { p := good; p.ID = "Party:1"; c.Parties = []PartyCredential{p} }, "parties"},
		"validity":           {func(c *Config) { c.Shares.MaxValidity = 400 * 24 * time.Hour }, "shares"},
		"uses":               {func(c *Config) { c.Shares.MaxUses = 0 }, "shares"},
	} {
		c := Defaults()
		tt.mut(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error naming %s", name, err, tt.want)
		}
	}
}
