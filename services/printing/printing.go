// Package printing prints a citizen's documents at a kiosk: the deposit
// statement for a period, the loan statement, the settled-loan certificate
// (贷款结清证明) and the print copy of the person's own deposit-and-use
// certificate. A kiosk citizen asks for a document (Create); it is rendered
// at once in the print style (services/certpdf: A4, black on white, large
// type) and kept sealed at rest in print_jobs, which this package owns,
// until the kiosk's printer fetches it once (Document) or it expires
// unprinted. The holder sees every print in their list on any channel.
//
// Rendering at creation rather than at the printer's fetch is deliberate:
// the paper says what the core said when the person pressed "print", at
// the kiosk they stand at, whatever happens to the core or the certificate
// in the seconds before the printer asks; and the printer's fetch needs no
// core call, so a slow core cannot leave a printer half-way. The PDF is
// sealed (services/seal, bound to the job's row) and emptied once printed
// or expired, so a print's personal data lives minutes, not for ever.
package printing

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/certificate"
	"handheld/services/certpdf"
	"handheld/services/core"
	"handheld/services/identity"
	"handheld/services/store"
)

// The documents a kiosk prints.
const (
	DocDepositStatement = "deposit_statement"
	DocLoanStatement    = "loan_statement"
	DocLoanSettled      = "loan_settled"
	DocCertificate      = "certificate"
)

// Documents lists them, in the order the kiosk offers them.
func Documents() []string {
	return []string{DocDepositStatement, DocLoanStatement, DocLoanSettled, DocCertificate}
}

// Job statuses: ready waits for the printer; printed once fetched;
// expired when nobody printed it within the TTL. failed is kept for a
// printer that reports a failure (not yet reported by any).
const (
	StatusReady   = "ready"
	StatusPrinted = "printed"
	StatusFailed  = "failed"
	StatusExpired = "expired"
)

// The audit actions of this package.
const (
	ActionCreate = "print.create"
	ActionFetch  = "print.fetch"
	ActionList   = "read.print_jobs"
	ActionGet    = "read.print_job"
)

// Policy defaults and bounds (print_jobs in the configuration).
const (
	DefaultMaxPerDay     = 10
	DefaultTTL           = 10 * time.Minute
	MaxPeriodMonths      = 36
	DefaultPeriodMonths  = 12
	DefaultLimit         = 20
	MaxLimit             = 100
	maxMaxPerDay         = 100
	maxTTL               = 24 * time.Hour
	maxCertificateIDSize = 64
)

// Policy is the centre's printing policy (house rule 13: data, not code).
type Policy struct {
	// MaxPerDay is how many documents one person may print a day
	// (Asia/Shanghai days), on all kiosks together.
	MaxPerDay int `yaml:"max_per_day"`
	// TTL is how long a job waits for its printer before it expires.
	TTL time.Duration `yaml:"ttl"`
}

// DefaultPolicy is the shipped policy.
func DefaultPolicy() Policy { return Policy{MaxPerDay: DefaultMaxPerDay, TTL: DefaultTTL} }

// Validate refuses a policy outside its bounds, naming the setting.
func (p Policy) Validate() error {
	switch {
	case p.MaxPerDay < 1 || p.MaxPerDay > maxMaxPerDay:
		return fmt.Errorf("max_per_day %d must be between 1 and %d", p.MaxPerDay, maxMaxPerDay)
	case p.TTL < time.Minute || p.TTL > maxTTL:
		return fmt.Errorf("ttl %s must be between 1m and %s", p.TTL, maxTTL)
	}
	return nil
}

