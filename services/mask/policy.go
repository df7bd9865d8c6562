// Package mask de-identifies personal data for display (脱敏). A centre
// decides, per field and channel, how much of a value a screen may show: the
// decision is data (a Policy from configuration), and Apply is the one place
// where it is carried out, so no handler formats a name or an ID number on
// its own.
//
// Three levels exist. Mask is the format of docs/api.md §Conventions that
// every channel gets by default: name 张* / 欧阳**, ID number
// 110***********1234, phone 138****5678, bank card 6222 **** **** 1234,
// account number 3301****0101.
// Partial is lighter, for screens a person uses in private or at a counter
// (see the levels' docs). Full shows the value as it is, and only a policy
// that says so can ask for it.
//
// Masking works on runes, never bytes, and fails closed: an unknown field,
// channel or level masks, and at least a quarter of any value stays hidden
// however short or odd it is.
package mask

import (
	"errors"
	"fmt"
	"slices"
	"sort"
)

// Level is how much of a value a channel may show.
type Level string

// The levels, from most to least protective.
const (
	// Mask is the display format of docs/api.md §Conventions.
	Mask Level = "mask"
	// Partial keeps a little more: the name's surname and last character
	// (欧阳*峰), the ID number's region code (110101********1234), six
	// leading digits of a card or an account number. A phone keeps what
	// Mask keeps: its hidden middle four digits are the part that identifies.
	Partial Level = "partial"
	// Full shows the value unchanged.
	Full Level = "full"
)

// Fields a policy speaks about.
const (
	Name          = "name"
	IDNumber      = "id_number"
	Phone         = "phone"
	BankCard      = "bank_card"
	AccountNumber = "account_number"
	// ECNYWallet is an e-CNY wallet id (16 digits): masked like a card,
	// 0021 **** **** 4321 (the first four name the operator).
	ECNYWallet = "ecny_wallet"
	// UnitName is an employer's name as a unit deposit certificate's verify
	// page shows it: an individual business (个体工商户) is often named
	// after its owner, so the middle is hidden, 杭州****面馆; partial keeps
	// four characters in front, 杭州西溪**面馆.
	UnitName = "unit_name"
	// UnitCode is a unified social credit code (18 characters): the first
	// four (registration kind and province) and the last four stay,
	// 9233**********4N0N; partial also keeps the county, 92330106******4N0N.
	UnitCode = "unit_code"
)

// Channels a policy speaks about, as carried in access tokens.
const (
	MiniApp = "miniapp"
	App     = "app"
	Kiosk   = "kiosk"
)

// Fields lists every field a Policy may name, for validation and docs.
func Fields() []string {
	return []string{Name, IDNumber, Phone, BankCard, AccountNumber, ECNYWallet, UnitName, UnitCode}
}

// Channels lists every channel a Policy may name.
func Channels() []string { return []string{MiniApp, App, Kiosk} }

// UnmarshalText accepts only known levels, so a typo in a centre's
// configuration ("ful") fails at start-up instead of silently masking.
func (l *Level) UnmarshalText(b []byte) error {
	switch v := Level(b); v {
	case Mask, Partial, Full:
		*l = v
		return nil
	}
	return fmt.Errorf("masking level %q: want mask, partial or full", string(b))
}

// Policy maps field → channel → level. It comes from the centre's
// configuration (YAML `masking:` with the field and channel names above);
// a pair it does not mention is masked.
type Policy map[string]map[string]Level

// DefaultPolicy masks every field on every channel, except that a kiosk
// shows the account number partially: a citizen at a kiosk copies it onto
// paper forms. Each call returns a new map, so no caller can change another
// caller's policy.
func DefaultPolicy() Policy {
	p := Policy{}
	for _, f := range Fields() {
		p[f] = map[string]Level{}
		for _, c := range Channels() {
			p[f][c] = Mask
		}
	}
	p[AccountNumber][Kiosk] = Partial
	return p
}

// Overlay returns a copy of p with every pair that o names replaced by o's
// level, so a centre's configuration need only list what it changes.
func (p Policy) Overlay(o Policy) Policy {
	out := Policy{}
	for _, src := range []Policy{p, o} {
		for f, byChannel := range src {
			if out[f] == nil {
				out[f] = map[string]Level{}
			}
			for c, l := range byChannel {
				out[f][c] = l
			}
		}
	}
	return out
}

// Validate refuses unknown fields, channels and levels, naming them all, so
// that a centre's configuration fails fast and says what to fix.
func (p Policy) Validate() error {
	var errs []error
	fields := make([]string, 0, len(p))
	for f := range p {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	for _, f := range fields {
		if !slices.Contains(Fields(), f) {
			errs = append(errs, fmt.Errorf("masking: unknown field %q (want one of %v)", f, Fields()))
			continue
		}
		channels := make([]string, 0, len(p[f]))
		for c := range p[f] {
			channels = append(channels, c)
		}
		sort.Strings(channels)
		for _, c := range channels {
			if !slices.Contains(Channels(), c) {
				errs = append(errs, fmt.Errorf("masking %s: unknown channel %q (want one of %v)", f, c, Channels()))
				continue
			}
			if l := p[f][c]; l != Mask && l != Partial && l != Full {
				errs = append(errs, fmt.Errorf("masking %s.%s: unknown level %q (want mask, partial or full)", f, c, l))
			}
		}
	}
	return errors.Join(errs...)
}

// Level is the level for field on channel; Mask when the policy does not
// say or says something unknown.
func (p Policy) Level(field, channel string) Level {
	switch l := p[field][channel]; l {
	case Partial, Full:
		return l
	}
	return Mask
}

// Apply renders value for display on channel as the policy wants. It is
// the one place masking happens. An unknown field is hidden whole.
func (p Policy) Apply(field, channel, value string) string {
	level := p.Level(field, channel)
	if level == Full {
		return value
	}
	partial := level == Partial
	switch field {
	case Name:
		return name(value, partial)
	case IDNumber:
		if partial {
			return keep(value, 6, 4)
		}
		return keep(value, 3, 4)
	case Phone:
		return phone(value)
	case BankCard, ECNYWallet:
		return card(value, partial)
	case AccountNumber:
		if partial {
			return keep(value, 6, 4)
		}
		return keep(value, 4, 4)
	case UnitName:
		if partial {
			return keep(value, 4, 2)
		}
		return keep(value, 2, 2)
	case UnitCode:
		if partial {
			return keep(value, 8, 4)
		}
		return keep(value, 4, 4)
	}
	return stars(len([]rune(value)))
}
