package coresim

import (
	"fmt"
	"strconv"
	"time"

	"handheld/services/core"
)

// The generator's people are pure functions of (index, seed): a load test
// computes any generated person's login without reading the database.

// Generated operators: every generated unit has one operator with these
// credentials.
const (
	GeneratedOperatorID       = "op01"
	GeneratedOperatorPassword = "Load@2024"
	// GeneratedStaffPerUnit is how many consecutive generated people share
	// an employer: person i works for unit i / GeneratedStaffPerUnit.
	GeneratedStaffPerUnit = 50
	// MaxGenerated is the most people the generator can number uniquely.
	MaxGenerated = 5_000_000
)

// Character tables: CJK characters are 3 bytes in UTF-8, so the k-th is
// s[3k:3k+3] without decoding.
const (
	surnames         = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
	compoundSurnames = "欧阳司马上官诸葛东方皇甫" // 6 bytes each
	maleGiven        = "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆帅旭宁龙林欢阳建国志文博晨轩睿哲思远泽昊"
	femaleGiven      = "芳娜敏静丽艳娟霞秀玲婷雪慧莹琳颖倩洁佳玉梅红燕萍晶欣悦怡彤嘉雨琪梦涵瑶璐诗"
	brands           = "恒信华达新宇博远中天嘉禾瑞丰鼎盛汇通金桥天成宏图卓越东方明德安泰"                    // 6 bytes each
	trades           = "电子科技网络科技建设工程商贸物流医疗器械餐饮管理教育咨询文化传媒机械制造物业管理环保科技生物医药"    // 12 bytes each
	phonePrefixes    = "138139150151158159186187188135136137182183189199177" // 3 digits each
	// regions are 6-digit county codes, 7 bytes apart: mostly Hangzhou,
	// some from elsewhere, as in any city's workforce.
	regions = "330102 330105 330106 330108 330109 330110 330111 330112 330113 330114 330122 330127 330182 330183 " +
		"330185 330381 330481 330521 331002 320102 320583 340104 360102 410105 420106 430102 510104 610113 370212 350203 "
)

// birthDays spans the generated birth dates, 1966-01-01 to 2003-12-31.
const birthDays = 13879

