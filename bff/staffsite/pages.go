package staffsite

import (
	"bytes"
	"encoding/csv"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"handheld/bff/middleware"
	"handheld/services"
	"handheld/services/staff"
	"handheld/services/supervision"
)

// loginData is the sign-in form's.
type loginData struct {
	StaffID string // what was typed, shown again after a refusal
	CSRF    string
}

// LoginPage is GET /staff/login: the form, with a fresh pre-session cookie
// keying its CSRF token. ?reason=ended says a session ended.
func (s *Site) LoginPage(c *fiber.Ctx) error {
	pre, err := s.Accounts.NewToken()
	if err != nil {
		return err
	}
	s.setCookie(c, PreCookie, pre, 3600)
	p := page{Title: "staff.login.title", Data: loginData{CSRF: s.Accounts.LoginCSRF(pre)}}
	if c.Query("reason") == "ended" {
		p.Message = "staff.login.ended"
	}
	return s.render(c, fiber.StatusOK, "login", p)
}

// Login is POST /staff/login: on success a new session (a token the
// browser never had: no fixation), its cookie, and the dashboard (303).
// A refusal shows the form again with one message for every wrong
// credential, whatever was wrong.
func (s *Site) Login(c *fiber.Ctx) error {
	id := strings.TrimSpace(c.FormValue("staff_id"))
	sess, err := s.Accounts.SignIn(c.UserContext(), staff.Credentials{StaffID: id, Password: c.FormValue("password"),
		TOTP: strings.TrimSpace(c.FormValue("totp")), Address: middleware.GetClientIP(c), RequestID: middleware.GetRequestID(c)})
	if err != nil {
		e := services.AsError(err)
		switch e.Code {
		case services.CodeBadCredentials, services.CodeLocked, services.CodeInvalid:
		default:
			return err
		}
		if e.RetryAfter > 0 {
			c.Set(fiber.HeaderRetryAfter, strconv.Itoa(max(1, int(e.RetryAfter.Seconds()+0.5))))
		}
		pre, terr := s.Accounts.NewToken()
		if terr != nil {
			return terr
		}
		s.setCookie(c, PreCookie, pre, 3600)
		if utf8.RuneCountInString(id) > 64 {
			id = ""
		}
		return s.render(c, e.Code.Status(), "login", page{Title: "staff.login.title", Message: s.refusalKey(e.Code),
			Details: s.details(s.lang(c), e), Data: loginData{StaffID: id, CSRF: s.Accounts.LoginCSRF(pre)}})
	}
	s.setCookie(c, PreCookie, "", 0)
	s.setCookie(c, SessionCookie, sess.Token, 0) // a browser-session cookie; the server ends it
	to := Path + "/dashboard"
	if l := c.Query("lang"); l != "" {
		to += "?lang=" + s.Catalogs.Negotiate(l, "")
	}
	return c.Redirect(to, fiber.StatusSeeOther)
}

// Logout is POST /staff/logout: the session ends, its cookie goes.
func (s *Site) Logout(c *fiber.Ctx) error {
	if err := s.Accounts.SignOut(c.UserContext(), sessionOf(c), middleware.GetRequestID(c)); err != nil {
		return err
	}
	s.setCookie(c, SessionCookie, "", 0)
	return c.Redirect(Path+"/login", fiber.StatusSeeOther)
}

// dashboardData is the dashboard page's.
type dashboardData struct {
	supervision.Dashboard
	HoursChart    chart
	CoreChart     chart
	ServicesChart chart
	Sections      []string
	Query         string // from=&to=, for the CSV links
	Levels        []int  // 5 … 1, the rating columns
}

// Dashboard is GET /staff/dashboard?from=&to=: every panel over the range
// (today when absent). A range out of bounds is the 400 page naming why.
func (s *Site) Dashboard(c *fiber.Ctx) error {
	r, err := s.Dashboards.ParseRange(c.Query("from"), c.Query("to"))
	if err != nil {
		return err
	}
	sess := sessionOf(c)
	d, err := s.Dashboards.Load(c.UserContext(), sess.Principal(), r, middleware.GetRequestID(c))
	if err != nil {
		return err
	}
	lang := s.lang(c)
	data := dashboardData{Dashboard: d, Sections: supervision.Sections, Levels: []int{5, 4, 3, 2, 1},
		Query: "from=" + r.From + "&to=" + r.To + "&lang=" + lang}
	data.HoursChart = hoursChart(d)
	data.CoreChart = coreChart(d)
	data.ServicesChart = servicesChart(d, func(svc string) string {
		if k := "staff.service." + svc; s.Catalogs.Has(k) {
			return s.Catalogs.T(lang, k, nil)
		}
		return svc
	})
	return s.render(c, fiber.StatusOK, "dashboard", page{Title: "staff.dashboard.title", Data: data})
}

// CSV is GET /staff/dashboard.csv?section=&from=&to=: one section as CSV
// for Excel (UTF-8 with a BOM, CRLF lines, headers in the page's
// language), each cell neutralised against formula injection.
func (s *Site) CSV(c *fiber.Ctx) error {
	r, err := s.Dashboards.ParseRange(c.Query("from"), c.Query("to"))
	if err != nil {
		return err
	}
	section := c.Query("section")
	t, err := s.Dashboards.Export(c.UserContext(), sessionOf(c).Principal(), r, section, middleware.GetRequestID(c))
	if err != nil {
		return err
	}
	lang := s.lang(c)
	var buf bytes.Buffer
	buf.WriteString("\ufeff")
	w := csv.NewWriter(&buf)
	w.UseCRLF = true
	head := make([]string, len(t.Columns))
	for i, col := range t.Columns {
		head[i] = s.Catalogs.T(lang, "staff.col."+col, nil)
	}
	_ = w.Write(head)
	for _, row := range t.Rows {
		cells := make([]string, len(row))
		for i, v := range row {
			cells[i] = SafeCell(v)
		}
		_ = w.Write(cells)
	}
	w.Flush()
	name := "handheld-" + t.Section + "-" + r.From + "-" + r.To + ".csv"
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+name+`"; filename*=UTF-8''`+name)
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	return c.Send(buf.Bytes())
}

// SafeCell neutralises a cell a spreadsheet would run as a formula (one
// starting with =, +, -, @, a tab or a carriage return, also after
// leading spaces) by prefixing a single quote, as OWASP advises. Plain
// numbers, negative ones included, stay numbers.
func SafeCell(v string) string {
	t := strings.TrimLeft(v, " ")
	if t == "" {
		return v
	}
	switch t[0] {
	case '=', '+', '-', '@', '\t', '\r', '|', '%':
		if isNumber(t) {
			return v
		}
		return "'" + v
	}
	return v
}

func isNumber(s string) bool {
	if s[0] == '-' || s[0] == '+' {
		s = s[1:]
	}
	if s == "" {
		return false
	}
	for _, r := range s {
		if (r < '0' || r > '9') && r != '.' {
			return false
		}
	}
	return true
}
