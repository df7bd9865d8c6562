package screen

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"handheld/services"
	"handheld/services/cases"
	"handheld/services/certificate"
	"handheld/services/hours"
	"handheld/services/identity"
	"handheld/services/withdrawal"
)

// maxPurposeRunes bounds a certificate's purpose, as the API does.
const maxPurposeRunes = 100

// certificatesData is the certificates page's own.
type certificatesData struct {
	Items []certificate.View
	// Issued is the certificate just issued here, to show and rate.
	Issued *certificate.View
}

// CertificatesPage is GET <path>certificates: the person's certificates
// and the button that issues a deposit-and-use certificate.
func (s *Screen) CertificatesPage(c *fiber.Ctx) error {
	p := citizenPrincipal(c)
	if err := s.open(p, hours.Account, identity.ServiceRead); err != nil {
		return err
	}
	page, err := s.Certificates.List(c.UserContext(), p, screenListRows, "")
	if err != nil {
		return err
	}
	return s.renderPage(c, fiber.StatusOK, "certificates", pageData{Title: "kiosk.certificates.title",
		Data: certificatesData{Items: page.Items}, ReadAloudParams: map[string]any{"count": len(page.Items)}})
}

// IssueCertificate is POST <path>certificates {purpose}: a deposit-and-use
// certificate, issued through services/certificate as POST
// /api/v1/me/certificates does. A certificate is finished at once, so the
// screen goes on to ask for its rating.
func (s *Screen) IssueCertificate(c *fiber.Ctx) error {
	p := citizenPrincipal(c)
	if err := s.open(p, hours.Certificate, identity.ServiceCertificate); err != nil {
		return err
	}
	purpose := strings.TrimSpace(c.FormValue("purpose"))
	if utf8.RuneCountInString(purpose) > maxPurposeRunes {
		return services.Invalid(services.FieldError{Field: "purpose", Code: services.FieldTooLong, Params: map[string]any{"max": maxPurposeRunes}})
	}
	out, err := s.Certificates.Issue(c.UserContext(), p, certificate.TypeDepositUse, purpose, s.lang(c))
	if err != nil {
		return err
	}
	if out.Pending {
		// The core's maintenance window: the list shows it in progress.
		return c.Redirect(s.Path+"cases", fiber.StatusSeeOther)
	}
	return c.Redirect(s.Path+"cases/"+out.ID+"/rate?done=certificate", fiber.StatusSeeOther)
}

// kindRow is one withdrawal kind offered at kiosks with the person's
// eligibility for it.
type kindRow struct {
	Kind        string
	Eligibility withdrawal.Eligibility
	Reasons     []string // plain wording, already translated
}

// WithdrawalsPage is GET <path>withdrawals: the kinds the policy offers at
// kiosks, each with whether the person may apply and why not.
func (s *Screen) WithdrawalsPage(c *fiber.Ctx) error {
	p := citizenPrincipal(c)
	if err := s.open(p, hours.Account, identity.ServiceRead); err != nil {
		return err
	}
	lang := s.lang(c)
	rows := make([]kindRow, 0, len(s.KioskKinds))
	for _, k := range s.KioskKinds {
		el, err := s.Withdrawals.Eligibility(c.UserContext(), p, k)
		if err != nil {
			return err
		}
		rows = append(rows, kindRow{Kind: k, Eligibility: el, Reasons: s.reasons(lang, el.Reasons)})
	}
	return s.renderPage(c, fiber.StatusOK, "withdrawals", pageData{Title: "kiosk.withdrawals.title", Data: rows})
}

// reasons words a refusal's grounds as the API does (withdrawal.reason.*).
func (s *Screen) reasons(lang string, rs []withdrawal.Reason) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		params := make(map[string]any, len(r.Params))
		for k, v := range r.Params {
			if x, ok := v.(services.Text); ok {
				v = s.Catalogs.T(lang, x.Key, x.Params)
			}
			params[k] = v
		}
		out = append(out, s.Catalogs.T(lang, "withdrawal.reason."+r.Code, params))
	}
	return out
}

// withdrawalData is the application form's own.
type withdrawalData struct {
	kindRow
	Accounts []withdrawal.PayoutAccount
	FormID   string // names this form, for its idempotency key
}

// kindParam is the kind in the path when the policy offers it at kiosks.
func (s *Screen) kindParam(c *fiber.Ctx) (string, error) {
	k := c.Params("kind")
	if !slices.Contains(s.KioskKinds, k) {
		return "", services.Errorf(services.CodeNotFound, "kiosk screen: kind not offered at kiosks")
	}
	return k, nil
}

