package screen

import (
	"context"
	"encoding/base64"
	"html/template"
	"regexp"
	"time"

	"github.com/gofiber/fiber/v2"
	qrcode "github.com/skip2/go-qrcode"

	"handheld/services"
)

// PhoneSignIn is sign-in by scanning the kiosk's QR code with the
// mini-program (identity's kiosk login codes); bff/app.go adapts
// *identity.Service to it. Nil leaves the option off the sign-in page.
type PhoneSignIn interface {
	StartPhoneSignIn(ctx context.Context, device services.Principal) (PhoneCode, error)
	PollPhoneSignIn(ctx context.Context, device services.Principal, code string) (PhoneState, error)
	// PhoneURL is what the QR shows for code (the URL the mini-program
	// opens), the same on every replica.
	PhoneURL(code string) string
}

// PhoneCode is a one-time code for this kiosk and what its QR shows.
type PhoneCode struct {
	Code      string
	URL       string // what the QR encodes, for the mini-program
	ExpiresIn time.Duration
}

// PhoneState is a code's state as the kiosk polls it: confirmed once the
// person confirmed on the phone, with the citizen's access token, handed
// over once.
type PhoneState struct {
	Confirmed   bool
	AccessToken string
	TokenTTL    int // seconds, for the cookie
	ExpiresIn   time.Duration
}

// phonePoll is how often the QR page asks whether the phone has confirmed.
const phonePoll = 2 * time.Second

// codeShape bounds what a code in the path may be before it reaches the
// identity service.
var codeShape = regexp.MustCompile(`^[A-Za-z0-9_-]{4,64}$`)

// phoneData is the QR page's own.
type phoneData struct {
	Code      string
	QR        template.URL // data:image/png;base64,…
	Seconds   int
	PollEvery int
}

// StartPhone is POST <path>phone: a new one-time code for this kiosk,
// then the page that shows it.
func (s *Screen) StartPhone(c *fiber.Ctx) error {
	code, err := s.Phone.StartPhoneSignIn(c.UserContext(), devicePrincipal(c))
	if err != nil {
		return err
	}
	return c.Redirect(s.Path+"phone/"+code.Code, fiber.StatusSeeOther)
}

// PhonePage is GET <path>phone/{code}: the QR (rendered here, a PNG in a
// data: URL) while the code waits, polled by the page itself every two
// seconds (<meta http-equiv="refresh">, no script). Once the person has
// confirmed on the phone the citizen's token goes into the cookie — the
// one GET of the screen that changes state, as a poll without script must
// — and the browser to home.
func (s *Screen) PhonePage(c *fiber.Ctx) error {
	code := c.Params("code")
	if !codeShape.MatchString(code) {
		return services.Errorf(services.CodeNotFound, "kiosk screen: malformed login code")
	}
	st, err := s.Phone.PollPhoneSignIn(c.UserContext(), devicePrincipal(c), code)
	if err != nil {
		return err
	}
	if st.Confirmed {
		s.setCookie(c, st.AccessToken, st.TokenTTL)
		return c.Redirect(s.Path+"home", fiber.StatusSeeOther)
	}
	// The URL is the QR's content; the code stays out of the page text.
	png, err := qrcode.Encode(s.Phone.PhoneURL(code), qrcode.Medium, 360)
	if err != nil {
		return services.Errorf(services.CodeInternal, "kiosk screen: qr: %w", err)
	}
	secs := int(st.ExpiresIn.Round(time.Second) / time.Second)
	return s.renderPage(c, fiber.StatusOK, "phone", pageData{Title: "kiosk.phone.title", Poll: true,
		Data: phoneData{Code: code, QR: template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png)),
			Seconds: secs, PollEvery: int(phonePoll / time.Second)},
		ReadAloudParams: map[string]any{"seconds": secs}})
}
