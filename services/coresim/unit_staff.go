package coresim

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"handheld/services"
	"handheld/services/core"
)

// staffColumns are what a StaffMember is read from (accounts a, persons p).
const staffColumns = `a.person_id, p.name, p.id_number, a.account_number, a.status, a.deposit_base_fen,
	a.personal_rate_bp, a.unit_rate_bp, a.opened_on, a.sealed_month, a.seal_reason`

func scanStaff(sc interface{ Scan(...any) error }) (core.StaffMember, error) {
	var m core.StaffMember
	err := sc.Scan(&m.PersonID, &m.Name, &m.IDNumber, &m.AccountNumber, &m.Status, &m.DepositBaseFen,
		&m.PersonalRateBP, &m.UnitRateBP, &m.OpenedOn, &m.SealedMonth, &m.SealReason)
	m.MonthlyPersonalFen, m.MonthlyUnitFen = monthlyShares(m.DepositBaseFen, m.PersonalRateBP, m.UnitRateBP)
	return m, err
}

// staffFilter turns ?status= and ?q= into SQL conditions on accounts a and
// persons p: a status code; a name prefix, or 4 to 18 trailing characters
// of the ID number (digits, a final X).
func staffFilter(status, q string) (string, []any, error) {
	var where string
	var args []any
	if status != "" {
		if !slices.Contains([]string{"01", "02", "03", "04", "05", "06", "99"}, status) {
			return "", nil, badRequest("status: want an account status code (01, 02, ...)")
		}
		where += " AND a.status = ?"
		args = append(args, status)
	}
	q = strings.TrimSpace(q)
	if q == "" {
		return where, args, nil
	}
	if strings.ContainsAny(q, "0123456789") {
		q = strings.ToUpper(q)
		digits := strings.TrimSuffix(q, "X")
		if len(q) < 4 || len(q) > 18 || strings.Trim(digits, "0123456789") != "" {
			return "", nil, badRequest("q: an ID number search takes its last 4 to 18 characters")
		}
		return where + " AND substr(p.id_number, -?) = ?", append(args, len(q), q), nil
	}
	if utf8.RuneCountInString(q) > 20 {
		return "", nil, badRequest("q: a name prefix is at most 20 characters")
	}
	return where + " AND substr(p.name, 1, ?) = ?", append(args, utf8.RuneCountInString(q), q), nil
}

// staff pages a unit's depositors by person id, filtered and searched;
// Total counts every match.
func (s *Sim) staff(ctx context.Context, c call) (int, any, error) {
	code := c.r.PathValue("unit_code")
	q := c.r.URL.Query()
	limit, err := pageLimit(q.Get("limit"))
	if err != nil {
		return 0, nil, err
	}
	after, err := decodeCursor(cursorStaff, q.Get("cursor"))
	if err != nil {
		return 0, nil, err
	}
	where, args, err := staffFilter(q.Get("status"), q.Get("q"))
	if err != nil {
		return 0, nil, err
	}
	page := core.StaffPage{Items: []core.StaffMember{}}
	err = s.readTx(ctx, func(tx querier) error {
		if err := unitExists(ctx, tx, code); err != nil {
			return err
		}
		from := ` FROM accounts a JOIN persons p ON p.person_id = a.person_id WHERE a.unit_code = ?` + where
		if err := tx.QueryRowContext(ctx, `SELECT count(*)`+from, append([]any{code}, args...)...).Scan(&page.Total); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+staffColumns+from+` AND a.person_id > ? ORDER BY a.person_id LIMIT ?`,
			append(append([]any{code}, args...), after, limit+1)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			m, err := scanStaff(rows)
			if err != nil {
				return err
			}
			page.Items = append(page.Items, m)
		}
		return rows.Err()
	})
	if err != nil {
		return 0, nil, err
	}
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		page.NextCursor = encodeCursor(cursorStaff, page.Items[limit-1].PersonID)
	}
	return http.StatusOK, page, nil
}