// WithdrawalForm is GET <path>withdrawals/{kind}: eligibility, the amount
// and one of the person's own payout accounts.
func (s *Screen) WithdrawalForm(c *fiber.Ctx) error {
	p := citizenPrincipal(c)
	if err := s.open(p, hours.Withdrawal, identity.ServiceWithdrawal); err != nil {
		return err
	}
	kind, err := s.kindParam(c)
	if err != nil {
		return err
	}
	el, err := s.Withdrawals.Eligibility(c.UserContext(), p, kind)
	if err != nil {
		return err
	}
	d := withdrawalData{kindRow: kindRow{Kind: kind, Eligibility: el, Reasons: s.reasons(s.lang(c), el.Reasons)},
		FormID: s.formID(p, "withdrawal-"+kind)}
	if el.Eligible {
		if d.Accounts, err = s.Withdrawals.PayoutAccounts(c.UserContext(), p); err != nil {
			return err
		}
	}
	return s.renderPage(c, fiber.StatusOK, "withdrawal", pageData{Title: "kiosk.withdrawal.title", Data: d,
		ReadAloudParams: map[string]any{"max": yuan(el.MaxAmountFen)}})
}

// Apply is POST <path>withdrawals/{kind} {amount_yuan, payout_account,
// form_id}: the application through services/withdrawal, as POST
// /api/v1/me/withdrawals, with an idempotency key derived from the form,
// so that pressing the button twice applies once.
func (s *Screen) Apply(c *fiber.Ctx) error {
	p := citizenPrincipal(c)
	if err := s.open(p, hours.Withdrawal, identity.ServiceWithdrawal); err != nil {
		return err
	}
	kind, err := s.kindParam(c)
	if err != nil {
		return err
	}
	amountText, account, formID := strings.TrimSpace(c.FormValue("amount_yuan")), c.FormValue("payout_account"), c.FormValue("form_id")
	var fields []services.FieldError
	fen, ok := parseYuan(amountText)
	if !ok {
		fields = append(fields, services.FieldError{Field: "amount", Code: services.FieldFormat})
	}
	if account == "" || len(account) > 128 {
		fields = append(fields, services.FieldError{Field: "payout_account", Code: services.FieldFormat})
	}
	if formID == "" || len(formID) > 64 {
		fields = append(fields, services.FieldError{Field: "form_id", Code: services.FieldFormat})
	}
	if len(fields) > 0 {
		return services.Invalid(fields...)
	}
	req := withdrawal.Request{Kind: kind, AmountFen: fen, PayoutAccountID: account, Locale: s.lang(c),
		IdempotencyKey: "kiosk-" + s.mac("withdrawal", p.Subject, formID)[:40]}
	sum := sha256.Sum256([]byte(kind + "\x00" + strconv.FormatInt(fen, 10) + "\x00" + account))
	req.RequestHash = hex.EncodeToString(sum[:])
	app, _, err := s.Withdrawals.Apply(c.UserContext(), p, req)
	if err != nil {
		return err
	}
	return c.Redirect(s.Path+"cases?applied="+app.ID, fiber.StatusSeeOther)
}

// parseYuan reads an amount typed in yuan ("1500", "1500.5", "1,500.50")
// as fen; at most two decimals, at most 10 digits before the point.
func parseYuan(s string) (int64, bool) {
	s = strings.ReplaceAll(s, ",", "")
	whole, frac, hasFrac := strings.Cut(s, ".")
	if whole == "" || len(whole) > 10 || len(frac) > 2 || (hasFrac && frac == "") {
		return 0, false
	}
	for _, r := range whole + frac {
		if r < '0' || r > '9' {
			return 0, false
		}
	}
	w, _ := strconv.ParseInt(whole, 10, 64)
	f := int64(0)
	if frac != "" {
		f, _ = strconv.ParseInt(frac, 10, 64)
		if len(frac) == 1 {
			f *= 10
		}
	}
	return w*100 + f, w*100+f > 0
}

// casesData is the cases page's own.
type casesData struct {
	Items   []cases.Case
	Applied string // the application just made here
	Next    string
}

