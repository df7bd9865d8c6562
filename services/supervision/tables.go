package supervision

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"handheld/services"
)

// Sections are the dashboard's tables, as the CSV export names them.
var Sections = []string{"services", "channels", "hours", "timeliness", "overdue", "satisfaction",
	"low_ratings", "core", "refusals", "shares"}

// Table is one section as rows of text: Columns are column keys (the page
// and the export translate them), Rows the cells. Cells holding
// identifiers from the records (services, routes, comments) are text the
// export must neutralise; numbers are plain digits.
type Table struct {
	Section string
	Columns []string
	Rows    [][]string
}

// Export is one section of the dashboard over r as a table, for the CSV
// download; audited as dashboard.export. An unknown section is
// request.invalid.
func (s *Service) Export(ctx context.Context, p services.Principal, r Range, section, requestID string) (Table, error) {
	if !slices.Contains(Sections, section) {
		return Table{}, services.Invalid(services.FieldError{Field: "section", Code: services.FieldOneOf,
			Params: map[string]any{"allowed": Sections}})
	}
	if err := s.audited(ctx, p, ActionExport, section, r, requestID); err != nil {
		return Table{}, err
	}
	d, err := s.load(ctx, r)
	if err != nil {
		return Table{}, err
	}
	return d.Table(section), nil
}

// Table is one section of d.
func (d Dashboard) Table(section string) Table {
	t := Table{Section: section}
	n := func(v int64) string { return strconv.FormatInt(v, 10) }
	outcomes := func(o Outcomes) []string {
		return []string{n(o.Total), n(o.OK), n(o.Denied), n(o.Error), Percent(o.SuccessRate()), Percent(o.FailureRate())}
	}
	switch section {
	case "services":
		t.Columns = []string{"service", "total", "ok", "denied", "error", "success_rate", "failure_rate"}
		for _, v := range d.Services {
			t.Rows = append(t.Rows, append([]string{v.Service}, outcomes(v.Outcomes)...))
		}
	case "channels":
		t.Columns = []string{"channel", "total", "ok", "denied", "error", "success_rate", "failure_rate"}
		for _, v := range d.Channels {
			t.Rows = append(t.Rows, append([]string{v.Channel}, outcomes(v.Outcomes)...))
		}
	case "hours":
		t.Columns = []string{"hour", "total", "core_calls", "core_failures"}
		for h, v := range d.Hours {
			t.Rows = append(t.Rows, []string{fmt.Sprintf("%02d:00", h), n(v), n(d.CoreHours[h].Calls), n(d.CoreHours[h].Failures)})
		}
	case "timeliness":
		t.Columns = []string{"kind", "created", "decided", "on_time_promised", "promised_rate", "on_time_legal", "legal_rate",
			"open", "open_overdue", "cancelled"}
		for _, v := range d.Timeliness {
			t.Rows = append(t.Rows, []string{v.Kind, n(v.Created), n(v.Decided), n(v.OnTimePromised), Percent(v.PromisedRate()),
				n(v.OnTimeLegal), Percent(v.LegalRate()), n(v.Open), n(v.OpenOverdue), n(v.Cancelled)})
		}
	case "overdue":
		t.Columns = []string{"kind", "type", "case_number", "created_on", "due_on", "days_over"}
		for _, v := range d.Overdue {
			t.Rows = append(t.Rows, []string{v.Kind, v.Type, v.CaseNumber, v.CreatedOn, v.DueOn, strconv.Itoa(v.DaysOver)})
		}
	case "satisfaction":
		t.Columns = []string{"kind", "rated", "level_5", "level_4", "level_3", "level_2", "level_1", "satisfied", "satisfaction_rate"}
		for _, v := range d.Satisfaction {
			t.Rows = append(t.Rows, []string{v.Kind, n(v.Rated), n(v.Levels[5]), n(v.Levels[4]), n(v.Levels[3]), n(v.Levels[2]),
				n(v.Levels[1]), n(v.Satisfied()), Percent(v.Rate())})
		}
	case "low_ratings":
		t.Columns = []string{"at", "kind", "level", "channel", "comment"}
		for _, v := range d.LowRatings {
			t.Rows = append(t.Rows, []string{services.Instant(v.At), v.Kind, strconv.Itoa(v.Level), v.Channel, v.Comment})
		}
	case "core":
		t.Columns = []string{"endpoint", "calls", "failures", "availability", "avg_ms", "p95_ms", "max_ms"}
		for _, v := range append(slices.Clone(d.Core), d.CoreTotal) {
			t.Rows = append(t.Rows, []string{v.Endpoint, n(v.Calls), n(v.Failures), Percent(v.Availability()), n(v.AvgMs),
				P95(v.P95Ms), n(v.MaxMs)})
		}
	case "refusals":
		t.Columns = []string{"route", "refusals"}
		for _, v := range d.Refusals {
			t.Rows = append(t.Rows, []string{v.Route, n(v.Count)})
		}
	case "shares":
		t.Columns = []string{"party", "redeemed"}
		for _, v := range d.Shares {
			t.Rows = append(t.Rows, []string{v.Party, n(v.Redeemed)})
		}
	}
	return t
}

// Percent writes a per mille figure as a percentage with one decimal.
func Percent(pm int64) string { return fmt.Sprintf("%d.%d%%", pm/10, pm%10) }

// P95 writes a percentile bucket bound: "≤250" ms, or ">5000".
func P95(ms int64) string {
	if ms < 0 {
		return ">" + strconv.FormatInt(latencyBounds[len(latencyBounds)-1], 10)
	}
	return "≤" + strconv.FormatInt(ms, 10)
}
