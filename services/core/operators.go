package core

// A unit's operators: the people who sign in to the employer app for it.
// The core holds them (their passwords hashed, whether they are the unit's
// administrator or a clerk, whether they are disabled); handheld manages
// them for the unit's administrator and never stores a password.
const (
	// PathOperators lists a unit's operators (GET → OperatorList) and adds
	// one (POST NewOperator → OperatorRecord; 409 operator_exists when the
	// id is taken in the unit).
	PathOperators = "/core/v1/units/{unit_code}/operators"
	// PathOperatorStatus disables or re-enables an operator: PUT
	// OperatorStatus → OperatorRecord; idempotent; 409 last_admin for the
	// unit's last active administrator; 404 not_found for an operator the
	// unit does not have.
	PathOperatorStatus = "/core/v1/units/{unit_code}/operators/{operator_id}/status"
	// PathOperatorPasswordReset sets a temporary password that must be
	// changed at the next sign-in: POST PasswordReset → OperatorRecord.
	PathOperatorPasswordReset = "/core/v1/units/{unit_code}/operators/{operator_id}/password-reset"
	// PathOperatorPassword is an operator changing their own password: POST
	// PasswordChange → Operator; 401 bad_credentials for a wrong current
	// password, an unknown or a disabled operator.
	PathOperatorPassword = "/core/v1/units/operators/password"
)

// Operator roles and statuses.
const (
	OperatorAdmin = "admin" // manages the unit's operators, and does everything a clerk does
	OperatorClerk = "clerk" // the unit's business: staff, bases, remittances, certificates

	OperatorActive   = "active"
	OperatorDisabled = "disabled"
)

// Refusal codes of the operator endpoints (409), in ErrorBody.Code.
const (
	ErrOperatorExists = "operator_exists" // 409: the unit already has an operator of that id
	ErrLastAdmin      = "last_admin"      // 409: disabling the unit's last active administrator
)

// OperatorRecord is one of a unit's operators as the administrator sees
// them. MustChangePassword is set by a reset (and for a new operator) and
// cleared when the operator chooses their own password.
type OperatorRecord struct {
	OperatorID         string `json:"operator_id"`
	Name               string `json:"name"`
	Role               string `json:"role"`
	Status             string `json:"status"`
	MustChangePassword bool   `json:"must_change_password"`
}

// OperatorList is every operator of a unit, ordered by operator id.
type OperatorList struct {
	Items []OperatorRecord `json:"items"`
}

// NewOperator adds an operator with a temporary password, which must be
// changed at the first sign-in.
type NewOperator struct {
	OperatorID        string `json:"operator_id"`
	Name              string `json:"name"`
	Role              string `json:"role"`
	TemporaryPassword string `json:"temporary_password"`
}

// OperatorStatus is the status an operator is set to.
type OperatorStatus struct {
	Status string `json:"status"`
}

// PasswordReset replaces an operator's password with a temporary one.
type PasswordReset struct {
	TemporaryPassword string `json:"temporary_password"`
}

// PasswordChange is an operator choosing a new password, proving the
// current one.
type PasswordChange struct {
	UnitCode        string `json:"unit_code"`
	OperatorID      string `json:"operator_id"`
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}
