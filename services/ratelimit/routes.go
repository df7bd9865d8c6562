package ratelimit

import (
	"errors"
	"fmt"
	"slices"
)

// Route is how one limited route is counted, as its wiring declares it: the
// class it counts under, the channels its requests count on and the keys it
// fills. CheckRoutes compares the policies with these, so that a policy
// which could never count anything (a class no route has, a key no route of
// its classes fills) stops start-up instead of silently protecting nothing.
type Route struct {
	// Name identifies the route in messages ("POST /api/v1/auth/refresh").
	Name string
	// Class is the route class policies name.
	Class Class
	// Channels are the channels its requests count on; empty means any
	// (a signed-in route counts on its token's channel).
	Channels []string
	// Keys are what the route fills: KeyIP and KeyChannel always, the
	// others as the route provides them.
	Keys []string
	// Anonymous routes have no token: the address is all that tells one
	// caller from another, so CheckRoutes requires a per-address policy
	// under the channel's ceiling on each (when the channel has one).
	Anonymous bool
}

// CheckRoutes reports every policy that nothing fills and every anonymous
// route that one address could flood up to its channel's ceiling. Messages
// name the policy and its setting (classes, key), or the route.
func CheckRoutes(ps []Policy, routes []Route) error {
	var errs []error
	for _, p := range ps {
		errs = append(errs, checkPolicyFilled(p, routes)...)
	}
	for _, r := range routes {
		if r.Anonymous {
			errs = append(errs, checkPerAddress(ps, r))
		}
	}
	return errors.Join(errs...)
}

// checkPolicyFilled requires each class the policy names to be used by a
// route on one of its channels, and some such route to fill its key. A
// policy for every class needs one route that fills its key.
func checkPolicyFilled(p Policy, routes []Route) []error {
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("rate-limit policy %q: %s: %s", p.Name, field, fmt.Sprintf(format, args...))
	}
	filled := func(class Class) (used, fills bool) {
		for _, r := range routes {
			if (class != "" && r.Class != class) || !channelsMeet(p.Channels, r.Channels) {
				continue
			}
			used = true
			if slices.Contains(r.Keys, p.Key) {
				return true, true
			}
		}
		return used, false
	}
	if len(p.Classes) == 0 {
		if _, fills := filled(""); !fills {
			return []error{bad("key", "no route on channels %v fills %q", p.Channels, p.Key)}
		}
		return nil
	}
	var errs []error
	for _, c := range p.Classes {
		switch used, fills := filled(c); {
		case !used:
			errs = append(errs, bad("classes", "no route of class %q on channels %v", c, p.Channels))
		case !fills:
			errs = append(errs, bad("key", "no route of class %q fills %q", c, p.Key))
		}
	}
	return errs
}

// checkPerAddress requires an anonymous route under a channel ceiling to be
// counted per address by some policy whose rate and burst are both below
// those of every ceiling on the route: otherwise one address may spend the
// whole ceiling and starve everyone else on the channel.
func checkPerAddress(ps []Policy, r Route) error {
	var perIP, ceilings []Policy
	for _, p := range ps {
		if !p.applies(r) {
			continue
		}
		switch p.Key {
		case KeyIP:
			perIP = append(perIP, p)
		case KeyChannel:
			ceilings = append(ceilings, p)
		}
	}
	if len(ceilings) == 0 {
		return nil // nothing shared to starve
	}
	for _, ip := range perIP {
		if !slices.ContainsFunc(ceilings, func(c Policy) bool { return !ip.below(c) }) {
			return nil
		}
	}
	if len(perIP) == 0 {
		return fmt.Errorf("anonymous route %s (class %q) has no policy with key %q: one address could spend the whole channel ceiling",
			r.Name, r.Class, KeyIP)
	}
	return fmt.Errorf("anonymous route %s (class %q): no policy with key %q is below the channel ceiling in both rate and burst",
		r.Name, r.Class, KeyIP)
}

// applies reports whether p counts r's requests on every channel r has.
func (p Policy) applies(r Route) bool {
	if len(p.Classes) > 0 && !slices.Contains(p.Classes, r.Class) {
		return false
	}
	if len(p.Channels) == 0 {
		return true
	}
	if len(r.Channels) == 0 {
		return false
	}
	for _, c := range r.Channels {
		if !slices.Contains(p.Channels, c) {
			return false
		}
	}
	return true
}

// below reports whether p allows less than c, sustained and at once.
func (p Policy) below(c Policy) bool {
	// rate/period < rate'/period', without dividing.
	return p.Burst < c.Burst && float64(p.Rate)*c.Period.Seconds() < float64(c.Rate)*p.Period.Seconds()
}

// channelsMeet reports whether a policy's channels and a route's share one;
// empty means any on either side.
func channelsMeet(policy, route []string) bool {
	if len(policy) == 0 || len(route) == 0 {
		return true
	}
	return slices.ContainsFunc(route, func(c string) bool { return slices.Contains(policy, c) })
}
