package ratelimit

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"time"

	"gopkg.in/yaml.v3"
)

// The things a policy can count by. Each names a field of Request.
const (
	KeyIP       = "ip"       // the client address; IPv6 counted per /64
	KeySubject  = "subject"  // the pseudonymous subject id (person or operator)
	KeyDevice   = "device"   // the kiosk device id
	KeyUnit     = "unit"     // the employer unit
	KeyVerifier = "verifier" // the verifier client id (counters, banks)
	KeyChannel  = "channel"  // the channel itself: a ceiling shared by everyone on it
)

// Class is a route class: what a route counts under and what policies
// name. The routes use the constants; a policy naming any other class is
// refused (Validate), since it would count nothing.
type Class string

// The route classes.
const (
	ClassPublic           Class = "public"            // anonymous reads: the loan calculator, JWKS, certificate PDFs
	ClassVerifyPublic     Class = "verify_public"     // anonymous certificate verify pages
	ClassLogin            Class = "login"             // signing in (WeChat, employer, verifier, kiosk)
	ClassBind             Class = "bind"              // binding a WeChat user to a depositor
	ClassFaceCheck        Class = "face_check"        // face checks and step-ups
	ClassRefresh          Class = "refresh"           // refreshing a session
	ClassRead             Class = "read"              // signed-in reads
	ClassECard            Class = "ecard"             // the depositor's e-card
	ClassCertificateIssue Class = "certificate_issue" // issuing a certificate
	ClassWithdrawalSubmit Class = "withdrawal_submit" // withdrawal writes
	ClassRating           Class = "rating"            // rating a case
	ClassVerifyECard      Class = "verify_ecard"      // a verifier checking an e-card
	ClassStaffReveal      Class = "staff_reveal"      // an employer operator showing one ID number in full
	ClassEmployerWrite    Class = "employer_write"    // an employer operator's writes (bases and rates)
	ClassOperatorAdmin    Class = "operator_admin"    // a unit administrator managing the unit's operators
	ClassPasswordChange   Class = "password_change"   // an operator changing their own password
	ClassPrint            Class = "print"             // a kiosk citizen asking for a print
	ClassKioskLoginCode   Class = "kiosk_login_code"  // a kiosk asking for a phone-QR sign-in code
	ClassKioskLoginPoll   Class = "kiosk_login_poll"  // a kiosk polling its sign-in code
	ClassKioskLogin       Class = "kiosk_login"       // a person previewing or confirming a kiosk sign-in on the phone
	ClassSharingLookup    Class = "sharing_lookup"    // a person looking up their evidence in government shared data
	ClassMaterialWrite    Class = "material_write"    // a person uploading or deleting an evidence file
	ClassPlatformRead     Class = "platform_read"     // a person reading their accounts at other centres through the national platform
	ClassTransferWrite    Class = "transfer_write"    // a person asking for or cancelling a transfer in from another centre
	ClassPlatformCallback Class = "platform_callback" // the national platform calling back about a transfer (signed, no token)
	ClassShareWrite       Class = "share_write"       // a person creating, revoking, approving or declining a share of yes/no answers
	ClassShareRedeem      Class = "share_redeem"      // a relying party redeeming a share
	ClassShareRequest     Class = "share_request"     // a relying party asking a person for a share
)

// Classes lists every route class, in the order above.
func Classes() []Class {
	return []Class{ClassPublic, ClassVerifyPublic, ClassLogin, ClassBind, ClassFaceCheck, ClassRefresh,
		ClassRead, ClassECard, ClassCertificateIssue, ClassWithdrawalSubmit, ClassRating, ClassVerifyECard, ClassStaffReveal, ClassEmployerWrite,
		ClassOperatorAdmin, ClassPasswordChange, ClassPrint, ClassKioskLoginCode, ClassKioskLoginPoll, ClassKioskLogin,
		ClassSharingLookup, ClassMaterialWrite, ClassPlatformRead, ClassTransferWrite, ClassPlatformCallback,
		ClassShareWrite, ClassShareRedeem, ClassShareRequest}
}

// The channels a policy can be narrowed to, as they appear in Request.Channel.
const (
	ChannelMiniApp = "miniapp"
	ChannelApp     = "app"
	ChannelKiosk   = "kiosk"
	ChannelPublic  = "public"
)

