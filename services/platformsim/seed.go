package platformsim

import (
	"time"

	"handheld/services"
	"handheld/services/platform"
)

// The centres of the demo platform, by code (the city's administrative
// division code). LocalCentre is the demo centre handheld runs for
// (HANDHELD_CENTRE_CODE's default); the others hold accounts elsewhere.
const (
	LocalCentre    = "330100"
	CentreBeijing  = "110100"
	CentreShanghai = "310100"
	CentreChengdu  = "510100"
)

// centres are the connected centres. Chengdu does not share balances over
// the platform: its accounts come without balance_fen.
func centres() []platform.Centre {
	return []platform.Centre{
		{Code: CentreBeijing, Name: "北京住房公积金管理中心", BalanceShared: true},
		{Code: CentreShanghai, Name: "上海市公积金管理中心", BalanceShared: true},
		{Code: LocalCentre, Name: "示范市住房公积金管理中心", BalanceShared: true},
		{Code: CentreChengdu, Name: "成都住房公积金管理中心", BalanceShared: false},
	}
}

// holder is one person the platform knows, with their accounts.
type holder struct {
	name     string
	accounts []account
}

// account is one account at one centre. lastAgo counts months back from
// the last complete month at the simulator's start, so the demo stays
// current.
type account struct {
	centre, ref, status string
	balanceFen          int64
	lastAgo             int
	unit, openedOn      string
}

// Seeded is one seeded account elsewhere, for tests and the README.
type Seeded struct {
	Name   string
	Centre string
	Ref    string
	Status string
}

// seed is the demo holders, keyed by ID number, matching the core
// simulator's personas (services/coresim/personas.go). Most personas have
// no account elsewhere.
func seed() map[string]holder {
	people := []struct {
		id17 string
		h    holder
	}{
		// 吴敏, the new hire (2 months of deposits here): she came from
		// Beijing, where her account is sealed since she left — the
		// account a transfer in would bring over.
		{"33011019990930224", holder{name: "吴敏", accounts: []account{{centre: CentreBeijing, ref: "1101002019045213",
			status: platform.StatusSealed, balanceFen: 3862400, lastAgo: 3, unit: "北京云帆网络科技有限公司", openedOn: "2021-07-01"}}}},
		// 欧阳晓峰 has a normal account in Shanghai, still deposited by a
		// second employer there: not sealed, so not transferable.
		{"33010819931105157", holder{name: "欧阳晓峰", accounts: []account{{centre: CentreShanghai, ref: "3101000187236541",
			status: platform.StatusNormal, balanceFen: 1265000, lastAgo: 0, unit: "上海浦江信息服务有限公司", openedOn: "2023-03-15"}}}},
		// 周强 worked in Chengdu during the gap in his deposits here (8 to
		// 4 months back); that account is frozen, and Chengdu does not
		// share balances.
		{"33010619871023195", holder{name: "周强", accounts: []account{{centre: CentreChengdu, ref: "5101000093318277",
			status: platform.StatusFrozen, lastAgo: 4, unit: "成都锦江物流有限公司", openedOn: "2025-01-06"}}}},
	}
	out := make(map[string]holder, len(people))
	for _, x := range people {
		out[withCheck(x.id17)] = x.h
	}
	return out
}

// SeededAccounts lists the seeded accounts elsewhere, by persona.
func SeededAccounts() []Seeded {
	var out []Seeded
	for _, h := range seed() {
		for _, a := range h.accounts {
			out = append(out, Seeded{Name: h.name, Centre: a.centre, Ref: a.ref, Status: a.status})
		}
	}
	return out
}

// withCheck completes 17 digits with their GB 11643 check character.
func withCheck(id17 string) string {
	c, ok := services.IDCheckDigit(id17)
	if !ok {
		panic("platformsim: not 17 digits: " + id17) // seed data only
	}
	return id17 + string(c)
}

// month is the YYYY-MM of the month ago months before the last complete
// month before now, in Asia/Shanghai.
func month(now time.Time, ago int) string {
	t := now.In(services.CentreTime)
	first := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, t.Location())
	return first.AddDate(0, -1-ago, 0).Format("2006-01")
}
