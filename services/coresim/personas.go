package coresim

import (
	"fmt"

	"golang.org/x/crypto/bcrypt"

	"handheld/services"
	"handheld/services/core"
)

// Persona documents one demo login: who it is, how to sign in (ID number
// and name on WeChat, face token at a kiosk, operator id and password in the
// employer app) and what it demonstrates.
type Persona struct {
	Role       string // depositor, person (no account) or employer (operator)
	Name       string
	IDNumber   string // "" for employer operators
	UnitCode   string // the employer (for a depositor, the unit holding the account)
	OperatorID string // employer operators only
	Password   string // employer operators only
	// OperatorRole is admin (manages the unit's operators) or clerk;
	// employer operators only.
	OperatorRole string `json:",omitempty"`
	FaceToken    string // what the kiosk's liveness check yields for this person
	Notes        string
	// PayoutAccounts are the bank cards and e-CNY wallets held under the
	// person's name (money is paid only to one of them); Records what
	// evidence references may name.
	PayoutAccounts []core.PayoutAccount `json:",omitempty"`
	Records        []Record             `json:",omitempty"`
}

// demoUnit is an employer of the demo seed.
type demoUnit struct {
	region, org8  string // unit code parts: region code and 8-character organisation code base
	name          string
	accountNumber string
	rateBP        int // unit and personal rate alike
	operatorID    string
	operatorName  string
	password      string
	// passwordHash is password hashed once, ahead, at bcrypt.DefaultCost:
	// every embedded start seeds a fresh database, and two hashes at the
	// default cost were most of the time that took (ten times more with
	// -race). A published demo password loses nothing to a fixed salt.
	passwordHash   string
	operatorRemark string
}

// hash is the unit's operator password hashed at cost: the one made
// ahead at the default cost, otherwise a new one.
func (u demoUnit) hash(cost int) ([]byte, error) {
	if cost == bcrypt.DefaultCost && u.passwordHash != "" {
		return []byte(u.passwordHash), nil
	}
	return bcrypt.GenerateFromPassword([]byte(u.password), cost)
}

// code is the unit's unified social credit code: 9 (registered by market
// regulation), 1 (enterprise), region, organisation code, check character.
func (u demoUnit) code() string { return withUnitCheck("91" + u.region + orgCode(u.org8)) }

// demoPerson is a person of the demo seed. History is relative to the
// month the seed runs in: "ago" counts months back from the last complete
// month.
type demoPerson struct {
	id17, name    string
	phone, card18 string
	face          string
	unit          int    // index into demoUnits; -1: no account
	status        string // account status
	baseYuan      int64
	months        int // months of remittances, ending at lastAgo
	lastAgo       int // last remittance this many months before the last complete month
	lastAbs       string
	gapAgo        [2]int // months [from, to] ago without remittance; zero: none
	rentAgo       []int  // months ago with a paid rent withdrawal of rentYuan
	rentYuan      int64
	loan          bool
	// settledLoan: an HPF loan repaid in full years ago (the settled-loan
	// certificate, 贷款结清证明, prints only for such a loan).
	settledLoan bool
	// arrearsLoan: an HPF loan whose last two instalments are overdue
	// (arrears with penalty interest); loanApplication: a loan applied for
	// at a counter, under review.
	arrearsLoan     bool
	loanApplication bool
	notes           string
	// Holdings: card18 is the first card (none when noCards); cards are
	// more card numbers (18 digits, before the Luhn digit); wallets e-CNY
	// wallet ids with their operator; records what evidence may name.
	noCards bool
	cards   []string
	wallets [][2]string // {wallet id, operator}
	records []Record
}

// demoUnits and demoPeople are the seed. Functions rather than variables,
// so nothing in the package is mutable state.
func demoUnits() []demoUnit {
	return []demoUnit{
		{region: "330106", org8: "MA2GL3K7", name: "杭州明湖软件科技有限公司", accountNumber: "330100100087", rateBP: 1200,
			operatorID: "minghu01", operatorName: "黄磊", password: "Minghu@2024",
			passwordHash:   "$2a$10$8CT3uWWk0jUaiiCAcOqAxOnkYSp6uZmC/byn3LvgRJzOuE/4i4Ina",
			operatorRemark: "software company, 12% + 12%; 6 staff incl. one sealed (left) account"},
		{region: "330102", org8: "70421876", name: "浙江钱塘建设工程有限公司", accountNumber: "330100100231", rateBP: 800,
			operatorID: "qiantang01", operatorName: "郑秀英", password: "Qiantang@2024",
			passwordHash:   "$2a$10$c9dbTwGx7vT46WQ7uMEnJ.uu05x9dBGTRaJjDhmd7bW49PQKaLlV2",
			operatorRemark: "construction company, 8% + 8%; 4 staff incl. a frozen account and a retiree"},
	}
}

