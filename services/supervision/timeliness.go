package supervision

import (
	"context"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"handheld/services"
	"handheld/services/store"
)

// Timeliness is one kind of case's cases created in range: how many were
// decided, how many of those within the promised (承诺时限) and the
// statutory (法定时限) limit, how many are still open and how many of
// those are past their promised date.
type Timeliness struct {
	Kind                        string
	Created, Decided, Cancelled int64
	OnTimePromised, OnTimeLegal int64
	Open, OpenOverdue           int64
}

// PromisedRate is the share of decided cases decided by their promised
// date, in per mille.
func (t Timeliness) PromisedRate() int64 { return permille(t.OnTimePromised, t.Decided) }

// LegalRate is the share of decided cases decided by their statutory
// date, in per mille.
func (t Timeliness) LegalRate() int64 { return permille(t.OnTimeLegal, t.Decided) }

// OverdueCase is an open case past its promised date: no subject, and the
// case number masked (docs/api.md §Masking: what identifies the person's
// case stays at the counter).
type OverdueCase struct {
	Kind, Type, CaseNumber string
	CreatedOn, DueOn       string
	DaysOver               int
}

// caseKinds are the kinds of case and each one's view, with the statuses
// that are a decision, and those that end a case without one.
var caseKinds = []struct {
	kind, view       string
	decided, dropped []string
}{
	{"withdrawal", "withdrawal_cases", []string{"approved", "rejected", "paid"}, []string{"cancelled"}},
	{"certificate", "certificate_cases", []string{"issued", "revoked", "expired", "used"}, []string{"failed"}},
	{"transfer", "transfer_cases", []string{"merged", "refused"}, []string{"cancelled"}},
	{"loan", "loan_prepayment_cases", []string{"applied", "rejected"}, nil},
}

