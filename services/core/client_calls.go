package core

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"handheld/services"
)

// Endpoint names reported to Observe and used in error causes. They are
// stable metric labels: rename one and dashboards lose their history.
const (
	endpointHealth             = "health"
	endpointVerifyRealName     = "verify_real_name"
	endpointVerifyFace         = "verify_face"
	endpointPerson             = "person"
	endpointAccount            = "account"
	endpointDeposits           = "deposits"
	endpointLoan               = "loan"
	endpointLoanSchedule       = "loan_schedule"
	endpointCertificateFacts   = "certificate_facts"
	endpointOperatorAuth       = "operator_auth"
	endpointUnit               = "unit"
	endpointStaff              = "staff"
	endpointSubmitWithdrawal   = "withdrawal_submit"
	endpointWithdrawalMaterial = "withdrawal_material"
	endpointWithdrawal         = "withdrawal"
	endpointCancelWithdrawal   = "withdrawal_cancel"
	endpointPayoutAccounts     = "payout_accounts"
	endpointEvidenceCheck      = "evidence_check"
)

// DepositQuery selects a page of the deposit history. From and To are
// months (YYYY-MM, inclusive, either may be empty); Limit 0 leaves the page
// size to the core; Cursor is the previous page's NextCursor.
type DepositQuery struct {
	From   string
	To     string
	Limit  int
	Cursor string
}

// Health answers nil when the core is up and accepts our signature, so a
// readiness probe catches a wrong key or secret as well as an outage.
func (c *Client) Health(ctx context.Context) error {
	return c.do(ctx, request{endpoint: endpointHealth, method: http.MethodGet, path: PathHealth, notFound: services.CodeNotFound}, nil)
}

// VerifyRealName asks the core whether name and idNumber belong to one
// person; a mismatch is person.not_found, so binding cannot tell "wrong name"
// from "unknown ID number" and cannot be used to probe ID numbers.
func (c *Client) VerifyRealName(ctx context.Context, name, idNumber string) (Person, error) {
	return send[Person](ctx, c, request{
		endpoint: endpointVerifyRealName, method: http.MethodPost, path: PathPersonVerify,
		body: RealNameCheck{Name: name, IDNumber: idNumber}, notFound: services.CodePersonNotFound,
	})
}

// VerifyFace asks whether a kiosk's liveness token belongs to the named
// person. A non-matching face is FaceResult{Match: false}, not an error.
func (c *Client) VerifyFace(ctx context.Context, fc FaceCheck) (FaceResult, error) {
	return send[FaceResult](ctx, c, request{
		endpoint: endpointVerifyFace, method: http.MethodPost, path: PathFaceVerify,
		body: fc, notFound: services.CodePersonNotFound,
	})
}

// Person returns the core's record of a person.
func (c *Client) Person(ctx context.Context, personID string) (Person, error) {
	p, err := personPath(PathPerson, personID)
	if err != nil {
		return Person{}, err
	}
	return send[Person](ctx, c, request{endpoint: endpointPerson, method: http.MethodGet, path: p, notFound: services.CodePersonNotFound})
}

// Account returns a person's HPF account; account.not_found when the person
// exists but has none.
func (c *Client) Account(ctx context.Context, personID string) (Account, error) {
	p, err := personPath(PathAccount, personID)
	if err != nil {
		return Account{}, err
	}
	return send[Account](ctx, c, request{endpoint: endpointAccount, method: http.MethodGet, path: p, notFound: services.CodePersonNotFound})
}

// Deposits returns one page of a person's deposit history, newest first.
func (c *Client) Deposits(ctx context.Context, personID string, q DepositQuery) (DepositPage, error) {
	p, err := personPath(PathDeposits, personID)
	if err != nil {
		return DepositPage{}, err
	}
	var fields []services.FieldError
	for _, m := range []struct{ field, value string }{{"from", q.From}, {"to", q.To}} {
		if m.value == "" {
			continue
		}
		if _, err := time.Parse("2006-01", m.value); err != nil {
			fields = append(fields, services.FieldError{Field: m.field, Code: services.FieldFormat, Params: map[string]any{"format": "YYYY-MM"}})
		}
	}
	if q.Limit < 0 {
		fields = append(fields, services.FieldError{Field: "limit", Code: services.FieldOutOfRange, Params: map[string]any{"min": 0}})
	}
	if len(fields) > 0 {
		return DepositPage{}, services.Invalid(fields...)
	}
	query := pageQuery(q.Limit, q.Cursor)
	if q.From != "" {
		query.Set("from", q.From)
	}
	if q.To != "" {
		query.Set("to", q.To)
	}
	return send[DepositPage](ctx, c, request{endpoint: endpointDeposits, method: http.MethodGet, path: p, query: query, notFound: services.CodePersonNotFound})
}

