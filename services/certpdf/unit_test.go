package certpdf_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"handheld/locales"
	"handheld/services/certificate"
	"handheld/services/certpdf"
)

// unitDocument is the demo noodle shop's certificate: paid up, 12 months.
func unitDocument() certificate.Document {
	cst := time.FixedZone("CST", 8*3600)
	u := &certificate.UnitFacts{
		Name: "杭州西溪阿芳面馆", Code: "92330106L8XQ2M4N0N", AccountNo: "330100300011", Status: "01",
		OpenedMonth: "2025-03", StaffCount: 3, ActiveCount: 3, UnitRateBP: 500, PersonalRateBP: 500,
		MonthlyFen: 72_300, PaidUpTo: "2026-02", PeriodFrom: "2025-03", PeriodTo: "2026-02",
	}
	for i := range 12 {
		m := time.Date(2026, time.Month(2-i), 1, 0, 0, 0, 0, time.UTC)
		u.Months = append(u.Months, certificate.UnitMonthRow{Month: m.Format("2006-01"), Status: "paid", Headcount: 3, AmountFen: 72_300})
	}
	return certificate.Document{
		Type: certificate.TypeUnitDeposit, Number: "330100-2026-000124", Purpose: "政府采购投标",
		CentreName: "杭州住房公积金管理中心",
		// 00:30 on 5 March in Beijing is still 4 March in UTC: the page
		// must say the 5th.
		IssuedAt:   time.Date(2026, 3, 4, 16, 30, 0, 0, time.UTC),
		ExpiresAt:  time.Date(2026, 4, 4, 23, 59, 59, 0, cst),
		VerifyURL:  "https://gjj.example.gov.cn/verify/8KQ2M9XD4T8WJ3HR",
		VerifyCode: "8KQ2-M9XD-4T8W-J3HR",
		Signature:  signature,
		Unit:       u,
	}
}

// inArrears is the firm two months behind.
func inArrears() certificate.Document {
	d := unitDocument()
	u := *d.Unit
	u.Name, u.Code, u.ActiveCount, u.MonthlyFen = "杭州云栖数据科技有限公司", "91330108MA7YQ3R294", 49, 2_940_000
	u.PaidUpTo, u.ArrearsMonths, u.ArrearsFen = "2025-12", 2, 5_880_000
	u.Months = append([]certificate.UnitMonthRow(nil), u.Months...)
	u.Months[0].Status, u.Months[1].Status = "overdue", "failed"
	d.Unit, d.Purpose = &u, ""
	return d
}

// TestUnitCertificateReads: the unit's certificate states every fact a
// unit deposit certificate carries, in both languages and both variants,
// with the issue date in Beijing time, and a unit in arrears says so.
func TestUnitCertificateReads(t *testing.T) {
	r := newRenderer(t)
	cases := []struct {
		name, lang string
		d          certificate.Document
		want, not  []string
	}{
		{"paid up", locales.ZhCN, unitDocument(),
			[]string{"单位住房公积金缴存证明", "杭州西溪阿芳面馆", "92330106L8XQ2M4N0N", "330100300011", "2025年03月", "正常",
				"缴存职工人数", "3 人", "723.00 元", "5%", "缴至年月", "2026年02月", "是否欠缴", "否",
				"2025年03月 至 2026年02月", "已缴存", "政府采购投标", "出具日期：2026年3月5日", "8KQ2-M9XD-4T8W-J3HR"},
			[]string{"欠缴月数", "三、欠缴情况"}},
		{"in arrears", locales.ZhCN, inArrears(),
			[]string{"杭州云栖数据科技有限公司", "是否欠缴", "是", "欠缴月数", "2 个月", "58,800.00 元", "三、欠缴情况",
				"欠缴住房公积金 2 个月", "扣款失败（欠缴）", "欠缴", "2025年12月"},
			[]string{"证明用途"}},
		{"paid up, English", locales.En, unitDocument(),
			[]string{"Certificate of a Unit's Housing Provident Fund Deposits", "92330106L8XQ2M4N0N", "Staff deposited for",
				"Paid up to", "Feb 2026", "In arrears", "No", "Mar 2025 to Feb 2026", "Issued on 5 March 2026"},
			[]string{"Months in arrears"}},
		{"in arrears, English", locales.En, inArrears(),
			[]string{"Months in arrears", "58,800.00 CNY", "3. Arrears", "Collection failed (in arrears)"}, nil},
	}
	for _, tc := range cases {
		for _, variant := range []string{certpdf.VariantStandard, certpdf.VariantPrint} {
			t.Run(tc.name+"/"+variant, func(t *testing.T) {
				pdf, err := r.Render(tc.d, tc.lang, variant)
				if err != nil {
					t.Fatal(err)
				}
				if len(pdf) >= 100_000 {
					t.Errorf("PDF is %d bytes, want < 100 KB", len(pdf))
				}
				if sig, ok := certpdf.SignatureOf(pdf); !ok || sig != signature {
					t.Errorf("signature %q, %v", sig, ok)
				}
				for _, c := range tc.d.Unit.Name {
					if !inUnicodeMap(pdf, c) {
						t.Errorf("%q is not in the PDF's font", c)
					}
				}
				if dir := os.Getenv("CERTPDF_OUT"); dir != "" {
					name := filepath.Join(dir, "unit-"+strings.ReplaceAll(tc.name, " ", "-")+"-"+tc.lang+"-"+variant+".pdf")
					if err := os.WriteFile(name, pdf, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				// Compared without white space: pdftotext breaks lines
				// where the layout wraps them.
				text := strings.Join(strings.Fields(pdfText(t, pdf)), "")
				for _, w := range tc.want {
					if !strings.Contains(text, strings.Join(strings.Fields(w), "")) {
						t.Errorf("the PDF's text lacks %q", w)
					}
				}
				for _, n := range tc.not {
					if strings.Contains(text, strings.Join(strings.Fields(n), "")) {
						t.Errorf("the PDF's text has %q", n)
					}
				}
			})
		}
	}
}

// A unit without a complete month yet still gets its table, saying so.
func TestUnitCertificateWithoutMonths(t *testing.T) {
	d := unitDocument()
	u := *d.Unit
	u.Months, u.PeriodFrom, u.PeriodTo, u.PaidUpTo = nil, "", "", ""
	d.Unit = &u
	pdf, err := newRenderer(t).Render(d, locales.ZhCN, "")
	if err != nil {
		t.Fatal(err)
	}
	if text := pdfText(t, pdf); !strings.Contains(text, "本单位尚无完整月份的缴存记录") {
		t.Errorf("no months: %s", text)
	}
}