// mix is SplitMix64 over (seed, index, field): independent, reproducible
// draws with no state, so any person can be computed alone.
func mix(seed int64, i int, field uint64) uint64 {
	z := uint64(seed)*0x9E3779B97F4A7C15 ^ uint64(i)*0xD1B54A32D192ED03 ^ field*0x8CB92BA72F3D8DD7
	z += 0x9E3779B97F4A7C15
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

// pick returns the k-th fixed-width item of a table.
func pick(table string, width int, h uint64) string {
	k := int(h % uint64(len(table)/width))
	return table[k*width : k*width+width]
}

// genPerson is everything about generated person i.
type genPerson struct {
	personID, name, idNumber, phone, card, face string
	unit                                        int
	accountNumber, status                       string
	baseFen                                     int64
	lastAgo                                     int // sealed: months since the last remittance
	loan                                        *loanPlan
}

// loanPlan is a generated loan: principal, term, method and how long ago it
// started.
type loanPlan struct {
	principal int64
	months    int
	method    string
	agoMonths int
}

// generatedPerson derives person i of a generation. The ID number is unique
// for i < MaxGenerated: the birth date walks a permutation of 13,879 days
// (7919 is prime to it) every 500 people, and the sequence number is
// 500 + i mod 500, above every demo person's.
func generatedPerson(i int, seed int64) genPerson {
	male := i%2 == 1 // sequence numbers 500+i%500: odd for men, as GB 11643 says
	surname := pick(surnames, 3, mix(seed, i, 2))
	if mix(seed, i, 3)%100 < 2 {
		surname = pick(compoundSurnames, 6, mix(seed, i, 4))
	}
	given := femaleGiven
	if male {
		given = maleGiven
	}
	name := surname + pick(given, 3, mix(seed, i, 5))
	if mix(seed, i, 6)%10 < 7 {
		name += pick(given, 3, mix(seed, i, 7))
	}
	p := genPerson{
		personID:      fmt.Sprintf("P2%09d", i),
		name:          name,
		idNumber:      generatedIDNumber(i, seed),
		phone:         pick(phonePrefixes, 3, mix(seed, i, 8)) + fmt.Sprintf("%08d", mix(seed, i, 9)%100_000_000),
		card:          luhn(fmt.Sprintf("622202%012d", mix(seed, i, 10)%1_000_000_000_000)),
		face:          fmt.Sprintf("face:gen-%d-%d", seed, i),
		unit:          i / GeneratedStaffPerUnit,
		accountNumber: fmt.Sprintf("33012%07d", i),
		status:        core.StatusNormal,
		baseFen:       (8000 + 100*int64(mix(seed, i, 11)%221)) * 100, // 8,000–30,000 yuan
	}
	switch r := mix(seed, i, 12) % 100; {
	case r >= 98:
		p.status = core.StatusFrozen
	case r >= 94:
		p.status, p.lastAgo = core.StatusSealed, 1+int(mix(seed, i, 13)%11)
	}
	if mix(seed, i, 14)%10 == 0 {
		p.loan = &loanPlan{
			principal: (30 + int64(mix(seed, i, 15)%91)) * 1_000_000, // 300,000–1,200,000 yuan
			months:    120 + 60*int(mix(seed, i, 16)%5),
			method:    methodAnnuity,
			agoMonths: 1 + int(mix(seed, i, 17)%60),
		}
		if mix(seed, i, 18)%4 == 0 {
			p.loan.method = methodLinear
		}
	}
	return p
}

// generatedIDNumber is person i's ID number alone, so that callers which
// need only it (a load test logging in, the uniqueness test over 200,000
// people) do not pay for the name, phone, card and ledger plan.
func generatedIDNumber(i int, seed int64) string {
	day := (i/500*7919 + int(uint64(seed)%birthDays)) % birthDays
	birth := time.Date(1966, time.January, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, day)
	return withIDCheck(pick(regions, 7, mix(seed, i, 1))[:6] + birth.Format("20060102") + strconv.Itoa(500+i%500))
}

// holdings are a generated person's card on file, as their one payout
// account, and a deed and a diagnosis, so that every kind can be applied
// for in load runs.
func (p genPerson) holdings() ([]core.PayoutAccount, []Record) {
	return []core.PayoutAccount{{ID: payoutAccountID(p.personID, 1), Kind: core.PayoutBankCard, Number: p.card, Institution: cardIssuer(p.card)}},
		[]Record{{"deed:" + p.personID, core.EvidencePropertyRegistration}, {"diagnosis:" + p.personID, core.EvidenceDiagnosis}}
}

// genUnit is generated employer u.
type genUnit struct {
	code, name, accountNumber string
	rateBP                    int
}

func generatedUnit(u int, seed int64) genUnit {
	return genUnit{
		code:          withUnitCheck("91" + pick(regions, 7, mix(seed, u, 101))[:6] + orgCode(fmt.Sprintf("MAG%05d", u))),
		name:          "杭州" + pick(brands, 6, mix(seed, u, 102)) + pick(trades, 12, mix(seed, u, 103)) + "有限公司",
		accountNumber: fmt.Sprintf("3301002%05d", u),
		rateBP:        500 + 100*int(mix(seed, u, 104)%8), // 5%–12%
	}
}

// GeneratedPersona is generated person i of the generation with this seed,
// as a load test logs in: name, ID number, unit code and face token.
func GeneratedPersona(i int, seed int64) Persona {
	p := generatedPerson(i, seed)
	accounts, records := p.holdings()
	return Persona{
		Role: "depositor", Name: p.name, IDNumber: p.idNumber, UnitCode: generatedUnit(p.unit, seed).code,
		FaceToken: p.face, Notes: fmt.Sprintf("generated #%d, account status %s", i, p.status),
		PayoutAccounts: accounts, Records: records,
	}
}

// GeneratedIDNumber is generated person i's ID number.
func GeneratedIDNumber(i int, seed int64) string { return generatedIDNumber(i, seed) }

// GeneratedUnitCode is generated unit u's code; its operator signs in with
// GeneratedOperatorID and GeneratedOperatorPassword.
func GeneratedUnitCode(u int, seed int64) string { return generatedUnit(u, seed).code }
