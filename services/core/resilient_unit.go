package core

import (
	"context"
	"net/url"
	"strconv"
)

// The employer app's reads through the Reader, under the employer group's
// policy and breaker like Unit. They are cached for the group's short
// freshness and may be served stale while the core is down, so a screen
// that must show the clerk's own write at once (the roster just after a
// join) or that feeds a write (a bill about to be declared: Client.Bill)
// reads through the Client instead.

// Policy reads the contribution policy; it changes once a year.
func (r *Reader) Policy(ctx context.Context) (Policy, Freshness, error) {
	return read(ctx, r, r.employer, endpointPolicy, "centre", "", func(ctx context.Context) (Policy, error) {
		return r.client.Policy(ctx)
	})
}

// UnitAccount reads the unit account.
func (r *Reader) UnitAccount(ctx context.Context, unitCode string) (UnitAccount, Freshness, error) {
	return read(ctx, r, r.employer, endpointUnitAccount, unitCode, "", func(ctx context.Context) (UnitAccount, error) {
		return r.client.UnitAccount(ctx, unitCode)
	})
}

// UnitLedger reads one page of the unit ledger; each query and page is
// cached on its own.
func (r *Reader) UnitLedger(ctx context.Context, unitCode string, q LedgerQuery) (UnitLedgerPage, Freshness, error) {
	query := url.Values{"from": {q.From}, "to": {q.To}, "limit": {strconv.Itoa(q.Limit)}, "cursor": {q.Cursor}}.Encode()
	return read(ctx, r, r.employer, endpointUnitLedger, unitCode, query, func(ctx context.Context) (UnitLedgerPage, error) {
		return r.client.UnitLedger(ctx, unitCode, q)
	})
}

// Roster reads one page of the unit's staff; each query and page is cached
// on its own.
func (r *Reader) Roster(ctx context.Context, unitCode string, q RosterQuery) (StaffPage, Freshness, error) {
	query := url.Values{"status": {q.Status}, "q": {q.Q}, "limit": {strconv.Itoa(q.Limit)}, "cursor": {q.Cursor}}.Encode()
	return read(ctx, r, r.employer, endpointRoster, unitCode, query, func(ctx context.Context) (StaffPage, error) {
		return r.client.Roster(ctx, unitCode, q)
	})
}

// StaffMember reads one of the unit's staff.
func (r *Reader) StaffMember(ctx context.Context, unitCode, personID string) (StaffMember, Freshness, error) {
	return read(ctx, r, r.employer, endpointStaffMember, unitCode, url.Values{"person": {personID}}.Encode(), func(ctx context.Context) (StaffMember, error) {
		return r.client.StaffMember(ctx, unitCode, personID)
	})
}

// Remittances reads a year's months.
func (r *Reader) Remittances(ctx context.Context, unitCode string, year int) (RemittanceYear, Freshness, error) {
	return read(ctx, r, r.employer, endpointRemittances, unitCode, strconv.Itoa(year), func(ctx context.Context) (RemittanceYear, error) {
		return r.client.Remittances(ctx, unitCode, year)
	})
}

// Arrears reads the unit's unpaid months.
func (r *Reader) Arrears(ctx context.Context, unitCode string) (Arrears, Freshness, error) {
	return read(ctx, r, r.employer, endpointArrears, unitCode, "", func(ctx context.Context) (Arrears, error) {
		return r.client.Arrears(ctx, unitCode)
	})
}

// UnitCertificateFacts reads what a unit deposit certificate states, under
// the certificate group's policy like CertificateFacts: never served stale
// by default, since a certificate must not state figures the core could not
// confirm.
func (r *Reader) UnitCertificateFacts(ctx context.Context, unitCode string) (UnitCertificateFacts, Freshness, error) {
	return read(ctx, r, r.certificate, endpointUnitCertificateFacts, unitCode, "", func(ctx context.Context) (UnitCertificateFacts, error) {
		return r.client.UnitCertificateFacts(ctx, unitCode)
	})
}