func demoPeople() []demoPerson {
	return []demoPerson{
		{id17: "33010619850312413", name: "张伟", phone: "13858107326", card18: "622202120200512874", face: "face:demo-zhangwei",
			unit: 0, status: "01", baseYuan: 25000, months: 60, loan: true,
			wallets: [][2]string{{"0021100056734812", "中国工商银行 数字人民币"}},
			records: []Record{{"deed:ZJ-HZ-2024-0043127", core.EvidencePropertyRegistration}},
			notes:   "normal account (01), 5 years of deposits, HPF loan 800,000 yuan / 30 years / 2.85% annuity, started 26 months ago and repaid on time"},
		{id17: "33010519900721262", name: "李娜", phone: "15967152418", card18: "621700154000327461", face: "face:demo-lina",
			unit: 0, status: "01", baseYuan: 18000, months: 48,
			cards:   []string{"622588057100438216"},
			wallets: [][2]string{{"0031200078451936", "中国建设银行 数字人民币"}},
			records: []Record{{"deed:ZJ-HZ-2026-0081562", core.EvidencePropertyRegistration},
				{"contract:HZ-SP-2026-1107", core.EvidencePropertyRegistration},
				{"diagnosis:ZJH-2026-00318", core.EvidenceDiagnosis}, {"lease:HZ-ZL-2026-0412", core.EvidenceTenancy}},
			notes: "normal account (01), no loan; eligible for rent and purchase withdrawals; shared data (services/sharingsim) holds her deed and filed purchase contract, so her purchase needs no upload"},
		{id17: "33010819931105157", name: "欧阳晓峰", phone: "18868104539", card18: "622848032900715382", face: "face:demo-ouyangxiaofeng",
			unit: 0, status: "01", baseYuan: 15000, months: 40,
			cards:   []string{"621785610003318452"},
			wallets: [][2]string{{"0041300019276458", "中国农业银行 数字人民币"}},
			records: []Record{{"deed:ZJ-HZ-2026-0010294", core.EvidencePropertyRegistration}}, loanApplication: true,
			notes: "compound surname (masked 欧阳**); normal account (01), no loan; a loan of 600,000 yuan over 25 years applied for at a counter, under review"},
		{id17: "33010219880214086", name: "王芳", phone: "13738061925", card18: "621785610001946253", face: "face:demo-wangfang",
			unit: 0, status: "02", baseYuan: 12000, months: 50, lastAgo: 7,
			wallets: [][2]string{{"0051400063918275", "中国银行 数字人民币"}},
			records: []Record{{"diagnosis:ZJH-2026-00527", core.EvidenceDiagnosis}, {"closing:HZ-XH-2026-0033", core.EvidenceClosingCertificate}},
			notes:   "sealed account (02): left the employer, no deposits for the last 7 months"},
		{id17: "33011019990930224", name: "吴敏", phone: "18072946613", card18: "622202120201137940", face: "face:demo-wumin",
			unit: 0, status: "01", baseYuan: 9000, months: 2,
			records: []Record{{"diagnosis:ZJH-2026-00733", core.EvidenceDiagnosis}},
			notes:   "new hire: only 2 months of deposits, so rent (3) and purchase (6) continuity rules refuse; no critical-illness settlement in shared data, so her critical-illness withdrawal needs an uploaded diagnosis"},
		{id17: "42010619820608377", name: "刘洋", phone: "13575489027", card18: "621700154001864529", face: "face:demo-liuyang",
			unit: 1, status: "06", baseYuan: 20000, months: 44,
			records: []Record{{"deed:HB-WH-2019-0027731", core.EvidencePropertyRegistration}},
			notes:   "frozen account (06, judicial freeze): deposits continue, every withdrawal is rejected"},
		{id17: "33010519920417308", name: "孙丽", phone: "15858231764", card18: "622848032901402876", face: "face:demo-sunli",
			unit: 1, status: "01", baseYuan: 10000, months: 38, rentAgo: []int{3, 0}, rentYuan: 4500,
			noCards: true, records: []Record{{"lease:HZ-ZL-2025-0967", core.EvidenceTenancy}},
			notes: "rent withdrawals of 4,500 yuan last month and 3 months before: another rent withdrawal is rent_too_frequent; no bank card or wallet on file, so nothing can be paid to her"},
		{id17: "33010619871023195", name: "周强", phone: "13957120486", card18: "621785610002573148", face: "face:demo-zhouqiang",
			unit: 1, status: "01", baseYuan: 13000, months: 42, gapAgo: [2]int{8, 4}, arrearsLoan: true,
			wallets: [][2]string{{"0021100084025617", "中国工商银行 数字人民币"}},
			records: []Record{{"lease:HZ-ZL-2026-0128", core.EvidenceTenancy}},
			notes:   "broken continuity: no deposits for 5 months (8 to 4 months before the last complete one), 4 unbroken months since: rent yes, purchase no; HPF loan of 500,000 yuan / 25 years / 3.10% linear whose last two instalments are overdue (arrears with penalty interest)"},
		{id17: "33010219620516031", name: "赵建国", phone: "13606713358", card18: "622202120200298467", face: "face:demo-zhaojianguo",
			unit: 1, status: "02", baseYuan: 16000, months: 36, lastAbs: "2022-05", settledLoan: true,
			notes: "retiree: male born 1962, sealed (02) since retiring in May 2022; eligible for the retirement withdrawal (03); HPF loan of 300,000 yuan over 10 years repaid in full (settled): the one persona a settled-loan certificate prints for"},
		{id17: "33010819950119142", name: "陈静", phone: "18958036271", card18: "621700154002219635", face: "face:demo-chenjing",
			unit:  -1,
			notes: "a person the core knows (has_account false) but without an HPF account: account calls answer no_account"},
		{id17: "33010619910815328", name: "林晓𪚥", phone: "13967184250", card18: "622202120201458237", face: "face:demo-linxiaozhe",
			unit: 0, status: "01", baseYuan: 14000, months: 30,
			notes: "rare character in the name (𪚥, CJK Extension B, outside GBK; masked 林**): normal account (01), no loan; certificates print it from the fallback font"},
	}
}

