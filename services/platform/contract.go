// Package platform is handheld's side of the national HPF transfer and
// information platform (全国住房公积金异地转移接续平台): the contract
// (docs/platform-contract.md and the embedded openapi.yaml), a signed HTTP
// client with a deadline and a circuit breaker that turns every failure
// into a stable services.Error, and the use cases that read through it:
// the accounts a person holds at other centres.
//
// The platform is a separate external system from the centre's core and
// from the data-sharing exchange: another owner (the ministry), other
// keys, other outages. So it has its own client, its own breaker and its
// own error codes (platform.*), and the platform being down never marks
// the core down.
package platform

import (
	_ "embed"
	"time"
)

// OpenAPI is the platform's contract as an OpenAPI 3.1 document, embedded
// so the contract tests validate the simulator's answers against the very
// file that is published to the platform's operators.
//
//go:embed openapi.yaml
var OpenAPI []byte

// Paths of the platform's API. The transfer paths are the contract of the
// transfer-in flow (docs/platform-contract.md § Transfers), which
// services/transfer calls.
const (
	PathHealth    = "/platform/v1/health"
	PathCentres   = "/platform/v1/centres"
	PathAccounts  = "/platform/v1/account-queries"
	PathTransfers = "/platform/v1/transfers"
)

// Headers carrying a request signature (the core's scheme under the
// platform's names: core.Sign over method, path, timestamp, nonce and body
// digest). Callbacks from the platform to handheld carry the same headers,
// signed with the platform's own key.
const (
	HeaderKeyID     = "X-Platform-Key"
	HeaderTimestamp = "X-Platform-Timestamp"
	HeaderNonce     = "X-Platform-Nonce"
	HeaderSignature = "X-Platform-Signature"
)

// Account statuses as the platform names them, whatever each centre's
// core calls them (the local core's 01/02/06).
const (
	StatusNormal = "normal" // 正常: deposits are being paid
	StatusSealed = "sealed" // 封存: the person left the employer; the account may be transferred out
	StatusFrozen = "frozen" // 冻结: a judicial or administrative freeze; nothing may move
)

// Statuses lists the account statuses, in a stable order.
func Statuses() []string { return []string{StatusNormal, StatusSealed, StatusFrozen} }

// PurposeAccountsElsewhere is the purpose of an account query made for
// the person's own "accounts elsewhere" screen.
const PurposeAccountsElsewhere = "accounts_elsewhere"

// PurposeTransfer is the purpose of an account query made to offer the
// person a transfer in (an employer's join of someone with an account
// elsewhere).
const PurposeTransfer = "transfer"

// Subject names the person asked about: ID number and name, sent only to
// the platform in the request body over TLS, never stored or logged by
// handheld. Both come from the core's person record of the signed-in
// subject, never from the client.
type Subject struct {
	IDNumber string `json:"id_number"`
	Name     string `json:"name"`
}

// AccountQuery asks which accounts the person holds at centres other than
// the requesting one: POST /platform/v1/account-queries.
type AccountQuery struct {
	// RequestingCentre is the asking centre's code (HANDHELD_CENTRE_CODE);
	// its own accounts are never in the answer.
	RequestingCentre string  `json:"requesting_centre"`
	Subject          Subject `json:"subject"`
	Purpose          string  `json:"purpose"`
}

// Account is one account the person holds at another centre.
type Account struct {
	Centre     string `json:"centre"`
	CentreName string `json:"centre_name"`
	// AccountRef is the account's number at its centre: what a transfer
	// names. Personal data: masked before display.
	AccountRef string `json:"account_ref"`
	Status     string `json:"status"`
	// BalanceShared says whether the centre shares balances over the
	// platform; BalanceFen is set only when it does.
	BalanceShared bool   `json:"balance_shared"`
	BalanceFen    *int64 `json:"balance_fen,omitempty"`
	// LastDepositMonth is the last month deposited (YYYY-MM), "" for none.
	LastDepositMonth string `json:"last_deposit_month,omitempty"`
	// UnitName is the employer the account was last deposited by.
	UnitName string `json:"unit_name,omitempty"`
	// OpenedOn is the date the account was opened (YYYY-MM-DD).
	OpenedOn string `json:"opened_on,omitempty"`
}

// AccountsAnswer is the platform's answer to an AccountQuery. Accounts is
// empty (not absent) for a person with none elsewhere. Unanswered lists the
// centres that did not answer in time: the list may then be incomplete.
type AccountsAnswer struct {
	Reference  string    `json:"reference"`
	Accounts   []Account `json:"accounts"`
	Unanswered []string  `json:"unanswered"`
}

// Centre is one centre connected to the platform: GET /platform/v1/centres.
type Centre struct {
	Code          string `json:"code"`
	Name          string `json:"name"`
	BalanceShared bool   `json:"balance_shared"`
}

// Centres is the platform's list of connected centres.
type Centres struct {
	Items []Centre `json:"items"`
}