// CasesPage is GET <path>cases?cursor=: the person's cases and their
// progress, each finished one not yet rated with its rating button.
func (s *Screen) CasesPage(c *fiber.Ctx) error {
	p := citizenPrincipal(c)
	if err := s.open(p, hours.Account, identity.ServiceRead); err != nil {
		return err
	}
	cursor := c.Query("cursor")
	if len(cursor) > maxQueryBytes {
		return services.Invalid(services.FieldError{Field: "cursor", Code: services.FieldTooLong, Params: map[string]any{"max": maxQueryBytes}})
	}
	items, next, err := s.Cases.List(c.UserContext(), p, screenListRows, cursor)
	if err != nil {
		return err
	}
	d := casesData{Items: items, Next: next}
	msg := ""
	if a := c.Query("applied"); a != "" && slices.ContainsFunc(items, func(x cases.Case) bool { return x.ID == a }) {
		d.Applied, msg = a, "kiosk.cases.applied"
	}
	if c.Query("rated") == "1" {
		msg = "kiosk.cases.rated"
	}
	return s.renderPage(c, fiber.StatusOK, "cases", pageData{Title: "kiosk.cases.title", Message: msg, Data: d,
		ReadAloudParams: map[string]any{"count": len(items)}})
}

// rateData is the rating page's own.
type rateData struct {
	Case   cases.Case
	Done   string // "certificate" right after issuing one here
	Levels []int
	// PrintFormID names the "print it" form of a certificate.
	PrintFormID string
}

// findCase is one of the person's cases by id, from the newest pages of
// their list; another person's id is not found, like an unknown one.
func (s *Screen) findCase(c *fiber.Ctx, p services.Principal, id string) (cases.Case, error) {
	cursor := ""
	for range 5 {
		items, next, err := s.Cases.List(c.UserContext(), p, cases.MaxLimit, cursor)
		if err != nil {
			return cases.Case{}, err
		}
		if i := slices.IndexFunc(items, func(x cases.Case) bool { return x.ID == id }); i >= 0 {
			return items[i], nil
		}
		if next == "" {
			break
		}
		cursor = next
	}
	return cases.Case{}, services.Errorf(services.CodeNotFound, "kiosk screen: case not found")
}

// RatePage is GET <path>cases/{id}/rate: the 好差评 prompt for one of the
// person's finished cases, five levels and an optional short comment.
func (s *Screen) RatePage(c *fiber.Ctx) error {
	p := citizenPrincipal(c)
	if err := s.open(p, hours.Account, identity.ServiceRead); err != nil {
		return err
	}
	id := c.Params("id")
	if len(id) > 64 {
		return services.Errorf(services.CodeNotFound, "kiosk screen: case id too long")
	}
	cs, err := s.findCase(c, p, id)
	if err != nil {
		return err
	}
	d := rateData{Case: cs, Levels: []int{cases.LevelVerySatisfied, cases.LevelSatisfied, cases.LevelBasicallySatisfied,
		cases.LevelDissatisfied, cases.LevelVeryDissatisfied}, PrintFormID: s.formID(p, "print")}
	msg := ""
	if c.Query("done") == "certificate" && cs.Kind == cases.KindCertificate {
		d.Done, msg = "certificate", "kiosk.rate.certificate_done"
	}
	switch {
	case cs.Rating != 0:
		msg = "kiosk.refusal.rating.already_rated"
	case !cs.Finished:
		msg = "kiosk.refusal.rating.not_rateable"
	}
	return s.renderPage(c, fiber.StatusOK, "rate", pageData{Title: "kiosk.rate.title", Message: msg,
		MessageParams: map[string]any{"number": cs.CaseNumber}, Data: d})
}

// Rate is POST <path>cases/{id}/rate {level, comment}: the rating through
// services/cases, into the same ratings and figures as the
// mini-program's.
func (s *Screen) Rate(c *fiber.Ctx) error {
	p := citizenPrincipal(c)
	if err := s.open(p, hours.Account, identity.ServiceRead); err != nil {
		return err
	}
	level, err := strconv.Atoi(c.FormValue("level"))
	if err != nil {
		return services.Invalid(services.FieldError{Field: "level", Code: services.FieldOutOfRange,
			Params: map[string]any{"min": cases.LevelVeryDissatisfied, "max": cases.LevelVerySatisfied}})
	}
	comment := c.FormValue("comment")
	if len(comment) > 4*cases.MaxCommentRunes {
		return services.Invalid(services.FieldError{Field: "comment", Code: services.FieldTooLong, Params: map[string]any{"max": cases.MaxCommentRunes}})
	}
	if _, err := s.Cases.Rate(c.UserContext(), p, c.Params("id"), level, comment); err != nil {
		return err
	}
	return c.Redirect(s.Path+"cases?rated=1", fiber.StatusSeeOther)
}
