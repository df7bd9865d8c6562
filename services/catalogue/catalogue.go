package catalogue

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"

	"handheld/services"
	"handheld/services/hours"
	"handheld/services/withdrawal"
)

// RolePublic is the role of an item anyone may use without signing in.
const RolePublic = "public"

// Roles lists the roles an item can name, and a client can filter by.
func Roles() []string {
	return []string{services.RoleDepositor, services.RoleEmployer, services.RoleKiosk, services.RoleVerifier, RolePublic}
}

// ChannelWeb is a browser without the mini-program or the app: the public
// verification page.
const ChannelWeb = "web"

// Channels lists the channels an item can be offered on, and a client can
// filter by.
func Channels() []string {
	return []string{services.ChannelMiniApp, services.ChannelApp, services.ChannelKiosk, ChannelWeb}
}

// Service is one service as published: the configured item with what its
// withdrawal policy adds resolved.
type Service struct {
	Code, Category, Path string
	Name, Summary        Text
	Roles, Channels      []string
	Switches             []hours.Service
	WithdrawalKind       string
	Conditions           []Text
	Materials            []Material
	// LegalWorkingDays and PromisedWorkingDays are the time limits in
	// working days, 0 on the spot.
	LegalWorkingDays, PromisedWorkingDays int
	FeeFen                                int64
}

// Material is one material a service asks for.
type Material struct {
	Code string
	Name Text
	// Sources are the shared-data facts ("source.fact") that stand in for
	// it, asked in this order (a withdrawal kind's evidence_sources).
	Sources []string
	// Upload: an uploaded document may stand in where shared data has
	// nothing.
	Upload bool
	// Optional: asked for, never missing.
	Optional bool
}

// Availability is when a service is open on one channel: Off when a
// switch is off, else within every window of Hours (none: 7×24).
type Availability struct {
	Channel string
	Off     bool
	Hours   []string
}

// Filter narrows the list: a channel it is offered on, a role that may
// use it (an item for the public matches every role); empty matches all.
type Filter struct {
	Channel, Role string
}

// Catalogue is the validated catalogue a replica serves.
type Catalogue struct {
	version  string
	items    []Service
	switches hours.Policy
	promised map[string]int // by withdrawal kind
}

// Version is the published version: the configured edition and a digest
// of everything published, so two replicas with the same configuration
// agree and any change makes a new one.
func (c *Catalogue) Version() string { return c.version }

// Switches are the service switches and hours, for services/hours.
func (c *Catalogue) Switches() hours.Policy { return c.switches }

// Items lists the services f lets through, in the catalogue's order.
func (c *Catalogue) Items(f Filter) []Service {
	out := make([]Service, 0, len(c.items))
	for _, s := range c.items {
		if f.Channel != "" && !slices.Contains(s.Channels, f.Channel) {
			continue
		}
		if f.Role != "" && !slices.Contains(s.Roles, f.Role) && !slices.Contains(s.Roles, RolePublic) {
			continue
		}
		out = append(out, s)
	}
	return out
}

// Item is the service with code.
func (c *Catalogue) Item(code string) (Service, bool) {
	i := slices.IndexFunc(c.items, func(s Service) bool { return s.Code == code })
	if i < 0 {
		return Service{}, false
	}
	return c.items[i], true
}

// PromisedWorkingDays is the time limit the centre promises for a
// withdrawal kind: what a case of the kind is due by
// (withdrawal.TimeLimits).
func (c *Catalogue) PromisedWorkingDays(kind string) (int, bool) {
	n, ok := c.promised[kind]
	return n, ok
}

// Availability is when s is open on each of its channels, from the same
// rules the gate enforces (hours.Policy.Rule).
func (c *Catalogue) Availability(s Service) []Availability {
	out := make([]Availability, 0, len(s.Channels))
	for _, ch := range s.Channels {
		a := Availability{Channel: ch}
		gateChannel := ch
		if ch == ChannelWeb {
			gateChannel = "public"
		}
		for _, sw := range s.Switches {
			r, ok := c.switches.Rule(sw, gateChannel)
			switch {
			case !ok:
			case r.Off:
				a.Off = true
			case r.Hours != "" && !slices.Contains(a.Hours, r.Hours):
				a.Hours = append(a.Hours, r.Hours)
			}
		}
		out = append(out, a)
	}
	return out
}

// New validates cfg against the withdrawal policies in force and resolves
// each withdrawal kind's item from its policy. The error names the first
// wrong setting as catalogue.<path>.
func New(cfg Config, ws withdrawal.Policies) (*Catalogue, error) {
	if err := validate(cfg, ws); err != nil {
		return nil, err
	}
	c := &Catalogue{switches: cfg.Switches, promised: map[string]int{}}
	if c.switches == nil {
		c.switches = hours.Policy{}
	}
	for _, it := range cfg.Items {
		s := Service{Code: it.Code, Category: it.Category, Path: it.Path, Name: it.Name, Summary: it.Summary,
			Roles: it.Roles, Channels: it.Channels, Switches: it.Switches, WithdrawalKind: it.WithdrawalKind,
			Conditions: it.Conditions, FeeFen: it.FeeFen}
		if it.LegalWorkingDays != nil {
			s.LegalWorkingDays = *it.LegalWorkingDays
		}
		for _, m := range it.Materials {
			s.Materials = append(s.Materials, Material{Code: m, Name: cfg.Materials[m]})
		}
		if it.WithdrawalKind != "" {
			pol, _ := ws.Policy(it.WithdrawalKind)
			s.Channels = nil
			for _, ch := range []string{services.ChannelMiniApp, services.ChannelApp, services.ChannelKiosk} {
				if pol.OfferedOn(ch) {
					s.Channels = append(s.Channels, ch)
				}
			}
			for _, e := range pol.SharedEvidence() {
				s.Materials = append(s.Materials, Material{Code: e.Evidence, Name: cfg.Materials[e.Evidence],
					Sources: e.Sources, Upload: e.Upload, Optional: e.Optional})
			}
			s.LegalWorkingDays = ws.DecisionWorkingDays
		}
		s.PromisedWorkingDays = s.LegalWorkingDays
		if it.PromisedWorkingDays != nil {
			s.PromisedWorkingDays = *it.PromisedWorkingDays
		}
		if s.WithdrawalKind != "" {
			c.promised[s.WithdrawalKind] = s.PromisedWorkingDays
		}
		c.items = append(c.items, s)
	}
	digest, _ := json.Marshal(struct {
		Items    []Service
		Switches hours.Policy
	}{c.items, c.switches})
	sum := sha256.Sum256(digest)
	c.version = cfg.Version + "-" + hex.EncodeToString(sum[:4])
	return c, nil
}