// Loan returns a person's HPF loan summary; a person without a loan is
// Loan{HasLoan: false}, not an error.
func (c *Client) Loan(ctx context.Context, personID string) (Loan, error) {
	p, err := personPath(PathLoan, personID)
	if err != nil {
		return Loan{}, err
	}
	return send[Loan](ctx, c, request{endpoint: endpointLoan, method: http.MethodGet, path: p, notFound: services.CodePersonNotFound})
}

// LoanSchedule returns one page of a person's repayment plan. Limit 0 leaves
// the page size to the core; cursor is the previous page's NextCursor.
func (c *Client) LoanSchedule(ctx context.Context, personID string, limit int, cursor string) (SchedulePage, error) {
	p, err := personPath(PathLoanSchedule, personID)
	if err != nil {
		return SchedulePage{}, err
	}
	if err := checkLimit(limit); err != nil {
		return SchedulePage{}, err
	}
	return send[SchedulePage](ctx, c, request{endpoint: endpointLoanSchedule, method: http.MethodGet, path: p, query: pageQuery(limit, cursor), notFound: services.CodePersonNotFound})
}

// CertificateFacts returns, in one consistent answer, what a deposit-and-use
// certificate states, so a certificate never mixes figures from two moments.
func (c *Client) CertificateFacts(ctx context.Context, personID string) (CertificateFacts, error) {
	p, err := personPath(PathCertificateFacts, personID)
	if err != nil {
		return CertificateFacts{}, err
	}
	return send[CertificateFacts](ctx, c, request{endpoint: endpointCertificateFacts, method: http.MethodGet, path: p, notFound: services.CodePersonNotFound})
}

// AuthenticateOperator checks an employer operator's credentials at the
// core. Wrong credentials are core.rejected wrapping ErrInvalidCredentials;
// an unknown unit is unit.not_found.
func (c *Client) AuthenticateOperator(ctx context.Context, login OperatorLogin) (Operator, error) {
	return send[Operator](ctx, c, request{
		endpoint: endpointOperatorAuth, method: http.MethodPost, path: PathOperatorAuth,
		body: login, notFound: services.CodeUnitNotFound, credentials: true,
	})
}

// Unit returns an employer's record.
func (c *Client) Unit(ctx context.Context, unitCode string) (Unit, error) {
	p, err := expand(PathUnit, "{unit_code}", "unit code", unitCode)
	if err != nil {
		return Unit{}, err
	}
	return send[Unit](ctx, c, request{endpoint: endpointUnit, method: http.MethodGet, path: p, notFound: services.CodeUnitNotFound})
}

// Staff returns one page of an employer's depositors. Limit 0 leaves the page
// size to the core; cursor is the previous page's NextCursor.
func (c *Client) Staff(ctx context.Context, unitCode string, limit int, cursor string) (StaffPage, error) {
	p, err := expand(PathStaff, "{unit_code}", "unit code", unitCode)
	if err != nil {
		return StaffPage{}, err
	}
	if err := checkLimit(limit); err != nil {
		return StaffPage{}, err
	}
	return send[StaffPage](ctx, c, request{endpoint: endpointStaff, method: http.MethodGet, path: p, query: pageQuery(limit, cursor), notFound: services.CodeUnitNotFound})
}

// SubmitWithdrawal sends an application to the core. It is idempotent on
// ApplicationID, so the outbox may deliver it again after any failure: the
// same application returns its status, a changed one is core.rejected.
func (c *Client) SubmitWithdrawal(ctx context.Context, w Withdrawal) (WithdrawalStatus, error) {
	p, err := expand(PathWithdrawal, "{application_id}", "application id", w.ApplicationID)
	if err != nil {
		return WithdrawalStatus{}, err
	}
	return send[WithdrawalStatus](ctx, c, request{
		endpoint: endpointSubmitWithdrawal, method: http.MethodPut, path: p,
		body: w, notFound: services.CodePersonNotFound,
	})
}

