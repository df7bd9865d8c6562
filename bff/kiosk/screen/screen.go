// Package screen serves the kiosk screen: server-rendered HTML pages for
// the browser of a registered self-service kiosk (issue 16), reached only
// through the kiosk's local agent (bff/kiosk/agent), which adds the
// device's token to every request. A citizen signs in at the device (face)
// and then reaches their own account, loan, certificates, withdrawals and
// cases through the same use cases the API serves, with their kiosk
// citizen principal, so audit, masking and limits are the API's.
//
// The pages need no script: forms and links only, one stylesheet served
// here, a strict Content-Security-Policy. The citizen's access token lives
// in an HttpOnly, SameSite=Strict cookie scoped to the screen path and is
// checked on every page against the device the request comes through.
package screen

import (
	"context"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"strings"
	"time"

	"handheld/bff/pages"
	"handheld/locales"
	"handheld/services"
	"handheld/services/account"
	"handheld/services/audit"
	"handheld/services/cases"
	"handheld/services/certificate"
	"handheld/services/hours"
	"handheld/services/identity"
	"handheld/services/withdrawal"
)

// Identity is what the screen needs from services/identity.
type Identity interface {
	Authenticate(ctx context.Context, bearer string) (services.Principal, error)
	LoginKiosk(ctx context.Context, device services.Principal, l identity.KioskLogin) (identity.Tokens, error)
	Logout(ctx context.Context, p services.Principal) error
	RequireAssurance(p services.Principal, service identity.ServiceName) error
	StepUp(ctx context.Context, p services.Principal, faceResult string) (identity.Tokens, error)
	Device(id string) (identity.Device, bool)
}

// Accounts is what the screen needs from services/account.
type Accounts interface {
	Home(ctx context.Context, p services.Principal) (account.HomeView, error)
	Account(ctx context.Context, p services.Principal) (account.AccountView, error)
	Deposits(ctx context.Context, p services.Principal, from, to string, limit int, cursor string) (account.DepositsView, error)
	Loan(ctx context.Context, p services.Principal) (account.LoanView, error)
	Schedule(ctx context.Context, p services.Principal, limit int, cursor string) (account.ScheduleView, error)
}

// Certificates is what the screen needs from services/certificate.
type Certificates interface {
	Issue(ctx context.Context, p services.Principal, typ, purpose, lang string) (certificate.Issued, error)
	List(ctx context.Context, p services.Principal, limit int, cursor string) (certificate.Page, error)
}

// Withdrawals is what the screen needs from services/withdrawal.
type Withdrawals interface {
	Eligibility(ctx context.Context, p services.Principal, kind string) (withdrawal.Eligibility, error)
	Apply(ctx context.Context, p services.Principal, r withdrawal.Request) (withdrawal.Application, bool, error)
	PayoutAccounts(ctx context.Context, p services.Principal) ([]withdrawal.PayoutAccount, error)
}

// Cases is what the screen needs from services/cases.
type Cases interface {
	List(ctx context.Context, p services.Principal, limit int, cursor string) ([]cases.Case, string, error)
	Rate(ctx context.Context, p services.Principal, caseID string, level int, comment string) (cases.Case, error)
}

// Auditor queues audit records (a *audit.Log).
type Auditor interface {
	Enqueue(ctx context.Context, r audit.Record) error
}

// Gate answers whether a service is open on a channel (hours.Gate).
type Gate interface {
	Check(service hours.Service, channel string) error
}

// Deps are the screen's collaborators and settings, built once in
// bff/app.go.
type Deps struct {
	Identity     Identity
	Accounts     Accounts
	Certificates Certificates
	Withdrawals  Withdrawals
	Cases        Cases
	Hours        Gate
	Audit        Auditor
	// Phone (sign-in by phone QR) and Prints (printing at the kiosk) are
	// optional: nil leaves them off the screen.
	Phone    PhoneSignIn
	Prints   Prints
	Catalogs *locales.Catalogs
	// Templates holds kiosk/*.html and kiosk/kiosk.css (templates.FS).
	Templates fs.FS
	// Path is where the screen is mounted, with a trailing slash
	// ("/kiosk/"); the citizen cookie is scoped to it.
	Path string
	// Idle is the identity service's kiosk idle time: the pages count it
	// down and sign the citizen out after it.
	Idle time.Duration
	// KioskKinds are the withdrawal kinds the policy offers at kiosks, in
	// the policy's order.
	KioskKinds []string
	// Secret keys the form tokens and idempotency keys (at least 32
	// bytes, the same on every replica).
	Secret services.HashKey
	Now    func() time.Time
	Logger *slog.Logger
}

