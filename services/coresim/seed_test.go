package coresim

import (
	"handheld/services/loan"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"handheld/services"
)

func TestSeededIdentifiersAreValid(t *testing.T) {
	h := newHarness(t)
	phone := regexp.MustCompile(`^1[3-9][0-9]{9}$`)
	card := regexp.MustCompile(`^[0-9]{16,19}$`)
	rows, err := h.sim.rdb.Query("SELECT name, id_number, phone, bank_card, face_token FROM persons")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var name, id, ph, bc, face string
		if err := rows.Scan(&name, &id, &ph, &bc, &face); err != nil {
			t.Fatal(err)
		}
		n++
		if err := services.ValidateIDNumber(id, testNow); err != nil {
			t.Errorf("%s: ID number: %v", name, err)
		}
		if !phone.MatchString(ph) {
			t.Errorf("%s: phone %q is not a mainland mobile number", name, ph)
		}
		if bc != "" && (!card.MatchString(bc) || luhn(bc[:len(bc)-1]) != bc) {
			t.Errorf("%s: bank card %q fails the Luhn check", name, bc)
		}
		if len(face) < 6 || face[:5] != "face:" {
			t.Errorf("%s: face token %q", name, face)
		}
	}
	if want := len(demoPeople()) + seededStaff(false); n != want {
		t.Errorf("%d persons, want %d", n, want)
	}
	for _, code := range []string{h.persona("黄磊").UnitCode, h.persona("郑秀英").UnitCode} {
		if err := services.ValidateUnitCode(code); err != nil {
			t.Errorf("unit %s: %v", code, err)
		}
	}
	if got := h.sim.count("SELECT count(*) FROM units"); got != len(demoUnits())+seededUnitCount(false) {
		t.Errorf("%d units", got)
	}
}

func TestPersonasCoverTheDemoCases(t *testing.T) {
	h := newHarness(t)
	roles := map[string]int{}
	compound := false
	for _, p := range h.sim.Personas() {
		roles[p.Role]++
		if p.Role == "employer" {
			if p.OperatorID == "" || p.Password == "" || p.UnitCode == "" || p.IDNumber != "" {
				t.Errorf("employer persona %+v", p)
			}
			continue
		}
		if len([]rune(p.Name)) >= 3 && string([]rune(p.Name)[:2]) == "欧阳" {
			compound = true
		}
		if p.FaceToken == "" || p.Notes == "" {
			t.Errorf("persona %s lacks a face token or notes", p.Name)
		}
		h.personID(p.Name) // the persona's name and ID number sign in
	}
	if roles["depositor"] < 8 || roles["person"] != 1 || roles["employer"] != 2 || !compound {
		t.Errorf("roles %v, compound surname %v", roles, compound)
	}
	retiree := h.persona("赵建国")
	birth, male, _ := birthAndSex(retiree.IDNumber)
	if !male || ageOn(birth, testNow) < 60 {
		t.Errorf("the retiree is not a man of 60 or more")
	}
}

func TestAnnuityPayment(t *testing.T) {
	tests := []struct {
		principal int64
		bp, n     int
		want      int64
	}{
		{80_000_000, 285, 360, 330846},  // 800,000 yuan, 30 years, 2.85%: 3,308.46 yuan
		{100_000_000, 310, 240, 559617}, // 1,000,000 yuan, 20 years, 3.1%: 5,596.169 yuan
		{1_200_000, 0, 12, 100000},
		{1_000_000, 325, 1, 1_002_708},
	}
	for _, tt := range tests {
		plan, err := loan.Schedule(loan.Terms{PrincipalFen: tt.principal, Months: tt.n, AnnualRateBP: tt.bp, Method: loan.Annuity})
		if got := plan.Rows[0].PaymentFen; err != nil || got != tt.want {
			t.Errorf("annuityPayment(%d, %d, %d) = %d, want %d", tt.principal, tt.bp, tt.n, got, tt.want)
		}
	}
	linear := loanTerms{principal: 1_200_000, rateBP: 300, months: 12, method: methodLinear, startedOn: testNow}
	s := linear.schedule(testNow)
	if s[0].PrincipalFen != 100000 || s[0].InterestFen != 3000 || s[11].InterestFen != 250 || s[11].RemainingFen != 0 {
		t.Errorf("linear schedule: first %+v last %+v", s[0], s[11])
	}
	if s[0].Status != "due" || s[0].DueOn != "2026-12-24" {
		t.Errorf("first instalment %+v", s[0])
	}
	// Due today is still due; due yesterday is paid.
	linear.startedOn = testNow.AddDate(0, -2, 0)
	s = linear.schedule(testNow)
	if s[0].Status != "paid" || s[1].DueOn != "2026-11-24" || s[1].Status != "due" {
		t.Errorf("instalments %+v, %+v", s[0], s[1])
	}
	sum := linear.summary(testNow)
	if sum.NextDueOn != "2026-11-24" || sum.OutstandingFen != s[0].RemainingFen || sum.Settled {
		t.Errorf("summary %+v", sum)
	}
}

