package account

import (
	"fmt"
	"regexp"
	"strconv"
	"time"

	"handheld/services"
	"handheld/services/core"
)

// Paging and range limits of the lists (docs/api.md §Conventions: limit default 20, max 100).
const (
	DefaultLimit       = 20
	MaxLimit           = 100
	DefaultRangeMonths = 12  // from defaults to 11 months before to
	MaxRangeMonths     = 120 // ten years: more is an export, not a screen
)

var monthShape = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}$`)

// month counts months since year 0, so ranges are subtractions.
type month int

func parseMonth(s string) (month, bool) {
	if !monthShape.MatchString(s) {
		return 0, false
	}
	y, _ := strconv.Atoi(s[:4])
	m, _ := strconv.Atoi(s[5:])
	if y < 1900 || m < 1 || m > 12 {
		return 0, false
	}
	return month(y*12 + m - 1), true
}

func monthOf(t time.Time) month {
	t = t.In(services.CentreTime)
	return month(t.Year()*12 + int(t.Month()) - 1)
}

func (m month) String() string { return fmt.Sprintf("%04d-%02d", int(m)/12, int(m)%12+1) }

// depositQuery validates a deposit-history request and fills defaults:
// to is the current month, from is DefaultRangeMonths before to, and the
// range may span at most MaxRangeMonths. Every bad field is reported at
// once.
func (s *Service) depositQuery(subject, from, to string, limit int, cursor string) (core.DepositQuery, error) {
	var fields []services.FieldError
	format := func(field string) {
		fields = append(fields, services.FieldError{Field: field, Code: services.FieldFormat, Params: map[string]any{"format": "YYYY-MM"}})
	}
	end, endOK := monthOf(s.Now()), true
	if to != "" {
		if end, endOK = parseMonth(to); !endOK {
			format("to")
		}
	}
	start, startOK := end-DefaultRangeMonths+1, endOK
	if from != "" {
		if start, startOK = parseMonth(from); !startOK {
			format("from")
		}
	}
	if startOK && endOK && (start > end || end-start >= MaxRangeMonths) {
		fields = append(fields, services.FieldError{Field: "from", Code: services.FieldOutOfRange,
			Params: map[string]any{"min": (end - MaxRangeMonths + 1).String(), "max": end.String()}})
	}
	if f, ok := checkLimit(limit); !ok {
		fields = append(fields, f)
	}
	coreCursor, err := s.seal.open(listDeposits, subject, cursor)
	if err != nil {
		fields = append(fields, services.FieldError{Field: "cursor", Code: services.FieldFormat})
	}
	if len(fields) > 0 {
		return core.DepositQuery{}, services.Invalid(fields...)
	}
	return core.DepositQuery{From: start.String(), To: end.String(), Limit: limit, Cursor: coreCursor}, nil
}

// checkLimit admits page sizes 1–MaxLimit. Zero is refused too: the
// handler fills DefaultLimit when the client sends none.
func checkLimit(limit int) (services.FieldError, bool) {
	if limit < 1 || limit > MaxLimit {
		return services.FieldError{Field: "limit", Code: services.FieldOutOfRange, Params: map[string]any{"min": 1, "max": MaxLimit}}, false
	}
	return services.FieldError{}, true
}