// Problem is the platform's error body (application/problem+json).
type Problem struct {
	Code   string `json:"code"`
	Detail string `json:"detail,omitempty"`
}

// The platform's error codes (Problem.Code).
const (
	ProblemInvalid       = "invalid"        // 400: a malformed request
	ProblemBadSignature  = "bad_signature"  // 401: key, signature, timestamp or nonce refused
	ProblemUnknownCentre = "unknown_centre" // 400: the requesting (or named) centre is not on the platform
	ProblemNotFound      = "not_found"      // 404: no such transfer
	ProblemNotCancelable = "not_cancelable" // 409: the old centre accepted the transfer already
	ProblemUnavailable   = "unavailable"    // 503, with Retry-After
)

// Refusal reasons of a transfer (docs/platform-contract.md § Transfers):
// the old centre's word, passed on to the person.
const (
	RefusalNotSealed       = "account_not_sealed"
	RefusalFrozen          = "account_frozen"
	RefusalAccountNotFound = "account_not_found"
	RefusalPersonMismatch  = "person_mismatch"
	RefusalLoanOutstanding = "loan_outstanding"
)

// Refusals lists the refusal reasons, in a stable order.
func Refusals() []string {
	return []string{RefusalNotSealed, RefusalFrozen, RefusalAccountNotFound, RefusalPersonMismatch, RefusalLoanOutstanding}
}

// DefaultTimeout bounds one call when ClientConfig.Timeout is zero: the
// platform asks every centre on the person's behalf while they wait.
const DefaultTimeout = 3 * time.Second

// Transfer statuses (docs/platform-contract.md § Transfers): sent →
// accepted → funds_moved, or refused with a reason, or cancelled before
// the old centre accepts.
const (
	TransferSent       = "sent"
	TransferAccepted   = "accepted"
	TransferFundsMoved = "funds_moved"
	TransferRefused    = "refused"
	TransferCancelled  = "cancelled"
)

// TransferRequest asks the old centre, through the platform, to transfer
// an account to the requesting centre: POST /platform/v1/transfers.
// TransferRef is the requesting centre's id of the transfer: the same ref
// answers the same transfer, so a request delivered twice moves nothing
// twice.
type TransferRequest struct {
	TransferRef string  `json:"transfer_ref"`
	FromCentre  string  `json:"from_centre"`
	ToCentre    string  `json:"to_centre"`
	AccountRef  string  `json:"account_ref"`
	Subject     Subject `json:"subject"`
	ToAccount   string  `json:"to_account"`
	CallbackURL string  `json:"callback_url"`
}

// Transfer is a transfer as it stands. Sequence grows by one with each
// status: a callback with a sequence already recorded is a duplicate.
type Transfer struct {
	PlatformRef string `json:"platform_ref"`
	TransferRef string `json:"transfer_ref"`
	Status      string `json:"status"`
	Reason      string `json:"reason,omitempty"`
	AmountFen   int64  `json:"amount_fen,omitempty"`
	UpdatedAt   string `json:"updated_at"`
	Sequence    int    `json:"sequence"`
}

// Certificate verification through the platform (docs/platform-contract.md
// § Verifying a certificate for a loan elsewhere): a lending centre asks
// the platform to verify a code issued by another centre
// (PathCertificateVerifications); the platform forwards the code, signed
// with its own key, to the issuing centre's endpoint
// (PathCentreCertificateVerifications) and passes the answer back.
const (
	PathCertificateVerifications       = "/platform/v1/certificate-verifications"
	PathCentreCertificateVerifications = "/api/v1/platform/certificate-verifications"
)

// CertificateVerification asks the platform to verify a certificate's
// code: IssuingCentre issued it, VerifyingCentre (the caller) asks.
type CertificateVerification struct {
	IssuingCentre   string `json:"issuing_centre"`
	VerifyingCentre string `json:"verifying_centre"`
	VerifyCode      string `json:"verify_code"`
}

// ForwardedVerification is what the platform sends the issuing centre:
// the code and who asks, signed with the platform's key.
type ForwardedVerification struct {
	VerifyCode      string `json:"verify_code"`
	VerifyingCentre string `json:"verifying_centre"`
}

// CertificateCheck is the issuing centre's answer, as its public verify
// page gives it: genuine and current (Valid, Status valid | expired |
// revoked), the type and number, the holder masked, the dates, the issuing
// centre's name, the SHA-256 of the PDF, and the lending centre a
// loan_elsewhere certificate is addressed to.
type CertificateCheck struct {
	Valid        bool   `json:"valid"`
	Status       string `json:"status"`
	Number       string `json:"number"`
	Type         string `json:"type"`
	Holder       string `json:"holder"`
	IssuedAt     string `json:"issued_at"`
	ExpiresAt    string `json:"expires_at"`
	PDFSHA256    string `json:"pdf_sha256"`
	Centre       string `json:"centre"`
	ToCentre     string `json:"to_centre,omitempty"`
	ToCentreName string `json:"to_centre_name,omitempty"`
}