func TestLedgerPlanInterestAndGaps(t *testing.T) {
	jan := month(2025*12 + 0)
	plan := ledgerPlan{first: jan, lastRemit: jan + 11, through: jan + 11, gapFrom: jan + 2, gapTo: jan + 4, monthly: 100000,
		withdrawals: []plannedWithdrawal{{month: jan + 8, day: 20, kind: "07", amount: 50000}}}
	var kinds []string
	var balance int64
	for _, e := range plan.entries() {
		kinds = append(kinds, e.month.String()[5:]+e.kind[:1])
		balance += e.amount
		if e.balanceAfter != balance {
			t.Fatalf("running balance broken at %+v", e)
		}
	}
	want := "01r 02r 05r 06r 06i 07r 08r 09r 09w 10r 11r 12r"
	if got := joinSpace(kinds); got != want {
		t.Errorf("entries %s, want %s", got, want)
	}
	// Month-end balances Jan–Jun: 1000, 2000, 2000, 2000, 3000, 4000 yuan =
	// 14,000 yuan-months × 1.5% / 12 = 17.50 yuan.
	for _, e := range plan.entries() {
		if e.kind == "interest" && (e.amount != 1750 || date(e.posted) != "2025-06-30") {
			t.Errorf("interest %+v, want 1750 fen on 2025-06-30", e)
		}
	}
	if got := continuousMonths([]month{jan + 11, jan + 10, jan + 9, jan + 7}); got != 3 {
		t.Errorf("continuousMonths = %d, want 3", got)
	}
	if got := (month(2024*12 + 1)).day(31); !got.Equal(time.Date(2024, 2, 29, 0, 0, 0, 0, shanghai())) {
		t.Errorf("31 February 2024 clamps to %v", got)
	}
}

func joinSpace(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out
}

func TestCheckCharacterHelpers(t *testing.T) {
	if got := luhn("453201511283036"); got != "4532015112830366" { // a published Luhn example
		t.Errorf("luhn = %s", got)
	}
	if got := orgCode("D2143569"); got != "D2143569X" { // the GB 11714 example
		t.Errorf("orgCode = %s", got)
	}
	if got := withUnitCheck("91350100M000100Y4"); got != "91350100M000100Y43" {
		t.Errorf("withUnitCheck = %s", got)
	}
}

func TestRetired(t *testing.T) {
	at := time.Date(2026, 5, 16, 10, 0, 0, 0, shanghai())
	tests := []struct {
		id17 string
		want bool
	}{
		{"33010219660516031", true},  // a man, 60 today
		{"33010219660517031", false}, // a man, 60 tomorrow
		{"33010219710516022", true},  // a woman, 55 today
		{"33010219710517022", false}, // a woman, 55 tomorrow
		{"33010219900101011", false}, // a man of 36
	}
	for _, tt := range tests {
		if got := retired(withIDCheck(tt.id17), at); got != tt.want {
			t.Errorf("retired(%s) = %v, want %v", tt.id17, got, tt.want)
		}
	}
	if retired("not an id", at) {
		t.Error("an unreadable ID number counts as retired")
	}
}

// personaRow is a persona as a row of the README table.
func personaRow(p Persona) string {
	cell := func(s string) string {
		if s == "" {
			return " "
		}
		return " " + s + " "
	}
	return "|" + strings.Join([]string{cell(p.Role), cell(p.Name), cell(p.IDNumber), cell(p.UnitCode),
		cell(p.OperatorID), cell(p.Password), cell(p.FaceToken), cell(p.Notes)}, "|") + "|"
}

// TestREADMEListsThePersonas keeps the documented logins true: every
// persona's row must appear in README.md exactly.
func TestREADMEListsThePersonas(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t)
	for _, p := range h.sim.Personas() {
		if row := personaRow(p); !strings.Contains(string(readme), row+"\n") {
			t.Errorf("README.md lacks the row\n%s", row)
		}
	}
}

// The hashes made ahead are of the demo passwords, at the default cost:
// the embedded profile seeds with them.
func TestDemoPasswordHashesMatch(t *testing.T) {
	for _, u := range demoUnits() {
		if cost, err := bcrypt.Cost([]byte(u.passwordHash)); err != nil || cost != bcrypt.DefaultCost {
			t.Errorf("%s: hash cost %d (%v), want %d", u.operatorID, cost, err, bcrypt.DefaultCost)
		}
		if err := bcrypt.CompareHashAndPassword([]byte(u.passwordHash), []byte(u.password)); err != nil {
			t.Errorf("%s: the hash made ahead is not of its password: %v", u.operatorID, err)
		}
		got, err := u.hash(bcrypt.MinCost)
		if err != nil || bcrypt.CompareHashAndPassword(got, []byte(u.password)) != nil {
			t.Errorf("%s: hash at the minimum cost: %v", u.operatorID, err)
		}
	}
}
