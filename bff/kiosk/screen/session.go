package screen

import (
	"crypto/hmac"
	"encoding/base64"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"handheld/bff/middleware"
	"handheld/services"
	"handheld/services/audit"
)

// CookieName is the cookie that holds a kiosk citizen's access token:
// HttpOnly (no script reads it), SameSite=Strict, scoped to the screen.
const CookieName = "hh_kiosk_citizen"

// langCookie remembers the language chosen with the language button for
// the pages that follow (no personal data: "zh-CN" or "en").
const langCookie = "hh_kiosk_lang"

// Locals the screen puts on a request.
const (
	localDevice  = "kiosk.device"  // services.Principal of the device token
	localCitizen = "kiosk.citizen" // services.Principal of the citizen cookie
)

// maxCookieBytes bounds what is parsed of the cookie; tokens are far smaller.
const maxCookieBytes = 4096

// device requires a valid device token (role kiosk) in Authorization,
// which the kiosk's agent adds; anything else gets the plain page "this
// screen works only on a registered self-service kiosk" with 401. It puts
// the device principal on the request for the limits.
func (s *Screen) device(c *fiber.Ctx) error {
	tok, err := middleware.Bearer(c)
	if err == nil {
		var p services.Principal
		if p, err = s.Identity.Authenticate(c.UserContext(), tok); err == nil {
			if p.Role != services.RoleKiosk || p.Device == "" {
				err = services.Errorf(services.CodeForbidden, "role %s on the kiosk screen", p.Role)
			} else {
				c.Locals(localDevice, p)
				middleware.SetPrincipal(c, p)
				return c.Next()
			}
		}
	}
	// The challenge tells the kiosk's agent to renew its device session
	// (agent.DeviceRealm); a citizen's refusals carry none.
	c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="kiosk-device", error="invalid_token"`)
	return s.renderPage(c, fiber.StatusUnauthorized, "message", pageData{Title: "kiosk.unregistered.title",
		Message: "kiosk.unregistered.body", ReadAloudKey: "kiosk.unregistered.read_aloud", NoNav: true})
}

// devicePrincipal is the device the request comes through.
func devicePrincipal(c *fiber.Ctx) services.Principal {
	p, _ := c.Locals(localDevice).(services.Principal)
	return p
}

// citizenPrincipal is the signed-in citizen; citizen must have run.
func citizenPrincipal(c *fiber.Ctx) services.Principal {
	p, _ := c.Locals(localCitizen).(services.Principal)
	return p
}

// citizen requires the citizen cookie: a live kiosk citizen session
// (Authenticate's checks, the kiosk idle time included) signed in at this
// very device. A token from another kiosk is refused: the cookie is
// cleared, the refusal audited, and the person sent back to sign in with a
// plain message. Without a cookie, or with an ended session, it is back to
// sign in too.
func (s *Screen) citizen(c *fiber.Ctx) error {
	raw := c.Cookies(CookieName)
	if raw == "" || len(raw) > maxCookieBytes {
		return s.toSignIn(c, "")
	}
	p, err := s.Identity.Authenticate(c.UserContext(), raw)
	if err != nil {
		s.clearCookie(c)
		return s.toSignIn(c, reasonOf(services.ErrorCode(err)))
	}
	dev := devicePrincipal(c)
	if p.Role != services.RoleDepositor || p.Channel != services.ChannelKiosk || p.Device != dev.Device {
		s.clearCookie(c)
		s.auditForeign(c, p, dev)
		return s.toSignIn(c, "other_kiosk")
	}
	c.Locals(localCitizen, p)
	middleware.SetPrincipal(c, p)
	return c.Next()
}

// maybeCitizen is citizen for the routes a person reaches signed in or
// not (sign out): a valid cookie puts the citizen on the request, anything
// else goes on without one.
func (s *Screen) maybeCitizen(c *fiber.Ctx) error {
	raw := c.Cookies(CookieName)
	if raw == "" || len(raw) > maxCookieBytes {
		return c.Next()
	}
	if p, err := s.Identity.Authenticate(c.UserContext(), raw); err == nil &&
		p.Role == services.RoleDepositor && p.Device == devicePrincipal(c).Device {
		c.Locals(localCitizen, p)
		middleware.SetPrincipal(c, p)
	}
	return c.Next()
}

// reasonOf is why a session ended, as the sign-in page names it.
func reasonOf(code services.Code) string {
	switch code {
	case services.CodeIdleTimeout:
		return "idle"
	case services.CodeTokenExpired, services.CodeSessionRevoked:
		return "ended"
	}
	return "ended"
}

// auditForeign records a citizen token presented at another kiosk than
// the one it was signed in at: the subject, the device it came through,
// never the token.
func (s *Screen) auditForeign(c *fiber.Ctx, p services.Principal, dev services.Principal) {
	rec := audit.Record{At: s.Now(), Subject: p.Subject, Actor: dev.Actor(), Channel: services.ChannelKiosk,
		Action: "kiosk.screen.foreign_session", Target: "device:" + dev.Device, Result: "denied"}
	if err := s.Audit.Enqueue(c.UserContext(), rec); err != nil {
		s.Logger.WarnContext(c.UserContext(), "kiosk screen: audit record lost", "action", rec.Action, "err", err.Error())
	}
	s.Logger.InfoContext(c.UserContext(), "kiosk screen: citizen session from another kiosk refused",
		"subject", p.Subject, "device", dev.Device, "request_id", middleware.GetRequestID(c))
}

// toSignIn sends the browser to the sign-in page, naming why.
func (s *Screen) toSignIn(c *fiber.Ctx, reason string) error {
	to := s.Path
	if reason != "" {
		to += "?reason=" + url.QueryEscape(reason)
	}
	return c.Redirect(to, fiber.StatusSeeOther)
}

// setCookie keeps the citizen's access token for the screen's pages.
func (s *Screen) setCookie(c *fiber.Ctx, token string, maxAge int) {
	c.Cookie(&fiber.Cookie{Name: CookieName, Value: token, Path: s.Path, HTTPOnly: true, SameSite: fiber.CookieSameSiteStrictMode,
		Secure: c.Protocol() == "https", MaxAge: maxAge})
}

// clearCookie removes the citizen's token from the browser.
func (s *Screen) clearCookie(c *fiber.Ctx) {
	c.Cookie(&fiber.Cookie{Name: CookieName, Value: "", Path: s.Path, HTTPOnly: true, SameSite: fiber.CookieSameSiteStrictMode,
		Secure: c.Protocol() == "https", Expires: time.Unix(0, 0).Add(24 * time.Hour)})
}

// sameOrigin refuses a POST that another site's page sent: the browser's
// Sec-Fetch-Site must say same-origin, or, where it is not sent, Origin
// must be this screen's own (as the browser sees it through the agent).
// Then the form token must be the one this session's pages carry.
func (s *Screen) sameOrigin(c *fiber.Ctx) error {
	ok := false
	if site := c.Get("Sec-Fetch-Site"); site != "" {
		ok = site == "same-origin"
	} else if origin := c.Get(fiber.HeaderOrigin); origin != "" {
		if u, err := url.Parse(origin); err == nil {
			host := c.Get(fiber.HeaderXForwardedHost)
			if host == "" {
				host = string(c.Request().Host())
			}
			ok = u.Host == host
		}
	}
	if !ok {
		return services.Errorf(services.CodeForbidden, "kiosk screen: cross-site form")
	}
	if !hmac.Equal([]byte(c.FormValue("form_token")), []byte(s.formToken(c))) {
		return services.Errorf(services.CodeForbidden, "kiosk screen: form token")
	}
	return c.Next()
}

// formToken is the token every form of the session carries: keyed by the
// citizen's session, or before sign-in by the device's.
func (s *Screen) formToken(c *fiber.Ctx) string {
	sid := devicePrincipal(c).Session
	if p, ok := c.Locals(localCitizen).(services.Principal); ok {
		sid = p.Session
	}
	return s.mac("form", sid)
}

// mac is a keyed, URL-safe digest of parts, for form tokens and
// idempotency keys.
func (s *Screen) mac(parts ...string) string {
	return base64.RawURLEncoding.EncodeToString(s.Secret.Sum([]byte("kiosk-screen\x00" + strings.Join(parts, "\x00"))))
}
