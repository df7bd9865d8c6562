package platform

import (
	"context"
	"errors"
	"net/http"
	"regexp"
)

// Reporting upward (docs/platform-contract.md § Daily reports): each centre
// sends the platform, once a day, the day's 好差评 ratings and its cases'
// timeliness per service, as figures only.
const PathDailyReports = "/platform/v1/reports/daily"

// OpDailyReport is the daily report's operation, as the Observe hook and
// the metrics name it.
const OpDailyReport = "daily_report"

// ProblemConflict is the platform refusing a report whose (centre, day,
// version) it already holds with other figures: 409.
const ProblemConflict = "conflict"

// ErrReportConflict is the platform holding other figures under the same
// centre, day and version: an answer, not a failure (sending it again can
// never succeed; a correction goes under the next version).
var ErrReportConflict = errors.New("platform: another report under the same centre, day and version")

// DailyReport is one centre's report of one day (in the centre's time
// zone): POST /platform/v1/reports/daily. The platform keeps it by
// (Centre, Day, Version): the same report sent again is answered as the
// first time; other figures under the same three are 409 conflict; a
// higher Version corrects the day.
type DailyReport struct {
	Centre string `json:"centre"`
	Day    string `json:"day"` // YYYY-MM-DD
	// Version is 1 for the day's report, and one more for each correction.
	Version  int    `json:"version"`
	TimeZone string `json:"time_zone"` // Asia/Shanghai
	// Services are the figures per service of the catalogue (its code),
	// every service that makes cases listed, with zeros where nothing
	// happened; Totals add them up.
	Services []ServiceFigures `json:"services"`
	Totals   Figures          `json:"totals"`
}

// ServiceFigures are one service's figures, with the time limits they were
// judged by.
type ServiceFigures struct {
	Service string `json:"service"`
	// PromisedWorkingDays and LegalWorkingDays are the service's time
	// limits (承诺时限, 法定时限) in working days; 0 is on the spot.
	PromisedWorkingDays int `json:"promised_working_days"`
	LegalWorkingDays    int `json:"legal_working_days"`
	Figures
}

// Figures are a day's ratings and timeliness.
type Figures struct {
	Ratings    Ratings    `json:"ratings"`
	Timeliness Timeliness `json:"timeliness"`
}

// Ratings count the 好差评 ratings given that day, per level of the
// national five-level scale. LowWithComment counts the dissatisfied and
// very dissatisfied ratings that came with a comment; the comments stay
// with the centre.
type Ratings struct {
	VerySatisfied      int64 `json:"very_satisfied"`      // 非常满意
	Satisfied          int64 `json:"satisfied"`           // 满意
	BasicallySatisfied int64 `json:"basically_satisfied"` // 基本满意
	Dissatisfied       int64 `json:"dissatisfied"`        // 不满意
	VeryDissatisfied   int64 `json:"very_dissatisfied"`   // 非常不满意
	LowWithComment     int64 `json:"low_with_comment"`
}

// Timeliness counts the day's cases: received that day; decided that day,
// and of those decided within the promised and within the legal time
// limit; withdrawn by the person that day; and, at the day's end, still
// open, and of those past their promised and past their legal limit.
type Timeliness struct {
	Received        int64 `json:"received"`
	Decided         int64 `json:"decided"`
	DecidedPromised int64 `json:"decided_within_promised"`
	DecidedLegal    int64 `json:"decided_within_legal"`
	Withdrawn       int64 `json:"withdrawn"`
	Open            int64 `json:"open"`
	OverduePromised int64 `json:"open_overdue_promised"`
	OverdueLegal    int64 `json:"open_overdue_legal"`
}

// Add adds o to f.
func (f *Figures) Add(o Figures) {
	r, or := &f.Ratings, o.Ratings
	r.VerySatisfied += or.VerySatisfied
	r.Satisfied += or.Satisfied
	r.BasicallySatisfied += or.BasicallySatisfied
	r.Dissatisfied += or.Dissatisfied
	r.VeryDissatisfied += or.VeryDissatisfied
	r.LowWithComment += or.LowWithComment
	t, ot := &f.Timeliness, o.Timeliness
	t.Received += ot.Received
	t.Decided += ot.Decided
	t.DecidedPromised += ot.DecidedPromised
	t.DecidedLegal += ot.DecidedLegal
	t.Withdrawn += ot.Withdrawn
	t.Open += ot.Open
	t.OverduePromised += ot.OverduePromised
	t.OverdueLegal += ot.OverdueLegal
}

// ReportReceipt is the platform's answer to a daily report: its reference
// and when it first received that version. A report sent again gets the
// same receipt.
type ReportReceipt struct {
	Reference  string `json:"reference"`
	Centre     string `json:"centre"`
	Day        string `json:"day"`
	Version    int    `json:"version"`
	ReceivedAt string `json:"received_at"`
}

var reportRefPattern = regexp.MustCompile(`^PR-[0-9]{8}-[0-9]{6}-v[0-9]{1,4}$`)

// SendDailyReport delivers a day's report. The platform is idempotent by
// centre, day and version, so the outbox may deliver it again safely: the
// same report gets the same receipt. Other figures under the same version
// are ErrReportConflict. A platform down or answering nonsense is
// platform.unavailable; a report it refuses as malformed, or a key it does
// not know, is internal.
func (c *Client) SendDailyReport(ctx context.Context, r DailyReport) (ReportReceipt, error) {
	var out ReportReceipt
	err := c.call(ctx, OpDailyReport, http.MethodPost, PathDailyReports, r, &out, func() bool {
		return reportRefPattern.MatchString(out.Reference) && out.Centre == r.Centre && out.Day == r.Day && out.Version == r.Version
	})
	c.record(err)
	return out, err
}
