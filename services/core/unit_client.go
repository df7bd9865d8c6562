package core

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"handheld/services"
)

// Endpoint names of the unit calls, reported to Observe: stable metric
// labels, like the others in client_calls.go.
const (
	endpointPolicy               = "policy"
	endpointUnitAccount          = "unit_account"
	endpointUnitLedger           = "unit_ledger"
	endpointRoster               = "roster"
	endpointStaffMember          = "staff_member"
	endpointStaffChange          = "staff_change"
	endpointAdjustment           = "adjustment"
	endpointRemittances          = "remittances"
	endpointBill                 = "bill"
	endpointDeclaration          = "declaration"
	endpointSupplement           = "supplement"
	endpointArrears              = "arrears"
	endpointUnitCertificateFacts = "unit_certificate_facts"
)

// Policy reads the centre's contribution policy: rate and base bounds, the
// adjustment window and the supplement interest rate.
func (c *Client) Policy(ctx context.Context) (Policy, error) {
	return send[Policy](ctx, c, request{endpoint: endpointPolicy, method: http.MethodGet, path: PathPolicy, notFound: services.CodeNotFound})
}

// UnitAccount reads the unit account: counts, balance, the open month's
// total and arrears.
func (c *Client) UnitAccount(ctx context.Context, unitCode string) (UnitAccount, error) {
	p, err := unitPath(PathUnitAccount, unitCode)
	if err != nil {
		return UnitAccount{}, err
	}
	return send[UnitAccount](ctx, c, request{endpoint: endpointUnitAccount, method: http.MethodGet, path: p, notFound: services.CodeUnitNotFound})
}

// UnitLedger reads one page of the unit account's ledger, newest first.
func (c *Client) UnitLedger(ctx context.Context, unitCode string, q LedgerQuery) (UnitLedgerPage, error) {
	p, err := unitPath(PathUnitLedger, unitCode)
	if err != nil {
		return UnitLedgerPage{}, err
	}
	var fields []services.FieldError
	for _, m := range []struct{ field, value string }{{"from", q.From}, {"to", q.To}} {
		if m.value != "" && !validMonth(m.value) {
			fields = append(fields, services.FieldError{Field: m.field, Code: services.FieldFormat, Params: map[string]any{"format": "YYYY-MM"}})
		}
	}
	if q.Limit < 0 {
		fields = append(fields, services.FieldError{Field: "limit", Code: services.FieldOutOfRange, Params: map[string]any{"min": 0}})
	}
	if len(fields) > 0 {
		return UnitLedgerPage{}, services.Invalid(fields...)
	}
	query := pageQuery(q.Limit, q.Cursor)
	if q.From != "" {
		query.Set("from", q.From)
	}
	if q.To != "" {
		query.Set("to", q.To)
	}
	return send[UnitLedgerPage](ctx, c, request{endpoint: endpointUnitLedger, method: http.MethodGet, path: p, query: query, notFound: services.CodeUnitNotFound})
}

// Roster reads one page of the unit's staff, filtered by status and
// searched by name prefix or trailing ID number characters at the core.
func (c *Client) Roster(ctx context.Context, unitCode string, q RosterQuery) (StaffPage, error) {
	p, err := unitPath(PathStaff, unitCode)
	if err != nil {
		return StaffPage{}, err
	}
	if err := checkLimit(q.Limit); err != nil {
		return StaffPage{}, err
	}
	query := pageQuery(q.Limit, q.Cursor)
	if q.Status != "" {
		query.Set("status", q.Status)
	}
	if q.Q != "" {
		query.Set("q", q.Q)
	}
	return send[StaffPage](ctx, c, request{endpoint: endpointRoster, method: http.MethodGet, path: p, query: query, notFound: services.CodeUnitNotFound})
}

// StaffMember reads one of the unit's staff; staff.not_found when the
// unit holds no account of that person (another unit's staff included).
func (c *Client) StaffMember(ctx context.Context, unitCode, personID string) (StaffMember, error) {
	p, err := unitPath(PathStaffMember, unitCode)
	if err == nil {
		p, err = expand(p, "{person_id}", "person id", personID)
	}
	if err != nil {
		return StaffMember{}, err
	}
	return send[StaffMember](ctx, c, request{endpoint: endpointStaffMember, method: http.MethodGet, path: p, notFound: services.CodeStaffNotFound})
}

// ChangeStaff applies a join, leave or rejoin. It is idempotent on
// RequestID, so the outbox may deliver it again after any failure: the
// same change answers what it did the first time (a refusal included).
func (c *Client) ChangeStaff(ctx context.Context, unitCode string, ch StaffChange) (StaffChangeResult, error) {
	p, err := unitRequestPath(PathStaffChange, unitCode, ch.RequestID)
	if err != nil {
		return StaffChangeResult{}, err
	}
	return send[StaffChangeResult](ctx, c, request{endpoint: endpointStaffChange, method: http.MethodPut, path: p, body: ch, notFound: services.CodeStaffNotFound})
}