// timeliness groups the cases created in range, in SQL, by kind, type,
// status, creation date, last update date and promised date, and compares
// the dates per group: a decided case is on time when its last update
// (its decision) is on or before the date.
func (s *Service) timeliness(ctx context.Context, d *Dashboard) error {
	dia := s.Store.Dialect()
	today := s.Now().In(services.CentreTime).Format(time.DateOnly)
	for _, k := range caseKinds {
		rows, err := s.Store.Query(ctx, `SELECT type, status, `+dia.CentreDate("created_at")+`, `+dia.CentreDate("updated_at")+
			`, due_on, COUNT(*) FROM `+k.view+` WHERE created_at >= $1 AND created_at < $2
			GROUP BY type, status, `+dia.CentreDate("created_at")+`, `+dia.CentreDate("updated_at")+`, due_on`,
			store.Timestamp(d.Range.Start), store.Timestamp(d.Range.End))
		if err != nil {
			return services.Errorf(services.CodeInternal, "supervision: timeliness %s: %w", k.kind, err)
		}
		t := Timeliness{Kind: k.kind}
		for rows.Next() {
			var typ, status, created, updated, due string
			var n int64
			if err := rows.Scan(&typ, &status, &created, &updated, &due, &n); err != nil {
				rows.Close()
				return services.Errorf(services.CodeInternal, "supervision: timeliness %s: %w", k.kind, err)
			}
			if due == "" { // decided on the spot (a certificate)
				due = created
			}
			legal := due
			if s.Legal != nil {
				if days, ok := s.Legal.LegalWorkingDays(k.kind, typ); ok {
					legal = s.addWorkingDays(created, days)
				}
			}
			t.Created += n
			switch {
			case contains(k.decided, status):
				t.Decided += n
				if updated <= due {
					t.OnTimePromised += n
				}
				if updated <= legal {
					t.OnTimeLegal += n
				}
			case contains(k.dropped, status):
				t.Cancelled += n
			default:
				t.Open += n
				if today > due {
					t.OpenOverdue += n
				}
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return services.Errorf(services.CodeInternal, "supervision: timeliness %s: %w", k.kind, err)
		}
		if t.Created > 0 {
			d.Timeliness = append(d.Timeliness, t)
		}
	}
	return nil
}

// overdue lists the open cases created in range whose promised date has
// passed, oldest promise first, at most OverdueShown of them, and counts
// them all.
func (s *Service) overdue(ctx context.Context, d *Dashboard) error {
	dia := s.Store.Dialect()
	today := s.Now().In(services.CentreTime).Format(time.DateOnly)
	for _, k := range caseKinds {
		closed := append(append([]string{}, k.decided...), k.dropped...)
		rows, err := s.Store.Query(ctx, `SELECT type, case_number, `+dia.CentreDate("created_at")+`, due_on FROM `+k.view+`
			WHERE created_at >= $1 AND created_at < $2 AND due_on <> '' AND due_on < $3 AND status NOT IN (`+quoted(closed)+`)
			ORDER BY due_on, case_number`, store.Timestamp(d.Range.Start), store.Timestamp(d.Range.End), today)
		if err != nil {
			return services.Errorf(services.CodeInternal, "supervision: overdue %s: %w", k.kind, err)
		}
		for rows.Next() {
			c := OverdueCase{Kind: k.kind}
			if err := rows.Scan(&c.Type, &c.CaseNumber, &c.CreatedOn, &c.DueOn); err != nil {
				rows.Close()
				return services.Errorf(services.CodeInternal, "supervision: overdue %s: %w", k.kind, err)
			}
			d.OverdueTotal++
			c.CaseNumber = MaskCaseNumber(c.CaseNumber)
			if due, err := time.ParseInLocation(time.DateOnly, c.DueOn, services.CentreTime); err == nil {
				now, _ := time.ParseInLocation(time.DateOnly, today, services.CentreTime)
				c.DaysOver = int(now.Sub(due).Hours()/24 + 0.5)
			}
			d.Overdue = append(d.Overdue, c)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return services.Errorf(services.CodeInternal, "supervision: overdue %s: %w", k.kind, err)
		}
	}
	sort.SliceStable(d.Overdue, func(i, j int) bool { return d.Overdue[i].DueOn < d.Overdue[j].DueOn })
	if len(d.Overdue) > s.OverdueShown {
		d.Overdue = d.Overdue[:s.OverdueShown]
	}
	return nil
}

// addWorkingDays is the date n working days after date (YYYY-MM-DD),
// skipping weekends and the holidays, as services/withdrawal counts them.
func (s *Service) addWorkingDays(date string, n int) string {
	t, err := time.ParseInLocation(time.DateOnly, date, services.CentreTime)
	if err != nil {
		return date
	}
	for i := 0; i < n; {
		t = t.AddDate(0, 0, 1)
		if t.Weekday() != time.Saturday && t.Weekday() != time.Sunday && !s.holidays[t.Format(time.DateOnly)] {
			i++
		}
	}
	return t.Format(time.DateOnly)
}

// MaskCaseNumber keeps a case number's prefix (its service and date) and
// the first and last two characters of its random part: enough to tell
// cases apart on a screen, not to look one up at the counter.
func MaskCaseNumber(n string) string {
	head, tail, ok := strings.Cut(n, "-")
	if !ok {
		head, tail = "", n
	} else {
		head += "-"
	}
	r := []rune(tail)
	if len(r) <= 4 {
		return head + strings.Repeat("*", len(r))
	}
	return head + string(r[:2]) + strings.Repeat("*", len(r)-4) + string(r[len(r)-2:])
}

// longDigits are runs that may be a phone, an ID or a card number.
var longDigits = regexp.MustCompile(`[0-9０-９][0-9０-９ -]{5,}[0-9０-９Xx]`)

// MaskComment masks what in a free-text comment could be a phone, an ID
// or a card number (a run of six or more digits: first three and last two
// kept), and bounds it to MaxCommentRunes.
func MaskComment(c string) string {
	c = longDigits.ReplaceAllStringFunc(c, func(m string) string {
		r := []rune(m)
		return string(r[:3]) + strings.Repeat("*", len(r)-5) + string(r[len(r)-2:])
	})
	if utf8.RuneCountInString(c) > 200 {
		c = string([]rune(c)[:200]) + "…"
	}
	return c
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// quoted is list as SQL string literals; the lists are this file's
// constants, never input.
func quoted(list []string) string {
	q := make([]string, len(list))
	for i, v := range list {
		q[i] = "'" + v + "'"
	}
	return strings.Join(q, ", ")
}
