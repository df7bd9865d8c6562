package withdrawal

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"handheld/services"
)

// The kinds a person can apply for, by the names the API uses; each maps
// to the core's reason code (GLOSSARY) in its Policy.
const (
	KindRent            = "rent"
	KindPurchase        = "purchase"
	KindLoanRepayment   = "loan_repayment"
	KindRetirement      = "retirement"
	KindCriticalIllness = "critical_illness"
	KindLeavingCity     = "leaving_city"
	KindClosing         = "closing"
)

// Policy is one kind's rules, as the centre configures them. Amounts are
// fen; zero means "no such limit" for caps and intervals.
type Policy struct {
	// Kind is the API name (rent, purchase, ...); CoreKind the reason code
	// sent to the core (07, 01, ...).
	Kind     string `yaml:"kind"`
	CoreKind string `yaml:"core_kind"`
	// Statuses are the account statuses that may apply (01 normal, 02
	// sealed, ...).
	Statuses []string `yaml:"statuses"`
	// MinContinuousMonths is how many unbroken months of deposits, up to
	// the last one, the person needs.
	MinContinuousMonths int `yaml:"min_continuous_months"`
	// Caps: per application, per calendar month and per calendar year
	// (Asia/Shanghai), counting what the ledger shows for this kind and
	// this person's applications still in flight.
	CapPerApplicationFen int64 `yaml:"cap_per_application_fen"`
	CapPerMonthFen       int64 `yaml:"cap_per_month_fen"`
	CapPerYearFen        int64 `yaml:"cap_per_year_fen"`
	// IntervalMonths: at most one withdrawal of this kind per so many
	// months (rent: once a quarter).
	IntervalMonths int `yaml:"interval_months"`
	// KeepBalanceFen must stay in the account after the withdrawal.
	KeepBalanceFen int64 `yaml:"keep_balance_fen"`
	// ClosesAccount: the whole balance is withdrawn and the core closes
	// the account (status 05).
	ClosesAccount bool `yaml:"closes_account"`
	// Evidence names the documents the core must confirm; an application
	// must reference at least one when this is not empty.
	Evidence []string `yaml:"evidence"`
	// RequiresLoan: only with an outstanding HPF loan, capped at it.
	RequiresLoan bool `yaml:"requires_loan"`
	// RequiresRetirementAge: only from the statutory retirement age
	// (Policies.RetirementAgeMen / RetirementAgeWomen).
	RequiresRetirementAge bool `yaml:"requires_retirement_age"`
	// EvidenceSources say, per evidence this kind needs, which shared-data
	// facts (services/sharing: "source.fact", e.g. "real_estate.deed")
	// can satisfy it and whether an uploaded document may stand in. Empty
	// means the defaults for the kind (DefaultEvidenceSources), so a
	// configuration written before shared data stays valid.
	EvidenceSources []EvidenceSource `yaml:"evidence_sources"`
	// Channels are where a person may apply for this kind: miniapp,
	// kiosk. Empty means the mini-program, and kiosks too unless the kind
	// needs evidence documents, which a kiosk cannot take in (OfferedOn).
	Channels []string `yaml:"channels"`
}

// EvidenceSource is one piece of evidence a kind needs and where it can
// come from: policy as data, so a centre adds a source without code.
type EvidenceSource struct {
	// Evidence names what must be shown (property_registration,
	// diagnosis, retirement, household_left, marriage, ...).
	Evidence string `yaml:"evidence"`
	// Sources are the shared-data facts that satisfy it, "source.fact",
	// asked in this order; empty: shared data cannot help.
	Sources []string `yaml:"sources"`
	// Upload: an uploaded document (POST /me/materials) may stand in when
	// shared data has no fact.
	Upload bool `yaml:"upload"`
	// Materials are the kinds of upload that stand in for it (material
	// kinds, e.g. purchase_contract for property_registration); empty
	// with Upload means an upload of the evidence's own name.
	Materials []string `yaml:"materials"`
	// Optional evidence is asked for but never required (a spouse's
	// marriage for a purchase by the spouse; the retirement fact, where
	// the age on the ID number decides).
	Optional bool `yaml:"optional"`
}

// MaterialKinds are the upload kinds that stand in for e: none without
// Upload.
func (e EvidenceSource) MaterialKinds() []string {
	switch {
	case !e.Upload:
		return nil
	case len(e.Materials) > 0:
		return e.Materials
	}
	return []string{e.Evidence}
}

