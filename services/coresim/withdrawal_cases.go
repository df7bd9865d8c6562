package coresim

// WithdrawalCase is one withdrawal kind the BFF offers with the demo
// personas the core approves it for and those it refuses, so a demo (and
// an end-to-end test) can show every kind allowed and refused. The README's
// "Withdrawal cases" table is built from it; a test keeps the two in step
// and submits every case.
type WithdrawalCase struct {
	Kind string // GLOSSARY reason code
	Name string // English and Chinese
	// Evidence names the document an application of this kind carries in
	// evidence_refs (as the BFF's default policies ask); "" when none.
	// The core refuses a purchase or a critical illness without one
	// (evidence_missing); for closing it only stores it.
	Evidence string
	// CloseAccount: the application closes the account, so its amount is
	// the whole balance.
	CloseAccount bool
	Eligible     []string // persona names the core approves
	Ineligible   []Refusal
}

// Refusal is a persona the core refuses a withdrawal kind for.
type Refusal struct {
	Name   string // persona name
	Reason string // what WithdrawalStatus.Reason says: one of the Reason* constants
	Why    string
}

// WithdrawalCases lists, for every kind the BFF offers, who can and who
// cannot withdraw, under the rules review applies. A function rather than
// a variable, so nothing in the package is mutable state.
func WithdrawalCases() []WithdrawalCase {
	frozen := Refusal{"刘洋", ReasonAccountFrozen, "frozen (06): every withdrawal is refused"}
	return []WithdrawalCase{
		{Kind: "01", Name: "purchase 购房", Evidence: "property registration 不动产权证书",
			Eligible: []string{"李娜", "欧阳晓峰"},
			Ineligible: []Refusal{
				{"吴敏", ReasonContinuity, "2 months of deposits, 6 needed"},
				{"周强", ReasonContinuity, "4 unbroken months since a 5-month gap, 6 needed"},
				{"王芳", ReasonAccountNotNormal, "sealed (02): purchase needs a normal account"},
				frozen,
			}},
		{Kind: "03", Name: "retirement 退休", CloseAccount: true,
			Eligible: []string{"赵建国"},
			Ineligible: []Refusal{
				{"李娜", ReasonNotRetired, "a woman born 1990: under 55"},
				{"张伟", ReasonNotRetired, "a man born 1985: under 60"},
				frozen,
			}},
		{Kind: "05", Name: "leaving the city 离开本市", CloseAccount: true,
			Eligible: []string{"王芳"},
			Ineligible: []Refusal{
				{"李娜", ReasonAccountNotSealed, "normal (01): leaving the city needs a sealed account"},
				frozen,
			}},
		{Kind: "06", Name: "loan repayment 偿还贷款",
			Eligible: []string{"张伟"},
			Ineligible: []Refusal{
				{"李娜", ReasonNoLoan, "no HPF loan"},
				frozen,
			}},
		{Kind: "07", Name: "rent 租房",
			Eligible: []string{"李娜", "周强"},
			Ineligible: []Refusal{
				{"孙丽", ReasonRentTooFrequent, "rent paid out last month: once per 3 months"},
				{"吴敏", ReasonContinuity, "2 months of deposits, 3 needed"},
				{"王芳", ReasonAccountNotNormal, "sealed (02): rent needs a normal account"},
				frozen,
			}},
		{Kind: "09", Name: "critical illness 大病", Evidence: "diagnosis 诊断证明",
			Eligible: []string{"李娜", "王芳"},
			Ineligible: []Refusal{
				frozen,
				{"陈静", ReasonNoAccount, "no HPF account"},
			}},
		{Kind: "99", Name: "closing 销户提取 (other reasons)", Evidence: "closing certificate 销户证明", CloseAccount: true,
			Eligible: []string{"王芳"},
			Ineligible: []Refusal{
				{"李娜", ReasonAccountNotSealed, "normal (01): closing needs a sealed account"},
				frozen,
			}},
	}
}