// Screen serves the kiosk pages.
type Screen struct {
	Deps
	pages map[string]*template.Template // by page name
	css   []byte                        // kiosk.css with the idle countdown's length
	font  []byte                        // fonts/wqy-microhei.ttf
}

// fontFile is the CJK font the screen serves (the certificates' own).
const fontFile = "fonts/wqy-microhei.ttf"

// pageNames are the templates under templates/kiosk, each executed inside
// layout.html.
var pageNames = []string{"signin", "home", "account", "loan", "certificates", "withdrawals", "withdrawal",
	"cases", "rate", "message", "phone", "print", "printjob", "stepup"}

// New parses the templates and the stylesheet once, so that a broken
// template stops start-up rather than a citizen's request.
func New(d Deps) (*Screen, error) {
	switch {
	case d.Identity == nil || d.Accounts == nil || d.Certificates == nil || d.Withdrawals == nil || d.Cases == nil ||
		d.Hours == nil || d.Audit == nil || d.Catalogs == nil || d.Templates == nil:
		return nil, fmt.Errorf("kiosk screen: missing dependency")
	case !strings.HasPrefix(d.Path, "/") || !strings.HasSuffix(d.Path, "/"):
		return nil, fmt.Errorf("kiosk screen: path %q must start and end with /", d.Path)
	case d.Idle <= 0:
		return nil, fmt.Errorf("kiosk screen: idle time must be positive")
	case d.Secret.Size() < 32:
		return nil, fmt.Errorf("kiosk screen: secret of at least 32 bytes")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Screen{Deps: d, pages: map[string]*template.Template{}}
	funcs := template.FuncMap{
		"t":    func(lang, key string, kv ...any) string { return d.Catalogs.T(lang, key, pages.Params(kv)) },
		"yuan": yuan,
	}
	for _, name := range pageNames {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(d.Templates, "kiosk/layout.html", "kiosk/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("templates/kiosk/%s.html: %w", name, err)
		}
		s.pages[name] = t
	}
	css, err := fs.ReadFile(d.Templates, "kiosk/kiosk.css")
	if err != nil {
		return nil, fmt.Errorf("templates/kiosk/kiosk.css: %w", err)
	}
	s.css = append(css, countdownCSS(d.Idle)...)
	if s.font, err = fs.ReadFile(d.Templates, fontFile); err != nil {
		return nil, fmt.Errorf("templates/%s: %w", fontFile, err)
	}
	return s, nil
}

// yuan writes an amount in fen as yuan with two decimals and thousands
// separators: 1234567 → 12,345.67.
func yuan(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	whole, cents := fen/100, fen%100
	digits := fmt.Sprint(whole)
	var b strings.Builder
	for i, r := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return fmt.Sprintf("%s%s.%02d", sign, b.String(), cents)
}

// countdownCSS is the stylesheet's idle countdown, whose length is the
// configured idle time: a bar that empties and a number of seconds that
// counts down, with no script (an animated integer custom property).
func countdownCSS(idle time.Duration) string {
	secs := int(idle.Round(time.Second) / time.Second)
	return fmt.Sprintf(`
/* The idle countdown, generated from the identity service's kiosk idle time (%[1]ds). */
@property --kiosk-secs { syntax: "<integer>"; inherits: false; initial-value: %[1]d; }
.countdown-bar > span { animation: kiosk-idle-bar %[1]ds linear forwards; }
.countdown-seconds { animation: kiosk-idle-seconds %[1]ds steps(%[1]d, end) forwards; counter-reset: kiosk-secs var(--kiosk-secs); }
.countdown-seconds::after { content: counter(kiosk-secs); }
@keyframes kiosk-idle-bar { from { width: 100%%; } to { width: 0%%; } }
@keyframes kiosk-idle-seconds { from { --kiosk-secs: %[1]d; } to { --kiosk-secs: 0; } }
`, secs)
}