// DefaultEvidenceSources is where each shipped kind's evidence can come
// from: purchase from the real-estate registry (a deed, or a filed
// purchase contract), else an upload of either, with the marriage
// register for a spouse's purchase; critical illness from a
// medical-insurance settlement, else an uploaded diagnosis; closing only
// from an upload. Retirement (social security) and leaving the city (the
// household register, or an uploaded household record) are supporting
// facts: the age on the ID number and the sealed account decide those.
// Nil for other kinds.
func DefaultEvidenceSources(kind string) []EvidenceSource {
	switch kind {
	case KindPurchase:
		return []EvidenceSource{
			{Evidence: "property_registration", Sources: []string{"real_estate.deed", "real_estate.filed_contract"}, Upload: true,
				Materials: []string{"property_registration", "purchase_contract"}},
			{Evidence: "marriage", Sources: []string{"civil_affairs.marriage"}, Optional: true},
		}
	case KindCriticalIllness:
		return []EvidenceSource{{Evidence: "diagnosis", Sources: []string{"medical_insurance.illness_settlement"}, Upload: true}}
	case KindRetirement:
		return []EvidenceSource{{Evidence: "retirement", Sources: []string{"social_security.retirement"}, Optional: true}}
	case KindLeavingCity:
		return []EvidenceSource{{Evidence: "household_left", Sources: []string{"household.household"}, Upload: true,
			Materials: []string{"household_registration"}, Optional: true}}
	case KindClosing:
		return []EvidenceSource{{Evidence: "closing_certificate", Upload: true}}
	}
	return nil
}

// SharedEvidence is the kind's evidence and its sources: as configured,
// or the defaults.
func (p Policy) SharedEvidence() []EvidenceSource {
	if len(p.EvidenceSources) > 0 {
		return p.EvidenceSources
	}
	return DefaultEvidenceSources(p.Kind)
}

// Needs is every evidence the kind asks for, in order: its shared-data
// sources, and each name of Evidence they leave out as an upload of that
// name. Required ones are those not Optional: an application is refused
// until each is found in shared data, uploaded or (Evidence) named in the
// core's records.
func (p Policy) Needs() []EvidenceSource {
	out := slices.Clone(p.SharedEvidence())
	for _, e := range p.Evidence {
		if !slices.ContainsFunc(out, func(n EvidenceSource) bool { return n.Evidence == e }) {
			out = append(out, EvidenceSource{Evidence: e, Upload: true})
		}
	}
	return out
}

// Required lists the names of the evidence an application must carry.
func (p Policy) Required() []string {
	var out []string
	for _, n := range p.Needs() {
		if !n.Optional {
			out = append(out, n.Evidence)
		}
	}
	return out
}

// channels are the depositor channels a kind can be offered on.
var channels = []string{services.ChannelMiniApp, services.ChannelKiosk}

// OfferedOn reports whether a person on channel may apply for this kind:
// the configured channels, or by default the mini-program always and a
// kiosk only for a kind without evidence documents.
func (p Policy) OfferedOn(channel string) bool {
	if len(p.Channels) > 0 {
		return slices.Contains(p.Channels, channel)
	}
	return channel == services.ChannelMiniApp || channel == services.ChannelKiosk && len(p.Required()) == 0
}

// KindsOn lists the kinds offered on channel, in the policies' order (the
// kiosk screen shows these).
func (ps Policies) KindsOn(channel string) []string {
	var out []string
	for _, p := range ps.Kinds {
		if p.OfferedOn(channel) {
			out = append(out, p.Kind)
		}
	}
	return out
}