// PutWithdrawalMaterial sends one uploaded document of an application
// before the application itself. Sending the same bytes again is
// harmless; other bytes under the same material id are core.conflict.
func (c *Client) PutWithdrawalMaterial(ctx context.Context, applicationID, materialID, mediaType string, data []byte) error {
	p, err := expand(PathWithdrawalMaterial, "{application_id}", "application id", applicationID)
	if err == nil {
		p, err = expand(p, "{material_id}", "material id", materialID)
	}
	if err != nil {
		return err
	}
	if data == nil {
		data = []byte{}
	}
	return c.do(ctx, request{endpoint: endpointWithdrawalMaterial, method: http.MethodPut, path: p,
		raw: data, rawType: mediaType, notFound: services.CodeNotFound}, nil)
}

// Withdrawal returns the core's status of an application, for polling after
// submission; not_found when the core never received it.
func (c *Client) Withdrawal(ctx context.Context, applicationID string) (WithdrawalStatus, error) {
	p, err := expand(PathWithdrawal, "{application_id}", "application id", applicationID)
	if err != nil {
		return WithdrawalStatus{}, err
	}
	return send[WithdrawalStatus](ctx, c, request{endpoint: endpointWithdrawal, method: http.MethodGet, path: p, notFound: services.CodeNotFound})
}

// CancelWithdrawal withdraws an application the core has not decided yet.
// It is idempotent, so it may be retried; once the core has approved,
// rejected or paid the application it is core.rejected (reason conflict),
// and not_found when the core never received it.
func (c *Client) CancelWithdrawal(ctx context.Context, applicationID string) (WithdrawalStatus, error) {
	p, err := expand(PathWithdrawalCancel, "{application_id}", "application id", applicationID)
	if err != nil {
		return WithdrawalStatus{}, err
	}
	return send[WithdrawalStatus](ctx, c, request{endpoint: endpointCancelWithdrawal, method: http.MethodPost, path: p, notFound: services.CodeNotFound})
}

// PayoutAccounts lists the bank cards and e-CNY wallets the core holds
// under the person's name. It is never cached: an application is checked
// against the list as the core has it now.
func (c *Client) PayoutAccounts(ctx context.Context, personID string) (PayoutAccountList, error) {
	p, err := personPath(PathPayoutAccounts, personID)
	if err != nil {
		return PayoutAccountList{}, err
	}
	return send[PayoutAccountList](ctx, c, request{endpoint: endpointPayoutAccounts, method: http.MethodGet, path: p, notFound: services.CodePersonNotFound})
}

// CheckEvidence asks the core which references do not name a record of
// the person in one of the categories.
func (c *Client) CheckEvidence(ctx context.Context, personID string, check EvidenceCheck) (EvidenceResult, error) {
	p, err := personPath(PathEvidenceCheck, personID)
	if err != nil {
		return EvidenceResult{}, err
	}
	return send[EvidenceResult](ctx, c, request{endpoint: endpointEvidenceCheck, method: http.MethodPost, path: p, body: check, notFound: services.CodePersonNotFound})
}

func personPath(tmpl, personID string) (string, error) {
	return expand(tmpl, "{person_id}", "person id", personID)
}

// expand fills one path parameter, escaped. An empty or dot-segment value
// would address a different resource, so it is refused before any request:
// it can only come from a bug in the caller, hence internal.
func expand(tmpl, param, what, value string) (string, error) {
	if value == "" || value == "." || value == ".." {
		return "", services.Errorf(services.CodeInternal, "core: empty or invalid %s", what)
	}
	return strings.Replace(tmpl, param, url.PathEscape(value), 1), nil
}

func checkLimit(limit int) error {
	if limit < 0 {
		return services.Invalid(services.FieldError{Field: "limit", Code: services.FieldOutOfRange, Params: map[string]any{"min": 0}})
	}
	return nil
}

func pageQuery(limit int, cursor string) url.Values {
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	return q
}
