package core

import (
	"context"
	"net/http"

	"handheld/services"
)

// Endpoint names of the operator calls, reported to Observe.
const (
	endpointOperators      = "operators"
	endpointOperatorAdd    = "operator_add"
	endpointOperatorStatus = "operator_status"
	endpointOperatorReset  = "operator_password_reset"
	endpointOperatorChange = "operator_password_change"
)

// Operators lists the unit's operators.
func (c *Client) Operators(ctx context.Context, unitCode string) (OperatorList, error) {
	p, err := unitPath(PathOperators, unitCode)
	if err != nil {
		return OperatorList{}, err
	}
	return send[OperatorList](ctx, c, request{endpoint: endpointOperators, method: http.MethodGet, path: p, notFound: services.CodeUnitNotFound})
}

// AddOperator adds an operator with a temporary password; operator.exists
// when the unit already has one of that id. Not retried: a second attempt
// after a lost answer is refused as existing, never added twice.
func (c *Client) AddOperator(ctx context.Context, unitCode string, op NewOperator) (OperatorRecord, error) {
	p, err := unitPath(PathOperators, unitCode)
	if err != nil {
		return OperatorRecord{}, err
	}
	return send[OperatorRecord](ctx, c, request{endpoint: endpointOperatorAdd, method: http.MethodPost, path: p, body: op, notFound: services.CodeUnitNotFound})
}

// SetOperatorStatus disables or re-enables an operator; idempotent.
// operator.last_admin for the unit's last active administrator,
// operator.not_found for an operator the unit does not have.
func (c *Client) SetOperatorStatus(ctx context.Context, unitCode, operatorID, status string) (OperatorRecord, error) {
	p, err := operatorPath(PathOperatorStatus, unitCode, operatorID)
	if err != nil {
		return OperatorRecord{}, err
	}
	return send[OperatorRecord](ctx, c, request{endpoint: endpointOperatorStatus, method: http.MethodPut, path: p,
		body: OperatorStatus{Status: status}, notFound: services.CodeOperatorNotFound})
}

// ResetOperatorPassword sets a temporary password the operator must change
// at the next sign-in.
func (c *Client) ResetOperatorPassword(ctx context.Context, unitCode, operatorID, temporary string) (OperatorRecord, error) {
	p, err := operatorPath(PathOperatorPasswordReset, unitCode, operatorID)
	if err != nil {
		return OperatorRecord{}, err
	}
	return send[OperatorRecord](ctx, c, request{endpoint: endpointOperatorReset, method: http.MethodPost, path: p,
		body: PasswordReset{TemporaryPassword: temporary}, notFound: services.CodeOperatorNotFound})
}

// ChangeOperatorPassword is an operator choosing their own password. A
// wrong current password is core.rejected wrapping ErrInvalidCredentials,
// as at sign-in.
func (c *Client) ChangeOperatorPassword(ctx context.Context, ch PasswordChange) (Operator, error) {
	return send[Operator](ctx, c, request{endpoint: endpointOperatorChange, method: http.MethodPost, path: PathOperatorPassword,
		body: ch, notFound: services.CodeUnitNotFound, credentials: true})
}

func operatorPath(tmpl, unitCode, operatorID string) (string, error) {
	p, err := unitPath(tmpl, unitCode)
	if err != nil {
		return "", err
	}
	return expand(p, "{operator_id}", "operator id", operatorID)
}
