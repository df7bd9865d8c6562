package cases

import (
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"handheld/services"
	"handheld/services/store"
	"handheld/services/store/storetest"
)

func TestRateOnceThenAlreadyRated(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newRig(t, s)
		r.seed(t)
		ctx := t.Context()
		c, err := r.Rate(ctx, depositor("s_zhang"), "w_zhang_rent", LevelVerySatisfied, "  办得很快，谢谢！\u3000 ")
		if err != nil {
			t.Fatal(err)
		}
		if c.ID != "w_zhang_rent" || c.Kind != KindWithdrawal || c.Rating != LevelVerySatisfied || !c.Finished || c.Status != "paid" {
			t.Fatalf("rated case: %+v", c)
		}
		if got, want := r.audit.last(), "rate.case s_zhang withdrawal:w_zhang_rent ok"; got != want {
			t.Errorf("audit: got %q, want %q", got, want)
		}
		var (
			kind, subject, comment string
			level                  int
		)
		if err := s.QueryRow(ctx, `SELECT case_kind, subject, level, comment FROM ratings WHERE case_id = $1`, c.ID).
			Scan(&kind, &subject, &level, &comment); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(comment, "谢谢") {
			t.Errorf("comment stored in clear: %q", comment)
		}
		if comment, err = s.OpenText(comment, sealedComment.Place(c.ID)); err != nil {
			t.Fatal(err)
		}
		if kind != KindWithdrawal || subject != "s_zhang" || level != 5 || comment != "办得很快，谢谢！" {
			t.Errorf("stored rating: %s %s %d %q", kind, subject, level, comment)
		}

		_, err = r.Rate(ctx, depositor("s_zhang"), "w_zhang_rent", LevelVeryDissatisfied, "")
		if services.ErrorCode(err) != services.CodeRatingAlreadyRated {
			t.Fatalf("second rating: %v", err)
		}
		if got, want := r.audit.last(), "rate.case s_zhang withdrawal:w_zhang_rent error"; got != want {
			t.Errorf("audit: got %q, want %q", got, want)
		}
		if err := s.QueryRow(ctx, `SELECT level FROM ratings WHERE case_id = $1`, c.ID).Scan(&level); err != nil || level != 5 {
			t.Errorf("the first rating must stay: %d, %v", level, err)
		}

		// Certificates are finished once issued, revoked ones too.
		for _, id := range []string{cert1, cert3} {
			c, err := r.Rate(ctx, depositor("s_zhang"), id, LevelBasicallySatisfied, "")
			if err != nil || c.Kind != KindCertificate || c.Rating != LevelBasicallySatisfied {
				t.Errorf("rating certificate %s: %+v, %v", id, c, err)
			}
		}
		if got, want := r.audit.last(), "rate.case s_zhang certificate:"+cert3+" ok"; got != want {
			t.Errorf("audit: got %q, want %q", got, want)
		}
	})
}

func TestRateRefusals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newRig(t, s)
		r.seed(t)
		ctx := t.Context()

		_, err := r.Rate(ctx, depositor("s_zhang"), "w_zhang_buy", LevelSatisfied, "")
		if services.ErrorCode(err) != services.CodeRatingNotRateable {
			t.Errorf("unfinished case: %v", err)
		}
		if got, want := r.audit.last(), "rate.case s_zhang withdrawal:w_zhang_buy error"; got != want {
			t.Errorf("audit: got %q, want %q", got, want)
		}

		// Another person's case and cases that do not exist look the same,
		// and never name the id in the trail.
		var errs []*services.Error
		for _, id := range []string{"w_zhang_rent", cert1, "w_nobody", "../w_zhang_rent", "", strings.Repeat("a", 65), "w_zhang_rent' --"} {
			_, err := r.Rate(ctx, depositor("s_wang"), id, LevelSatisfied, "")
			if services.ErrorCode(err) != services.CodeNotFound {
				t.Errorf("s_wang rating %q: %v", id, err)
				continue
			}
			e := services.AsError(err)
			errs = append(errs, &services.Error{Code: e.Code, Params: e.Params, Fields: e.Fields})
			if got, want := r.audit.last(), "rate.case s_wang self error"; got != want {
				t.Errorf("audit for %q: got %q, want %q", id, got, want)
			}
		}
		for i := 1; i < len(errs); i++ {
			if diff := cmp.Diff(errs[0], errs[i]); diff != "" {
				t.Errorf("not_found answers differ (-first +%d):\n%s", i, diff)
			}
		}
		var n int
		if err := s.QueryRow(ctx, `SELECT COUNT(*) FROM ratings`).Scan(&n); err != nil || n != 0 {
			t.Errorf("refused ratings were stored: %d, %v", n, err)
		}

		employer := services.Principal{Subject: "s_zhang", Role: services.RoleEmployer, Channel: services.ChannelApp}
		if _, err := r.Rate(ctx, employer, "w_zhang_rent", LevelSatisfied, ""); services.ErrorCode(err) != services.CodeForbidden {
			t.Errorf("employer rating: %v", err)
		}
	})
}

