package platformsim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"handheld/services/platform"
)

// The call counters of the daily reports: every report call past the
// signature check, and those refused as conflicts.
const (
	CallReports         = "reports"
	CallReportConflicts = "report_conflicts"
)

// ReceivedReport is a daily report the platform holds: the report, its
// receipt, and how many times it was delivered (2 and more: redeliveries,
// each answered with the same receipt).
type ReceivedReport struct {
	Report     platform.DailyReport   `json:"report"`
	Receipt    platform.ReportReceipt `json:"receipt"`
	Deliveries int                    `json:"deliveries"`
}

// storedReport is a report as kept: its canonical JSON, to tell the same
// figures from others.
type storedReport struct {
	ReceivedReport
	canonical []byte
}

// reportKey is what the platform keeps a report by.
func reportKey(centre, day string, version int) string {
	return centre + "/" + day + "/v" + strconv.Itoa(version)
}

var serviceCode = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$`)

// dailyReport keeps a centre's report of a day, idempotent by centre, day
// and version: the same figures again get the first receipt, other figures
// 409 conflict. With LoseReportAnswers set, it keeps the report and then
// answers 503, as if the answer were lost on the way.
func (s *Sim) dailyReport(w http.ResponseWriter, _ *http.Request, body []byte) {
	var r platform.DailyReport
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil || !wellFormedReport(r) {
		problem(w, http.StatusBadRequest, platform.ProblemInvalid)
		return
	}
	if !s.known(r.Centre) {
		problem(w, http.StatusBadRequest, platform.ProblemUnknownCentre)
		return
	}
	canonical, _ := json.Marshal(r)
	key := reportKey(r.Centre, r.Day, r.Version)
	now := s.cfg.Now()
	s.mu.Lock()
	if s.reports == nil {
		s.reports = map[string]*storedReport{}
	}
	got, ok := s.reports[key]
	switch {
	case ok && !bytes.Equal(got.canonical, canonical):
		s.calls[CallReportConflicts]++
		s.mu.Unlock()
		problem(w, http.StatusConflict, platform.ProblemConflict)
		return
	case ok:
		got.Deliveries++
	default:
		got = &storedReport{canonical: canonical, ReceivedReport: ReceivedReport{Report: r, Deliveries: 1,
			Receipt: platform.ReportReceipt{Reference: "PR-" + strings.ReplaceAll(r.Day, "-", "") + "-" + r.Centre + "-v" + strconv.Itoa(r.Version),
				Centre: r.Centre, Day: r.Day, Version: r.Version, ReceivedAt: now.UTC().Format(time.RFC3339)}}}
		s.reports[key] = got
		s.reportOrder = append(s.reportOrder, key)
	}
	receipt := got.Receipt
	lose := s.behaviour.LoseReportAnswers > 0
	if lose {
		s.behaviour.LoseReportAnswers--
	}
	s.mu.Unlock()
	if lose {
		problem(w, http.StatusServiceUnavailable, platform.ProblemUnavailable)
		return
	}
	writeJSON(w, http.StatusOK, receipt)
}

// wellFormedReport checks what the platform checks of a report: a day, a
// version, the time zone, known-shaped service codes each once, figures
// that agree with themselves, and totals that are the services' sum.
func wellFormedReport(r platform.DailyReport) bool {
	if _, err := time.Parse(time.DateOnly, r.Day); err != nil || r.Version < 1 || r.Version > 1000 ||
		r.TimeZone != "Asia/Shanghai" || r.Services == nil || len(r.Services) > 200 {
		return false
	}
	var sum platform.Figures
	seen := map[string]bool{}
	for _, f := range r.Services {
		if !serviceCode.MatchString(f.Service) || len(f.Service) > 64 || seen[f.Service] || !consistent(f.Figures) ||
			f.PromisedWorkingDays < 0 || f.LegalWorkingDays < f.PromisedWorkingDays || f.LegalWorkingDays > 60 {
			return false
		}
		seen[f.Service] = true
		sum.Add(f.Figures)
	}
	return consistent(r.Totals) && sum == r.Totals
}

// consistent: no negative count, the decided within a limit among the
// decided (within the promised ones within the legal), the overdue among
// the open, the low ratings with a comment among the low ratings.
func consistent(f platform.Figures) bool {
	r, t := f.Ratings, f.Timeliness
	for _, n := range []int64{r.VerySatisfied, r.Satisfied, r.BasicallySatisfied, r.Dissatisfied, r.VeryDissatisfied, r.LowWithComment,
		t.Received, t.Decided, t.DecidedPromised, t.DecidedLegal, t.Withdrawn, t.Open, t.OverduePromised, t.OverdueLegal} {
		if n < 0 {
			return false
		}
	}
	return r.LowWithComment <= r.Dissatisfied+r.VeryDissatisfied &&
		t.DecidedPromised <= t.DecidedLegal && t.DecidedLegal <= t.Decided &&
		t.OverdueLegal <= t.OverduePromised && t.OverduePromised <= t.Open
}

// Reports are the daily reports received, in the order first received,
// every version of each day.
func (s *Sim) Reports() []ReceivedReport {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ReceivedReport, 0, len(s.reportOrder))
	for _, k := range s.reportOrder {
		out = append(out, s.reports[k].ReceivedReport)
	}
	return out
}

// reportsOf filters the reports by centre and day ("" for any).
func reportsOf(all []ReceivedReport, centre, day string) []ReceivedReport {
	return slices.DeleteFunc(all, func(r ReceivedReport) bool {
		return (centre != "" && r.Report.Centre != centre) || (day != "" && r.Report.Day != day)
	})
}
