package screen

import (
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"handheld/services"
	"handheld/services/account"
	"handheld/services/hours"
	"handheld/services/identity"
)

// Input limits of the screen's forms, as the API's: a name of at most 64
// characters, an ID number of 18, a face token of at most 512 bytes.
const (
	maxNameRunes   = 64
	maxIDNumber    = 18
	maxFaceToken   = 512
	maxQueryBytes  = 512 // cursors, months
	scheduleRows   = 12
	depositRows    = 12
	screenListRows = 10
)

// signInData is the sign-in page's own.
type signInData struct {
	Reason string // why the person is here again: idle, ended, other_kiosk, signed_out
}

// SignIn is GET <path>: the sign-in page, or the home page for a citizen
// already signed in at this device.
func (s *Screen) SignIn(c *fiber.Ctx) error {
	if _, ok := c.Locals(localCitizen).(services.Principal); ok {
		return c.Redirect(s.Path+"home", fiber.StatusSeeOther)
	}
	d := signInData{}
	switch r := c.Query("reason"); r {
	case "idle", "ended", "other_kiosk", "signed_out":
		d.Reason = r
	}
	msg := ""
	if d.Reason != "" {
		msg = "kiosk.signin.reason." + d.Reason
	}
	return s.renderPage(c, fiber.StatusOK, "signin", pageData{Title: "kiosk.signin.title", Message: msg, Data: d})
}

// SignInFace is POST <path>sign-in {name, id_number, face_token}: the
// person at the device, checked by the centre's liveness service through
// identity.LoginKiosk like POST /api/v1/auth/kiosk. On success the
// citizen's token goes into the cookie and the browser to home.
func (s *Screen) SignInFace(c *fiber.Ctx) error {
	name := strings.TrimSpace(c.FormValue("name"))
	idNumber := strings.ToUpper(strings.TrimSpace(c.FormValue("id_number")))
	face := strings.TrimSpace(c.FormValue("face_token"))
	var fields []services.FieldError
	if utf8.RuneCountInString(name) > maxNameRunes {
		fields = append(fields, services.FieldError{Field: "name", Code: services.FieldTooLong, Params: map[string]any{"max": maxNameRunes}})
	}
	if len(idNumber) > maxIDNumber {
		fields = append(fields, services.FieldError{Field: "id_number", Code: services.FieldTooLong, Params: map[string]any{"max": maxIDNumber}})
	}
	if len(face) > maxFaceToken {
		fields = append(fields, services.FieldError{Field: "face_token", Code: services.FieldTooLong, Params: map[string]any{"max": maxFaceToken}})
	}
	if len(fields) > 0 {
		return services.Invalid(fields...)
	}
	tok, err := s.Identity.LoginKiosk(c.UserContext(), devicePrincipal(c), identity.KioskLogin{Name: name, IDNumber: idNumber, FaceToken: face})
	if err != nil {
		return err
	}
	s.setCookie(c, tok.AccessToken, tok.ExpiresIn)
	return c.Redirect(s.Path+"home", fiber.StatusSeeOther)
}

// IDNumberOf is the ID number a sign-in form names, for the per-person
// sign-in limit (the limiter hashes it).
func IDNumberOf(c *fiber.Ctx) string {
	return strings.ToUpper(strings.TrimSpace(c.FormValue("id_number")))
}

// Logout is POST <path>logout: the citizen's session ends (identity
// logout, audited there) and the cookie goes.
func (s *Screen) Logout(c *fiber.Ctx) error {
	if p, ok := c.Locals(localCitizen).(services.Principal); ok {
		if err := s.Identity.Logout(c.UserContext(), p); err != nil {
			return err
		}
	}
	s.clearCookie(c)
	return c.Redirect(s.Path+"?reason=signed_out", fiber.StatusSeeOther)
}

// IdleLogout is GET <path>logout?reason=idle, where the page's own
// countdown sends the browser: by then the session has passed its idle
// time on the server too; this only forgets the cookie and says so. A GET
// changes nothing on the server.
func (s *Screen) IdleLogout(c *fiber.Ctx) error {
	s.clearCookie(c)
	return c.Redirect(s.Path+"?reason=idle", fiber.StatusSeeOther)
}

// MoreTime is POST <path>more-time: the person asks for more time; the
// citizen check that ran before touched the session's idle timer, and the
// page they were on comes back with a fresh countdown.
func (s *Screen) MoreTime(c *fiber.Ctx) error {
	return c.Redirect(s.backTo(c.FormValue("back")), fiber.StatusSeeOther)
}

// homeData is the home page's own.
type homeData struct {
	Home account.HomeView
}