// Policies are the centre's withdrawal rules: one Policy per kind, the
// platform limits that apply to every kind, and the service promises.
type Policies struct {
	Kinds []Policy `yaml:"kinds"`
	// DailyLimitFen is the per-person daily amount limit across kinds,
	// and MinPerTransactionFen / MaxPerTransactionFen the per-transaction
	// bounds, of the national HPF platform's online withdrawal guideline.
	DailyLimitFen        int64 `yaml:"daily_limit_fen"`
	MinPerTransactionFen int64 `yaml:"min_per_transaction_fen"`
	MaxPerTransactionFen int64 `yaml:"max_per_transaction_fen"`
	// RetirementAgeMen and RetirementAgeWomen gate RequiresRetirementAge.
	RetirementAgeMen   int `yaml:"retirement_age_men"`
	RetirementAgeWomen int `yaml:"retirement_age_women"`
	// DecisionWorkingDays is the statutory time to decide an application
	// (3 working days); Holidays are extra non-working dates (YYYY-MM-DD).
	DecisionWorkingDays int      `yaml:"decision_working_days"`
	Holidays            []string `yaml:"holidays"`
	// NotifyOn are the statuses the person hears about by WeChat.
	NotifyOn []string `yaml:"notify_on"`
	// PollInterval is how often an undecided application's status is
	// asked of the core.
	PollInterval time.Duration `yaml:"poll_interval"`
	// AcceptWhenCoreDown: an application made while the core cannot be
	// asked (its maintenance window, an outage) is accepted "to be
	// checked" and judged when the core returns, instead of 503.
	AcceptWhenCoreDown bool `yaml:"accept_when_core_down"`
}

const yuan = 100 // fen

// DefaultPolicies are realistic defaults for a prefecture-level centre:
// rent at most 6,000 yuan a quarter and 24,000 a year after 3 unbroken
// months; purchase after 6 months with a property registration; loan
// repayment up to the outstanding loan once a year; retirement, leaving the
// city and closing take the whole balance and close the account; critical
// illness with a diagnosis, up to 200,000 yuan a year. Platform limits: at
// least 1 yuan and at most 500,000 yuan per transaction, 1,000,000 a day.
func DefaultPolicies() Policies {
	normal, normalOrSealed, sealed := []string{"01"}, []string{"01", "02"}, []string{"02"}
	return Policies{
		Kinds: []Policy{
			{Kind: KindRent, CoreKind: "07", Statuses: normal, MinContinuousMonths: 3,
				CapPerApplicationFen: 6000 * yuan, CapPerYearFen: 24000 * yuan, IntervalMonths: 3},
			{Kind: KindPurchase, CoreKind: "01", Statuses: normal, MinContinuousMonths: 6, IntervalMonths: 12,
				Evidence: []string{"property_registration"}},
			{Kind: KindLoanRepayment, CoreKind: "06", Statuses: normalOrSealed, IntervalMonths: 12, RequiresLoan: true},
			{Kind: KindRetirement, CoreKind: "03", Statuses: normalOrSealed, ClosesAccount: true, RequiresRetirementAge: true},
			{Kind: KindCriticalIllness, CoreKind: "09", Statuses: normalOrSealed, CapPerYearFen: 200000 * yuan,
				Evidence: []string{"diagnosis"}},
			{Kind: KindLeavingCity, CoreKind: "05", Statuses: sealed, ClosesAccount: true},
			{Kind: KindClosing, CoreKind: "99", Statuses: sealed, ClosesAccount: true, Evidence: []string{"closing_certificate"}},
		},
		DailyLimitFen:        1000000 * yuan,
		MinPerTransactionFen: 1 * yuan,
		MaxPerTransactionFen: 500000 * yuan,
		RetirementAgeMen:     60,
		RetirementAgeWomen:   55,
		DecisionWorkingDays:  3,
		NotifyOn:             []string{StatusAccepted, StatusApproved, StatusRejected, StatusPaid, StatusCancelled},
		PollInterval:         10 * time.Second,
		AcceptWhenCoreDown:   true,
	}
}

// Policy returns the rules of kind.
func (ps Policies) Policy(kind string) (Policy, bool) {
	i := slices.IndexFunc(ps.Kinds, func(p Policy) bool { return p.Kind == kind })
	if i < 0 {
		return Policy{}, false
	}
	return ps.Kinds[i], true
}

// KindNames lists the configured kinds, in order.
func (ps Policies) KindNames() []string {
	out := make([]string, 0, len(ps.Kinds))
	for _, p := range ps.Kinds {
		out = append(out, p.Kind)
	}
	return out
}

