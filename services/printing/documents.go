package printing

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"handheld/services"
	"handheld/services/certpdf"
	"handheld/services/core"
)

// The languages documents print in; anything else prints in Chinese.
const (
	langZhCN = "zh-CN"
	langEn   = "en"
)

func lang(l string) string {
	if l == langEn {
		return langEn
	}
	return langZhCN
}

// month counts months since year 0, so periods are subtractions.
type month int

var monthShape = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}$`)

func parseMonth(s string) (month, bool) {
	if !monthShape.MatchString(s) {
		return 0, false
	}
	y, _ := strconv.Atoi(s[:4])
	m, _ := strconv.Atoi(s[5:])
	if y < 1900 || m < 1 || m > 12 {
		return 0, false
	}
	return month(y*12 + m - 1), true
}

func monthOf(t time.Time) month {
	t = t.In(services.CentreTime)
	return month(t.Year()*12 + int(t.Month()) - 1)
}

func (m month) String() string { return fmt.Sprintf("%04d-%02d", int(m)/12, int(m)%12+1) }

var certificateIDShape = regexp.MustCompile(`^[0-9a-z]{1,64}$`)

// check validates a request and fills the period's defaults: a deposit
// statement covers From..To (YYYY-MM, inclusive), at most MaxPeriodMonths,
// ending this month or before; both omitted, the last DefaultPeriodMonths.
// Every bad field is reported at once.
func (s *Service) check(r Request) (params, error) {
	var fields []services.FieldError
	var out params
	switch r.Document {
	case DocDepositStatement:
		format := func(field string) {
			fields = append(fields, services.FieldError{Field: field, Code: services.FieldFormat, Params: map[string]any{"format": "YYYY-MM"}})
		}
		now := monthOf(s.Now())
		end, endOK := now, true
		if r.To != "" {
			if end, endOK = parseMonth(r.To); !endOK {
				format("to")
			}
		}
		start, startOK := end-DefaultPeriodMonths+1, endOK
		if r.From != "" {
			if start, startOK = parseMonth(r.From); !startOK {
				format("from")
			}
		}
		if endOK && end > now {
			fields = append(fields, services.FieldError{Field: "to", Code: services.FieldOutOfRange,
				Params: map[string]any{"max": now.String()}})
		} else if startOK && endOK && (start > end || end-start >= MaxPeriodMonths) {
			fields = append(fields, services.FieldError{Field: "from", Code: services.FieldOutOfRange,
				Params: map[string]any{"min": (end - MaxPeriodMonths + 1).String(), "max": end.String()}})
		}
		out.From, out.To = start.String(), end.String()
	case DocCertificate:
		if r.CertificateID == "" {
			fields = append(fields, services.FieldError{Field: "certificate_id", Code: services.FieldRequired})
		} else if len(r.CertificateID) > maxCertificateIDSize || !certificateIDShape.MatchString(r.CertificateID) {
			fields = append(fields, services.FieldError{Field: "certificate_id", Code: services.FieldFormat})
		}
		out.CertificateID = r.CertificateID
	case DocLoanStatement, DocLoanSettled:
	default:
		fields = append(fields, services.FieldError{Field: "document", Code: services.FieldOneOf,
			Params: map[string]any{"allowed": strings.Join(Documents(), ", ")}})
	}
	if r.Document != DocDepositStatement {
		for _, f := range []struct{ name, v string }{{"from", r.From}, {"to", r.To}} {
			if f.v != "" {
				fields = append(fields, services.FieldError{Field: f.name, Code: services.FieldOneOf,
					Params: map[string]any{"allowed": DocDepositStatement}})
			}
		}
	}
	if r.Document != DocCertificate && r.CertificateID != "" {
		fields = append(fields, services.FieldError{Field: "certificate_id", Code: services.FieldOneOf,
			Params: map[string]any{"allowed": DocCertificate}})
	}
	if len(fields) > 0 {
		return params{}, services.Invalid(fields...)
	}
	return out, nil
}

// render makes the job's PDF.
func (s *Service) render(ctx context.Context, p services.Principal, j Job, lang string) ([]byte, error) {
	if j.Document == DocCertificate {
		c, err := s.Certificates.PrintCopy(ctx, p, j.CertificateID)
		return c.PDF, err
	}
	personID, err := s.People.PersonID(ctx, p.Subject)
	if err != nil {
		return nil, err
	}
	person, _, err := s.Reader.Person(ctx, personID)
	if err != nil {
		return nil, err
	}
	var doc certpdf.Plain
	switch j.Document {
	case DocDepositStatement:
		doc, err = s.depositStatement(ctx, personID, person, j, lang)
	case DocLoanStatement:
		doc, err = s.loanStatement(ctx, personID, person, j, lang)
	case DocLoanSettled:
		doc, err = s.loanSettled(ctx, personID, person, j, lang)
	}
	if err != nil {
		return nil, err
	}
	pdf, err := s.Renderer.RenderPlain(doc)
	if err != nil {
		return nil, services.Errorf(services.CodeInternal, "printing: render: %w", err)
	}
	return pdf, nil
}

// t is a catalogue message in the document's language.
func (s *Service) t(lang, key string, kv ...any) string {
	var params map[string]any
	if len(kv) > 0 {
		params = map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			params[kv[i].(string)] = kv[i+1]
		}
	}
	return s.Texts.T(lang, key, params)
}

// frame fills what every statement carries: the centre, the title, the
// print time and place, the verification note and the page footer.
func (s *Service) frame(j Job, lang, title string) certpdf.Plain {
	at := j.CreatedAt.In(services.CentreTime).Format("2006-01-02 15:04")
	location := j.Location
	if location == "" {
		location = j.DeviceID
	}
	return certpdf.Plain{
		Issuer: s.CentreName, Title: s.t(lang, title),
		Notes: []string{s.t(lang, "print.doc.printed", "at", at, "location", location),
			s.t(lang, "print.doc.verify", "job", j.ID)},
		Footer:  s.t(lang, "print.doc.footer"),
		Created: j.CreatedAt,
	}
}

// holder is the statement's first rows: who, in full (it is the holder's
// own paper, printed where they stand).
func (s *Service) holder(lang string, person core.Person, acc *core.Account) [][2]string {
	rows := [][2]string{{s.t(lang, "print.doc.name"), person.Name}, {s.t(lang, "print.doc.id_number"), person.IDNumber}}
	if acc != nil {
		rows = append(rows, [2]string{s.t(lang, "print.doc.account_no"), acc.AccountNumber},
			[2]string{s.t(lang, "print.doc.unit_name"), acc.UnitName})
	}
	return rows
}

// maxEntries bounds the entries a statement reads (36 months of a few
// entries each fit many times over).
const maxEntries = 2000

// deposits reads every entry of a period, newest first.
func (s *Service) deposits(ctx context.Context, personID, from, to string) ([]core.Deposit, error) {
	var out []core.Deposit
	cursor := ""
	for {
		page, _, err := s.Reader.Deposits(ctx, personID, core.DepositQuery{From: from, To: to, Limit: 100, Cursor: cursor})
		if err != nil {
			return nil, err
		}
		out = append(out, page.Items...)
		if page.NextCursor == "" || len(out) >= maxEntries {
			return out, nil
		}
		cursor = page.NextCursor
	}
}

// depositStatement lists the period's entries oldest first, between the
// opening balance (before the period's first entry) and the closing one
// (after its last). A period without entries has the balance of the first
// entry after it, or the account's balance when there is none.
func (s *Service) depositStatement(ctx context.Context, personID string, person core.Person, j Job, lang string) (certpdf.Plain, error) {
	acc, _, err := s.Reader.Account(ctx, personID)
	if err != nil {
		return certpdf.Plain{}, err
	}
	entries, err := s.deposits(ctx, personID, j.From, j.To)
	if err != nil {
		return certpdf.Plain{}, err
	}
	var opening, closing int64
	if len(entries) > 0 {
		first, last := entries[len(entries)-1], entries[0]
		opening, closing = first.BalanceAfterFen-first.AmountFen, last.BalanceAfterFen
	} else {
		opening = acc.BalanceFen
		end, _ := parseMonth(j.To)
		if now := monthOf(s.Now()); end < now {
			later, err := s.deposits(ctx, personID, (end + 1).String(), now.String())
			if err != nil {
				return certpdf.Plain{}, err
			}
			if len(later) > 0 {
				e := later[len(later)-1]
				opening = e.BalanceAfterFen - e.AmountFen
			}
		}
		closing = opening
	}
	doc := s.frame(j, lang, "print.doc.deposit_statement.title")
	doc.Subtitle = s.t(lang, "print.doc.period", "from", j.From, "to", j.To)
	doc.Facts = append(s.holder(lang, person, &acc), [2]string{s.t(lang, "print.doc.opening_balance"), services.Yuan(opening, ",")})
	table := &certpdf.PlainTable{Heading: s.t(lang, "print.doc.entries"),
		Columns: []string{s.t(lang, "print.doc.col.date"), s.t(lang, "print.doc.col.month"), s.t(lang, "print.doc.col.kind"),
			s.t(lang, "print.doc.col.amount"), s.t(lang, "print.doc.col.balance")},
		Widths: []float64{0.22, 0.16, 0.18, 0.22, 0.22}, Right: []bool{false, false, false, true, true},
		Empty: s.t(lang, "print.doc.no_entries")}
	for i := len(entries) - 1; i >= 0; i-- {
		e := entries[i]
		kind := s.t(lang, "deposit.kind."+e.Kind)
		if kind == "deposit.kind."+e.Kind {
			kind = s.t(lang, "deposit.kind.other")
		}
		table.Rows = append(table.Rows, []string{e.PostedOn, e.Month, kind, services.Yuan(e.AmountFen, ","), services.Yuan(e.BalanceAfterFen, ",")})
	}
	doc.Table = table
	doc.After = [][2]string{{s.t(lang, "print.doc.closing_balance"), services.Yuan(closing, ",")}}
	return doc, nil
}

// schedule reads the whole repayment plan.
func (s *Service) schedule(ctx context.Context, personID string) ([]core.Instalment, error) {
	var out []core.Instalment
	cursor := ""
	for {
		page, _, err := s.Reader.LoanSchedule(ctx, personID, 100, cursor)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Items...)
		if page.NextCursor == "" || len(out) >= maxEntries {
			return out, nil
		}
		cursor = page.NextCursor
	}
}

// loanFacts are the loan's summary rows.
func (s *Service) loanFacts(lang string, l core.Loan) [][2]string {
	method := s.t(lang, "print.doc.method."+l.Method)
	if strings.HasPrefix(method, "print.doc.method.") {
		method = l.Method
	}
	rows := [][2]string{
		{s.t(lang, "print.doc.loan_number"), l.LoanNumber},
		{s.t(lang, "print.doc.principal"), services.Yuan(l.PrincipalFen, ",")},
		{s.t(lang, "print.doc.outstanding"), services.Yuan(l.OutstandingFen, ",")},
		{s.t(lang, "print.doc.rate"), fmt.Sprintf("%d.%02d%%", l.AnnualRateBP/100, l.AnnualRateBP%100)},
		{s.t(lang, "print.doc.term"), strconv.Itoa(l.Months)},
		{s.t(lang, "print.doc.method"), method},
		{s.t(lang, "print.doc.started_on"), l.StartedOn},
	}
	if l.NextDueOn != "" {
		rows = append(rows, [2]string{s.t(lang, "print.doc.next_due"), l.NextDueOn + "  " + services.Yuan(l.NextPaymentFen, ",")})
	}
	return rows
}

// loanStatement is the loan's summary and its repayments so far with the
// next few instalments: what was paid, and what comes next.
func (s *Service) loanStatement(ctx context.Context, personID string, person core.Person, j Job, lang string) (certpdf.Plain, error) {
	l, _, err := s.Reader.Loan(ctx, personID)
	if err != nil {
		return certpdf.Plain{}, err
	}
	if !l.HasLoan {
		return certpdf.Plain{}, services.Errorf(services.CodePrintNoLoan, "printing: no loan")
	}
	plan, err := s.schedule(ctx, personID)
	if err != nil {
		return certpdf.Plain{}, err
	}
	doc := s.frame(j, lang, "print.doc.loan_statement.title")
	doc.Facts = append(s.holder(lang, person, nil), s.loanFacts(lang, l)...)
	table := &certpdf.PlainTable{Heading: s.t(lang, "print.doc.repayments"),
		Columns: []string{s.t(lang, "print.doc.col.period"), s.t(lang, "print.doc.col.due"), s.t(lang, "print.doc.col.payment"),
			s.t(lang, "print.doc.col.remaining"), s.t(lang, "print.doc.col.status")},
		Widths: []float64{0.12, 0.24, 0.24, 0.24, 0.16}, Right: []bool{false, false, true, true, false},
		Empty: s.t(lang, "print.doc.no_instalments")}
	upcoming := 0
	for _, in := range plan {
		if in.Status != "paid" {
			if upcoming++; upcoming > 3 {
				break
			}
		}
		status := s.t(lang, "loan.instalment."+in.Status)
		if status == "loan.instalment."+in.Status {
			status = s.t(lang, "loan.instalment.other")
		}
		table.Rows = append(table.Rows, []string{strconv.Itoa(in.Period), in.DueOn, services.Yuan(in.PaymentFen, ","),
			services.Yuan(in.RemainingFen, ","), status})
	}
	doc.Table = table
	return doc, nil
}

// loanSettled is the settled-loan certificate, only for a loan repaid in
// full; any other person is refused with print.loan_not_settled.
func (s *Service) loanSettled(ctx context.Context, personID string, person core.Person, j Job, lang string) (certpdf.Plain, error) {
	l, _, err := s.Reader.Loan(ctx, personID)
	if err != nil {
		return certpdf.Plain{}, err
	}
	if !l.HasLoan || !l.Settled || l.OutstandingFen != 0 {
		return certpdf.Plain{}, services.Errorf(services.CodePrintLoanNotSettled, "printing: loan not settled")
	}
	plan, err := s.schedule(ctx, personID)
	if err != nil {
		return certpdf.Plain{}, err
	}
	settledOn := ""
	if len(plan) > 0 {
		settledOn = plan[len(plan)-1].DueOn
	}
	doc := s.frame(j, lang, "print.doc.loan_settled.title")
	doc.Facts = append(s.holder(lang, person, nil),
		[2]string{s.t(lang, "print.doc.loan_number"), l.LoanNumber},
		[2]string{s.t(lang, "print.doc.principal"), services.Yuan(l.PrincipalFen, ",")},
		[2]string{s.t(lang, "print.doc.started_on"), l.StartedOn},
		[2]string{s.t(lang, "print.doc.settled_on"), settledOn})
	doc.Intro = s.t(lang, "print.doc.settled_text", "name", person.Name, "id_number", person.IDNumber,
		"loan_number", l.LoanNumber, "principal", services.Yuan(l.PrincipalFen, ","), "started_on", l.StartedOn)
	doc.Seal = s.t(lang, "print.doc.seal", "centre", s.CentreName)
	doc.Signoff = []string{s.CentreName, j.CreatedAt.In(services.CentreTime).Format(time.DateOnly)}
	return doc, nil
}
