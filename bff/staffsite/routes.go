package staffsite

import (
	"bytes"
	"net/url"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"handheld/bff/middleware"
	"handheld/bff/pages"
	"handheld/locales"
	"handheld/services"
	"handheld/services/staff"
)

// Limits are the rate limits of the pages, built by bff/app.go.
type Limits struct {
	SignIn fiber.Handler // POST /staff/login: the login class, per address and staff id
	Read   fiber.Handler // the signed-in pages: the read class, per staff member
	Page   fiber.Handler // the sign-in page itself: the public class, per address
}

// localSession is the staff.Session of a signed-in request.
const localSession = "staff.session"

// Routes mounts the pages on root at Path. Page errors are HTML pages;
// the CSV export's are problem+json, as a download's client expects.
func (s *Site) Routes(root fiber.Router, lim Limits) {
	root.Get(Path+"/staff.css", lim.Page, s.CSS)
	root.Get(Path+"/font.ttf", lim.Page, s.Font)
	pages := root.Group(Path, s.pageErrors)
	pages.Get("/login", lim.Page, s.LoginPage)
	pages.Post("/login", s.sameOrigin, s.loginCSRF, lim.SignIn, s.Login)
	pages.Post("/logout", s.session(false), s.sameOrigin, s.sessionCSRF, lim.Read, s.Logout)
	pages.Get("/dashboard", s.session(false), lim.Read, s.Dashboard)
	root.Get(Path+"/dashboard.csv", s.session(true), lim.Read, s.CSV)
	pages.Use(func(c *fiber.Ctx) error { return fiber.ErrNotFound })
}

// headers are the pages' security headers on every answer.
func headers(c *fiber.Ctx) {
	c.Set(fiber.HeaderContentSecurityPolicy, Security)
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderReferrerPolicy, "no-referrer")
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderXFrameOptions, "DENY")
	c.Set("X-Robots-Tag", "noindex, nofollow")
}

// CSS is the pages' one stylesheet.
func (s *Site) CSS(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, "text/css; charset=utf-8")
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderCacheControl, "private, max-age=3600")
	return c.Send(s.css)
}

// Font is the CJK font the stylesheet falls back to: the same for
// everyone, cacheable.
func (s *Site) Font(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, "font/ttf")
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderCacheControl, "private, max-age=86400")
	return c.Send(s.font)
}

func secure(c *fiber.Ctx) bool { return c.Protocol() == "https" }

func (s *Site) setCookie(c *fiber.Ctx, name, value string, maxAge int) {
	ck := &fiber.Cookie{Name: name, Value: value, Path: Path, HTTPOnly: true, Secure: secure(c),
		SameSite: fiber.CookieSameSiteStrictMode, MaxAge: maxAge}
	if value == "" {
		ck.Expires = time.Unix(0, 0).Add(24 * time.Hour)
		ck.MaxAge = -1
	}
	c.Cookie(ck)
}

// session requires a live staff session. Pages without one go to the
// sign-in page (303); the export answers 401 problem+json. A bearer
// token is never looked at: it does not open these pages.
func (s *Site) session(api bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		raw := c.Cookies(SessionCookie)
		var err error
		var sess staff.Session
		if raw == "" {
			err = services.Errorf(services.CodeTokenMissing, "staff: no session cookie")
		} else if len(raw) > 256 {
			err = services.Errorf(services.CodeTokenInvalid, "staff: oversize session cookie")
		} else {
			sess, err = s.Accounts.Session(c.UserContext(), raw)
		}
		if err != nil {
			code := services.ErrorCode(err)
			if code == services.CodeUnavailable || code == services.CodeInternal {
				return err
			}
			if raw != "" {
				s.setCookie(c, SessionCookie, "", 0)
			}
			if api {
				return err
			}
			to := Path + "/login"
			if raw != "" {
				to += "?reason=ended"
			}
			return c.Redirect(to, fiber.StatusSeeOther)
		}
		c.Locals(localSession, sess)
		middleware.SetPrincipal(c, sess.Principal())
		return c.Next()
	}
}

func sessionOf(c *fiber.Ctx) staff.Session {
	sess, _ := c.Locals(localSession).(staff.Session)
	return sess
}

// sameOrigin refuses a form another site's page sent: Sec-Fetch-Site,
// where the browser sends it, must be same-origin, and Origin, where sent,
// this host. The CSRF token is checked after it.
func (s *Site) sameOrigin(c *fiber.Ctx) error {
	if site := c.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return services.Errorf(services.CodeCSRF, "staff: cross-site form (%s)", site)
	}
	if origin := c.Get(fiber.HeaderOrigin); origin != "" && origin != "null" {
		// Behind a balancer the browser's host may be the forwarded one;
		// a browser cannot set that header on a cross-site form.
		host := c.Get(fiber.HeaderXForwardedHost)
		if host == "" {
			host = string(c.Request().Host())
		}
		u, err := url.Parse(origin)
		if err != nil || u.Host != host {
			return services.Errorf(services.CodeCSRF, "staff: form from another origin")
		}
	}
	return c.Next()
}

