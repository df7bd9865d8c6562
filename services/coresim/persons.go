package coresim

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"fmt"
	"math"
	"net/http"
	"strconv"

	"handheld/services/core"
)

// verifyPerson is the real-name check: a name and an ID number that do not
// belong together are not_found, exactly like an unknown ID number.
func (s *Sim) verifyPerson(ctx context.Context, c call) (int, any, error) {
	var in core.RealNameCheck
	if err := decodeJSON(c.body, &in); err != nil {
		return 0, nil, err
	}
	if in.Name == "" || in.IDNumber == "" {
		return 0, nil, badRequest("name and id_number are required")
	}
	p, err := loadPersonBy(ctx, s.rdb, "p.id_number", in.IDNumber)
	if err != nil {
		return 0, nil, err
	}
	if p.Name != in.Name {
		return 0, nil, notFound("no such person")
	}
	return http.StatusOK, p, nil
}

// verifyFace matches a kiosk's liveness token against the person's; any
// mismatch, including an unknown person, is Match false.
func (s *Sim) verifyFace(ctx context.Context, c call) (int, any, error) {
	var in core.FaceCheck
	if err := decodeJSON(c.body, &in); err != nil {
		return 0, nil, err
	}
	if in.Name == "" || in.IDNumber == "" || in.FaceToken == "" {
		return 0, nil, badRequest("name, id_number and face_token are required")
	}
	var personID, name, token string
	err := s.rdb.QueryRowContext(ctx, `SELECT person_id, name, face_token FROM persons WHERE id_number = ?`, in.IDNumber).Scan(&personID, &name, &token)
	if err == sql.ErrNoRows {
		return http.StatusOK, core.FaceResult{}, nil
	}
	if err != nil {
		return 0, nil, err
	}
	if name != in.Name || subtle.ConstantTimeCompare([]byte(token), []byte(in.FaceToken)) != 1 {
		return http.StatusOK, core.FaceResult{}, nil
	}
	return http.StatusOK, core.FaceResult{Match: true, PersonID: personID}, nil
}

