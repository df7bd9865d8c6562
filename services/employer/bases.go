package employer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/core"
)

// ActionBases is the audit action of a base and rate adjustment.
const ActionBases = "adjust.bases"

// shanghai is the time zone of the policy's adjustment window (MM-DD).
var shanghai = time.FixedZone("Asia/Shanghai", 8*60*60)

type (
	// policyReader reads the contribution policy and the unit's current
	// rates through the Reader (cached: the policy changes once a year).
	policyReader interface {
		Policy(ctx context.Context) (core.Policy, core.Freshness, error)
		Unit(ctx context.Context, unitCode string) (core.Unit, core.Freshness, error)
	}
	// adjuster applies an adjustment at the core, all or nothing,
	// idempotent on its request id (core.Client).
	adjuster interface {
		Adjust(ctx context.Context, unitCode string, a core.Adjustment) (core.AdjustmentResult, error)
	}
)

// BasesDeps are a Bases' collaborators, built once at the wiring point.
type BasesDeps struct {
	Reader policyReader
	Core   adjuster
	Audit  auditor
	Now    func() time.Time
	Logger *slog.Logger
}

// Bases changes deposit bases and contribution rates. The core is called
// synchronously: an adjustment answers the new amounts at once, and the
// core refuses it whole, so it is not queued for later delivery. While the
// core is down or in its batch window the clerk gets 503 and retries with
// the same Idempotency-Key (docs/api.md § Bases and rates).
type Bases struct {
	d BasesDeps
}

