package certificate

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/core"
	"handheld/services/keys"
	"handheld/services/mask"
	"handheld/services/store"
)

// Defaults of Deps.
const (
	DefaultValidity = 30 * 24 * time.Hour
	DefaultLinkTTL  = 10 * time.Minute
)

// Limits a centre's configuration must stay within.
const (
	maxValidity   = 366 * 24 * time.Hour
	maxLinkTTL    = 24 * time.Hour
	maxPurpose    = 100 // runes
	secretMinSize = 32
)

// The audit actions of this package.
const (
	ActionIssue    = "certificate.issue"
	ActionRevoke   = "certificate.revoke"
	ActionDownload = "certificate.download"
	ActionVerify   = "certificate.verify"
	ActionList     = "read.certificates"
	ActionGet      = "read.certificate"
)

// Rendering variants: the standard PDF is what is stored and downloaded;
// print is the kiosk's printer layout, rendered again on demand.
const (
	VariantStandard = "standard"
	VariantPrint    = "print"
)

// Languages a certificate can be issued in.
const (
	LangZhCN = "zh-CN"
	LangEn   = "en"
)

// The collaborators, declared here by what this package needs of them.
type (
	// factsReader is the core, read with deadlines and breakers
	// (core.Reader), never stale for certificates.
	factsReader interface {
		CertificateFacts(ctx context.Context, personID string) (core.CertificateFacts, core.Freshness, error)
	}
	// unitFacts is the core's answer for a unit deposit certificate, read
	// like factsReader (core.Reader), never stale.
	unitFacts interface {
		UnitCertificateFacts(ctx context.Context, unitCode string) (core.UnitCertificateFacts, core.Freshness, error)
	}
	// people maps the token's subject to the core's person id.
	people interface {
		PersonID(ctx context.Context, subject string) (string, error)
	}
	// renderer lays a Document out as a PDF (services/certpdf). It must be
	// deterministic: the same document, language and variant give the
	// same bytes, so that a print copy can be rendered again at any time.
	// Unprintable lists the characters of a text its fonts cannot draw,
	// so that a purpose with one is refused at input, not printed as a
	// mark.
	renderer interface {
		Render(d Document, lang, variant string) ([]byte, error)
		Unprintable(text string) []rune
	}
	// centres names the centres on the national platform: the lending
	// centre of a loan_elsewhere certificate, and the centre verifying one
	// through the platform (*platform.Service). ok is false for a code the
	// platform does not list and for this centre itself.
	centres interface {
		CentreName(ctx context.Context, code string) (name string, ok bool, err error)
	}
	// auditor queues audit records.
	auditor interface {
		Enqueue(ctx context.Context, r audit.Record) error
	}
)

// Deps are a Service's collaborators and policy, built once in bff/app.go.
type Deps struct {
	Store    *store.Store
	Facts    factsReader
	Units    unitFacts
	People   people
	Renderer renderer
	// Centres names the centres on the national platform; nil refuses
	// every loan_elsewhere certificate and platform verification with
	// platform.unavailable.
	Centres centres
	// Ring signs the claims with its current certificates key.
	Ring  *keys.Ring
	Audit auditor
	// Validity is how long a certificate is valid; DefaultValidity when 0.
	Validity time.Duration
	// LinkTTL is how long a download link works; DefaultLinkTTL when 0.
	LinkTTL time.Duration
	// PublicBaseURL is where verify pages are served (http or https): the
	// certificate's QR code points to <PublicBaseURL>/verify/<code>.
	PublicBaseURL string
	// CentreName is printed on certificates and verify pages; CentreCode
	// (letters and digits) starts every certificate number.
	CentreName string
	CentreCode string
	// Secret keys the download-link MACs and the ID-number hash in the
	// claims; at least 32 bytes, the same on every replica.
	Secret services.HashKey
	// Mask is the centre's masking policy; nil means mask.DefaultPolicy.
	// Verify pages use its public (unknown-channel) level: always masked.
	Mask mask.Policy
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Rand is the source of ids and verify codes; crypto/rand when nil.
	Rand   io.Reader
	Logger *slog.Logger
}

// Service issues, lists, revokes, serves and verifies certificates. Every
// use case by a depositor reads only the caller's own certificates: the
// subject comes from the token, and another person's id is not found. An
// employer's operator reaches only the unit's certificates, the unit named
// in the token; another unit's id is not found either.
type Service struct {
	Deps
	signer  keys.Signer
	linkKey services.HashKey
	idKey   services.HashKey
}

var centreCodeShape = regexp.MustCompile(`^[0-9A-Z]{1,12}$`)

