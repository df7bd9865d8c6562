package coresim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"handheld/services/core"
)

// maxBody bounds request bodies: most are a few hundred bytes, an
// adjustment of core.MaxBaseChanges bases about 60 KiB.
const maxBody = 256 << 10

// apiError is an answer other than success: a status and a core.ErrorBody.
type apiError struct {
	status     int
	code       string
	msg        string
	retryAfter int // seconds; 0 for none
}

func (e *apiError) Error() string { return e.code + ": " + e.msg }

func badRequest(msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: core.ErrBadRequest, msg: msg}
}

func notFound(msg string) *apiError {
	return &apiError{status: http.StatusNotFound, code: core.ErrNotFound, msg: msg}
}

// call is one authenticated request as an endpoint sees it. now is read
// once per request so that every decision in it agrees on the time.
type call struct {
	r    *http.Request
	body []byte
	now  time.Time
}

// endpoint answers a call with a status and a JSON value, or an error
// (an *apiError, or anything else for 500).
type endpoint func(ctx context.Context, c call) (int, any, error)

// routes maps every contract path to its endpoint.
func (s *Sim) routes() http.Handler {
	mux := http.NewServeMux()
	add := func(method, path, group string, fn endpoint) {
		mux.Handle(method+" "+path, s.serve(group, path, fn))
	}
	add(http.MethodGet, core.PathHealth, GroupHealth, s.health)
	add(http.MethodPost, core.PathPersonVerify, GroupPerson, s.verifyPerson)
	add(http.MethodPost, core.PathFaceVerify, GroupPerson, s.verifyFace)
	add(http.MethodGet, core.PathPerson, GroupPerson, s.person)
	add(http.MethodGet, core.PathAccount, GroupAccount, s.account)
	add(http.MethodGet, core.PathDeposits, GroupDeposits, s.deposits)
	add(http.MethodGet, core.PathLoan, GroupLoan, s.loan)
	add(http.MethodGet, core.PathLoanSchedule, GroupLoan, s.loanSchedule)
	add(http.MethodGet, core.PathCertificateFacts, GroupCertificate, s.certificateFacts)
	add(http.MethodGet, core.PathLoanPolicy, GroupLoan, s.loanPolicyEndpoint)
	add(http.MethodGet, core.PathLoanPosition, GroupLoan, s.loanPosition)
	add(http.MethodGet, core.PathLoanRepaymentAccount, GroupLoan, s.repaymentAccount)
	add(http.MethodPut, core.PathLoanRepaymentAccount, GroupLoan, s.changeRepaymentAccount)
	add(http.MethodGet, core.PathLoanRepayments, GroupLoan, s.loanRepayments)
	add(http.MethodGet, core.PathLoanApplications, GroupLoan, s.loanApplications)
	add(http.MethodPut, core.PathPrepayment, GroupLoan, s.applyPrepayment)
	add(http.MethodGet, core.PathPrepayment, GroupLoan, s.getPrepayment)
	add(http.MethodPut, core.PathArrearsPayment, GroupLoan, s.payArrears)
	add(http.MethodPost, core.PathOperatorAuth, GroupEmployer, s.operatorAuth)
	add(http.MethodGet, core.PathUnit, GroupEmployer, s.unit)
	add(http.MethodGet, core.PathStaff, GroupEmployer, s.staff)
	add(http.MethodPut, core.PathWithdrawal, GroupWithdrawal, s.submitWithdrawal)
	add(http.MethodGet, core.PathWithdrawal, GroupWithdrawal, s.withdrawal)
	add(http.MethodPost, core.PathWithdrawalCancel, GroupWithdrawal, s.cancelWithdrawal)
	add(http.MethodPut, core.PathWithdrawalMaterial, GroupWithdrawal, s.putMaterial)
	add(http.MethodGet, core.PathPayoutAccounts, GroupPerson, s.payoutAccounts)
	add(http.MethodPost, core.PathEvidenceCheck, GroupWithdrawal, s.checkEvidence)
	add(http.MethodPost, core.PathReminderFacts, GroupAccount, s.reminderFacts)
	add(http.MethodPut, core.PathTransferIn, GroupAccount, s.creditTransferIn)
	add(http.MethodGet, core.PathPolicy, GroupEmployer, s.policyEndpoint)
	add(http.MethodGet, core.PathUnitAccount, GroupEmployer, s.unitAccount)
	add(http.MethodGet, core.PathUnitLedger, GroupEmployer, s.unitLedger)
	add(http.MethodGet, core.PathStaffMember, GroupEmployer, s.staffMember)
	add(http.MethodPut, core.PathStaffChange, GroupEmployer, s.staffChange)
	add(http.MethodPut, core.PathAdjustment, GroupEmployer, s.adjustment)
	add(http.MethodGet, core.PathRemittances, GroupEmployer, s.remittances)
	add(http.MethodGet, core.PathBill, GroupEmployer, s.bill)
	add(http.MethodPut, core.PathDeclaration, GroupEmployer, s.declaration)
	add(http.MethodPut, core.PathSupplement, GroupEmployer, s.supplement)
	add(http.MethodGet, core.PathArrears, GroupEmployer, s.arrearsEndpoint)
	add(http.MethodGet, core.PathUnitCertificateFacts, GroupEmployer, s.unitCertificateFacts)
	add(http.MethodGet, core.PathOperators, GroupEmployer, s.operators)
	add(http.MethodPost, core.PathOperators, GroupEmployer, s.addOperator)
	add(http.MethodPut, core.PathOperatorStatus, GroupEmployer, s.operatorStatus)
	add(http.MethodPost, core.PathOperatorPasswordReset, GroupEmployer, s.resetOperatorPassword)
	add(http.MethodPost, core.PathOperatorPassword, GroupEmployer, s.changeOperatorPassword)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, notFound("no such endpoint"))
	})
	return mux
}

