package certificate

import (
	"fmt"
	"strings"
	"time"

	"handheld/services"
	"handheld/services/core"
)

// MonthsShown is how many months of remittances a certificate lists, the
// year other centres and banks ask about.
const MonthsShown = 12

// month counts months since year 0, so that month arithmetic is integer
// arithmetic.
type month int

func monthOfTime(t time.Time) month {
	y, m, _ := t.In(services.CentreTime).Date()
	return month(y*12 + int(m) - 1)
}

// parseMonth reads YYYY-MM, or the month of YYYY-MM-DD.
func parseMonth(s string) (month, bool) {
	if len(s) > 7 {
		s = s[:7]
	}
	t, err := time.Parse("2006-01", s)
	if err != nil {
		return 0, false
	}
	return month(t.Year()*12 + int(t.Month()) - 1), true
}

func (m month) String() string { return fmt.Sprintf("%04d-%02d", int(m)/12, int(m)%12+1) }

// document builds what the certificate shows from the core's facts, as of
// issuedAt. VerifyCode is the grouped code; Signature is left empty.
func (s *Service) document(f core.CertificateFacts, typ, purpose, number, code string, issuedAt, expiresAt time.Time) Document {
	rows, gaps := monthRows(f.Deposits, f.Account.OpenedOn, issuedAt)
	return Document{
		Type:        typ,
		Number:      number,
		Purpose:     purpose,
		CentreName:  s.CentreName,
		HolderName:  f.Person.Name,
		IDNumber:    strings.ToUpper(f.Person.IDNumber),
		AccountNo:   f.Account.AccountNumber,
		StatusCode:  f.Account.Status,
		UnitName:    f.Account.UnitName,
		OpenedOn:    f.Account.OpenedOn,
		BaseFen:     f.Account.DepositBaseFen,
		PersonalFen: f.Account.MonthlyPersonal,
		UnitFen:     f.Account.MonthlyUnit,
		BalanceFen:  f.Account.BalanceFen,
		Months:      rows,
		Continuous:  f.Account.ContinuousMonths,
		Gaps:        gaps,
		Loan: LoanUse{HasLoan: f.Loan.HasLoan, PrincipalFen: f.Loan.PrincipalFen,
			OutstandingFen: f.Loan.OutstandingFen, Settled: f.Loan.Settled},
		IssuedAt:   issuedAt,
		ExpiresAt:  expiresAt,
		VerifyURL:  s.PublicBaseURL + "/verify/" + code,
		VerifyCode: code,
	}
}

// monthRows lays the remittances out month by month, newest first, over
// the MonthsShown months up to the last complete month (or up to this
// month once its remittance is in), and lists the months without one.
// Months before the account was opened are not rows: a new account has no
// gaps, only a short history. Several entries of one month (a remittance
// and a back-payment) add up; withdrawals and interest are not deposits.
func monthRows(deposits []core.Deposit, openedOn string, at time.Time) (rows []MonthRow, gaps []string) {
	byMonth := map[month]int64{}
	for _, d := range deposits {
		if d.Kind != core.KindRemittance && d.Kind != core.KindBackPayment || d.AmountFen <= 0 {
			continue
		}
		if m, ok := parseMonth(d.Month); ok {
			byMonth[m] += d.AmountFen
		}
	}
	last := monthOfTime(at)
	if byMonth[last] == 0 {
		last-- // this month's remittance is usually not in yet
	}
	first := last - MonthsShown + 1
	if opened, ok := parseMonth(openedOn); ok && opened > first {
		first = opened
	}
	rows, gaps = []MonthRow{}, []string{}
	for m := last; m >= first; m-- {
		amount := byMonth[m]
		rows = append(rows, MonthRow{Month: m.String(), AmountFen: amount})
		if amount == 0 {
			gaps = append(gaps, m.String())
		}
	}
	return rows, gaps
}

// summary is the signed gist of a document.
func summary(d Document) FactsSummary {
	return FactsSummary{Status: d.StatusCode, BalanceFen: d.BalanceFen, ContinuousMonths: d.Continuous, HasLoan: d.Loan.HasLoan}
}