// Personas lists the demo seed's logins; the README table is built from it.
func (s *Sim) Personas() []Persona {
	units := demoUnits()
	var out []Persona
	for k, p := range demoPeople() {
		role, code := "depositor", ""
		if p.unit < 0 {
			role = "person"
		} else {
			code = units[p.unit].code()
		}
		accounts, records := p.holdings(demoPersonID(k))
		out = append(out, Persona{Role: role, Name: p.name, IDNumber: withIDCheck(p.id17), UnitCode: code, FaceToken: p.face, Notes: p.notes,
			PayoutAccounts: accounts, Records: records})
	}
	for _, u := range units {
		out = append(out, Persona{Role: "employer", Name: u.operatorName, UnitCode: u.code(), OperatorID: u.operatorID,
			Password: u.password, OperatorRole: core.OperatorAdmin, Notes: u.name + ": " + u.operatorRemark})
	}
	return out
}

// Record is the persona's first record of category (a core.Evidence*
// constant), "" when they have none: what a demo application sends as
// evidence.
func (p Persona) Record(category string) string {
	for _, r := range p.Records {
		if r.Category == category {
			return r.Ref
		}
	}
	return ""
}

// demoPersonID is the core's person id of the k-th demo person.
func demoPersonID(k int) string { return fmt.Sprintf("P1%09d", k+1) }

// cardOnFile is the person's first card, "" for a person without one.
func (p demoPerson) cardOnFile() string {
	if p.noCards {
		return ""
	}
	return luhn(p.card18)
}

// holdings are the person's payout accounts (cards, then wallets) and
// records.
func (p demoPerson) holdings(personID string) ([]core.PayoutAccount, []Record) {
	var numbers []string
	if !p.noCards {
		numbers = append(numbers, p.cardOnFile())
		for _, c := range p.cards {
			numbers = append(numbers, luhn(c))
		}
	}
	var out []core.PayoutAccount
	for _, n := range numbers {
		out = append(out, core.PayoutAccount{ID: payoutAccountID(personID, len(out)+1), Kind: core.PayoutBankCard, Number: n, Institution: cardIssuer(n)})
	}
	for _, w := range p.wallets {
		out = append(out, core.PayoutAccount{ID: payoutAccountID(personID, len(out)+1), Kind: core.PayoutECNY, Number: w[0], Institution: w[1]})
	}
	return out, p.records
}

// withIDCheck completes 17 digits with their GB 11643 check digit.
func withIDCheck(first17 string) string {
	c, ok := services.IDCheckDigit(first17)
	if !ok {
		panic("coresim: not 17 digits: " + first17) // seed data and generator only
	}
	return first17 + string(c)
}

// withUnitCheck completes 17 characters with their GB 32100 check character.
func withUnitCheck(first17 string) string {
	c, ok := services.UnitCheckChar(first17)
	if !ok {
		panic("coresim: not a unit code base: " + first17) // seed data and generator only
	}
	return first17 + string(c)
}

// orgCode completes an 8-character organisation code base with its GB 11714
// check character (weights 3,7,9,10,5,8,4,2; letters count A=10 … Z=35).
func orgCode(base8 string) string {
	weights := [8]int{3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i := range 8 {
		v := int(base8[i] - '0')
		if base8[i] >= 'A' {
			v = int(base8[i]-'A') + 10
		}
		sum += v * weights[i]
	}
	switch c := 11 - sum%11; c {
	case 10:
		return base8 + "X"
	case 11:
		return base8 + "0"
	default:
		return base8 + string(rune('0'+c))
	}
}

// luhn completes a bank card number with its Luhn check digit.
func luhn(prefix string) string {
	sum := 0
	for i := len(prefix) - 1; i >= 0; i-- {
		d := int(prefix[i] - '0')
		if (len(prefix)-1-i)%2 == 0 { // doubled: every second digit from the check digit
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return prefix + string(rune('0'+(10-sum%10)%10))
}
