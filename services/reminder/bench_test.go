package reminder_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"handheld/services/core"
	"handheld/services/coresim"
	"handheld/services/identity"
	"handheld/services/reminder"
	"handheld/services/store"
	"handheld/services/store/storetest"
)

// subjectsTable pages the subjects table as identity's Subjects does (the
// same query), without the rest of identity's wiring.
type subjectsTable struct{ s *store.Store }

func (t subjectsTable) Subjects(ctx context.Context, after string, limit int) ([]identity.Subject, error) {
	rows, err := t.s.Query(ctx, `SELECT subject_id, person_id FROM subjects WHERE subject_id > $1
		ORDER BY subject_id LIMIT `+strconv.Itoa(limit), after)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []identity.Subject
	for rows.Next() {
		var s identity.Subject
		if err := rows.Scan(&s.ID, &s.PersonID); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// BenchmarkReminderRule evaluates the deposit_arrived rule over generated
// depositors who all signed in once (100,000; HANDHELD_BENCH_REMINDER_PEOPLE
// changes it): each run pages the subjects, asks the simulator's core
// over HTTP for each page's facts, matches and writes one reminder_sends
// row and one outbox message per person told (SQLite store). The baseline,
// scan, reads the same pages and facts and does nothing with them, in
// the same run. Each run of the rule is a new day (period day), so every
// run writes its messages anew.
func BenchmarkReminderRule(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("HANDHELD_BENCH_REMINDER_PEOPLE")); err == nil && v > 0 {
		n = v
	}
	ctx := context.Background()
	clock := now
	tick := func() time.Time { return clock }
	sim, err := coresim.Open(ctx, coresim.Config{Path: filepath.Join(b.TempDir(), "core.db"),
		Keys: map[string][]byte{"handheld": []byte(secret)}, BcryptCost: bcrypt.MinCost, Now: tick})
	if err != nil {
		b.Fatal(err)
	}
	defer sim.Close()
	if err := sim.Generate(ctx, n, 1); err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()
	c, err := core.NewClient(core.ClientConfig{BaseURL: srv.URL, KeyID: "handheld", Secret: []byte(secret), Now: tick,
		Timeout: 30 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	st := storetest.Migrated(b, storetest.SQLiteDSN(b))
	for from := 0; from < n; from += 2000 {
		if err := st.Tx(ctx, func(tx *store.Tx) error {
			for i := from; i < min(from+2000, n); i++ {
				if _, err := tx.Exec(ctx, `INSERT INTO subjects (subject_id, person_id, created_at) VALUES ($1, $2, $3)`,
					fmt.Sprintf("s_%09d", i), fmt.Sprintf("P2%09d", i), store.Timestamp(now)); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	people := subjectsTable{st}
	rules := reminder.Defaults()
	r, _ := rules.Find("deposit_arrived")
	r.Code, r.Period = "deposit_arrived_daily", reminder.Day
	svc, err := reminder.New(reminder.Deps{Store: st, People: people, Facts: c, Certificates: noCertificates{},
		Audit: &trail{}, Rules: reminder.Rules{r}, Now: tick})
	if err != nil {
		b.Fatal(err)
	}
	var scanRate float64
	b.Run("scan", func(b *testing.B) {
		start := time.Now()
		for range b.N {
			after, seen := "", 0
			for {
				page, err := people.Subjects(ctx, after, reminder.DefaultBatch)
				if err != nil {
					b.Fatal(err)
				}
				if len(page) == 0 {
					break
				}
				ids := make([]string, len(page))
				for i, p := range page {
					ids[i] = p.PersonID
				}
				if _, err := c.ReminderFacts(ctx, ids); err != nil {
					b.Fatal(err)
				}
				seen += len(page)
				after = page[len(page)-1].ID
			}
			if seen != n {
				b.Fatalf("scanned %d people, want %d", seen, n)
			}
		}
		scanRate = float64(n*b.N) / time.Since(start).Seconds()
		b.ReportMetric(scanRate, "people/s")
	})
	b.Run("rule", func(b *testing.B) {
		start := time.Now()
		written := 0
		for range b.N {
			clock = clock.Add(24 * time.Hour) // a new period: everyone told anew
			rep, err := svc.Run(ctx, r.Code)
			if err != nil {
				b.Fatal(err)
			}
			if rep.People != n || rep.Written == 0 {
				b.Fatalf("run %+v", rep)
			}
			written += rep.Written
		}
		rate := float64(n*b.N) / time.Since(start).Seconds()
		b.ReportMetric(rate, "people/s")
		b.ReportMetric(float64(written)/float64(b.N), "messages/op")
		if scanRate > 0 {
			b.ReportMetric(rate/scanRate, "x_scan")
		}
	})
}
