package coresim

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// generateBatch is how many people go into one transaction: large enough
// to amortise the commit, small enough that readers of an in-memory
// database (which share the one connection) are not starved for long.
const generateBatch = 2000

// generatedMonths is how much history every generated account has.
const generatedMonths = 36

// Generate adds n deterministic depositors (see GeneratedPersona) with
// their employers (GeneratedStaffPerUnit staff each, one operator each) and
// generatedMonths months of deposits up to the last complete month. It is
// resumable and idempotent: a database that already holds the first m
// people of this seed gets people m..n-1; one that holds n or more is left
// alone. A database holds one seed's generation only.
func (s *Sim) Generate(ctx context.Context, n int, seed int64) error {
	if n < 0 || n > MaxGenerated {
		return fmt.Errorf("coresim: generate: n = %d, want 0..%d", n, MaxGenerated)
	}
	s.genMu.Lock()
	defer s.genMu.Unlock()
	start, err := s.generatedSoFar(ctx, seed)
	if err != nil || start >= n {
		return err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(GeneratedOperatorPassword), s.bcryptCost)
	if err != nil {
		return fmt.Errorf("coresim: generate: %w", err)
	}
	began := time.Now()
	now := s.now()
	for lo := start; lo < n; lo += generateBatch {
		hi := min(lo+generateBatch, n)
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			if err := generateRange(ctx, tx, lo, hi, seed, now, string(hash)); err != nil {
				return err
			}
			if err := setMeta(ctx, tx, "generated_seed", strconv.FormatInt(seed, 10)); err != nil {
				return err
			}
			return setMeta(ctx, tx, "generated_n", strconv.Itoa(hi))
		})
		if err != nil {
			return fmt.Errorf("coresim: generate people %d..%d: %w", lo, hi-1, err)
		}
	}
	s.log.Info("coresim: generated depositors", "from", start, "to", n, "seed", seed, "ms", time.Since(began).Milliseconds())
	return nil
}

// generatedSoFar is how many people of this seed the database holds.
func (s *Sim) generatedSoFar(ctx context.Context, seed int64) (int, error) {
	have, err := metaValue(ctx, s.wdb, "generated_seed")
	if err != nil || have == "" {
		return 0, err
	}
	if have != strconv.FormatInt(seed, 10) {
		return 0, fmt.Errorf("coresim: generate: the database holds the generation of seed %s, not %d", have, seed)
	}
	v, err := metaValue(ctx, s.wdb, "generated_n")
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(v)
}