// New checks the dependencies and policy and fills defaults, so that a
// missing key or a bad setting stops start-up instead of the first issue.
func New(d Deps) (*Service, error) {
	switch {
	case d.Store == nil || d.Facts == nil || d.Units == nil || d.People == nil || d.Renderer == nil || d.Ring == nil || d.Audit == nil:
		return nil, errors.New("certificate: missing dependency (store, facts, units, people, renderer, ring or audit)")
	case d.Secret.Size() < secretMinSize:
		return nil, fmt.Errorf("certificate: secret must be at least %d bytes", secretMinSize)
	case d.Validity < 0 || d.Validity > maxValidity:
		return nil, fmt.Errorf("certificate: validity %s must be between 0 and %s", d.Validity, maxValidity)
	case d.LinkTTL < 0 || d.LinkTTL > maxLinkTTL:
		return nil, fmt.Errorf("certificate: link TTL %s must be between 0 and %s", d.LinkTTL, maxLinkTTL)
	case !centreCodeShape.MatchString(d.CentreCode):
		return nil, fmt.Errorf("certificate: centre code %q must be 1-12 digits or capital letters", d.CentreCode)
	case strings.TrimSpace(d.CentreName) == "":
		return nil, errors.New("certificate: centre name is required")
	}
	u, err := url.Parse(d.PublicBaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("certificate: public base URL %q must be an absolute http(s) URL without query", d.PublicBaseURL)
	}
	d.PublicBaseURL = strings.TrimRight(d.PublicBaseURL, "/")
	if err := d.Mask.Validate(); err != nil {
		return nil, err
	}
	signer := d.Ring.Signer(keys.PurposeCertificates)
	if signer.KID == "" {
		return nil, fmt.Errorf("certificate: the key ring has no %q signing key", keys.PurposeCertificates)
	}
	if d.Mask == nil {
		d.Mask = mask.DefaultPolicy()
	}
	if d.Validity == 0 {
		d.Validity = DefaultValidity
	}
	if d.LinkTTL == 0 {
		d.LinkTTL = DefaultLinkTTL
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Rand == nil {
		d.Rand = rand.Reader
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{Deps: d, signer: signer,
		linkKey: d.Secret.Derive(linkLabel),
		idKey:   d.Secret.Derive("handheld certificate id_hash")}, nil
}

// audited records what happened to a certificate (see audit.Outcome).
func (s *Service) audited(ctx context.Context, r audit.Record, opErr error) error {
	r.At = s.Now()
	return audit.Outcome(ctx, s.Audit, s.Logger, r, opErr)
}

// byHolder is the audit record of something p did: to one certificate, or
// to their own ("self") or their unit's ("unit:self", never the code).
func byHolder(p services.Principal, action, id string) audit.Record {
	target := "self"
	if p.Role == services.RoleEmployer {
		target = "unit:self"
	}
	if id != "" {
		target = "certificate:" + id
	}
	return audit.Record{Subject: p.Subject, Actor: p.Actor(), Channel: p.Channel, Action: action, Target: target}
}

// scope is whose certificates a principal reaches: a depositor their own
// (by subject, never a unit's), an employer's operator their unit's (every
// operator of the unit alike). Anyone else is refused with auth.forbidden:
// the route guards already ensure it, and checking again keeps a wiring
// mistake from showing a certificate to a device or a verifier.
type scope struct {
	subject string // a depositor's
	unit    string // an operator's unit code
}

func scopeOf(p services.Principal) (scope, error) {
	if p.Role == services.RoleEmployer {
		if p.Subject == "" || p.Unit == "" {
			return scope{}, services.Errorf(services.CodeForbidden, "employer token without a subject or unit")
		}
		return scope{unit: p.Unit}, nil
	}
	if err := p.Depositor(); err != nil {
		return scope{}, err
	}
	return scope{subject: p.Subject}, nil
}

// issuable are the certificate types the scope may issue.
func (sc scope) issuable() []string {
	if sc.unit != "" {
		return []string{TypeUnitDeposit}
	}
	return []string{TypeDepositUse, TypeLoanElsewhere, TypeLoanSettled}
}

// where is the SQL condition that keeps a query to the scope's rows, with
// its one parameter numbered n; col prefixes the columns ("c." or "").
func (sc scope) where(col string, n int) (string, any) {
	arg := "$" + strconv.Itoa(n)
	if sc.unit != "" {
		return col + "unit_code = " + arg, sc.unit
	}
	return col + "subject = " + arg + " AND " + col + "unit_code = ''", sc.subject
}
