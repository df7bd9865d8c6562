// Package catalogue is the centre's service catalogue (服务事项清单) as
// data: every service handheld offers, with its name, who may use it, the
// conditions for accepting it, the materials (and the shared-data sources
// that stand in for them), the statutory and promised time limits in
// working days, the fee, the channels and the service hours, in zh-CN and
// en, under one version.
//
// It is the one source for three things that other packages used to hold
// apart: the service switches and hours (Config.Switches, what
// services/hours enforces on the routes), the promised time limits a case
// is due by (Catalogue.PromisedWorkingDays, read by services/withdrawal)
// and the menus a client builds (GET /api/v1/services). A withdrawal
// kind's channels, materials and sources are not written here: they come
// from the kind's policy (services/withdrawal), so the two cannot drift.
//
// The shipped catalogue is default.yaml, embedded; a centre replaces it
// with catalogue: in its configuration file. New validates it at start-up
// and names the first setting that is wrong.
package catalogue

import (
	_ "embed"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"handheld/services/hours"
)

//go:embed default.yaml
var shipped string

// Text is one text in both languages a client may ask for.
type Text struct {
	ZhCN string `yaml:"zh-CN" json:"zh-CN"`
	En   string `yaml:"en" json:"en"`
}

// In is the text in lang ("en", else zh-CN).
func (t Text) In(lang string) string {
	if lang == "en" {
		return t.En
	}
	return t.ZhCN
}

func (t Text) complete() bool {
	return strings.TrimSpace(t.ZhCN) != "" && strings.TrimSpace(t.En) != ""
}

func (t Text) empty() bool { return t.ZhCN == "" && t.En == "" }

// Config is the catalogue as the centre writes it (catalogue: in the
// configuration file, or the shipped default.yaml).
type Config struct {
	// Version names this edition of the catalogue (e.g. "2026.12"); the
	// published version adds a digest of the content, so a changed
	// catalogue never keeps its version.
	Version string `yaml:"version"`
	// Switches switch services off and set their hours per channel:
	// switch → channel ("*" for any) → {off, hours}. What was the
	// top-level services: setting.
	Switches hours.Policy `yaml:"switches"`
	// Materials names every material an item or a withdrawal kind's
	// evidence can ask for, by code.
	Materials map[string]Text `yaml:"materials"`
	// Items are the services, in the order a menu shows them.
	Items []Item `yaml:"items"`
}

// Item is one service as configured.
type Item struct {
	// Code is the stable name a client keys its menu on: lower-case
	// words joined by dots (withdrawal.rent, employer.staff_join).
	Code string `yaml:"code"`
	// Category groups items in a menu (account, withdrawal, certificate,
	// ...).
	Category string `yaml:"category"`
	Name     Text   `yaml:"name"`
	Summary  Text   `yaml:"summary"`
	// Roles may use the service: depositor, employer, kiosk, verifier,
	// or public (anyone, without signing in).
	Roles []string `yaml:"roles"`
	// Channels it is offered on: miniapp, app, kiosk. Not for a
	// withdrawal kind (its policy's channels).
	Channels []string `yaml:"channels"`
	// Switches are the service switches in front of its routes; its
	// hours are theirs.
	Switches []hours.Service `yaml:"switches"`
	// WithdrawalKind ties the item to a withdrawal kind's policy, which
	// gives its channels, materials and statutory time limit.
	WithdrawalKind string `yaml:"withdrawal_kind"`
	// Conditions are the acceptance conditions, one sentence each.
	Conditions []Text `yaml:"conditions"`
	// Materials are codes from Config.Materials. Not for a withdrawal
	// kind (its policy's evidence).
	Materials []string `yaml:"materials"`
	// LegalWorkingDays is the statutory time limit (法定时限) and
	// PromisedWorkingDays the centre's promise (承诺时限), in working
	// days; 0 is on the spot (即办). A withdrawal kind's legal time is
	// withdrawals.decision_working_days and is not written here; its
	// promise, when absent, is the legal time.
	LegalWorkingDays    *int `yaml:"legal_working_days"`
	PromisedWorkingDays *int `yaml:"promised_working_days"`
	// FeeFen is what the service costs; 0 is free, as every service of an
	// HPF centre is.
	FeeFen int64 `yaml:"fee_fen"`
	// Path is the API route a client starts the service with.
	Path string `yaml:"path"`
}

// Default is the shipped catalogue (default.yaml).
func Default() Config {
	c, err := Parse([]byte(shipped))
	if err != nil {
		panic("catalogue: the shipped default.yaml: " + err.Error())
	}
	return c
}

// Parse reads a catalogue from YAML, refusing unknown fields.
func Parse(raw []byte) (Config, error) {
	var c Config
	dec := yaml.NewDecoder(strings.NewReader(string(raw)))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return Config{}, fmt.Errorf("catalogue: %w", err)
	}
	return c, nil
}

// WithLegacySwitches folds the top-level services: setting (the switches
// before the catalogue had them) into c.Switches, so a configuration
// written before keeps working. A switch set in both places is refused:
// one of the two would silently lose.
func (c Config) WithLegacySwitches(legacy hours.Policy) (Config, error) {
	if len(legacy) == 0 {
		return c, nil
	}
	merged := hours.Policy{}
	for svc, rules := range c.Switches {
		merged[svc] = rules
	}
	for svc, rules := range legacy {
		if _, ok := merged[svc]; ok {
			return c, fmt.Errorf("services.%s: also set in catalogue.switches.%s; keep it in catalogue.switches only", svc, svc)
		}
		merged[svc] = rules
	}
	c.Switches = merged
	return c, nil
}
