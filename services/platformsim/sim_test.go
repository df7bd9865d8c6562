package platformsim

import (
	"testing"
	"time"

	"handheld/services/platform"
)

func TestSeedFollowsThePersonas(t *testing.T) {
	got := map[string]Seeded{}
	for _, s := range SeededAccounts() {
		got[s.Name] = s
	}
	want := map[string]Seeded{
		"吴敏":   {Name: "吴敏", Centre: CentreBeijing, Ref: "1101002019045213", Status: platform.StatusSealed},
		"欧阳晓峰": {Name: "欧阳晓峰", Centre: CentreShanghai, Ref: "3101000187236541", Status: platform.StatusNormal},
		"周强":   {Name: "周强", Centre: CentreChengdu, Ref: "5101000093318277", Status: platform.StatusFrozen},
	}
	if len(got) != len(want) {
		t.Fatalf("seeded %v", got)
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s: got %+v, want %+v", name, got[name], w)
		}
	}
	for id := range seed() {
		if len(id) != 18 {
			t.Errorf("ID number %q", id)
		}
	}
}

func TestMonthCountsFromTheLastCompleteMonth(t *testing.T) {
	// 1 January 2027 00:30 in Shanghai is still 31 December in UTC.
	now := time.Date(2026, 12, 31, 16, 30, 0, 0, time.UTC)
	for ago, want := range map[int]string{0: "2026-12", 1: "2026-11", 12: "2025-12"} {
		if got := month(now, ago); got != want {
			t.Errorf("month(%d) = %s, want %s", ago, got, want)
		}
	}
}

func TestSetHolderAndBehaviourRefuseNonsense(t *testing.T) {
	s := New(Config{})
	for name, accounts := range map[string][]Holding{
		"unknown centre": {{Centre: "999999", AccountRef: "9999990000000001", Status: platform.StatusSealed}},
		"unknown status": {{Centre: CentreBeijing, AccountRef: "1101000000000001", Status: "closed"}},
		"no reference":   {{Centre: CentreBeijing, Status: platform.StatusSealed}},
		"negative":       {{Centre: CentreBeijing, AccountRef: "1101000000000001", Status: platform.StatusSealed, BalanceFen: -1}},
	} {
		if err := s.SetHolder("330108199501191428", "陈静", accounts); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := s.SetHolder("not an id", "陈静", nil); err == nil {
		t.Error("a bad ID number accepted")
	}
	if err := s.SetBehaviour(Behaviour{Centres: map[string]CentreBehaviour{CentreBeijing: {Refuse: "no_reason"}}}); err == nil {
		t.Error("an unknown refusal accepted")
	}
	if err := s.SetBehaviour(Behaviour{Centres: map[string]CentreBehaviour{CentreBeijing: {Refuse: platform.RefusalLoanOutstanding}}}); err != nil {
		t.Error(err)
	}
}
