package report

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"handheld/services/cases"
	"handheld/services/store"
	"handheld/services/store/storetest"
)

// BenchmarkDayFigures weighs a day's figures (the cases alive that day
// from every owner's view joined with their ends, the day's ratings, added
// up per service) over a store of many days' withdrawals, each with its
// status history and a rating, against a plain read of the same
// withdrawals' rows (x_scan), in the same run. HANDHELD_BENCH_REPORT_CASES
// sets how many (default 5000, spread over 50 days).
func BenchmarkDayFigures(b *testing.B) {
	n := 5000
	if v, err := strconv.Atoi(os.Getenv("HANDHELD_BENCH_REPORT_CASES")); err == nil && v > 0 {
		n = v
	}
	s := storetest.Migrated(b, storetest.SQLiteDSN(b))
	r := newRig(b, s, nil)
	ctx := b.Context()
	kinds := []string{"rent", "purchase", "retirement", "loan_repayment"}
	err := s.Tx(ctx, func(tx *store.Tx) error {
		for i := range n {
			id := fmt.Sprintf("w%06d", i)
			created := dayStart.Add(-time.Duration(i%50) * 24 * time.Hour).Add(time.Duration(i%600) * time.Minute)
			if _, err := tx.Exec(ctx, `INSERT INTO withdrawals (id, case_number, subject, kind, core_kind, amount_fen, payout_method,
				payout_account, status, idempotency_key, request_hash, locale, channel, created_at, updated_at, due_on)
				VALUES ($1, $2, $3, $4, '07', 100, 'bank_card', 'x', 'approved', $1, 'h', 'zh-CN', 'miniapp', $5, $5, $6)`,
				id, "TQ"+id, "s"+id, kinds[i%len(kinds)], store.Timestamp(created), created.AddDate(0, 0, 2).Format(time.DateOnly)); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO withdrawal_events (application_id, status, at) VALUES ($1, 'approved', $2)`,
				id, store.Timestamp(created.Add(time.Duration(i%72)*time.Hour))); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO ratings (case_id, case_kind, subject, level, created_at) VALUES ($1, 'withdrawal', 's', $2, $3)`,
				id, 1+i%5, store.Timestamp(created.Add(80*time.Hour))); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("figures", func(b *testing.B) {
		for b.Loop() {
			if _, err := r.Figures(ctx, day); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("x_scan", func(b *testing.B) {
		for b.Loop() {
			rows, err := s.Query(ctx, `SELECT kind, created_at, due_on FROM withdrawals`)
			if err != nil {
				b.Fatal(err)
			}
			var tl []cases.Timeline
			for rows.Next() {
				var t cases.Timeline
				if err := rows.Scan(&t.Type, &t.CreatedAt, &t.DueOn); err != nil {
					b.Fatal(err)
				}
				tl = append(tl, t)
			}
			rows.Close()
		}
	})
}