// NewBases checks the dependencies and fills defaults.
func NewBases(d BasesDeps) (*Bases, error) {
	if d.Reader == nil || d.Core == nil || d.Audit == nil {
		return nil, errors.New("employer bases: missing dependency (reader, core or audit)")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	return &Bases{d: d}, nil
}

// BaseChange is one person's new base as the clerk asks for it.
type BaseChange struct {
	StaffID string
	BaseFen int64
}

// AdjustRequest is an adjustment: new rates (0: unchanged) and bases, at
// least one of them. IdempotencyKey is the caller's key: the core request
// id is derived from it, so a retry reaches the same core request.
type AdjustRequest struct {
	UnitRateBP     int
	PersonalRateBP int
	Bases          []BaseChange
	IdempotencyKey string
}

// NewAmount is one person's new monthly amounts, each side ShareOf(base,
// rate): base × rate rounded half up to the fen, per person and side.
type NewAmount struct {
	StaffID     string
	BaseFen     int64
	PersonalFen int64
	UnitFen     int64
}

// Adjusted is what an adjustment did.
type Adjusted struct {
	UnitRateBP     int
	PersonalRateBP int
	BasesChanged   int
	AppliedAt      time.Time
	Items          []NewAmount
}

// Adjust checks req against the centre's policy — every person's base in
// bounds, rates in bounds and equal where the policy says so, today inside
// the adjustment window — and only then asks the core, so that the clerk
// learns every wrong line at once with a stable code, and the core's own
// refusal (the same rules) is the last line, not the first.
func (b *Bases) Adjust(ctx context.Context, p services.Principal, req AdjustRequest) (Adjusted, error) {
	if err := operator(p); err != nil {
		return Adjusted{}, err
	}
	if len(req.Bases) > core.MaxBaseChanges {
		return Adjusted{}, services.Invalid(services.FieldError{Field: "bases", Code: services.FieldOutOfRange,
			Params: map[string]any{"min": 0, "max": core.MaxBaseChanges}})
	}
	out, err := b.adjust(ctx, p, req)
	if err := audit.Outcome(ctx, b.d.Audit, b.d.Logger, audit.Record{
		At: b.d.Now(), Subject: p.Subject, Actor: p.Actor(), Channel: p.Channel, Action: ActionBases,
		Target: fmt.Sprintf("unit:self bases:%d", len(req.Bases)),
	}, err); err != nil {
		return Adjusted{}, err
	}
	return out, nil
}

func (b *Bases) adjust(ctx context.Context, p services.Principal, req AdjustRequest) (Adjusted, error) {
	bad := shape(req)
	pol, _, err := b.d.Reader.Policy(ctx)
	if err != nil {
		if len(bad) > 0 {
			return Adjusted{}, services.Invalid(bad...)
		}
		return Adjusted{}, err
	}
	unitRate, personalRate := req.UnitRateBP, req.PersonalRateBP
	if pol.RatesEqual && (unitRate == 0) != (personalRate == 0) {
		// One rate given: the other stays, and must still equal it.
		u, _, err := b.d.Reader.Unit(ctx, p.Unit)
		if err != nil {
			return Adjusted{}, err
		}
		if unitRate == 0 {
			unitRate = u.UnitRateBP
		} else {
			personalRate = u.PersonalRateBP
		}
	}
	if bad = append(bad, checkPolicy(pol, req, unitRate, personalRate, bad)...); len(bad) > 0 {
		return Adjusted{}, services.Invalid(bad...)
	}
	if !inWindow(pol, b.d.Now()) {
		return Adjusted{}, services.Errorf(services.CodeOutsideWindow, "bases: outside %s..%s", pol.AdjustmentFrom, pol.AdjustmentTo)
	}
	a := core.Adjustment{RequestID: requestID(p, req.IdempotencyKey), UnitRateBP: req.UnitRateBP, PersonalRateBP: req.PersonalRateBP}
	for _, c := range req.Bases {
		a.Bases = append(a.Bases, core.BaseChange{PersonID: c.StaffID, BaseFen: c.BaseFen})
	}
	res, err := b.d.Core.Adjust(ctx, p.Unit, a)
	if err != nil {
		return Adjusted{}, err
	}
	out := Adjusted{UnitRateBP: res.UnitRateBP, PersonalRateBP: res.PersonalRateBP, BasesChanged: res.BasesChanged,
		AppliedAt: res.AppliedAt, Items: make([]NewAmount, 0, len(req.Bases))}
	for _, c := range req.Bases {
		out.Items = append(out.Items, NewAmount{StaffID: c.StaffID, BaseFen: c.BaseFen,
			PersonalFen: core.ShareOf(c.BaseFen, res.PersonalRateBP), UnitFen: core.ShareOf(c.BaseFen, res.UnitRateBP)})
	}
	return out, nil
}

// shape checks what needs no policy: something to change, staff ids well
// formed and each named once, bases positive and below MaxBaseFen, rates
// within 0..10000 basis points.
func shape(req AdjustRequest) []services.FieldError {
	var fields []services.FieldError
	if len(req.Bases) == 0 && req.UnitRateBP == 0 && req.PersonalRateBP == 0 {
		fields = append(fields, services.FieldError{Field: "bases", Code: services.FieldRequired})
	}
	for _, r := range []struct {
		field string
		v     int
	}{{"unit_rate_bp", req.UnitRateBP}, {"personal_rate_bp", req.PersonalRateBP}} {
		if r.v < 0 || r.v > 10_000 {
			fields = append(fields, services.FieldError{Field: r.field, Code: services.FieldOutOfRange, Params: map[string]any{"min": 0, "max": 10_000}})
		}
	}
	seen := make(map[string]int, len(req.Bases))
	for i, c := range req.Bases {
		switch first, dup := seen[c.StaffID]; {
		case !validStaffID(c.StaffID):
			fields = append(fields, services.FieldError{Field: fmt.Sprintf("bases.%d.staff_id", i), Code: services.FieldFormat})
		case dup:
			fields = append(fields, services.FieldError{Field: fmt.Sprintf("bases.%d.staff_id", i), Code: services.FieldDuplicate,
				Params: map[string]any{"first": fmt.Sprintf("bases.%d.staff_id", first)}})
		default:
			seen[c.StaffID] = i
		}
		if c.BaseFen <= 0 || c.BaseFen > MaxBaseFen {
			fields = append(fields, services.FieldError{Field: fmt.Sprintf("bases.%d.base_fen", i), Code: services.FieldOutOfRange,
				Params: map[string]any{"min": 1, "max": int64(MaxBaseFen)}})
		}
	}
	return fields
}

// checkPolicy checks the rates that will hold and every base against pol,
// naming each line that breaks it; a field already in bad is not named
// twice.
func checkPolicy(pol core.Policy, req AdjustRequest, unitRate, personalRate int, bad []services.FieldError) []services.FieldError {
	named := make(map[string]bool, len(bad))
	for _, f := range bad {
		named[f.Field] = true
	}
	var fields []services.FieldError
	rateRange := map[string]any{"min": pol.MinRateBP, "max": pol.MaxRateBP}
	for _, r := range []struct {
		field string
		v     int
	}{{"unit_rate_bp", req.UnitRateBP}, {"personal_rate_bp", req.PersonalRateBP}} {
		if r.v != 0 && !named[r.field] && (r.v < pol.MinRateBP || r.v > pol.MaxRateBP) {
			fields = append(fields, services.FieldError{Field: r.field, Code: services.FieldOutOfRange, Params: rateRange})
		}
	}
	if len(fields) == 0 && !named["unit_rate_bp"] && !named["personal_rate_bp"] && pol.RatesEqual && unitRate != personalRate {
		field, other := "personal_rate_bp", "unit_rate_bp"
		if req.PersonalRateBP == 0 {
			field, other = other, field
		}
		fields = append(fields, services.FieldError{Field: field, Code: services.FieldNotEqual, Params: map[string]any{"other": other}})
	}
	for i, c := range req.Bases {
		field := fmt.Sprintf("bases.%d.base_fen", i)
		if !named[field] && (c.BaseFen < pol.MinBaseFen || c.BaseFen > pol.MaxBaseFen) {
			fields = append(fields, services.FieldError{Field: field, Code: services.FieldOutOfRange,
				Params: map[string]any{"min": pol.MinBaseFen, "max": pol.MaxBaseFen}})
		}
	}
	return fields
}

// inWindow reports whether now (in Asia/Shanghai) falls in the policy's
// annual adjustment window, MM-DD to MM-DD inclusive; a window that wraps
// the new year (12-01 to 01-31) works, and no window means all year.
func inWindow(pol core.Policy, now time.Time) bool {
	if pol.AdjustmentFrom == "" && pol.AdjustmentTo == "" {
		return true
	}
	today := now.In(shanghai).Format("01-02")
	from, to := pol.AdjustmentFrom, pol.AdjustmentTo
	if from <= to {
		return from <= today && today <= to
	}
	return today >= from || today <= to
}

// requestID is the core request id of an adjustment: the same operator,
// unit and Idempotency-Key give the same id, so a retry after a lost
// answer reaches the same core request and is not applied twice.
func requestID(p services.Principal, key string) string {
	sum := sha256.Sum256([]byte("handheld/employer/bases/v1\x00" + p.Unit + "\x00" + p.Subject + "\x00" + key))
	return "adj_" + hex.EncodeToString(sum[:16])
}