// Policy is one rate-limit tier, loaded from the centre's configuration
// (house rule 13): who is counted (Key), on which routes (Classes) and
// channels, at which GCRA rate. A request is checked against every policy
// that matches it, and the tightest one decides.
type Policy struct {
	// Name identifies the policy in keys, logs, metrics and the decision.
	// Lower-case letters, digits and underscores; unique in a set.
	Name string `yaml:"name"`
	// Key is what is counted: one of ip, subject, device, unit, verifier,
	// channel. The counter is shared across channels: a subject cannot
	// dodge a per-subject limit by switching from the mini-program to the
	// app. Define one policy per channel when each needs its own budget.
	Key string `yaml:"key"`
	// Classes are the route classes the policy applies to (one of
	// Classes()). Empty means every class, which suits channel ceilings.
	Classes []Class `yaml:"classes"`
	// Channels narrows the policy to some channels; empty means all.
	Channels []string `yaml:"channels"`
	// Rate events are allowed per Period on average ...
	Rate int `yaml:"rate"`
	// ... and up to Burst at once after a quiet spell.
	Burst  int           `yaml:"burst"`
	Period time.Duration `yaml:"period"`
	// FailClosed refuses (429, retry after 1 s) while Redis cannot be
	// reached, instead of falling back to per-replica counting. Only for
	// policies where a per-replica estimate is worse than refusing; it
	// never applies without Redis (the embedded profile).
	FailClosed bool `yaml:"fail_closed"`
	// Budget marks a person's allowance of consequential work (certificates
	// a day, withdrawal applications an hour) rather than a guard of
	// capacity: a request that did no work — answered from an
	// Idempotency-Key replay, or failed on the service's side (5xx) — gives
	// its unit back, so that retries of one request, or an outage of the
	// core, never use up a person's day. Only with key subject.
	Budget bool `yaml:"budget"`
}

// Validate reports the first thing wrong with the policy, naming the
// setting as it is spelled in the configuration file, so that a bad file
// stops start-up with a message an operator can act on (house rule 9).
func (p Policy) Validate() error {
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("rate-limit policy %q: %s: %s", p.Name, field, fmt.Sprintf(format, args...))
	}
	if !identifier(p.Name) {
		return bad("name", "want lower-case letters, digits and _, got %q", p.Name)
	}
	if keys := keyNames(); !slices.Contains(keys, p.Key) {
		return bad("key", "want one of %v, got %q", keys, p.Key)
	}
	for _, c := range p.Classes {
		if classes := Classes(); !slices.Contains(classes, c) {
			return bad("classes", "want some of %v, got %q", classes, c)
		}
	}
	for _, c := range p.Channels {
		if channels := channelNames(); !slices.Contains(channels, c) {
			return bad("channels", "want some of %v, got %q", channels, c)
		}
	}
	if p.Budget && p.Key != KeySubject {
		return bad("budget", "only a per-subject policy (key %q) can be a budget, not key %q", KeySubject, p.Key)
	}
	switch {
	case p.Rate <= 0:
		return bad("rate", "must be positive, got %d", p.Rate)
	case p.Burst <= 0:
		return bad("burst", "must be positive, got %d", p.Burst)
	case p.Period <= 0:
		return bad("period", "must be positive, got %s", p.Period)
	case p.Period/time.Duration(p.Rate) < time.Microsecond:
		return bad("rate", "%d per %s is more than one a microsecond", p.Rate, p.Period)
	}
	return nil
}

// ValidatePolicies validates each policy and that names are unique: two
// policies of one name would share counters in Redis.
func ValidatePolicies(ps []Policy) error {
	seen := make(map[string]bool, len(ps))
	var errs []error
	for _, p := range ps {
		if err := p.Validate(); err != nil {
			errs = append(errs, err)
			continue
		}
		if seen[p.Name] {
			errs = append(errs, fmt.Errorf("rate-limit policy %q: name: defined twice", p.Name))
		}
		seen[p.Name] = true
	}
	return errors.Join(errs...)
}

// ParsePolicies reads a YAML list of policies (periods as "1m", "24h") from
// a centre's configuration file. Unknown fields are errors, so a misspelt
// setting fails start-up instead of being silently ignored.
func ParsePolicies(data []byte) ([]Policy, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var ps []Policy
	if err := dec.Decode(&ps); err != nil {
		return nil, fmt.Errorf("rate-limit policies: %w", err)
	}
	if err := ValidatePolicies(ps); err != nil {
		return nil, err
	}
	return ps, nil
}

func keyNames() []string {
	return []string{KeyIP, KeySubject, KeyDevice, KeyUnit, KeyVerifier, KeyChannel}
}

func channelNames() []string {
	return []string{ChannelMiniApp, ChannelApp, ChannelKiosk, ChannelPublic}
}

func identifier(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '_' {
			return false
		}
	}
	return true
}