// Home is GET <path>home: services/account's home screen.
func (s *Screen) Home(c *fiber.Ctx) error {
	p := citizenPrincipal(c)
	if err := s.open(p, hours.Account, identity.ServiceRead); err != nil {
		return err
	}
	h, err := s.Accounts.Home(c.UserContext(), p)
	if err != nil {
		return err
	}
	name := ""
	if h.Holder != nil {
		name = h.Holder.Name
	}
	return s.renderPage(c, fiber.StatusOK, "home", pageData{Title: "kiosk.home.title", Data: homeData{Home: h},
		ReadAloudParams: map[string]any{"name": name}})
}

// open checks a service's hours on the kiosk channel and the session's
// assurance for it, as the API's route guards do.
func (s *Screen) open(p services.Principal, service hours.Service, level identity.ServiceName) error {
	if err := s.Hours.Check(service, p.Channel); err != nil {
		return err
	}
	return s.Identity.RequireAssurance(p, level)
}

// accountData is the account page's own.
type accountData struct {
	Account  account.AccountView
	Deposits account.DepositsView
	From, To string
	Cursor   string
}

// Account is GET <path>account?from=&to=&cursor=: the account and one
// page of its deposits over a period (YYYY-MM, the API's defaults and
// limits).
func (s *Screen) Account(c *fiber.Ctx) error {
	p := citizenPrincipal(c)
	if err := s.open(p, hours.Account, identity.ServiceRead); err != nil {
		return err
	}
	from, to, cursor := c.Query("from"), c.Query("to"), c.Query("cursor")
	if len(from)+len(to)+len(cursor) > maxQueryBytes {
		return services.Invalid(services.FieldError{Field: "cursor", Code: services.FieldTooLong, Params: map[string]any{"max": maxQueryBytes}})
	}
	acc, err := s.Accounts.Account(c.UserContext(), p)
	if err != nil {
		return err
	}
	deps, err := s.Accounts.Deposits(c.UserContext(), p, from, to, depositRows, cursor)
	if err != nil {
		return err
	}
	return s.renderPage(c, fiber.StatusOK, "account", pageData{Title: "kiosk.account.title",
		Data:            accountData{Account: acc, Deposits: deps, From: deps.From, To: deps.To, Cursor: cursor},
		ReadAloudParams: map[string]any{"balance": yuan(acc.BalanceFen)}})
}

// loanData is the loan page's own.
type loanData struct {
	Loan     account.LoanView
	Schedule account.ScheduleView
}

// Loan is GET <path>loan?cursor=: the loan and one page of its repayment
// schedule.
func (s *Screen) Loan(c *fiber.Ctx) error {
	p := citizenPrincipal(c)
	if err := s.open(p, hours.Account, identity.ServiceRead); err != nil {
		return err
	}
	cursor := c.Query("cursor")
	if len(cursor) > maxQueryBytes {
		return services.Invalid(services.FieldError{Field: "cursor", Code: services.FieldTooLong, Params: map[string]any{"max": maxQueryBytes}})
	}
	loan, err := s.Accounts.Loan(c.UserContext(), p)
	if err != nil {
		return err
	}
	d := loanData{Loan: loan}
	if loan.HasLoan {
		if d.Schedule, err = s.Accounts.Schedule(c.UserContext(), p, scheduleRows, cursor); err != nil {
			return err
		}
	}
	key := "kiosk.loan.read_aloud_none"
	if loan.HasLoan {
		key = "kiosk.loan.read_aloud"
	}
	return s.renderPage(c, fiber.StatusOK, "loan", pageData{Title: "kiosk.loan.title", Data: d, ReadAloudKey: key,
		ReadAloudParams: map[string]any{"outstanding": yuan(loan.OutstandingFen), "next_on": loan.NextDueOn, "next": yuan(loan.NextPaymentFen)}})
}

// StepUp is POST <path>step-up {face_token, back}: a fresh face check at
// the device raises the citizen's session for the services that need a
// recent one (identity.StepUp, as POST /api/v1/auth/step-up); the new
// token replaces the cookie and the person goes back where they were.
func (s *Screen) StepUp(c *fiber.Ctx) error {
	face := strings.TrimSpace(c.FormValue("face_token"))
	if len(face) > maxFaceToken {
		return services.Invalid(services.FieldError{Field: "face_token", Code: services.FieldTooLong, Params: map[string]any{"max": maxFaceToken}})
	}
	tok, err := s.Identity.StepUp(c.UserContext(), citizenPrincipal(c), face)
	if err != nil {
		return err
	}
	s.setCookie(c, tok.AccessToken, tok.ExpiresIn)
	return c.Redirect(s.backTo(c.FormValue("back")), fiber.StatusSeeOther)
}

// backTo is a page of the screen to go back to, or home: never a path
// outside the screen.
func (s *Screen) backTo(back string) string {
	if !strings.HasPrefix(back, s.Path) || strings.Contains(back, "//") || strings.Contains(back, "\\") || len(back) > maxQueryBytes {
		return s.Path + "home"
	}
	return back
}
