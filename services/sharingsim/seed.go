package sharingsim

import (
	"bytes"
	"io"

	"handheld/services/sharing"
)

// record is one source's record of a person; nil fields mean the source
// knows the person but holds no such record.
type person struct {
	name string
	// deed and filed contract: number, registered/filed on, owner's name
	// at the registry (someone else's for the mismatch persona).
	deed, contract *property
	// marriage: spouse's masked name and registration date; nil: not married.
	marriage *marriage
	// settlement: critical-illness settlement date and amount (fen).
	settledOn string
	amountFen int64
	// retiredSince: "" means not retired.
	retiredSince string
	// leftCity: the household moved out of the city.
	leftCity bool
}

type property struct{ number, on, owner string }
type marriage struct{ spouseMasked, on string }

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

// idWeights and idChecks compute the GB 11643 check character.
var idWeights = []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

const idChecks = "10X98765432"

// withCheck appends the check character to a 17-digit ID number body.
func withCheck(id17 string) string {
	sum := 0
	for i := 0; i < 17; i++ {
		sum += int(id17[i]-'0') * idWeights[i]
	}
	return id17 + string(idChecks[sum%11])
}

// seed is the demo records, keyed by ID number, matching the core
// simulator's personas (services/coresim/personas.go).
func seed() map[string]person {
	const city = "杭州市"
	_ = city
	people := []struct {
		id17 string
		p    person
	}{
		{"33010619850312413", person{name: "张伟",
			deed:     &property{"浙(2024)杭州市不动产权第0123456号", "2024-05-02", "张伟"},
			marriage: &marriage{"李*", "2012-10-08"}}},
		// 李娜: the purchase persona. Her deed and her filed purchase
		// contract are both on the registry: purchase needs no upload.
		{"33010519900721262", person{name: "李娜",
			deed:     &property{"浙(2026)杭州市不动产权第0081562号", "2026-03-18", "李娜"},
			contract: &property{"杭网签备(2026)第1107号", "2026-02-20", "李娜"}}},
		// 欧阳晓峰: the deed on the registry under his number names
		// another owner (owner_matches false).
		{"33010819931105157", person{name: "欧阳晓峰",
			deed: &property{"浙(2026)杭州市不动产权第0010294号", "2026-01-09", "欧阳晓风"}}},
		// 王芳: a critical-illness settlement is on file.
		{"33010219880214086", person{name: "王芳", settledOn: "2026-04-10", amountFen: 8650000}},
		// 吴敏: the critical-illness persona with NO settlement in shared
		// data: her application needs an uploaded diagnosis.
		{"33011019990930224", person{name: "吴敏"}},
		{"42010619820608377", person{name: "刘洋",
			deed: &property{"鄂(2019)武汉市不动产权第0027731号", "2019-08-15", "刘洋"}}},
		{"33010519920417308", person{name: "孙丽"}},
		// 周强: his household has moved out of the city (leaving_city).
		{"33010619871023195", person{name: "周强", leftCity: true}},
		// 赵建国: retired since May 2022 (social security).
		{"33010219620516031", person{name: "赵建国", retiredSince: "2022-05-16",
			marriage: &marriage{"钱*", "1988-03-12"}}},
		// 陈静 (33010819950119142) is unknown to every source.
		{"33010619910815328", person{name: "林晓𪚥"}},
	}
	out := make(map[string]person, len(people))
	for _, x := range people {
		out[withCheck(x.id17)] = x.p
	}
	return out
}

// answer is the person's minimal fact for q. A question naming the right
// ID number with another name is a mismatch, as at the real registries:
// the deed is found, the owner does not match.
func (p person) answer(q sharing.Query) sharing.Answer {
	nameOK := q.Subject.Name == p.name
	yes, no := true, false
	b := func(v bool) *bool {
		if v {
			return &yes
		}
		return &no
	}
	var a sharing.Answer
	switch q.Fact {
	case sharing.FactDeed, sharing.FactFiledContract:
		r := p.deed
		if q.Fact == sharing.FactFiledContract {
			r = p.contract
		}
		if r != nil {
			a = sharing.Answer{Found: true, Number: r.number, RegisteredOn: r.on, OwnerMatches: b(nameOK && r.owner == p.name)}
		}
	case sharing.FactMarriage:
		if !nameOK {
			break
		}
		a = sharing.Answer{Found: true, Married: b(p.marriage != nil)}
		if p.marriage != nil {
			a.SpouseNameMasked, a.RegisteredOn = p.marriage.spouseMasked, p.marriage.on
		}
	case sharing.FactIllnessSettlement:
		if nameOK && p.settledOn != "" {
			a = sharing.Answer{Found: true, SettledOn: p.settledOn, AmountFen: p.amountFen}
		}
	case sharing.FactRetirement:
		if nameOK {
			a = sharing.Answer{Found: true, Retired: b(p.retiredSince != ""), Since: p.retiredSince}
		}
	case sharing.FactHousehold:
		if nameOK {
			a = sharing.Answer{Found: true, RegisteredInCity: b(!p.leftCity), City: "杭州市"}
		}
	}
	return a
}

// DemoID is the full ID number of a seeded demo person by name, "" when
// there is none: for tests and the README personas table.
func DemoID(name string) string {
	for _, d := range demoIDs {
		if d[1] == name {
			return withCheck(d[0])
		}
	}
	return ""
}

// demoIDs are the demo people's 17-digit ID bodies and names, the core
// simulator's personas (陈静 is known to no source).
var demoIDs = [][2]string{
	{"33010619850312413", "张伟"}, {"33010519900721262", "李娜"}, {"33010819931105157", "欧阳晓峰"},
	{"33010219880214086", "王芳"}, {"33011019990930224", "吴敏"}, {"42010619820608377", "刘洋"},
	{"33010519920417308", "孙丽"}, {"33010619871023195", "周强"}, {"33010219620516031", "赵建国"},
	{"33010819950119142", "陈静"}, {"33010619910815328", "林晓𪚥"},
}