// Validate names the first setting that makes no sense, as
// withdrawals.<path>, so that start-up fails with it.
func (ps Policies) Validate() error {
	if len(ps.Kinds) == 0 {
		return fmt.Errorf("withdrawals.kinds: at least one kind")
	}
	seen := map[string]bool{}
	for i, p := range ps.Kinds {
		at := fmt.Sprintf("withdrawals.kinds[%d]", i)
		switch {
		case p.Kind == "" || !isCode(p.Kind):
			return fmt.Errorf("%s.kind: %q is not a lower-case name", at, p.Kind)
		case seen[p.Kind]:
			return fmt.Errorf("%s.kind: %q listed twice", at, p.Kind)
		case len(p.CoreKind) != 2 || !isDigits(p.CoreKind):
			return fmt.Errorf("%s.core_kind: %q is not a two-digit reason code", at, p.CoreKind)
		case len(p.Statuses) == 0:
			return fmt.Errorf("%s.statuses: at least one account status", at)
		case p.MinContinuousMonths < 0 || p.IntervalMonths < 0:
			return fmt.Errorf("%s: months must not be negative", at)
		case p.CapPerApplicationFen < 0 || p.CapPerMonthFen < 0 || p.CapPerYearFen < 0 || p.KeepBalanceFen < 0:
			return fmt.Errorf("%s: amounts must not be negative", at)
		case p.ClosesAccount && (p.CapPerApplicationFen > 0 || p.KeepBalanceFen > 0):
			return fmt.Errorf("%s.closes_account: a closing withdrawal takes the whole balance, so it has no cap or kept balance", at)
		}
		for _, c := range p.Channels {
			if !slices.Contains(channels, c) {
				return fmt.Errorf("%s.channels: %q is not a channel (%v)", at, c, channels)
			}
		}
		for j, e := range p.EvidenceSources {
			if e.Evidence == "" || !isCode(e.Evidence) {
				return fmt.Errorf("%s.evidence_sources[%d].evidence: %q is not a lower-case name", at, j, e.Evidence)
			}
			if len(e.Sources) == 0 && !e.Upload {
				return fmt.Errorf("%s.evidence_sources[%d]: no source and no upload: nothing could satisfy it", at, j)
			}
			for _, src := range e.Sources {
				a, b, ok := strings.Cut(src, ".")
				if !ok || !isCode(a) || !isCode(b) {
					return fmt.Errorf("%s.evidence_sources[%d].sources: %q is not source.fact", at, j, src)
				}
			}
			for _, m := range e.Materials {
				if !isCode(m) {
					return fmt.Errorf("%s.evidence_sources[%d].materials: %q is not a lower-case material kind", at, j, m)
				}
			}
			if len(e.Materials) > 0 && !e.Upload {
				return fmt.Errorf("%s.evidence_sources[%d].materials: set without upload: true", at, j)
			}
			if e.Optional && slices.Contains(p.Evidence, e.Evidence) {
				return fmt.Errorf("%s.evidence_sources[%d]: %q is optional here but listed in evidence (required)", at, j, e.Evidence)
			}
		}
		for _, s := range p.Statuses {
			if len(s) != 2 || !isDigits(s) {
				return fmt.Errorf("%s.statuses: %q is not a two-digit account status", at, s)
			}
		}
		seen[p.Kind] = true
	}
	switch {
	case ps.MinPerTransactionFen < 1:
		return fmt.Errorf("withdrawals.min_per_transaction_fen: at least 1")
	case ps.MaxPerTransactionFen < ps.MinPerTransactionFen:
		return fmt.Errorf("withdrawals.max_per_transaction_fen: below min_per_transaction_fen")
	case ps.DailyLimitFen < ps.MinPerTransactionFen:
		return fmt.Errorf("withdrawals.daily_limit_fen: below min_per_transaction_fen")
	case ps.RetirementAgeMen < 40 || ps.RetirementAgeMen > 80 || ps.RetirementAgeWomen < 40 || ps.RetirementAgeWomen > 80:
		return fmt.Errorf("withdrawals.retirement_age_men/women: between 40 and 80")
	case ps.DecisionWorkingDays < 1 || ps.DecisionWorkingDays > 60:
		return fmt.Errorf("withdrawals.decision_working_days: between 1 and 60")
	case ps.PollInterval < 10*time.Millisecond || ps.PollInterval > time.Hour:
		return fmt.Errorf("withdrawals.poll_interval: between 10ms and 1h")
	}
	for _, d := range ps.Holidays {
		if _, err := time.Parse(time.DateOnly, d); err != nil {
			return fmt.Errorf("withdrawals.holidays: %q is not YYYY-MM-DD", d)
		}
	}
	for _, s := range ps.NotifyOn {
		if !slices.Contains(statuses, s) {
			return fmt.Errorf("withdrawals.notify_on: %q is not a status (%v)", s, statuses)
		}
	}
	return nil
}

func isCode(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r == '_') {
			return false
		}
	}
	return true
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}
