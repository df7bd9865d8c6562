package coresim

import (
	"context"
	"database/sql"
	"net/http"

	"golang.org/x/crypto/bcrypt"

	"handheld/services/core"
)

// operatorAuth checks an employer operator's password (bcrypt). Unknown
// units, unknown or disabled operators and wrong passwords get the same
// answer.
func (s *Sim) operatorAuth(ctx context.Context, c call) (int, any, error) {
	var in core.OperatorLogin
	if err := decodeJSON(c.body, &in); err != nil {
		return 0, nil, err
	}
	if in.UnitCode == "" || in.OperatorID == "" || in.Password == "" {
		return 0, nil, badRequest("unit_code, operator_id and password are required")
	}
	op, err := s.checkOperatorPassword(ctx, in.UnitCode, in.OperatorID, in.Password)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, op, nil
}

// checkOperatorPassword answers the operator when the password is theirs
// and they are active, and bad_credentials otherwise, whichever it was.
func (s *Sim) checkOperatorPassword(ctx context.Context, unitCode, operatorID, password string) (core.Operator, error) {
	denied := &apiError{status: http.StatusUnauthorized, code: core.ErrBadCredentials, msg: "unit code, operator id or password wrong"}
	op := core.Operator{UnitCode: unitCode, OperatorID: operatorID}
	var hash, status string
	err := s.rdb.QueryRowContext(ctx, `SELECT name, password_hash, role, status, must_change FROM operators WHERE unit_code = ? AND operator_id = ?`,
		unitCode, operatorID).Scan(&op.Name, &hash, &op.Role, &status, &op.MustChangePassword)
	if err == sql.ErrNoRows {
		return core.Operator{}, denied
	}
	if err != nil {
		return core.Operator{}, err
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil || status != core.OperatorActive {
		return core.Operator{}, denied
	}
	return op, nil
}

// unit reads an employer; StaffCount counts every account the unit holds,
// as the staff list does.
func (s *Sim) unit(ctx context.Context, c call) (int, any, error) {
	u, err := loadUnit(ctx, s.rdb, c.r.PathValue("unit_code"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, u, nil
}

func loadUnit(ctx context.Context, q querier, code string) (core.Unit, error) {
	var u core.Unit
	err := q.QueryRowContext(ctx, `SELECT unit_code, name, account_number, status, unit_rate_bp, personal_rate_bp, paid_up_to,
			(SELECT count(*) FROM accounts a WHERE a.unit_code = units.unit_code)
		FROM units WHERE unit_code = ?`, code).
		Scan(&u.UnitCode, &u.Name, &u.AccountNumber, &u.Status, &u.UnitRateBP, &u.PersonalRateBP, &u.PaidUpTo, &u.StaffCount)
	if err == sql.ErrNoRows {
		return u, notFound("no such unit")
	}
	return u, err
}