// serve runs the steps every call goes through, in the order a real core's
// gateway would: count, faults (the network), body, signature and nonce,
// maintenance (health is exempt), then the endpoint.
func (s *Sim) serve(group, route string, fn endpoint) http.Handler {
	counter := s.calls[group]
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started := time.Now()
		counter.Add(1)
		reqID := r.Header.Get(core.HeaderRequestID)
		if !printable(reqID) {
			reqID = ""
		}
		if reqID != "" {
			w.Header().Set(core.HeaderRequestID, reqID)
		}
		// The caller's W3C trace context, logged as a real core would to
		// join the BFF's trace: at most a traceparent's 55 characters.
		traceParent := r.Header.Get("traceparent")
		if len(traceParent) > 55 || !printable(traceParent) {
			traceParent = ""
		}
		status := s.answer(w, r, group, route, fn)
		s.log.Debug("coresim call", "group", group, "route", route, "status", status,
			"ms", time.Since(started).Milliseconds(), "request_id", reqID, "traceparent", traceParent)
	})
}

// answer handles one call and returns the status written (0 when the
// connection was dropped or the caller left).
func (s *Sim) answer(w http.ResponseWriter, r *http.Request, group, route string, fn endpoint) int {
	if s.injectFaults(w, r, group) {
		return 0
	}
	limit := int64(maxBody)
	if route == core.PathWithdrawalMaterial {
		limit = maxMaterialBody
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		return writeError(w, &apiError{status: http.StatusRequestEntityTooLarge, code: core.ErrBadRequest, msg: "body too large or unreadable"})
	}
	now := s.now()
	if e := s.authenticate(r, body, now); e != nil {
		return writeError(w, e)
	}
	if group != GroupHealth {
		if secs, in := s.inMaintenance(now); in {
			return writeError(w, &apiError{status: http.StatusServiceUnavailable, code: core.ErrMaintenance,
				msg: "nightly batch window", retryAfter: secs})
		}
	}
	status, v, err := fn(r.Context(), call{r: r, body: body, now: now})
	if err != nil {
		var e *apiError
		if !errors.As(err, &e) {
			s.log.Error("coresim: endpoint failed", "group", group, "err", err)
			e = &apiError{status: http.StatusInternalServerError, code: core.ErrUnavailable, msg: "internal error"}
		}
		return writeError(w, e)
	}
	return writeJSON(w, status, v)
}

// authenticate checks the signature headers and spends the nonce.
func (s *Sim) authenticate(r *http.Request, body []byte, now time.Time) *apiError {
	bad := func(msg string) *apiError {
		return &apiError{status: http.StatusUnauthorized, code: core.ErrBadSignature, msg: msg}
	}
	keyID := r.Header.Get(core.HeaderKeyID)
	secret, ok := s.keys[keyID]
	if !ok {
		return bad("unknown key id")
	}
	ts, err := strconv.ParseInt(r.Header.Get(core.HeaderTimestamp), 10, 64)
	if err != nil {
		return bad("timestamp missing or not Unix seconds")
	}
	if d := now.Sub(time.Unix(ts, 0)); d > core.SignatureWindow || d < -core.SignatureWindow {
		return bad("timestamp outside the signature window")
	}
	nonce := r.Header.Get(core.HeaderNonce)
	if !core.VerifySignature(secret, r.Method, r.URL.RequestURI(), ts, nonce, body, r.Header.Get(core.HeaderSignature), now) {
		return bad("signature does not match (or nonce not 16-128 characters)")
	}
	fresh, err := s.nonces.Use(r.Context(), keyID, nonce, now)
	if err != nil {
		s.log.Error("coresim: replay protection is full; refusing calls", "err", err)
		return &apiError{status: http.StatusServiceUnavailable, code: core.ErrUnavailable, msg: "busy"}
	}
	if !fresh {
		return &apiError{status: http.StatusUnauthorized, code: core.ErrReplayed, msg: "nonce already used"}
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) int {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"code":"unavailable","message":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
	return status
}

func writeError(w http.ResponseWriter, e *apiError) int {
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.retryAfter))
	}
	return writeJSON(w, e.status, core.ErrorBody{Code: e.code, Message: e.msg})
}

// decodeJSON reads a request body strictly: unknown fields and trailing
// data are refused, so client bugs show up in tests.
func decodeJSON(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest("body: " + err.Error())
	}
	if dec.More() {
		return badRequest("body: trailing data after the JSON value")
	}
	return nil
}

// printable accepts a short printable-ASCII header value, so an echoed
// request id cannot inject anything.
func printable(s string) bool {
	if len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// health answers that the core is up.
func (s *Sim) health(_ context.Context, c call) (int, any, error) {
	return http.StatusOK, map[string]any{"status": "ok", "time": c.now.Format(time.RFC3339)}, nil
}
