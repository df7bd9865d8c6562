// Package staffsite is the centre staff's pages: signing in (GET and POST
// /staff/login), signing out (POST /staff/logout), the supervision
// dashboard (GET /staff/dashboard) and its CSV export (GET
// /staff/dashboard.csv). The pages are rendered on the server, run no
// script and load nothing from elsewhere (Security), and work on a
// server-side session (services/staff) behind an HttpOnly, SameSite=Strict
// cookie scoped to /staff: no API route reads that cookie, and these
// pages read no bearer token.
package staffsite

import (
	"context"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"time"

	"handheld/bff/pages"
	"handheld/locales"
	"handheld/services"
	"handheld/services/staff"
	"handheld/services/supervision"
)

// Path is where the pages live.
const Path = "/staff"

// Cookie names: the session, and the sign-in form's pre-session (its
// CSRF token is keyed by it). Scoped to Path, HttpOnly, SameSite=Strict,
// Secure when the request came over TLS.
const (
	SessionCookie = "hh_staff_session"
	PreCookie     = "hh_staff_pre"
)

// Security is the pages' Content-Security-Policy: nothing from elsewhere,
// no script at all, styles only from the pages' own stylesheet (the charts
// are inline SVG with presentation attributes), forms post only here, no
// framing.
const Security = "default-src 'none'; script-src 'none'; style-src 'self'; img-src 'self' data:; font-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// Accounts signs staff in and keeps their sessions (a *staff.Service).
type Accounts interface {
	SignIn(ctx context.Context, c staff.Credentials) (staff.Session, error)
	Session(ctx context.Context, token string) (staff.Session, error)
	SignOut(ctx context.Context, s staff.Session, requestID string) error
	NewToken() (string, error)
	CSRF(token string) string
	LoginCSRF(pre string) string
}

// Dashboards reads the dashboard (a *supervision.Service).
type Dashboards interface {
	ParseRange(from, to string) (supervision.Range, error)
	Load(ctx context.Context, p services.Principal, r supervision.Range, requestID string) (supervision.Dashboard, error)
	Export(ctx context.Context, p services.Principal, r supervision.Range, section, requestID string) (supervision.Table, error)
}

// Deps are the site's collaborators.
type Deps struct {
	Accounts   Accounts
	Dashboards Dashboards
	Catalogs   *locales.Catalogs
	Templates  fs.FS // templates.FS: staff/*.html and staff/staff.css
	Now        func() time.Time
	Logger     *slog.Logger
}

// Site serves the pages.
type Site struct {
	Deps
	pages map[string]*template.Template
	css   []byte
	font  []byte // templates/fonts/wqy-microhei.ttf, for browsers without a CJK font
}

var pageNames = []string{"login", "dashboard", "message"}

// New parses the templates once; a broken one stops start-up.
func New(d Deps) (*Site, error) {
	if d.Accounts == nil || d.Dashboards == nil || d.Catalogs == nil || d.Templates == nil {
		return nil, fmt.Errorf("staff site: missing dependency")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Site{Deps: d, pages: map[string]*template.Template{}}
	funcs := template.FuncMap{
		"t": func(lang, key string, kv ...any) string { return d.Catalogs.T(lang, key, pages.Params(kv)) },
		"tOr": func(lang, prefix, key string) string {
			if d.Catalogs.Has(prefix + key) {
				return d.Catalogs.T(lang, prefix+key, nil)
			}
			return key
		},
		"pct":     supervision.Percent,
		"p95":     supervision.P95,
		"instant": func(t time.Time) string { return t.In(services.CentreTime).Format("2006-01-02 15:04") },
	}
	for _, name := range pageNames {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(d.Templates, "staff/layout.html", "staff/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("templates/staff/%s.html: %w", name, err)
		}
		s.pages[name] = t
	}
	css, err := fs.ReadFile(d.Templates, "staff/staff.css")
	if err != nil {
		return nil, fmt.Errorf("templates/staff/staff.css: %w", err)
	}
	s.css = css
	if s.font, err = fs.ReadFile(d.Templates, "fonts/wqy-microhei.ttf"); err != nil {
		return nil, fmt.Errorf("templates/fonts/wqy-microhei.ttf: %w", err)
	}
	return s, nil
}