// loginCSRF checks the sign-in form's token against the pre-session
// cookie the form page set.
func (s *Site) loginCSRF(c *fiber.Ctx) error {
	pre := c.Cookies(PreCookie)
	if pre == "" || len(pre) > 64 || !staff.CheckCSRF(c.FormValue("csrf"), s.Accounts.LoginCSRF(pre)) {
		return services.Errorf(services.CodeCSRF, "staff: sign-in form token")
	}
	return c.Next()
}

// sessionCSRF checks a signed-in form's token against the session's.
func (s *Site) sessionCSRF(c *fiber.Ctx) error {
	if !staff.CheckCSRF(c.FormValue("csrf"), s.Accounts.CSRF(sessionOf(c).Token)) {
		return services.Errorf(services.CodeCSRF, "staff: form token")
	}
	return c.Next()
}

// lang is the page's language: ?lang=, else Accept-Language.
func (s *Site) lang(c *fiber.Ctx) string { return middleware.Lang(c, s.Catalogs) }

// page is what the layout and every page read.
type page struct {
	Lang, OtherLang, LangURL string
	Title                    string // a locale key
	Message                  string // a locale key: a notice or refusal
	MessageParams            map[string]any
	Details                  []string
	SignedIn                 bool
	StaffName, StaffID       string
	CSRF                     string
	Data                     any
}

func (s *Site) render(c *fiber.Ctx, status int, name string, p page) error {
	p.Lang = s.lang(c)
	p.OtherLang = locales.En
	if p.Lang == locales.En {
		p.OtherLang = locales.ZhCN
	}
	q, _ := url.ParseQuery(string(c.Request().URI().QueryString()))
	q.Set("lang", p.OtherLang)
	path := c.Path()
	if c.Method() != fiber.MethodGet {
		path, q = Path+"/login", url.Values{"lang": {p.OtherLang}}
	}
	p.LangURL = path + "?" + q.Encode()
	if sess, ok := c.Locals(localSession).(staff.Session); ok && c.Method() == fiber.MethodGet {
		p.SignedIn, p.StaffName, p.StaffID, p.CSRF = true, sess.Name, sess.StaffID, s.Accounts.CSRF(sess.Token)
	}
	var buf bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&buf, "layout.html", p); err != nil {
		return services.Errorf(services.CodeInternal, "staff page %s: %w", name, err)
	}
	headers(c)
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	c.Set(fiber.HeaderContentLanguage, p.Lang)
	return c.Status(status).Send(buf.Bytes())
}

// pageErrors renders what a page route returns as an error as a page with
// the code's status (staff.refusal.<code>), never problem+json.
func (s *Site) pageErrors(c *fiber.Ctx) error {
	err := c.Next()
	if err == nil || c.Path() == Path+"/dashboard.csv" {
		return err // the export's errors are problem+json
	}
	e := pages.Refusal(err)
	status := e.Code.Status()
	if status >= 500 {
		s.Logger.ErrorContext(c.UserContext(), "staff page", "code", string(e.Code), "err", err.Error(),
			"request_id", middleware.GetRequestID(c), "route", c.Route().Path)
	}
	if e.RetryAfter > 0 {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(e.RetryAfter.Seconds()+0.5)))
	}
	return s.render(c, status, "message", page{Title: "staff.refusal.title", Message: s.refusalKey(e.Code),
		Details: s.details(s.lang(c), e)})
}

func (s *Site) refusalKey(code services.Code) string {
	key := "staff.refusal." + string(code)
	if !s.Catalogs.Has(key) {
		key = "staff.refusal.other"
	}
	return key
}

// details words each invalid field with the API's field message.
func (s *Site) details(lang string, e *services.Error) []string {
	var out []string
	for _, f := range e.Fields {
		label := f.Field
		for _, k := range []string{"staff.field." + f.Field, "fieldname." + f.Field} {
			if s.Catalogs.Has(k) {
				label = s.Catalogs.T(lang, k, nil)
				break
			}
		}
		p := map[string]any{"field": label}
		for k, v := range f.Params {
			p[k] = v
		}
		if key := "field." + f.Code; s.Catalogs.Has(key) {
			out = append(out, s.Catalogs.T(lang, key, p))
		}
	}
	return out
}

// StaffIDOf is the sign-in limit's subject: the staff id the form names,
// so that guesses at one id are limited across addresses.
func StaffIDOf(c *fiber.Ctx) string {
	id := c.FormValue("staff_id")
	if len(id) > 64 {
		id = id[:64]
	}
	return "staff:" + id
}
