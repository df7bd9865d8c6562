package transfer

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"

	"handheld/services"
	"handheld/services/core"
	"handheld/services/platform"
)

// Policy is the centre's rules for transfers in, as configuration data
// (transfers: in the configuration file; docs/configuration.md).
type Policy struct {
	// Centres are the centres a transfer may come from (their platform
	// codes); a centre not listed is transfer.unknown_centre. This
	// centre's own code is never one (transfer.own_centre).
	Centres []string `yaml:"centres"`
	// TransferableStatuses are the statuses of an account elsewhere that
	// may be transferred (sealed: the person left that employer).
	TransferableStatuses []string `yaml:"transferable_statuses"`
	// LocalStatuses are the statuses (the core's codes) the local account
	// must have to receive a transfer ("01" normal).
	LocalStatuses []string `yaml:"local_statuses"`
	// MaxInFlight is how many transfers one person may have unfinished.
	// Only 1 is supported: the store enforces it too.
	MaxInFlight int `yaml:"max_in_flight"`
	// PollInterval is how often the poller wakes for a transfer in flight;
	// QuietAfter is how long without news (a callback or a poll) before it
	// asks the platform.
	PollInterval time.Duration `yaml:"poll_interval"`
	QuietAfter   time.Duration `yaml:"quiet_after"`
	// DueWorkingDays is the time limit when the catalogue has no
	// transfer.in item.
	DueWorkingDays int `yaml:"due_working_days"`
}

// DefaultPolicy is the shipped policy: the centres on the platform today,
// only sealed accounts, only into a normal account, one at a time.
func DefaultPolicy() Policy {
	return Policy{
		Centres:              []string{"110100", "310100", "510100"},
		TransferableStatuses: []string{platform.StatusSealed},
		LocalStatuses:        []string{core.StatusNormal},
		MaxInFlight:          1,
		PollInterval:         time.Minute,
		QuietAfter:           10 * time.Minute,
		DueWorkingDays:       15,
	}
}

var centrePattern = regexp.MustCompile(`^[0-9]{6}$`)

// Validate names the first wrong setting as transfers.<field>.
func (p Policy) Validate() error {
	switch {
	case len(p.Centres) == 0:
		return errors.New("transfers.centres: at least one centre code")
	case slices.ContainsFunc(p.Centres, func(c string) bool { return !centrePattern.MatchString(c) }):
		return errors.New("transfers.centres: 6-digit centre codes")
	case len(p.TransferableStatuses) == 0 || slices.ContainsFunc(p.TransferableStatuses, func(s string) bool {
		return !slices.Contains(platform.Statuses(), s)
	}):
		return fmt.Errorf("transfers.transferable_statuses: one or more of %v", platform.Statuses())
	case len(p.LocalStatuses) == 0:
		return errors.New("transfers.local_statuses: at least one core account status")
	case p.MaxInFlight != 1:
		return errors.New("transfers.max_in_flight: only 1 is supported")
	case p.PollInterval <= 0 || p.QuietAfter <= 0:
		return errors.New("transfers.poll_interval and transfers.quiet_after: positive durations")
	case p.DueWorkingDays < 1 || p.DueWorkingDays > 60:
		return errors.New("transfers.due_working_days: 1 to 60")
	}
	return nil
}

// Facts are what the rules judge a request on.
type Facts struct {
	// OwnCentre is this centre's code.
	OwnCentre string
	// FromCentre is the centre asked for.
	FromCentre string
	// Elsewhere is the account at FromCentre the platform answered for the
	// person under the reference asked for; nil when it answered none.
	Elsewhere *platform.Account
	// LocalStatus is the local account's core status; "" for no account.
	LocalStatus string
	// InFlight counts the person's unfinished transfers.
	InFlight int
}

// Judge applies the policy to the facts: nil, or the refusal with its
// stable code. The order is the order a person would fix them in.
func (p Policy) Judge(f Facts) error {
	if err := p.JudgeCentre(f.OwnCentre, f.FromCentre); err != nil {
		return err
	}
	switch {
	case f.InFlight >= p.MaxInFlight:
		return services.E(services.CodeTransferInFlight)
	case f.Elsewhere == nil:
		return services.E(services.CodeTransferAccountUnknown)
	case !slices.Contains(p.TransferableStatuses, f.Elsewhere.Status):
		return &services.Error{Code: services.CodeTransferNotTransferable, Params: map[string]any{"status": f.Elsewhere.Status}}
	case !slices.Contains(p.LocalStatuses, f.LocalStatus):
		return services.E(services.CodeTransferLocalAccount)
	}
	return nil
}

// JudgeCentre is the rules on the centre alone, which need no one asked:
// not this centre itself, and one the policy lists.
func (p Policy) JudgeCentre(own, from string) error {
	switch {
	case from == own:
		return services.E(services.CodeTransferOwnCentre)
	case !slices.Contains(p.Centres, from):
		return services.E(services.CodeTransferUnknownCentre)
	}
	return nil
}