// Adjust changes the unit's rates and its staff's bases, all or nothing;
// idempotent on RequestID.
func (c *Client) Adjust(ctx context.Context, unitCode string, a Adjustment) (AdjustmentResult, error) {
	if len(a.Bases) > MaxBaseChanges {
		return AdjustmentResult{}, services.Invalid(services.FieldError{Field: "bases", Code: services.FieldOutOfRange, Params: map[string]any{"max": MaxBaseChanges}})
	}
	p, err := unitRequestPath(PathAdjustment, unitCode, a.RequestID)
	if err != nil {
		return AdjustmentResult{}, err
	}
	return send[AdjustmentResult](ctx, c, request{endpoint: endpointAdjustment, method: http.MethodPut, path: p, body: a, notFound: services.CodeStaffNotFound})
}

// Remittances lists a year's months with their status, oldest first.
func (c *Client) Remittances(ctx context.Context, unitCode string, year int) (RemittanceYear, error) {
	p, err := unitPath(PathRemittances, unitCode)
	if err != nil {
		return RemittanceYear{}, err
	}
	if year < 1990 || year > 9999 {
		return RemittanceYear{}, services.Invalid(services.FieldError{Field: "year", Code: services.FieldOutOfRange, Params: map[string]any{"min": 1990, "max": 9999}})
	}
	return send[RemittanceYear](ctx, c, request{endpoint: endpointRemittances, method: http.MethodGet, path: p,
		query: url.Values{"year": {strconv.Itoa(year)}}, notFound: services.CodeUnitNotFound})
}

// Bill reads a month's remittance bill, every line included. It is never
// cached: a declaration must name the version the core has now.
func (c *Client) Bill(ctx context.Context, unitCode, month string) (Bill, error) {
	p, err := unitPath(PathBill, unitCode)
	if err != nil {
		return Bill{}, err
	}
	if !validMonth(month) {
		return Bill{}, services.Invalid(services.FieldError{Field: "month", Code: services.FieldFormat, Params: map[string]any{"format": "YYYY-MM"}})
	}
	p, err = expand(p, "{month}", "month", month)
	if err != nil {
		return Bill{}, err
	}
	return send[Bill](ctx, c, request{endpoint: endpointBill, method: http.MethodGet, path: p, notFound: services.CodeUnitNotFound})
}

// Declare asks the unit's bank to collect a month's bill as read. A bill
// that changed since is remittance.bill_changed; idempotent on RequestID.
func (c *Client) Declare(ctx context.Context, unitCode string, d Declaration) (DeclarationResult, error) {
	return c.declare(ctx, endpointDeclaration, PathDeclaration, unitCode, d)
}

// Supplement declares a month in arrears, with the policy's interest;
// idempotent on RequestID.
func (c *Client) Supplement(ctx context.Context, unitCode string, d Declaration) (DeclarationResult, error) {
	return c.declare(ctx, endpointSupplement, PathSupplement, unitCode, d)
}

func (c *Client) declare(ctx context.Context, endpoint, tmpl, unitCode string, d Declaration) (DeclarationResult, error) {
	if !validMonth(d.Month) {
		return DeclarationResult{}, services.Invalid(services.FieldError{Field: "month", Code: services.FieldFormat, Params: map[string]any{"format": "YYYY-MM"}})
	}
	p, err := unitRequestPath(tmpl, unitCode, d.RequestID)
	if err != nil {
		return DeclarationResult{}, err
	}
	return send[DeclarationResult](ctx, c, request{endpoint: endpoint, method: http.MethodPut, path: p, body: d, notFound: services.CodeUnitNotFound})
}

// Arrears lists the unit's unpaid complete months with today's interest.
func (c *Client) Arrears(ctx context.Context, unitCode string) (Arrears, error) {
	p, err := unitPath(PathArrears, unitCode)
	if err != nil {
		return Arrears{}, err
	}
	return send[Arrears](ctx, c, request{endpoint: endpointArrears, method: http.MethodGet, path: p, notFound: services.CodeUnitNotFound})
}

// UnitCertificateFacts reads, in one consistent answer, what a unit
// deposit certificate states.
func (c *Client) UnitCertificateFacts(ctx context.Context, unitCode string) (UnitCertificateFacts, error) {
	p, err := unitPath(PathUnitCertificateFacts, unitCode)
	if err != nil {
		return UnitCertificateFacts{}, err
	}
	return send[UnitCertificateFacts](ctx, c, request{endpoint: endpointUnitCertificateFacts, method: http.MethodGet, path: p, notFound: services.CodeUnitNotFound})
}

func unitPath(tmpl, unitCode string) (string, error) {
	return expand(tmpl, "{unit_code}", "unit code", unitCode)
}

func unitRequestPath(tmpl, unitCode, requestID string) (string, error) {
	p, err := unitPath(tmpl, unitCode)
	if err != nil {
		return "", err
	}
	return expand(p, "{request_id}", "request id", requestID)
}

// validMonth accepts YYYY-MM with a real month.
func validMonth(s string) bool {
	if len(s) != 7 || s[4] != '-' {
		return false
	}
	for i, c := range []byte(s) {
		if i != 4 && (c < '0' || c > '9') {
			return false
		}
	}
	m := (s[5]-'0')*10 + s[6] - '0'
	return m >= 1 && m <= 12
}