// generateRange writes people lo..hi-1 (and each unit at its first member)
// with prepared statements in the caller's transaction.
func generateRange(ctx context.Context, tx *sql.Tx, lo, hi int, seed int64, now time.Time, operatorHash string) error {
	stmts := map[string]string{
		"unit": `INSERT INTO units (unit_code, name, account_number, status, unit_rate_bp, personal_rate_bp, paid_up_to, opened_month, bank_name, bank_account)
			VALUES (?, ?, ?, '01', ?, ?, ?, ?, '中国工商银行', ?)`,
		"operator": `INSERT INTO operators (unit_code, operator_id, name, password_hash) VALUES (?, ?, ?, ?)`,
		"person":   `INSERT INTO persons (person_id, name, id_number, phone, bank_card, face_token) VALUES (?, ?, ?, ?, ?, ?)`,
		"account": `INSERT INTO accounts (person_id, account_number, status, unit_code, deposit_base_fen, personal_rate_bp, unit_rate_bp, opened_on, balance_fen)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		"payout":   `INSERT INTO payout_accounts (person_id, seq, account_id, kind, number, institution) VALUES (?, ?, ?, ?, ?, ?)`,
		"record":   `INSERT INTO records (ref, person_id, category) VALUES (?, ?, ?)`,
		"loan":     `INSERT INTO loans (person_id, loan_number, principal_fen, annual_rate_bp, months, method, started_on) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		"deposit":  depositInsert,
		"deposits": depositInsert + strings.Repeat(", (?, ?, ?, ?, ?, ?, ?, ?)", depositBulk-1),
	}
	prepared := make(map[string]*sql.Stmt, len(stmts))
	for name, q := range stmts {
		st, err := tx.PrepareContext(ctx, q)
		if err != nil {
			return err
		}
		defer st.Close()
		prepared[name] = st
	}
	deposits := &depositWriter{one: prepared["deposit"], bulk: prepared["deposits"]}
	last := monthOf(now) - 1
	var u genUnit
	for i := lo; i < hi; i++ {
		p := generatedPerson(i, seed)
		if i == lo || i%GeneratedStaffPerUnit == 0 {
			u = generatedUnit(p.unit, seed)
		}
		if i%GeneratedStaffPerUnit == 0 {
			// Every month up to paid_up_to counts as paid (no bills on
			// record); the bank account is the collection account's twin.
			if _, err := prepared["unit"].ExecContext(ctx, u.code, u.name, u.accountNumber, u.rateBP, u.rateBP, last.String(),
				(last - generatedMonths + 1).String(), "1202021409"+u.accountNumber[3:]); err != nil {
				return err
			}
			if _, err := prepared["operator"].ExecContext(ctx, u.code, GeneratedOperatorID, "操作员", operatorHash); err != nil {
				return err
			}
		}
		if _, err := prepared["person"].ExecContext(ctx, p.personID, p.name, p.idNumber, p.phone, p.card, p.face); err != nil {
			return err
		}
		accounts, records := p.holdings()
		for k, a := range accounts {
			if _, err := prepared["payout"].ExecContext(ctx, p.personID, k+1, a.ID, a.Kind, a.Number, a.Institution); err != nil {
				return err
			}
		}
		for _, r := range records {
			if _, err := prepared["record"].ExecContext(ctx, r.Ref, p.personID, r.Category); err != nil {
				return err
			}
		}
		personal, unit := monthlyShares(p.baseFen, u.rateBP, u.rateBP)
		plan := ledgerPlan{through: last, lastRemit: last - month(p.lastAgo), monthly: personal + unit}
		plan.first = plan.lastRemit - generatedMonths + 1
		var balance int64
		for k, e := range plan.entries() {
			if err := deposits.add(ctx, p.personID, k+1, e); err != nil {
				return err
			}
			balance = e.balanceAfter
		}
		if _, err := prepared["account"].ExecContext(ctx, p.personID, p.accountNumber, p.status, u.code, p.baseFen,
			u.rateBP, u.rateBP, date(plan.first.day(3)), balance); err != nil {
			return err
		}
		if l := p.loan; l != nil {
			started := (last - month(l.agoMonths) + 1).day(1 + i%28)
			if _, err := prepared["loan"].ExecContext(ctx, p.personID, fmt.Sprintf("DK3302%09d", i), l.principal,
				loanRateBP, l.months, l.method, date(started)); err != nil {
				return err
			}
		}
	}
	return deposits.flush(ctx)
}

// depositBulk is how many ledger rows one bulk INSERT carries: per-statement
// overhead, not SQLite, dominates row-at-a-time inserts.
const depositBulk = 64

// depositWriter buffers ledger rows into bulk INSERTs of depositBulk rows.
type depositWriter struct {
	one, bulk *sql.Stmt
	args      []any
}

func (w *depositWriter) add(ctx context.Context, personID string, seq int, e entry) error {
	w.args = append(w.args, personID, seq, e.month.String(), date(e.posted), e.kind, e.wkind, e.amount, e.balanceAfter)
	if len(w.args) < 8*depositBulk {
		return nil
	}
	_, err := w.bulk.ExecContext(ctx, w.args...)
	w.args = w.args[:0]
	return err
}

// flush writes what is left, row by row.
func (w *depositWriter) flush(ctx context.Context) error {
	for i := 0; i < len(w.args); i += 8 {
		if _, err := w.one.ExecContext(ctx, w.args[i:i+8]...); err != nil {
			return err
		}
	}
	w.args = w.args[:0]
	return nil
}
