package certificate

import (
	"strings"
	"time"

	"handheld/services/core"
)

// unitDocument builds what a unit deposit certificate shows from the core's
// facts, as of issuedAt: the unit account, its staff deposited for and
// monthly remittance, how far it has paid, its arrears, and the complete
// months the core lists (the last 12, or since the account opened), newest
// first. VerifyCode is the grouped code; Signature is left empty.
func (s *Service) unitDocument(f core.UnitCertificateFacts, typ, purpose, number, code string, issuedAt, expiresAt time.Time) Document {
	a := f.Unit
	u := &UnitFacts{
		Name: a.Name, Code: strings.ToUpper(a.UnitCode), AccountNo: a.AccountNumber, Status: a.Status,
		OpenedMonth: a.OpenedMonth, StaffCount: a.StaffCount, ActiveCount: a.ActiveCount,
		UnitRateBP: a.UnitRateBP, PersonalRateBP: a.PersonalRateBP, MonthlyFen: a.MonthlyFen, PaidUpTo: a.PaidUpTo,
		ArrearsMonths: a.ArrearsMonths, ArrearsFen: a.ArrearsFen, Months: []UnitMonthRow{},
	}
	for _, m := range f.Months {
		u.Months = append(u.Months, UnitMonthRow{Month: m.Month, Status: m.Status, Headcount: m.Headcount, AmountFen: m.TotalFen})
	}
	if n := len(u.Months); n > 0 {
		u.PeriodTo, u.PeriodFrom = u.Months[0].Month, u.Months[n-1].Month
	}
	return Document{
		Type:       typ,
		Number:     number,
		Purpose:    purpose,
		CentreName: s.CentreName,
		IssuedAt:   issuedAt,
		ExpiresAt:  expiresAt,
		VerifyURL:  s.PublicBaseURL + "/verify/" + code,
		VerifyCode: code,
		Unit:       u,
	}
}

// unitSummary is the signed gist of a unit's document; nil for a person's.
func unitSummary(d Document) *UnitSummary {
	if d.Unit == nil {
		return nil
	}
	u := d.Unit
	return &UnitSummary{Status: u.Status, StaffDeposited: u.ActiveCount, MonthlyFen: u.MonthlyFen, PaidUpTo: u.PaidUpTo,
		InArrears: u.InArrears(), ArrearsMonths: u.ArrearsMonths}
}