func unitExists(ctx context.Context, q querier, code string) error {
	var exists bool
	if err := q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM units WHERE unit_code = ?)`, code).Scan(&exists); err != nil {
		return err
	}
	if !exists {
		return notFound("no such unit")
	}
	return nil
}

// staffMember reads one person the unit holds an account of.
func (s *Sim) staffMember(ctx context.Context, c call) (int, any, error) {
	m, err := loadStaff(ctx, s.rdb, c.r.PathValue("unit_code"), c.r.PathValue("person_id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, m, nil
}

func loadStaff(ctx context.Context, q querier, unitCode, personID string) (core.StaffMember, error) {
	m, err := scanStaff(q.QueryRowContext(ctx, `SELECT `+staffColumns+` FROM accounts a JOIN persons p ON p.person_id = a.person_id
		WHERE a.unit_code = ? AND a.person_id = ?`, unitCode, personID))
	if err == sql.ErrNoRows {
		return m, notFound("the unit holds no account of that person")
	}
	return m, err
}

// leaveReasons are the reasons a leave may give.
func leaveReasons() []string {
	return []string{core.LeaveResigned, core.LeaveContractEnded, core.LeaveRetired, core.LeaveDismissed, core.LeaveOther}
}

// staffChange applies a join, leave or rejoin, once per request id.
func (s *Sim) staffChange(ctx context.Context, c call) (int, any, error) {
	var in core.StaffChange
	if err := decodeJSON(c.body, &in); err != nil {
		return 0, nil, err
	}
	code := c.r.PathValue("unit_code")
	if in.RequestID != c.r.PathValue("request_id") {
		return 0, nil, badRequest("request_id must equal the one in the path")
	}
	if err := checkStaffChange(in); err != nil {
		return 0, nil, err
	}
	return s.idempotent(ctx, code, in.RequestID, "staff_change", in, func(ctx context.Context, tx *sql.Tx) (any, error) {
		res, err := s.applyStaffChange(ctx, tx, code, in, c.now)
		if err != nil {
			return nil, err
		}
		res.RequestID, res.Kind, res.AppliedAt = in.RequestID, in.Kind, c.now.UTC()
		return res, bumpRevision(ctx, tx, code)
	})
}

// checkStaffChange refuses what is malformed whatever the data (400).
func checkStaffChange(in core.StaffChange) error {
	if in.Month != "" {
		if _, err := parseMonth(in.Month); err != nil {
			return badRequest("month: want YYYY-MM")
		}
	}
	switch in.Kind {
	case core.ChangeJoin:
		if strings.TrimSpace(in.Name) == "" || utf8.RuneCountInString(in.Name) > 30 || in.IDNumber == "" || in.BaseFen <= 0 || in.Month == "" {
			return badRequest("join: name (at most 30 characters), id_number, base_fen and month are required")
		}
	case core.ChangeLeave:
		if in.PersonID == "" || in.Month == "" || !slices.Contains(leaveReasons(), in.Reason) {
			return badRequest("leave: person_id, month and reason (" + strings.Join(leaveReasons(), ", ") + ") are required")
		}
	case core.ChangeRejoin:
		if in.PersonID == "" || in.BaseFen < 0 {
			return badRequest("rejoin: person_id is required, base_fen must not be negative")
		}
	default:
		return badRequest("kind: want join, leave or rejoin")
	}
	return nil
}

func (s *Sim) checkBase(base int64) error {
	if base < s.policy.MinBaseFen || base > s.policy.MaxBaseFen {
		return invalid(core.ErrBaseOutOfRange, fmt.Sprintf("base must be %d to %d fen", s.policy.MinBaseFen, s.policy.MaxBaseFen))
	}
	return nil
}

func (s *Sim) applyStaffChange(ctx context.Context, tx *sql.Tx, code string, in core.StaffChange, now time.Time) (core.StaffChangeResult, error) {
	var unitRate, personalRate int
	if err := tx.QueryRowContext(ctx, `SELECT unit_rate_bp, personal_rate_bp FROM units WHERE unit_code = ?`, code).Scan(&unitRate, &personalRate); err != nil {
		return core.StaffChangeResult{}, err
	}
	switch in.Kind {
	case core.ChangeJoin:
		return s.join(ctx, tx, code, in, unitRate, personalRate, now)
	case core.ChangeLeave:
		m, err := loadStaff(ctx, tx, code, in.PersonID)
		if err != nil {
			return core.StaffChangeResult{}, err
		}
		switch m.Status {
		case core.StatusSealed:
			return core.StaffChangeResult{}, refuse(core.ErrAlreadySealed, "the account is already sealed")
		case core.StatusNormal:
		default:
			return core.StaffChangeResult{}, refuse(core.ErrNotActive, "only a normal account can be sealed")
		}
		if mm, _ := parseMonth(in.Month); mm > monthOf(now)+1 {
			return core.StaffChangeResult{}, refuse(core.ErrMonthNotOpen, "the last month remitted is after next month")
		}
		_, err = tx.ExecContext(ctx, `UPDATE accounts SET status = '02', sealed_month = ?, seal_reason = ? WHERE person_id = ?`, in.Month, in.Reason, m.PersonID)
		return core.StaffChangeResult{Outcome: core.OutcomeSealed, PersonID: m.PersonID, AccountNumber: m.AccountNumber}, err
	default: // rejoin
		m, err := loadStaff(ctx, tx, code, in.PersonID)
		if err != nil {
			return core.StaffChangeResult{}, err
		}
		if m.Status != core.StatusSealed {
			return core.StaffChangeResult{}, refuse(core.ErrNotSealed, "only a sealed account can be reopened")
		}
		base := m.DepositBaseFen
		if in.BaseFen > 0 {
			base = in.BaseFen
		}
		if err := s.checkBase(base); err != nil {
			return core.StaffChangeResult{}, err
		}
		_, err = tx.ExecContext(ctx, `UPDATE accounts SET status = '01', sealed_month = '', seal_reason = '', deposit_base_fen = ?,
			unit_rate_bp = ?, personal_rate_bp = ? WHERE person_id = ?`, base, unitRate, personalRate, m.PersonID)
		return core.StaffChangeResult{Outcome: core.OutcomeUnsealed, PersonID: m.PersonID, AccountNumber: m.AccountNumber}, err
	}
}

// join opens an account, or transfers in a sealed account of another unit
// of the city (the person keeps one account, which moves), or reopens a
// closed one.
func (s *Sim) join(ctx context.Context, tx *sql.Tx, code string, in core.StaffChange, unitRate, personalRate int, now time.Time) (core.StaffChangeResult, error) {
	id := strings.ToUpper(in.IDNumber)
	if services.ValidateIDNumber(id, now) != nil {
		return core.StaffChangeResult{}, invalid(core.ErrInvalidIDNumber, "the ID number fails GB 11643")
	}
	if err := s.checkBase(in.BaseFen); err != nil {
		return core.StaffChangeResult{}, err
	}
	start, _ := parseMonth(in.Month)
	if start > monthOf(now)+1 {
		return core.StaffChangeResult{}, refuse(core.ErrMonthNotOpen, "the first month is after next month")
	}
	var personID, name string
	var accountNumber, status, fromUnit sql.NullString
	err := tx.QueryRowContext(ctx, `SELECT p.person_id, p.name, a.account_number, a.status, a.unit_code
		FROM persons p LEFT JOIN accounts a ON a.person_id = p.person_id WHERE p.id_number = ?`, id).
		Scan(&personID, &name, &accountNumber, &status, &fromUnit)
	switch {
	case err == sql.ErrNoRows:
		sum := sha256.Sum256([]byte(id))
		personID = "P4" + hex.EncodeToString(sum[:6])
		if _, err := tx.ExecContext(ctx, `INSERT INTO persons (person_id, name, id_number, phone, bank_card, face_token) VALUES (?, ?, ?, '', '', '')`,
			personID, strings.TrimSpace(in.Name), id); err != nil {
			return core.StaffChangeResult{}, err
		}
	case err != nil:
		return core.StaffChangeResult{}, err
	case name != strings.TrimSpace(in.Name):
		return core.StaffChangeResult{}, invalid(core.ErrNameMismatch, "the ID number belongs to a person of another name")
	}
	opened := date(start.day(1))
	if !accountNumber.Valid {
		n, err := nextAccountNumber(ctx, tx)
		if err != nil {
			return core.StaffChangeResult{}, err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO accounts (person_id, account_number, status, unit_code, deposit_base_fen,
			personal_rate_bp, unit_rate_bp, opened_on, balance_fen) VALUES (?, ?, '01', ?, ?, ?, ?, ?, 0)`,
			personID, n, code, in.BaseFen, personalRate, unitRate, opened)
		return core.StaffChangeResult{Outcome: core.OutcomeOpened, PersonID: personID, AccountNumber: n}, err
	}
	res := core.StaffChangeResult{PersonID: personID, AccountNumber: accountNumber.String}
	switch {
	case fromUnit.String == code:
		return res, refuse(core.ErrAlreadyEmployed, "the unit already holds the person's account")
	case status.String == core.StatusSealed:
		res.Outcome, res.FromUnitCode = core.OutcomeTransferredIn, fromUnit.String
	case status.String == core.StatusNormal || status.String == core.StatusFrozen:
		return res, refuse(core.ErrEmployedElsewhere, "the account is active at another unit")
	default: // closed: reopened here
		res.Outcome = core.OutcomeOpened
	}
	_, err = tx.ExecContext(ctx, `UPDATE accounts SET status = '01', unit_code = ?, deposit_base_fen = ?, personal_rate_bp = ?, unit_rate_bp = ?,
		sealed_month = '', seal_reason = '', opened_on = CASE WHEN ? THEN opened_on ELSE ? END WHERE person_id = ?`,
		code, in.BaseFen, personalRate, unitRate, res.Outcome == core.OutcomeTransferredIn, opened, personID)
	return res, err
}

// nextAccountNumber numbers accounts opened through the contract.
func nextAccountNumber(ctx context.Context, tx *sql.Tx) (string, error) {
	v, err := metaValue(ctx, tx, "opened_accounts")
	if err != nil {
		return "", err
	}
	var n int
	fmt.Sscan(v, &n)
	n++
	if err := setMeta(ctx, tx, "opened_accounts", fmt.Sprint(n)); err != nil {
		return "", err
	}
	return fmt.Sprintf("33014%07d", n), nil
}
