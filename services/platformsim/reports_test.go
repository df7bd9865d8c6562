package platformsim

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"handheld/services/platform"
)

func TestReportFiguresMustAgree(t *testing.T) {
	rent := platform.Figures{Ratings: platform.Ratings{Dissatisfied: 2, LowWithComment: 2},
		Timeliness: platform.Timeliness{Decided: 3, DecidedPromised: 2, DecidedLegal: 3, Open: 2, OverduePromised: 2, OverdueLegal: 1}}
	good := platform.DailyReport{Centre: LocalCentre, Day: "2026-12-06", Version: 1, TimeZone: "Asia/Shanghai",
		Services: []platform.ServiceFigures{{Service: "withdrawal.rent", PromisedWorkingDays: 1, LegalWorkingDays: 3, Figures: rent}},
		Totals:   rent}
	if !wellFormedReport(good) {
		t.Fatal("a consistent report refused")
	}
	for name, mutate := range map[string]func(f *platform.Figures){
		"more low with comment than low": func(f *platform.Figures) { f.Ratings.LowWithComment = 3 },
		"within promised over legal":     func(f *platform.Figures) { f.Timeliness.DecidedPromised = 4 },
		"overdue legal over promised":    func(f *platform.Figures) { f.Timeliness.OverdueLegal = 3 },
		"overdue over open":              func(f *platform.Figures) { f.Timeliness.OverduePromised = 3; f.Timeliness.OverdueLegal = 1 },
		"negative":                       func(f *platform.Figures) { f.Timeliness.Withdrawn = -1 },
	} {
		r := good
		r.Services = []platform.ServiceFigures{good.Services[0]}
		mutate(&r.Services[0].Figures)
		r.Totals = r.Services[0].Figures
		if wellFormedReport(r) {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestSimReportsAreListedAndTheSwitchChecked(t *testing.T) {
	s := New(Config{})
	if err := s.SetBehaviour(Behaviour{LoseReportAnswers: -1}); err == nil {
		t.Error("a negative lose_report_answers accepted")
	}
	s.mu.Lock()
	s.reports = map[string]*storedReport{}
	for _, r := range []platform.DailyReport{{Centre: LocalCentre, Day: "2026-12-05", Version: 1}, {Centre: LocalCentre, Day: "2026-12-06", Version: 1},
		{Centre: CentreBeijing, Day: "2026-12-06", Version: 1}} {
		k := reportKey(r.Centre, r.Day, r.Version)
		s.reports[k] = &storedReport{ReceivedReport: ReceivedReport{Report: r, Deliveries: 1}}
		s.reportOrder = append(s.reportOrder, k)
	}
	s.mu.Unlock()
	srv := httptest.NewServer(s.AdminHandler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/_sim/reports?centre=" + LocalCentre + "&day=2026-12-06")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct {
		Items []ReceivedReport `json:"items"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || len(got.Items) != 1 || got.Items[0].Report.Day != "2026-12-06" ||
		got.Items[0].Report.Centre != LocalCentre {
		t.Errorf("filtered reports: %+v, %v", got, err)
	}
	if all := s.Reports(); len(all) != 3 || !strings.HasPrefix(all[0].Report.Day, "2026-12-05") {
		t.Errorf("all reports: %+v", all)
	}
}
