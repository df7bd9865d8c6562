package screen

import (
	"bytes"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"handheld/bff/middleware"
	"handheld/bff/pages"
	"handheld/locales"
	"handheld/services"
)

// Security is the screen's Content-Security-Policy: nothing loads from
// elsewhere, no script runs anywhere, styles come only from the screen's
// own stylesheet, images only from here or data: URLs (a QR code), the
// font only from here, forms
// post only here, and no other page may frame it.
const Security = "default-src 'none'; script-src 'none'; style-src 'self'; img-src 'self' data:; font-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// pageData is what the layout and every page read. Keys (Title, Message,
// ReadAloudKey) are locale keys the layout translates; Data is the page's
// own.
type pageData struct {
	Lang, OtherLang string
	Base            string // the screen path, "/kiosk/"
	Here            string // this page's path and query, for "more time"
	LangURL         string // this page in the other language
	Title           string
	Message         string         // a plain-language notice or refusal (a locale key)
	MessageParams   map[string]any // its placeholders
	Details         []string       // what exactly was refused, translated: fields, grounds
	ReadAloudKey    string
	ReadAloudParams map[string]any
	SignedIn        bool
	Poll            bool // the page polls itself every two seconds (a QR waiting, a print under way)
	Printing        bool // printing is on at this kiosk
	PhoneOn         bool // sign-in by phone QR is on
	NoNav           bool // the page of an unregistered device: nothing to go to
	IdleSeconds     int
	FormToken       string
	Data            any
}

// headers are the screen's response headers on every answer.
func headers(c *fiber.Ctx) {
	c.Set(fiber.HeaderContentSecurityPolicy, Security)
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderReferrerPolicy, "no-referrer")
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderXFrameOptions, "DENY")
	c.Set("X-Robots-Tag", "noindex, nofollow")
}

// lang is the page's language: ?lang= (the language button, remembered in
// a cookie), then that cookie, then Accept-Language, as middleware.Locale
// negotiates.
func (s *Screen) lang(c *fiber.Ctx) string {
	if q := c.Query("lang"); q != "" {
		l := s.Catalogs.Negotiate(q, "")
		c.Cookie(&fiber.Cookie{Name: langCookie, Value: l, Path: s.Path, HTTPOnly: true, SameSite: fiber.CookieSameSiteStrictMode,
			Secure: c.Protocol() == "https"})
		return l
	}
	if l := c.Cookies(langCookie); l == locales.ZhCN || l == locales.En {
		return l
	}
	return middleware.Lang(c, s.Catalogs)
}

// renderPage executes a page inside the layout and sends it with status.
func (s *Screen) renderPage(c *fiber.Ctx, status int, name string, d pageData) error {
	d.Lang = s.lang(c)
	d.OtherLang = locales.En
	if d.Lang == locales.En {
		d.OtherLang = locales.ZhCN
	}
	d.Base = s.Path
	d.Here = here(c)
	if c.Method() != fiber.MethodGet || strings.HasPrefix(d.Here, s.Path+"logout") {
		// An answer to a form: its page is where a language switch or
		// "more time" leads back to.
		d.Here = s.Path
		if d.SignedIn {
			d.Here += "home"
		}
	}
	if strings.Contains(d.Here, "?") {
		d.LangURL = d.Here + "&lang=" + d.OtherLang
	} else {
		d.LangURL = d.Here + "?lang=" + d.OtherLang
	}
	if _, ok := c.Locals(localCitizen).(services.Principal); ok {
		d.SignedIn = true
		d.IdleSeconds = int(s.Idle.Seconds())
	}
	if _, ok := c.Locals(localDevice).(services.Principal); ok {
		d.FormToken = s.formToken(c)
	}
	d.Printing, d.PhoneOn = s.Prints != nil, s.Phone != nil
	if d.ReadAloudKey == "" {
		d.ReadAloudKey = "kiosk." + name + ".read_aloud"
	}
	var buf bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&buf, "layout.html", d); err != nil {
		return services.Errorf(services.CodeInternal, "kiosk page %s: %w", name, err)
	}
	headers(c)
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	c.Set(fiber.HeaderContentLanguage, d.Lang)
	return c.Status(status).Send(buf.Bytes())
}

// here is the request's path and query without the lang parameter, for
// links that switch the language or come back to this page.
func here(c *fiber.Ctx) string {
	q, _ := url.ParseQuery(string(c.Request().URI().QueryString()))
	q.Del("lang")
	if len(q) == 0 {
		return c.Path()
	}
	return c.Path() + "?" + q.Encode()
}

// Errors renders whatever a screen route returns as an error as a page in
// plain words (kiosk.refusal.<code>) with the code's status, never as
// problem+json and never with a stack: the person reads it on the screen.
// The cause is logged by the app's error handler way: here with the
// request id.
func (s *Screen) Errors(c *fiber.Ctx) error {
	err := c.Next()
	if err == nil {
		return nil
	}
	e := pages.Refusal(err)
	status := e.Code.Status()
	if status >= 500 {
		s.Logger.ErrorContext(c.UserContext(), "kiosk screen", "code", string(e.Code), "err", err.Error(),
			"request_id", middleware.GetRequestID(c), "route", c.Route().Path)
	}
	if e.Code == services.CodeStepUpRequired {
		if _, ok := c.Locals(localCitizen).(services.Principal); ok {
			// A face check at the device raises the session, then the
			// person goes on where they were.
			back := s.Path + "home"
			if c.Method() == fiber.MethodGet {
				back = here(c)
			}
			return s.renderPage(c, status, "stepup", pageData{Title: "kiosk.stepup.title", Data: back})
		}
	}
	key := "kiosk.refusal." + string(e.Code)
	if !s.Catalogs.Has(key) {
		key = "kiosk.refusal.other"
	}
	return s.renderPage(c, status, "message", pageData{Title: "kiosk.refusal.title", Message: key,
		MessageParams: e.Params, Details: s.details(s.lang(c), e), ReadAloudKey: "kiosk.refusal.read_aloud", ReadAloudParams: map[string]any{"reason": s.Catalogs.T(s.lang(c), key, e.Params)}})
}

// Font is GET <path>font.ttf: the CJK font the certificates use
// (templates/fonts), for a kiosk whose system has no Chinese font. It is
// the same for everyone and changes only with a release: cacheable.
func (s *Screen) Font(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, "font/ttf")
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderCacheControl, "private, max-age=86400")
	return c.Send(s.font)
}

// details words what a refusal names: each invalid field with the API's
// field message, or the grounds of an ineligible withdrawal.
func (s *Screen) details(lang string, e *services.Error) []string {
	var out []string
	for _, f := range e.Fields {
		label := f.Field
		for _, k := range []string{"kiosk.field." + f.Field, "fieldname." + f.Field} {
			if s.Catalogs.Has(k) {
				label = s.Catalogs.T(lang, k, nil)
				break
			}
		}
		params := map[string]any{"field": label}
		for k, v := range f.Params {
			params[k] = v
		}
		if key := "field." + f.Code; s.Catalogs.Has(key) {
			out = append(out, s.Catalogs.T(lang, key, params))
		}
	}
	if texts, ok := e.Params["reasons"].([]services.Text); ok {
		for _, t := range texts {
			out = append(out, s.Catalogs.T(lang, t.Key, t.Params))
		}
	}
	return out
}

// CSS is GET <path>kiosk.css: the screen's one stylesheet, with the idle
// countdown's length.
func (s *Screen) CSS(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, "text/css; charset=utf-8")
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Send(s.css)
}
