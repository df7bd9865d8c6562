package coresim

import (
	"context"
	"database/sql"
	"net/http"
	"regexp"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"handheld/services/core"
)

// A unit's operators: listed, added with a temporary password, disabled
// and enabled (never the last active administrator), reset to a temporary
// password, and changing their own. Passwords are hashed with bcrypt at
// the simulator's cost, outside the write transaction.

var simOperatorID = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

const operatorColumns = `operator_id, name, role, status, must_change`

func scanOperator(sc interface{ Scan(...any) error }) (core.OperatorRecord, error) {
	var o core.OperatorRecord
	err := sc.Scan(&o.OperatorID, &o.Name, &o.Role, &o.Status, &o.MustChangePassword)
	return o, err
}

func loadOperator(ctx context.Context, q querier, unitCode, operatorID string) (core.OperatorRecord, error) {
	o, err := scanOperator(q.QueryRowContext(ctx, `SELECT `+operatorColumns+` FROM operators WHERE unit_code = ? AND operator_id = ?`,
		unitCode, operatorID))
	if err == sql.ErrNoRows {
		return o, notFound("no such operator in the unit")
	}
	return o, err
}

// checkPassword is the core's own floor; handheld's policy is stricter.
func checkPassword(field, pw string) error {
	if pw == "" || utf8.RuneCountInString(pw) > 128 {
		return badRequest(field + ": 1 to 128 characters")
	}
	return nil
}

func (s *Sim) hash(pw string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(pw), s.bcryptCost)
	return string(h), err
}

// operators lists a unit's operators by id.
func (s *Sim) operators(ctx context.Context, c call) (int, any, error) {
	code := c.r.PathValue("unit_code")
	list := core.OperatorList{Items: []core.OperatorRecord{}}
	err := s.readTx(ctx, func(q querier) error {
		if err := unitExists(ctx, q, code); err != nil {
			return err
		}
		rows, err := q.QueryContext(ctx, `SELECT `+operatorColumns+` FROM operators WHERE unit_code = ? ORDER BY operator_id`, code)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			o, err := scanOperator(rows)
			if err != nil {
				return err
			}
			list.Items = append(list.Items, o)
		}
		return rows.Err()
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, list, nil
}

// addOperator adds an operator who must change the temporary password at
// the first sign-in.
func (s *Sim) addOperator(ctx context.Context, c call) (int, any, error) {
	code := c.r.PathValue("unit_code")
	var in core.NewOperator
	if err := decodeJSON(c.body, &in); err != nil {
		return 0, nil, err
	}
	switch {
	case !simOperatorID.MatchString(in.OperatorID):
		return 0, nil, badRequest("operator_id: 1 to 64 of A-Z a-z 0-9 _ . -")
	case in.Name == "" || utf8.RuneCountInString(in.Name) > 50:
		return 0, nil, badRequest("name: 1 to 50 characters")
	case in.Role != core.OperatorAdmin && in.Role != core.OperatorClerk:
		return 0, nil, badRequest("role: admin or clerk")
	}
	if err := checkPassword("temporary_password", in.TemporaryPassword); err != nil {
		return 0, nil, err
	}
	hash, err := s.hash(in.TemporaryPassword)
	if err != nil {
		return 0, nil, err
	}
	var out core.OperatorRecord
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if err := unitExists(ctx, tx, code); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO operators (unit_code, operator_id, name, password_hash, role, status, must_change)
			VALUES (?, ?, ?, ?, ?, ?, 1) ON CONFLICT (unit_code, operator_id) DO NOTHING`,
			code, in.OperatorID, in.Name, hash, in.Role, core.OperatorActive)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return refuse(core.ErrOperatorExists, "the unit already has an operator of that id")
		}
		out, err = loadOperator(ctx, tx, code, in.OperatorID)
		return err
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, out, nil
}

// operatorStatus disables or enables an operator. The unit's last active
// administrator stays active, checked in the same transaction as the
// change, so two administrators disabling each other at once cannot leave
// the unit without one.
func (s *Sim) operatorStatus(ctx context.Context, c call) (int, any, error) {
	code, id := c.r.PathValue("unit_code"), c.r.PathValue("operator_id")
	var in core.OperatorStatus
	if err := decodeJSON(c.body, &in); err != nil {
		return 0, nil, err
	}
	if in.Status != core.OperatorActive && in.Status != core.OperatorDisabled {
		return 0, nil, badRequest("status: active or disabled")
	}
	var out core.OperatorRecord
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		o, err := loadOperator(ctx, tx, code, id)
		if err != nil {
			return err
		}
		if in.Status == core.OperatorDisabled && o.Role == core.OperatorAdmin && o.Status == core.OperatorActive {
			var others int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM operators WHERE unit_code = ? AND operator_id <> ? AND role = ? AND status = ?`,
				code, id, core.OperatorAdmin, core.OperatorActive).Scan(&others); err != nil {
				return err
			}
			if others == 0 {
				return refuse(core.ErrLastAdmin, "the unit's last active administrator")
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE operators SET status = ? WHERE unit_code = ? AND operator_id = ?`, in.Status, code, id); err != nil {
			return err
		}
		o.Status = in.Status
		out = o
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, out, nil
}

// resetOperatorPassword replaces the password with a temporary one.
func (s *Sim) resetOperatorPassword(ctx context.Context, c call) (int, any, error) {
	code, id := c.r.PathValue("unit_code"), c.r.PathValue("operator_id")
	var in core.PasswordReset
	if err := decodeJSON(c.body, &in); err != nil {
		return 0, nil, err
	}
	if err := checkPassword("temporary_password", in.TemporaryPassword); err != nil {
		return 0, nil, err
	}
	if _, err := loadOperator(ctx, s.rdb, code, id); err != nil {
		return 0, nil, err // before hashing: an unknown operator costs nothing
	}
	hash, err := s.hash(in.TemporaryPassword)
	if err != nil {
		return 0, nil, err
	}
	var out core.OperatorRecord
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE operators SET password_hash = ?, must_change = 1 WHERE unit_code = ? AND operator_id = ?`, hash, code, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("no such operator in the unit")
		}
		out, err = loadOperator(ctx, tx, code, id)
		return err
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, out, nil
}

// changeOperatorPassword is an operator choosing a password: the current
// one proves who they are, as at sign-in (same refusal for every failure).
func (s *Sim) changeOperatorPassword(ctx context.Context, c call) (int, any, error) {
	var in core.PasswordChange
	if err := decodeJSON(c.body, &in); err != nil {
		return 0, nil, err
	}
	if in.UnitCode == "" || in.OperatorID == "" || in.CurrentPassword == "" {
		return 0, nil, badRequest("unit_code, operator_id and current_password are required")
	}
	if err := checkPassword("new_password", in.NewPassword); err != nil {
		return 0, nil, err
	}
	op, err := s.checkOperatorPassword(ctx, in.UnitCode, in.OperatorID, in.CurrentPassword)
	if err != nil {
		return 0, nil, err
	}
	hash, err := s.hash(in.NewPassword)
	if err != nil {
		return 0, nil, err
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE operators SET password_hash = ?, must_change = 0 WHERE unit_code = ? AND operator_id = ?`,
			hash, in.UnitCode, in.OperatorID)
		return err
	})
	if err != nil {
		return 0, nil, err
	}
	op.MustChangePassword = false
	return http.StatusOK, op, nil
}
