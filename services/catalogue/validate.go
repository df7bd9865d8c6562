package catalogue

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"handheld/services/hours"
	"handheld/services/withdrawal"
)

var (
	codePattern    = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$`)
	wordPattern    = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	versionPattern = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z._]{0,31}$`)
)

// MaxWorkingDays bounds a time limit: no service of a centre takes longer.
const MaxWorkingDays = 60

// validate names the first setting of cfg that makes no sense.
func validate(cfg Config, ws withdrawal.Policies) error {
	if !versionPattern.MatchString(cfg.Version) {
		return fmt.Errorf("catalogue.version: %q is not a version (letters, digits, dots, at most 32)", cfg.Version)
	}
	if _, err := hours.New(cfg.Switches, time.Now); err != nil {
		return fmt.Errorf("catalogue.switches: %w", err)
	}
	for code, name := range cfg.Materials {
		if !wordPattern.MatchString(code) {
			return fmt.Errorf("catalogue.materials: %q is not a lower-case name", code)
		}
		if !name.complete() {
			return fmt.Errorf("catalogue.materials.%s: a name in zh-CN and en", code)
		}
	}
	if len(cfg.Items) == 0 {
		return fmt.Errorf("catalogue.items: at least one service")
	}
	seen := map[string]bool{}
	kinds := map[string]bool{}
	switched := map[hours.Service]bool{}
	for i, it := range cfg.Items {
		at := fmt.Sprintf("catalogue.items[%d]", i)
		if it.Code != "" {
			at = fmt.Sprintf("catalogue.items[%d] (%s)", i, it.Code)
		}
		if err := validateItem(cfg, ws, it); err != nil {
			return fmt.Errorf("%s.%w", at, err)
		}
		if seen[it.Code] {
			return fmt.Errorf("%s.code: listed twice", at)
		}
		seen[it.Code] = true
		if it.WithdrawalKind != "" {
			if kinds[it.WithdrawalKind] {
				return fmt.Errorf("%s.withdrawal_kind: %q has another item already", at, it.WithdrawalKind)
			}
			kinds[it.WithdrawalKind] = true
		}
		for _, sw := range it.Switches {
			switched[sw] = true
		}
	}
	for _, k := range ws.KindNames() {
		if !kinds[k] {
			return fmt.Errorf("catalogue.items: no item for the withdrawal kind %q (withdrawals.kinds): a client could not offer it", k)
		}
	}
	for _, sw := range hours.Services() {
		if !switched[sw] {
			return fmt.Errorf("catalogue.items: no item behind the %q switch: its hours would be published nowhere", sw)
		}
	}
	return nil
}

// validateItem checks one item; the error starts with the field's name.
func validateItem(cfg Config, ws withdrawal.Policies, it Item) error {
	switch {
	case !codePattern.MatchString(it.Code) || len(it.Code) > 64:
		return fmt.Errorf("code: %q is not lower-case words joined by dots (at most 64)", it.Code)
	case !wordPattern.MatchString(it.Category):
		return fmt.Errorf("category: %q is not a lower-case name", it.Category)
	case !it.Name.complete():
		return fmt.Errorf("name: a name in zh-CN and en")
	case !it.Summary.empty() && !it.Summary.complete():
		return fmt.Errorf("summary: in both zh-CN and en, or neither")
	case len(it.Roles) == 0:
		return fmt.Errorf("roles: at least one of %v", Roles())
	case it.FeeFen < 0:
		return fmt.Errorf("fee_fen: must not be negative")
	case it.Path != "" && (!strings.HasPrefix(it.Path, "/") || strings.ContainsAny(it.Path, " ?#")):
		return fmt.Errorf("path: %q is not an absolute path", it.Path)
	}
	for _, r := range it.Roles {
		if !slices.Contains(Roles(), r) {
			return fmt.Errorf("roles: %q is not a role (%v)", r, Roles())
		}
	}
	for _, ch := range it.Channels {
		if !slices.Contains(Channels(), ch) {
			return fmt.Errorf("channels: %q is not a channel (%v)", ch, Channels())
		}
	}
	for _, sw := range it.Switches {
		if !slices.Contains(hours.Services(), sw) {
			return fmt.Errorf("switches: %q is not a service switch (%v)", sw, hours.Services())
		}
	}
	for j, t := range it.Conditions {
		if !t.complete() {
			return fmt.Errorf("conditions[%d]: in both zh-CN and en", j)
		}
	}
	for _, m := range it.Materials {
		if _, ok := cfg.Materials[m]; !ok {
			return fmt.Errorf("materials: %q is not in catalogue.materials", m)
		}
	}
	legal, promised := -1, -1
	if it.LegalWorkingDays != nil {
		legal = *it.LegalWorkingDays
	}
	if it.PromisedWorkingDays != nil {
		promised = *it.PromisedWorkingDays
	}
	if it.WithdrawalKind == "" {
		switch {
		case len(it.Channels) == 0:
			return fmt.Errorf("channels: at least one of %v", Channels())
		case legal < 0 || legal > MaxWorkingDays:
			return fmt.Errorf("legal_working_days: between 0 (on the spot) and %d", MaxWorkingDays)
		case it.PromisedWorkingDays != nil && (promised < 0 || promised > legal):
			return fmt.Errorf("promised_working_days: between 0 and legal_working_days (%d)", legal)
		}
		return nil
	}
	pol, ok := ws.Policy(it.WithdrawalKind)
	switch {
	case !ok:
		return fmt.Errorf("withdrawal_kind: %q is not a kind of withdrawals.kinds (%v)", it.WithdrawalKind, ws.KindNames())
	case len(it.Channels) > 0:
		return fmt.Errorf("channels: a withdrawal kind's channels are its policy's (withdrawals.kinds[].channels), not written here")
	case len(it.Materials) > 0:
		return fmt.Errorf("materials: a withdrawal kind's materials are its policy's evidence_sources, not written here")
	case it.LegalWorkingDays != nil:
		return fmt.Errorf("legal_working_days: a withdrawal kind's is withdrawals.decision_working_days, not written here")
	case it.PromisedWorkingDays != nil && (promised < 1 || promised > ws.DecisionWorkingDays):
		return fmt.Errorf("promised_working_days: between 1 and withdrawals.decision_working_days (%d)", ws.DecisionWorkingDays)
	case !slices.Contains(it.Switches, hours.Withdrawal):
		return fmt.Errorf("switches: a withdrawal kind is behind the %q switch", hours.Withdrawal)
	}
	for _, e := range pol.SharedEvidence() {
		if _, ok := cfg.Materials[e.Evidence]; !ok {
			return fmt.Errorf("withdrawal_kind: the evidence %q of %s has no name in catalogue.materials", e.Evidence, it.WithdrawalKind)
		}
	}
	return nil
}