func TestRateValidatesInput(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newRig(t, s)
		r.seed(t)
		levelRange := services.FieldError{Field: "level", Code: services.FieldOutOfRange, Params: map[string]any{"min": 1, "max": 5}}
		tooLong := services.FieldError{Field: "comment", Code: services.FieldTooLong, Params: map[string]any{"max": 200}}
		format := services.FieldError{Field: "comment", Code: services.FieldFormat}
		for name, tc := range map[string]struct {
			level   int
			comment string
			want    []services.FieldError
		}{
			"level 0":                {0, "", []services.FieldError{levelRange}},
			"level 6":                {6, "", []services.FieldError{levelRange}},
			"level -1":               {-1, "", []services.FieldError{levelRange}},
			"201 runes":              {5, strings.Repeat("好", 201), []services.FieldError{tooLong}},
			"both wrong":             {0, strings.Repeat("a", 201), []services.FieldError{levelRange, tooLong}},
			"line break":             {5, "good\nservice", []services.FieldError{format}},
			"bell":                   {5, "ding\a", []services.FieldError{format}},
			"right-to-left override": {5, "abc\u202edef", []services.FieldError{format}},
			"line separator":         {5, "a\u2028b", []services.FieldError{format}},
			"invalid UTF-8":          {5, "a\xffb", []services.FieldError{format}},
		} {
			_, err := r.Rate(t.Context(), depositor("s_zhang"), "w_zhang_rent", tc.level, tc.comment)
			if services.ErrorCode(err) != services.CodeInvalid {
				t.Errorf("%s: %v", name, err)
				continue
			}
			if diff := cmp.Diff(tc.want, services.AsError(err).Fields); diff != "" {
				t.Errorf("%s: fields (-want +got):\n%s", name, diff)
			}
		}
		if r.audit.count() != 0 {
			t.Errorf("invalid requests were audited: %d records", r.audit.count())
		}
		// 200 runes, once the spaces around them are trimmed, are allowed.
		c, err := r.Rate(t.Context(), depositor("s_zhang"), "w_zhang_rent", LevelDissatisfied, "  "+strings.Repeat("慢", 200)+"  ")
		if err != nil || c.Rating != LevelDissatisfied {
			t.Fatalf("200 runes: %+v, %v", c, err)
		}
	})
}

func TestConcurrentRatingsOneWins(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newRig(t, s)
		r.seed(t)
		const n = 10
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				_, errs[i] = r.Rate(t.Context(), depositor("s_zhang"), "w_zhang_retire", 1+i%5, "")
			})
		}
		wg.Wait()
		ok, rated := 0, 0
		for i, err := range errs {
			switch services.ErrorCode(err) {
			case services.CodeRatingAlreadyRated:
				rated++
			default:
				if err != nil {
					t.Errorf("rating %d: %v", i, err)
					continue
				}
				ok++
			}
		}
		if ok != 1 || rated != n-1 {
			t.Fatalf("%d succeeded and %d were already rated, want 1 and %d", ok, rated, n-1)
		}
		var count int
		if err := s.QueryRow(t.Context(), `SELECT COUNT(*) FROM ratings WHERE case_id = $1`, "w_zhang_retire").Scan(&count); err != nil || count != 1 {
			t.Errorf("ratings stored: %d, %v", count, err)
		}
		if r.audit.count() != n {
			t.Errorf("audit records: %d, want %d", r.audit.count(), n)
		}
	})
}

// Satisfaction counts every rating in the store; OnRated hears of each
// rating recorded, once, and of no refused one.
func TestSatisfactionCounts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newRig(t, s)
		r.seed(t)
		var heard []int
		r.OnRated = func(level int) { heard = append(heard, level) }
		ctx := t.Context()
		rated, satisfied, err := r.Satisfaction(ctx)
		if err != nil || rated != 0 || satisfied != 0 {
			t.Fatalf("no ratings: %d, %d, %v", rated, satisfied, err)
		}
		for _, rt := range []struct {
			subject, id string
			level       int
		}{
			{"s_zhang", "w_zhang_rent", LevelVerySatisfied},
			{"s_zhang", cert1, LevelBasicallySatisfied},
			{"s_zhang", cert2, LevelDissatisfied},
			{"s_zhang", cert3, LevelVeryDissatisfied},
			{"s_wang", "w_wang_rent", LevelSatisfied},
		} {
			if _, err := r.Rate(ctx, depositor(rt.subject), rt.id, rt.level, ""); err != nil {
				t.Fatalf("rate %s: %v", rt.id, err)
			}
		}
		if _, err := r.Rate(ctx, depositor("s_zhang"), "w_zhang_rent", LevelSatisfied, ""); services.ErrorCode(err) != services.CodeRatingAlreadyRated {
			t.Fatalf("second rating: %v", err)
		}
		rated, satisfied, err = r.Satisfaction(ctx)
		if err != nil || rated != 5 || satisfied != 3 {
			t.Fatalf("Satisfaction = %d, %d, %v; want 5, 3", rated, satisfied, err)
		}
		if diff := cmp.Diff([]int{5, 3, 2, 1, 4}, heard); diff != "" {
			t.Errorf("OnRated heard (-want +got):\n%s", diff)
		}
	})
}
