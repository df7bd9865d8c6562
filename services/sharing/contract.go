// Package sharing is handheld's side of the government data-sharing
// exchange (数据共享): the contract (docs/sharing-contract.md and the
// embedded openapi.yaml), a signed HTTP client with a deadline and a
// circuit breaker that turns every failure into a stable services.Error,
// and the use case that asks the sources a withdrawal kind's policy names,
// with the person's consent for one application, and keeps only the
// minimal fact each source answers and its reference ("usable but
// invisible": the document itself never leaves the source).
//
// The exchange is a separate external system from the HPF core: other
// owners (real-estate registration, civil affairs, medical insurance,
// social security, household registration), other keys, other outages.
// So it has its own client, its own breaker and its own error codes
// (sharing.*), and a source being down never marks the core down.
package sharing

import (
	_ "embed"
	"time"
)

// OpenAPI is the exchange's contract as an OpenAPI 3.1 document, embedded
// so the contract tests validate the simulator's answers against the very
// file that is published to the exchange's operators.
//
//go:embed openapi.yaml
var OpenAPI []byte

// The sources handheld may ask, by the names the contract uses.
const (
	SourceRealEstate       = "real_estate"       // 不动产登记: deeds and filed purchase contracts
	SourceCivilAffairs     = "civil_affairs"     // 民政: marriage registration
	SourceMedicalInsurance = "medical_insurance" // 医保: critical-illness settlements
	SourceSocialSecurity   = "social_security"   // 社保: retirement
	SourceHousehold        = "household"         // 户籍: household registration
)

// The facts a source answers, by the names the contract uses. Each belongs
// to exactly one source (FactSource).
const (
	FactDeed              = "deed"               // 不动产权证: deed number, owner matches, registered on
	FactFiledContract     = "filed_contract"     // 网签备案: filed purchase contract number, buyer matches, filed on
	FactMarriage          = "marriage"           // married, spouse's masked name, registered on
	FactIllnessSettlement = "illness_settlement" // critical-illness settlement: settled on, amount
	FactRetirement        = "retirement"         // retired, since
	FactHousehold         = "household"          // registered in the city
)

// factSources is which source answers each fact.
var factSources = map[string]string{
	FactDeed: SourceRealEstate, FactFiledContract: SourceRealEstate, FactMarriage: SourceCivilAffairs,
	FactIllnessSettlement: SourceMedicalInsurance, FactRetirement: SourceSocialSecurity, FactHousehold: SourceHousehold,
}

// Facts lists every fact, in a stable order.
func Facts() []string {
	return []string{FactDeed, FactFiledContract, FactMarriage, FactIllnessSettlement, FactRetirement, FactHousehold}
}

// FactSource names the source that answers fact; ok is false for an
// unknown fact.
func FactSource(fact string) (source string, ok bool) {
	source, ok = factSources[fact]
	return source, ok
}

// Paths of the exchange's API.
const (
	PathQuery  = "/sharing/v1/queries"
	PathHealth = "/sharing/v1/health"
)

// Headers carrying a request signature (the core's scheme, own names:
// core.Sign over method, path, timestamp, nonce and body digest).
const (
	HeaderKeyID     = "X-Sharing-Key"
	HeaderTimestamp = "X-Sharing-Timestamp"
	HeaderNonce     = "X-Sharing-Nonce"
	HeaderSignature = "X-Sharing-Signature"
)

// Subject names the person asked about. It goes only to the source, in the
// request body over TLS, and is never stored or logged by handheld.
type Subject struct {
	IDNumber string `json:"id_number"`
	Name     string `json:"name"`
}

// Query is one question to one source: POST /sharing/v1/queries. Purpose
// is the withdrawal kind the fact is for; ConsentRef the person's consent
// record, without which a source refuses to answer.
type Query struct {
	Source     string  `json:"source"`
	Fact       string  `json:"fact"`
	Subject    Subject `json:"subject"`
	Purpose    string  `json:"purpose"`
	ConsentRef string  `json:"consent_ref"`
}

// Answer is a source's minimal fact. Found is false when the source holds
// no such record for the person (the answer still has a Reference: the
// source logged the question). Only the fields of the fact asked for are
// set. OwnerMatches is false when a record with the number exists but is
// not the person's (a deed of someone else).
type Answer struct {
	Source    string `json:"source"`
	Fact      string `json:"fact"`
	Found     bool   `json:"found"`
	Reference string `json:"reference"`
	// Deed and filed contract.
	Number       string `json:"number,omitempty"`
	OwnerMatches *bool  `json:"owner_matches,omitempty"`
	// RegisteredOn: the deed's registration, the contract's filing, the
	// marriage's registration (YYYY-MM-DD).
	RegisteredOn string `json:"registered_on,omitempty"`
	// Marriage.
	Married          *bool  `json:"married,omitempty"`
	SpouseNameMasked string `json:"spouse_name_masked,omitempty"`
	// Critical-illness settlement.
	SettledOn string `json:"settled_on,omitempty"`
	AmountFen int64  `json:"amount_fen,omitempty"`
	// Retirement.
	Retired *bool  `json:"retired,omitempty"`
	Since   string `json:"since,omitempty"`
	// Household.
	RegisteredInCity *bool  `json:"registered_in_city,omitempty"`
	City             string `json:"city,omitempty"`
}

// Satisfies reports whether the answer is evidence: found, and saying yes
// where the fact has a yes/no (the owner matches, married, retired, still
// registered in the city).
func (a Answer) Satisfies() bool {
	if !a.Found {
		return false
	}
	yes := func(b *bool) bool { return b != nil && *b }
	switch a.Fact {
	case FactDeed, FactFiledContract:
		return yes(a.OwnerMatches)
	case FactMarriage:
		return yes(a.Married)
	case FactRetirement:
		return yes(a.Retired)
	case FactHousehold:
		// Leaving the city is evidenced by no longer being registered in it.
		return a.RegisteredInCity != nil && !*a.RegisteredInCity
	}
	return true
}

// Problem is the exchange's error body (application/problem+json).
type Problem struct {
	Code   string `json:"code"`
	Detail string `json:"detail,omitempty"`
}

// The exchange's error codes (Problem.Code).
const (
	ProblemBadSignature    = "bad_signature"    // 401
	ProblemConsentRequired = "consent_required" // 403: no consent reference
	ProblemPersonNotFound  = "person_not_found" // 404: the source does not know the ID number
	ProblemInvalid         = "invalid"          // 400
	ProblemUnavailable     = "unavailable"      // 503, with Retry-After
)

// DefaultTimeout bounds one question when ClientConfig.Timeout is zero:
// the person waits on the screen while every source is asked in parallel.
const DefaultTimeout = 3 * time.Second