func (s *Sim) person(ctx context.Context, c call) (int, any, error) {
	p, err := loadPersonBy(ctx, s.rdb, "p.person_id", c.r.PathValue("person_id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, p, nil
}

func (s *Sim) account(ctx context.Context, c call) (int, any, error) {
	id := c.r.PathValue("person_id")
	if err := s.settle(ctx, id, c.now); err != nil {
		return 0, nil, err
	}
	a, err := loadAccount(ctx, s.rdb, id, c.now)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, a, nil
}

// deposits pages the history newest first; from and to are inclusive months.
func (s *Sim) deposits(ctx context.Context, c call) (int, any, error) {
	id := c.r.PathValue("person_id")
	q := c.r.URL.Query()
	from, to := "0000-00", "9999-99"
	for name, dst := range map[string]*string{"from": &from, "to": &to} {
		if v := q.Get(name); v != "" {
			if _, err := parseMonth(v); err != nil {
				return 0, nil, badRequest(name + ": want YYYY-MM")
			}
			*dst = v
		}
	}
	if from > to {
		return 0, nil, badRequest("from is after to")
	}
	limit, err := pageLimit(q.Get("limit"))
	if err != nil {
		return 0, nil, err
	}
	before, err := decodeIntCursor(cursorDeposits, q.Get("cursor"))
	if err != nil {
		return 0, nil, err
	}
	if before == 0 {
		before = math.MaxInt32
	}
	if err := s.settle(ctx, id, c.now); err != nil {
		return 0, nil, err
	}
	if _, err := loadAccount(ctx, s.rdb, id, c.now); err != nil {
		return 0, nil, err
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT seq, month, posted_on, kind, withdrawal_kind, amount_fen, balance_after_fen, application_id
		FROM deposits WHERE person_id = ? AND month >= ? AND month <= ? AND seq < ? ORDER BY seq DESC LIMIT ?`,
		id, from, to, before, limit+1)
	if err != nil {
		return 0, nil, err
	}
	items, seqs, err := scanDeposits(rows, id)
	if err != nil {
		return 0, nil, err
	}
	page := core.DepositPage{Items: items}
	if len(items) > limit {
		page.Items = items[:limit]
		page.NextCursor = encodeCursor(cursorDeposits, strconv.Itoa(seqs[limit-1]))
	}
	return http.StatusOK, page, nil
}

func scanDeposits(rows *sql.Rows, personID string) ([]core.Deposit, []int, error) {
	defer rows.Close()
	items := []core.Deposit{}
	var seqs []int
	for rows.Next() {
		var d core.Deposit
		var seq int
		if err := rows.Scan(&seq, &d.Month, &d.PostedOn, &d.Kind, &d.WithdrawalKind, &d.AmountFen, &d.BalanceAfterFen, &d.ApplicationID); err != nil {
			return nil, nil, err
		}
		d.ID = fmt.Sprintf("%s.%04d", personID, seq)
		items, seqs = append(items, d), append(seqs, seq)
	}
	return items, seqs, rows.Err()
}

func (s *Sim) loan(ctx context.Context, c call) (int, any, error) {
	id := c.r.PathValue("person_id")
	if _, err := loadPersonBy(ctx, s.rdb, "p.person_id", id); err != nil {
		return 0, nil, err
	}
	l, ok, err := loadLoan(ctx, s.rdb, id)
	if err != nil || !ok {
		return http.StatusOK, core.Loan{}, err
	}
	sum := l.summary(c.now)
	pos := l.position(c.now, s.currentLoanPolicy().PenaltyDailyBP)
	sum.ArrearsFen, sum.PenaltyFen = pos.ArrearsFen, pos.PenaltyFen
	return http.StatusOK, sum, nil
}

// loanSchedule pages the repayment plan by period; no loan is an empty plan.
func (s *Sim) loanSchedule(ctx context.Context, c call) (int, any, error) {
	id := c.r.PathValue("person_id")
	limit, err := pageLimit(c.r.URL.Query().Get("limit"))
	if err != nil {
		return 0, nil, err
	}
	after, err := decodeIntCursor(cursorSchedule, c.r.URL.Query().Get("cursor"))
	if err != nil {
		return 0, nil, err
	}
	if _, err := loadPersonBy(ctx, s.rdb, "p.person_id", id); err != nil {
		return 0, nil, err
	}
	page := core.SchedulePage{Items: []core.Instalment{}}
	l, ok, err := loadLoan(ctx, s.rdb, id)
	if err != nil || !ok {
		return http.StatusOK, page, err
	}
	all := l.schedule(c.now)
	if after < len(all) {
		end := min(after+limit, len(all))
		page.Items = all[after:end]
		if end < len(all) {
			page.NextCursor = encodeCursor(cursorSchedule, strconv.Itoa(end))
		}
	}
	return http.StatusOK, page, nil
}

// certificateFacts answers from one read snapshot, so a certificate never
// mixes figures from two moments.
func (s *Sim) certificateFacts(ctx context.Context, c call) (int, any, error) {
	id := c.r.PathValue("person_id")
	if err := s.settle(ctx, id, c.now); err != nil {
		return 0, nil, err
	}
	var f core.CertificateFacts
	err := s.readTx(ctx, func(q querier) error {
		var err error
		if f.Person, err = loadPersonBy(ctx, q, "p.person_id", id); err != nil {
			return err
		}
		if f.Account, err = loadAccount(ctx, q, id, c.now); err != nil {
			return err
		}
		since := (monthOf(c.now) - 24).String()
		rows, err := q.QueryContext(ctx, `SELECT seq, month, posted_on, kind, withdrawal_kind, amount_fen, balance_after_fen, application_id
			FROM deposits WHERE person_id = ? AND month >= ? AND kind IN ('remittance', 'back_payment') ORDER BY seq DESC`, id, since)
		if err != nil {
			return err
		}
		if f.Deposits, _, err = scanDeposits(rows, id); err != nil {
			return err
		}
		l, ok, err := loadLoan(ctx, q, id)
		if ok {
			f.Loan = l.summary(c.now)
		}
		return err
	})
	if err != nil {
		return 0, nil, err
	}
	f.AsOf = c.now.In(shanghai())
	return http.StatusOK, f, nil
}