// The collaborators, declared here by what this package needs of them.
type (
	// reader is the core, read with deadlines and breakers (core.Reader).
	reader interface {
		Person(ctx context.Context, personID string) (core.Person, core.Freshness, error)
		Account(ctx context.Context, personID string) (core.Account, core.Freshness, error)
		Deposits(ctx context.Context, personID string, q core.DepositQuery) (core.DepositPage, core.Freshness, error)
		Loan(ctx context.Context, personID string) (core.Loan, core.Freshness, error)
		LoanSchedule(ctx context.Context, personID string, limit int, cursor string) (core.SchedulePage, core.Freshness, error)
	}
	// people maps the token's subject to the core's person id.
	people interface {
		PersonID(ctx context.Context, subject string) (string, error)
	}
	// certificates renders the holder's own certificate for print
	// (*certificate.Service).
	certificates interface {
		PrintCopy(ctx context.Context, p services.Principal, id string) (certificate.Printable, error)
	}
	// renderer lays a statement out in the print style (*certpdf.Renderer).
	renderer interface {
		RenderPlain(p certpdf.Plain) ([]byte, error)
	}
	// devices names the kiosk a job is printed at (*identity.Service).
	devices interface {
		Device(id string) (identity.Device, bool)
	}
	// texts is the locale catalogue (*locales.Catalogs).
	texts interface {
		T(lang, key string, params map[string]any) string
	}
	// auditor queues audit records.
	auditor interface {
		Enqueue(ctx context.Context, r audit.Record) error
	}
)

// Deps are a Service's collaborators and policy, built once in bff/app.go.
type Deps struct {
	Store        *store.Store
	Reader       reader
	People       people
	Certificates certificates
	Renderer     renderer
	Devices      devices
	Texts        texts
	Audit        auditor
	// CentreName heads every statement.
	CentreName string
	Policy     Policy
	Now        func() time.Time
	Rand       io.Reader
	Logger     *slog.Logger
}

// Service creates, lists and hands out print jobs.
type Service struct{ Deps }

// New checks the dependencies and the policy.
func New(d Deps) (*Service, error) {
	switch {
	case d.Store == nil || d.Reader == nil || d.People == nil || d.Certificates == nil || d.Renderer == nil ||
		d.Devices == nil || d.Texts == nil || d.Audit == nil:
		return nil, errors.New("printing: missing dependency")
	case strings.TrimSpace(d.CentreName) == "":
		return nil, errors.New("printing: centre name is required")
	}
	if err := d.Policy.Validate(); err != nil {
		return nil, fmt.Errorf("print_jobs: %w", err)
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
	return &Service{Deps: d}, nil
}

// Request is what a kiosk citizen asks to print. From and To (YYYY-MM)
// bound a deposit statement; CertificateID names the certificate to
// print. Locale is the language the document is printed in.
type Request struct {
	Document       string
	From, To       string
	CertificateID  string
	Locale         string
	IdempotencyKey string
}

// Job is one print as its holder (and its printer) sees it.
type Job struct {
	ID, Document, Status string
	Pages                int
	DeviceID, Location   string
	// From and To are a deposit statement's period; CertificateID the
	// certificate printed. Empty where they do not apply.
	From, To, CertificateID string
	CreatedAt, ExpiresAt    time.Time
	PrintedAt               *time.Time
}

// Page is one page of the holder's prints, newest first.
type Page struct {
	Items      []Job
	NextCursor string
}

// kioskCitizen admits a depositor signed in at a kiosk: the job is
// printed at the kiosk in the token, nowhere else.
func kioskCitizen(p services.Principal) error {
	if err := p.Depositor(); err != nil {
		return err
	}
	if p.Channel != services.ChannelKiosk || p.Device == "" {
		return services.Errorf(services.CodeForbidden, "printing: not a kiosk session")
	}
	return nil
}

// kioskDevice admits a kiosk's device token.
func kioskDevice(p services.Principal) error {
	if p.Role != services.RoleKiosk || p.Device == "" {
		return services.Errorf(services.CodeForbidden, "printing: not a kiosk device")
	}
	return nil
}

// audited records what happened to a print (see audit.Outcome).
func (s *Service) audited(ctx context.Context, p services.Principal, subject, action, id string, opErr error) error {
	target := "self"
	if id != "" {
		target = "print_job:" + id
	}
	return audit.Outcome(ctx, s.Audit, s.Logger, audit.Record{At: s.Now(), Subject: subject, Actor: p.Actor(),
		Channel: p.Channel, Action: action, Target: target}, opErr)
}
