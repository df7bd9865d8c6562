package supervision

import (
	"context"
	"sort"
	"time"

	"handheld/services"
	"handheld/services/cases"
	"handheld/services/store"
)

// Satisfaction is one kind of case's ratings given in range.
type Satisfaction struct {
	Kind   string
	Levels [6]int64 // by level, 1 (非常不满意) to 5 (非常满意); index 0 unused
	Rated  int64
}

// Satisfied is how many ratings are basically satisfied or better.
func (s Satisfaction) Satisfied() int64 {
	var n int64
	for l := cases.SatisfiedFrom; l <= cases.LevelVerySatisfied; l++ {
		n += s.Levels[l]
	}
	return n
}

// Rate is the 满意率 in per mille.
func (s Satisfaction) Rate() int64 { return permille(s.Satisfied(), s.Rated) }

// LowRating is a dissatisfied rating with its comment, masked.
type LowRating struct {
	Kind, Channel, Comment string
	Level                  int
	At                     time.Time
}

// LowFrom is the highest level listed with its comment: dissatisfied.
const LowFrom = cases.LevelDissatisfied

func (s *Service) satisfaction(ctx context.Context, d *Dashboard) error {
	counts, err := s.Ratings.RatingLevels(ctx, d.Range.Start, d.Range.End)
	if err != nil {
		return err
	}
	by := map[string]*Satisfaction{}
	var order []string
	for _, c := range counts {
		if c.Level < 1 || c.Level > 5 {
			continue
		}
		if by[c.Kind] == nil {
			by[c.Kind] = &Satisfaction{Kind: c.Kind}
			order = append(order, c.Kind)
		}
		by[c.Kind].Levels[c.Level] += c.N
		by[c.Kind].Rated += c.N
	}
	sort.Strings(order)
	for _, k := range order {
		d.Satisfaction = append(d.Satisfaction, *by[k])
	}
	return nil
}

func (s *Service) lowRatings(ctx context.Context, d *Dashboard) error {
	rs, err := s.Ratings.LowRatings(ctx, d.Range.Start, d.Range.End, LowFrom, s.LowRatingsShown)
	if err != nil {
		return err
	}
	for _, r := range rs {
		d.LowRatings = append(d.LowRatings, LowRating{Kind: r.Kind, Channel: r.Channel, Level: r.Level,
			At: r.At, Comment: MaskComment(r.Comment)})
	}
	return nil
}

// CoreEndpoint is the core's calls to one endpoint (or all) in range.
type CoreEndpoint struct {
	Endpoint        string
	Calls, Failures int64
	AvgMs, MaxMs    int64
	P95Ms           int64 // the upper bound of the bucket holding the 95th percentile; -1 above the last
	le              [7]int64
	sumMs           int64
}

// Availability is the share of calls that did not fail, in per mille.
func (c CoreEndpoint) Availability() int64 {
	if c.Calls == 0 {
		return 0
	}
	return permille(c.Calls-c.Failures, c.Calls)
}

// CoreHour is the core's calls in one hour of the day over the range.
type CoreHour struct{ Calls, Failures int64 }

// Refusal is one route's rate-limit refusals.
type Refusal struct {
	Route string
	Count int64
}

// core sums the core's per-minute counters in range, in SQL, per endpoint
// and per hour of the day.
func (s *Service) core(ctx context.Context, d *Dashboard) error {
	rows, err := s.Store.Query(ctx, `SELECT label, SUM(n), SUM(failures), SUM(sum_ms), MAX(max_ms),
		SUM(le_50), SUM(le_100), SUM(le_250), SUM(le_500), SUM(le_1000), SUM(le_2500), SUM(le_5000)
		FROM activity_minutes WHERE metric = $1 AND minute >= $2 AND minute < $3 GROUP BY label`,
		MetricCore, store.Timestamp(d.Range.Start), store.Timestamp(d.Range.End))
	if err != nil {
		return services.Errorf(services.CodeInternal, "supervision: core: %w", err)
	}
	total := CoreEndpoint{Endpoint: "*"}
	for rows.Next() {
		var c CoreEndpoint
		if err := rows.Scan(&c.Endpoint, &c.Calls, &c.Failures, &c.sumMs, &c.MaxMs,
			&c.le[0], &c.le[1], &c.le[2], &c.le[3], &c.le[4], &c.le[5], &c.le[6]); err != nil {
			rows.Close()
			return services.Errorf(services.CodeInternal, "supervision: core: %w", err)
		}
		c.finish()
		d.Core = append(d.Core, c)
		total.Calls += c.Calls
		total.Failures += c.Failures
		total.sumMs += c.sumMs
		total.MaxMs = max(total.MaxMs, c.MaxMs)
		for i := range total.le {
			total.le[i] += c.le[i]
		}
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return services.Errorf(services.CodeInternal, "supervision: core: %w", err)
	}
	total.finish()
	d.CoreTotal = total
	sort.Slice(d.Core, func(i, j int) bool {
		a, b := d.Core[i], d.Core[j]
		return a.Calls > b.Calls || (a.Calls == b.Calls && a.Endpoint < b.Endpoint)
	})
	hour := s.Store.Dialect().CentreHour("minute")
	rows, err = s.Store.Query(ctx, `SELECT `+hour+`, SUM(n), SUM(failures) FROM activity_minutes
		WHERE metric = $1 AND minute >= $2 AND minute < $3 GROUP BY `+hour,
		MetricCore, store.Timestamp(d.Range.Start), store.Timestamp(d.Range.End))
	if err != nil {
		return services.Errorf(services.CodeInternal, "supervision: core hours: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var h int
		var calls, failures int64
		if err := rows.Scan(&h, &calls, &failures); err != nil {
			return services.Errorf(services.CodeInternal, "supervision: core hours: %w", err)
		}
		if h >= 0 && h < 24 {
			d.CoreHours[h] = CoreHour{Calls: calls, Failures: failures}
		}
	}
	if err := rows.Err(); err != nil {
		return services.Errorf(services.CodeInternal, "supervision: core hours: %w", err)
	}
	return nil
}

// finish works out the average and the 95th percentile's bucket.
func (c *CoreEndpoint) finish() {
	if c.Calls == 0 {
		return
	}
	c.AvgMs = (c.sumMs + c.Calls/2) / c.Calls
	want := (c.Calls*95 + 99) / 100
	c.P95Ms = -1
	for i, b := range latencyBounds {
		if c.le[i] >= want {
			c.P95Ms = b
			break
		}
	}
}

func (s *Service) refusals(ctx context.Context, d *Dashboard) error {
	rows, err := s.Store.Query(ctx, `SELECT label, SUM(n) FROM activity_minutes WHERE metric = $1 AND minute >= $2 AND minute < $3
		GROUP BY label ORDER BY SUM(n) DESC, label`, MetricRateLimited, store.Timestamp(d.Range.Start), store.Timestamp(d.Range.End))
	if err != nil {
		return services.Errorf(services.CodeInternal, "supervision: refusals: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r Refusal
		if err := rows.Scan(&r.Route, &r.Count); err != nil {
			return services.Errorf(services.CodeInternal, "supervision: refusals: %w", err)
		}
		d.Refusals = append(d.Refusals, r)
	}
	if err := rows.Err(); err != nil {
		return services.Errorf(services.CodeInternal, "supervision: refusals: %w", err)
	}
	return nil
}
