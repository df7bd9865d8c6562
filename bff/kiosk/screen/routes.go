package screen

import (
	"github.com/gofiber/fiber/v2"
)

// Limits are the rate limits of the screen's routes, built by bff/app.go
// from the same classes as the API's routes doing the same work, so that a
// person's budget is one whichever way they come.
type Limits struct {
	Device      fiber.Handler // the pages before sign-in (class read, per device)
	SignIn      fiber.Handler // signing in by face (class login, per device and ID number)
	Read        fiber.Handler // a citizen's pages (class read)
	Certificate fiber.Handler // issuing a certificate (class certificate_issue)
	Withdrawal  fiber.Handler // applying for a withdrawal (class withdrawal_submit)
	Rating      fiber.Handler // rating a case (class rating)
	StepUp      fiber.Handler // a fresh face check (class face_check)
	// With Deps.Phone: making a login code and polling it (the API's
	// classes for POST and GET /api/v1/kiosk/login-codes).
	PhoneStart, PhonePoll fiber.Handler
	// With Deps.Prints: creating a print job (the API's class for POST
	// /api/v1/kiosk/print-jobs).
	Print fiber.Handler
}

// Routes mounts the screen on root at s.Path. Every route needs the
// device token; the citizen's pages the citizen cookie too; every POST
// passes the same-origin and form-token check first. Errors are pages.
func (s *Screen) Routes(root fiber.Router, lim Limits) {
	g := root.Group(s.Path[:len(s.Path)-1], s.Errors, s.device)
	g.Get("/kiosk.css", s.CSS) // before the limits: each page loads it once more
	g.Get("/font.ttf", s.Font)
	g.Get("/", s.maybeCitizen, lim.Device, s.SignIn)
	g.Post("/sign-in", s.sameOrigin, lim.SignIn, s.SignInFace)
	g.Post("/logout", s.maybeCitizen, s.sameOrigin, lim.Device, s.Logout)
	g.Get("/logout", lim.Device, s.IdleLogout)

	citizen := func(hs ...fiber.Handler) []fiber.Handler { return append([]fiber.Handler{s.citizen}, hs...) }
	post := func(hs ...fiber.Handler) []fiber.Handler {
		return append([]fiber.Handler{s.citizen, s.sameOrigin}, hs...)
	}
	g.Post("/more-time", post(lim.Read, s.MoreTime)...)
	g.Post("/step-up", post(lim.StepUp, s.StepUp)...)
	g.Get("/home", citizen(lim.Read, s.Home)...)
	g.Get("/account", citizen(lim.Read, s.Account)...)
	g.Get("/loan", citizen(lim.Read, s.Loan)...)
	g.Get("/certificates", citizen(lim.Read, s.CertificatesPage)...)
	g.Post("/certificates", post(lim.Certificate, s.IssueCertificate)...)
	g.Get("/withdrawals", citizen(lim.Read, s.WithdrawalsPage)...)
	g.Get("/withdrawals/:kind", citizen(lim.Read, s.WithdrawalForm)...)
	g.Post("/withdrawals/:kind", post(lim.Withdrawal, s.Apply)...)
	g.Get("/cases", citizen(lim.Read, s.CasesPage)...)
	g.Get("/cases/:id/rate", citizen(lim.Read, s.RatePage)...)
	g.Post("/cases/:id/rate", post(lim.Rating, s.Rate)...)
	if s.Phone != nil {
		g.Post("/phone", s.sameOrigin, lim.PhoneStart, s.StartPhone)
		g.Get("/phone/:code", lim.PhonePoll, s.PhonePage)
	}
	if s.Prints != nil {
		g.Get("/print", citizen(lim.Read, s.PrintPage)...)
		g.Post("/print", post(lim.Print, s.Print)...)
		g.Get("/print/:id", citizen(lim.Read, s.PrintStatus)...)
	}
	// Anything else under the path is the plain not-found page, not the
	// API's problem+json.
	g.Use(func(c *fiber.Ctx) error { return fiber.ErrNotFound })
}
