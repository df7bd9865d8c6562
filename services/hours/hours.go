// Package hours is when each service is open: the ministry platform
// guideline's flow control. Each service (Services) can be switched off per
// channel and has service hours per channel. Policies are data from the
// centre's configuration; outside them a request gets 503 service.closed
// with, where known, when the service opens again.
package hours

import (
	"fmt"
	"slices"
	"time"

	"handheld/services"
)

// Rule is one service on one channel.
type Rule struct {
	// Off switches the service off on the channel.
	Off bool `yaml:"off"`
	// Hours is "HH:MM-HH:MM" in Asia/Shanghai (may cross midnight); empty
	// means around the clock (7×24).
	Hours string `yaml:"hours"`
}

// Service is a service the gate can close: the routes name it with these
// constants, and a policy naming any other is refused.
type Service string

// The services.
const (
	Account     Service = "account"     // the depositor's screens, /api/v1/me/*
	Certificate Service = "certificate" // issuing certificates
	Withdrawal  Service = "withdrawal"  // withdrawal writes
	Employer    Service = "employer"    // the employer app, /api/v1/employer/*
	Platform    Service = "platform"    // the national platform's services: accounts elsewhere, transfers
)

// Services lists every service.
func Services() []Service { return []Service{Account, Certificate, Withdrawal, Employer, Platform} }

// ChannelAny is the channel of a rule for every channel without its own.
const ChannelAny = "*"

// Channels lists the channels a rule can name: a request's channel is its
// token's, or public without one.
func Channels() []string {
	return []string{services.ChannelMiniApp, services.ChannelApp, services.ChannelKiosk, "public", ChannelAny}
}

// Policy maps service → channel → rule. A channel "*" applies where a
// service has no rule for the channel itself.
type Policy map[Service]map[string]Rule

// Rule is the rule in force for service on channel: the channel's own, else
// the "*" rule; false when neither exists (open around the clock). The gate
// and the service catalogue's published hours both read it, so they cannot
// disagree.
func (p Policy) Rule(service Service, channel string) (Rule, bool) {
	byChannel, ok := p[service]
	if !ok {
		return Rule{}, false
	}
	if r, ok := byChannel[channel]; ok {
		return r, true
	}
	r, ok := byChannel[ChannelAny]
	return r, ok
}

// window is a parsed "HH:MM-HH:MM", minutes after midnight.
type window struct{ from, to int }

// Gate answers whether a service is open.
type Gate struct {
	rules   Policy
	windows map[string]window // by Rule.Hours
	now     func() time.Time
}

// New validates the policy and returns a gate; a bad rule names itself. An
// unknown service or channel is refused: its rule would never apply.
func New(p Policy, now func() time.Time) (*Gate, error) {
	g := &Gate{rules: p, windows: map[string]window{}, now: now}
	for svc, byChannel := range p {
		if !slices.Contains(Services(), svc) {
			return nil, fmt.Errorf("flow %q: unknown service, want one of %v", svc, Services())
		}
		for ch, r := range byChannel {
			if !slices.Contains(Channels(), ch) {
				return nil, fmt.Errorf("flow %s/%q: unknown channel, want one of %v", svc, ch, Channels())
			}
			if r.Hours == "" {
				continue
			}
			w, err := parseWindow(r.Hours)
			if err != nil {
				return nil, fmt.Errorf("flow %s/%s: %w", svc, ch, err)
			}
			g.windows[r.Hours] = w
		}
	}
	return g, nil
}

func parseWindow(s string) (window, error) {
	var h1, m1, h2, m2 int
	if _, err := fmt.Sscanf(s, "%d:%d-%d:%d", &h1, &m1, &h2, &m2); err != nil {
		return window{}, fmt.Errorf("hours %q: want HH:MM-HH:MM", s)
	}
	if h1 < 0 || h1 > 24 || h2 < 0 || h2 > 24 || m1 < 0 || m1 > 59 || m2 < 0 || m2 > 59 || (h1 == 24 && m1 > 0) || (h2 == 24 && m2 > 0) {
		return window{}, fmt.Errorf("hours %q: out of range", s)
	}
	w := window{from: h1*60 + m1, to: h2*60 + m2}
	if w.from == w.to {
		return window{}, fmt.Errorf("hours %q: empty window", s)
	}
	return w, nil
}

// Check returns nil when service is open on channel now, otherwise a
// service.closed error carrying when it opens again (for hours) as a
// parameter and as RetryAfter.
func (g *Gate) Check(service Service, channel string) error {
	r, ok := g.rules.Rule(service, channel)
	if !ok {
		return nil
	}
	if r.Off {
		return &services.Error{Code: services.CodeServiceClosed, Params: map[string]any{"service": service}}
	}
	if r.Hours == "" {
		return nil
	}
	w := g.windows[r.Hours]
	now := g.now().In(services.CentreTime)
	minute := now.Hour()*60 + now.Minute()
	open := (w.from < w.to && minute >= w.from && minute < w.to) || (w.from > w.to && (minute >= w.from || minute < w.to))
	if open {
		return nil
	}
	opens := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, services.CentreTime).Add(time.Duration(w.from) * time.Minute)
	if !opens.After(now) {
		opens = opens.AddDate(0, 0, 1)
	}
	return &services.Error{Code: services.CodeServiceHours, RetryAfter: opens.Sub(now),
		Params: map[string]any{"service": service, "opens_at": opens.Format("15:04"), "hours": r.Hours}}
}
