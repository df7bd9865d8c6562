package employer

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/core"
	"handheld/services/mask"
	"handheld/services/outbox"
	"handheld/services/store"
)

// Staff changes (增员, 减员封存, 启封) are writes the core applies, accepted
// here at any hour: the change, its outbox row and the operator's
// Idempotency-Key commit in one transaction, the 202 names the change, and
// the outbox worker delivers it with the change's id as the core's request
// id, retrying through outages and the core's batch window. The core's
// answer is the change's end: done (with what it did: opened, transferred
// in, sealed, unsealed) or failed (with the refusal's code).

// Staff change statuses.
const (
	ChangeAccepted = "accepted" // stored here, on its way to the core
	ChangeDone     = "done"     // applied by the core
	ChangeFailed   = "failed"   // refused by the core; FailureCode says why
)

// TopicStaffChange is the outbox topic that delivers a change to the core.
const TopicStaffChange outbox.TopicName = "staff.change"

// StaffChangeTopics are the outbox topics the staff changes enqueue on,
// for the wiring's outbox.Config.Enqueued.
func StaffChangeTopics() []outbox.TopicName {
	return []outbox.TopicName{TopicStaffChange, TopicTransferOffer}
}

// The audit actions of staff changes.
const (
	ActionStaffJoin    = "staff.join"
	ActionStaffLeave   = "staff.leave"
	ActionStaffRejoin  = "staff.rejoin"
	ActionStaffChanges = "read.staff_changes"
)

// Input bounds of a staff change (the core's own: a name of at most 30
// characters; a base the policy bounds, checked again by the core).
const (
	MaxNameRunes = 30
	MaxBaseFen   = 1_000_000_000 // ten million yuan a month: above any cap
	maxStaffID   = 32
)

// The collaborators of staff changes.
type (
	// staffReader answers what can be refused up front (core.Reader).
	staffReader interface {
		StaffMember(ctx context.Context, unitCode, personID string) (core.StaffMember, core.Freshness, error)
		Roster(ctx context.Context, unitCode string, q core.RosterQuery) (core.StaffPage, core.Freshness, error)
		Policy(ctx context.Context) (core.Policy, core.Freshness, error)
	}
	// staffWriter applies a change at the core, idempotent by request id
	// (core.Client).
	staffWriter interface {
		ChangeStaff(ctx context.Context, unitCode string, ch core.StaffChange) (core.StaffChangeResult, error)
	}
)

// StaffChangeDeps are the staff changes' collaborators.
type StaffChangeDeps struct {
	Store  *store.Store
	Reader staffReader
	Core   staffWriter
	Audit  auditor
	// Secret keys the hash of a join's ID number (person_key): one change
	// per person in flight without storing the number in the clear.
	Secret services.HashKey
	// Mask is the centre's masking policy; nil means mask.DefaultPolicy.
	Mask mask.Policy
	// Wake nudges the outbox worker after a change is stored; may be nil.
	Wake   func()
	Now    func() time.Time
	Logger *slog.Logger
}

// StaffChanges runs an employer's joins, leaves and rejoins.
type StaffChanges struct {
	StaffChangeDeps
}

// NewStaffChanges checks the dependencies and fills defaults.
func NewStaffChanges(d StaffChangeDeps) (*StaffChanges, error) {
	if d.Store == nil || d.Reader == nil || d.Core == nil || d.Audit == nil || d.Secret.Size() == 0 {
		return nil, errors.New("employer: staff changes need a store, reader, core, audit and secret")
	}
	if d.Mask == nil {
		d.Mask = mask.DefaultPolicy()
	}
	if d.Wake == nil {
		d.Wake = func() {}
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	return &StaffChanges{StaffChangeDeps: d}, nil
}

// Key is the operator's Idempotency-Key and the hash of the raw request:
// the same key with the same request gets the first answer again, with
// another request idempotency.key_reused.
type Key struct {
	IdempotencyKey string
	RequestHash    string
}

// Join opens an account for a new member of staff, or transfers theirs in
// from another unit of the city (the core decides which).
type Join struct {
	Name       string
	IDNumber   string
	BaseFen    int64
	StartMonth string // YYYY-MM: the first month remitted for
}

// Leave seals a member of staff's account.
type Leave struct {
	StaffID string
	Month   string // YYYY-MM: the last month remitted for
	Reason  string // one of LeaveReasons
}

// Rejoin unseals a member of staff's account, with a new base or (zero)
// the one it had.
type Rejoin struct {
	StaffID string
	BaseFen int64
}

// LeaveReasons are the reasons a leave may give.
func LeaveReasons() []string {
	return []string{core.LeaveResigned, core.LeaveContractEnded, core.LeaveRetired, core.LeaveDismissed, core.LeaveOther}
}

// StaffChange is a change as the clerk follows it: a join's name and ID
// number masked for the app channel.
type StaffChange struct {
	ID       string
	Kind     string // join | leave | rejoin
	Status   string // accepted | done | failed
	StaffID  string // leave, rejoin; a join's once the core opened it
	Name     string // join, masked
	IDNumber string // join, masked
	BaseFen  int64
	Month    string
	Reason   string
	// Outcome is what the core did (opened, transferred_in, sealed,
	// unsealed); FromUnitCode the unit a transfer came from.
	Outcome      string
	FromUnitCode string
	// FailureCode is the core's refusal as handheld's code.
	FailureCode string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Join accepts a join. The ID number's GB 11643 check comes first, before
// anything is read or stored.
func (s *StaffChanges) Join(ctx context.Context, p services.Principal, j Join, k Key) (StaffChange, bool, error) {
	j.IDNumber = strings.ToUpper(j.IDNumber)
	fields := joinFields(j, s.Now())
	r := changeRow{Kind: core.ChangeJoin, PersonKey: "id:" + s.keyed(j.IDNumber), BaseFen: j.BaseFen, Month: j.StartMonth}
	applicant, _ := json.Marshal(applicantOf{Name: j.Name, IDNumber: j.IDNumber})
	r.Applicant = string(applicant)
	return s.accept(ctx, p, ActionStaffJoin, fields, r, k, func(ctx context.Context) error { return s.joinKnown(ctx, p.Unit, j) })
}

// Leave accepts a leave of one of the unit's staff.
func (s *StaffChanges) Leave(ctx context.Context, p services.Principal, l Leave, k Key) (StaffChange, bool, error) {
	fields := leaveFields(l)
	r := changeRow{Kind: core.ChangeLeave, PersonKey: "p:" + l.StaffID, PersonID: l.StaffID, Month: l.Month, Reason: l.Reason}
	return s.accept(ctx, p, ActionStaffLeave, fields, r, k, func(ctx context.Context) error {
		return s.memberKnown(ctx, p.Unit, l.StaffID, core.StatusSealed, services.CodeStaffAlreadySealed)
	})
}

// Rejoin accepts a rejoin of one of the unit's sealed staff.
func (s *StaffChanges) Rejoin(ctx context.Context, p services.Principal, rj Rejoin, k Key) (StaffChange, bool, error) {
	fields := baseField(rj.BaseFen, 0)
	r := changeRow{Kind: core.ChangeRejoin, PersonKey: "p:" + rj.StaffID, PersonID: rj.StaffID, BaseFen: rj.BaseFen}
	return s.accept(ctx, p, ActionStaffRejoin, fields, r, k, func(ctx context.Context) error {
		return s.memberKnown(ctx, p.Unit, rj.StaffID, "", services.CodeStaffNotSealed)
	})
}

// joinFields checks a join's fields (the ID number upper-cased): the ID
// number's GB 11643 check first, before anything is read or stored. A
// bulk file's lines are checked by the same function.
func joinFields(j Join, now time.Time) []services.FieldError {
	var fields []services.FieldError
	if err := services.ValidateIDNumber(j.IDNumber, now); err != nil {
		fields = append(fields, services.FieldError{Field: "id_number", Code: services.FieldCode(err)})
	}
	if n := utf8.RuneCountInString(j.Name); strings.TrimSpace(j.Name) == "" || n > MaxNameRunes || strings.IndexFunc(j.Name, unprintable) >= 0 {
		fields = append(fields, services.FieldError{Field: "name", Code: services.FieldFormat, Params: map[string]any{"max": MaxNameRunes}})
	}
	fields = append(fields, baseField(j.BaseFen, 1)...)
	if !validMonth(j.StartMonth) {
		fields = append(fields, services.FieldError{Field: "start_month", Code: services.FieldFormat, Params: map[string]any{"format": "YYYY-MM"}})
	}
	return fields
}

// leaveFields checks a leave's month and reason.
func leaveFields(l Leave) []services.FieldError {
	var fields []services.FieldError
	if !validMonth(l.Month) {
		fields = append(fields, services.FieldError{Field: "month", Code: services.FieldFormat, Params: map[string]any{"format": "YYYY-MM"}})
	}
	if !slices.Contains(LeaveReasons(), l.Reason) {
		fields = append(fields, services.FieldError{Field: "reason", Code: services.FieldOneOf, Params: map[string]any{"allowed": LeaveReasons()}})
	}
	return fields
}

// accept is the path every change takes: the caller an operator, the
// staff id well formed (another unit's or a malformed one is
// staff.not_found, never a hint that it exists), the fields valid, a
// replay answered from the stored change, what the core already says
// refused up front, then the change and its outbox row stored together.
func (s *StaffChanges) accept(ctx context.Context, p services.Principal, action string, fields []services.FieldError,
	r changeRow, k Key, known func(context.Context) error) (v StaffChange, replayed bool, err error) {
	if err := operator(p); err != nil {
		return StaffChange{}, false, err
	}
	rec := audit.Record{At: s.Now(), Subject: p.Subject, Actor: p.Actor(), Channel: p.Channel, Action: action, Target: "staff_change"}
	defer func() {
		if v.ID != "" {
			rec.Target = "staff_change:" + v.ID
		}
		if aerr := audit.Outcome(ctx, s.Audit, s.Logger, rec, err); aerr != nil && err == nil {
			v, replayed, err = StaffChange{}, false, aerr
		}
	}()
	if r.Kind != core.ChangeJoin && !validStaffID(r.PersonID) {
		return StaffChange{}, false, services.Errorf(services.CodeStaffNotFound, "employer: malformed staff id")
	}
	if len(fields) > 0 {
		return StaffChange{}, false, services.Invalid(fields...)
	}
	if v, ok, err := s.byKey(ctx, p.Subject, k); ok || err != nil {
		return v, ok, err
	}
	if err := known(ctx); err != nil {
		return StaffChange{}, false, err
	}
	now := store.Timestamp(s.Now())
	r.ID, r.UnitCode, r.Subject, r.Status, r.CreatedAt, r.UpdatedAt = newChangeID(), p.Unit, p.Subject, ChangeAccepted, now, now
	err = s.Store.Tx(ctx, func(tx *store.Tx) error {
		if err := r.insert(ctx, tx, k); err != nil {
			return err
		}
		_, err := outbox.Enqueue(ctx, tx, outbox.Message{ID: string(TopicStaffChange) + ":" + r.ID, Topic: TopicStaffChange,
			Payload: []byte(r.ID)}, now)
		return err
	})
	if err != nil {
		// A concurrent request with the same key may have won: its
		// answer is this request's answer too.
		if prev, ok, kerr := s.byKey(ctx, p.Subject, k); ok || kerr != nil {
			return prev, ok, kerr
		}
		if errors.Is(err, store.ErrConflict) {
			return StaffChange{}, false, services.Errorf(services.CodeStaffChangeInFlight, "employer: %s in flight: %w", r.Kind, err)
		}
		return StaffChange{}, false, services.Errorf(services.CodeInternal, "employer: store staff change: %w", err)
	}
	s.Wake()
	return s.view(r), false, nil
}

// memberKnown refuses up front what the core's roster already says: a
// person the unit holds no account of (staff.not_found, whether or not
// another unit does), and a leave of a sealed account or a rejoin of one
// that is not (refuse with code). An unanswered read, or a stale answer,
// refuses nothing: the change is accepted and the core decides it.
func (s *StaffChanges) memberKnown(ctx context.Context, unit, staffID, sealedRefused string, code services.Code) error {
	m, f, err := s.Reader.StaffMember(ctx, unit, staffID)
	switch {
	case services.ErrorCode(err) == services.CodeStaffNotFound:
		return err
	case err != nil || f.Stale:
		return nil
	case code == services.CodeStaffAlreadySealed && m.Status == sealedRefused:
		return services.E(code)
	case code == services.CodeStaffNotSealed && m.Status != core.StatusSealed:
		return services.E(code)
	}
	return nil
}

// joinKnown refuses up front a join of someone the unit's roster already
// holds active (staff.already_employed) and a base outside the policy's
// bounds; as with memberKnown, an unanswered read refuses nothing.
func (s *StaffChanges) joinKnown(ctx context.Context, unit string, j Join) error {
	if pol, f, err := s.Reader.Policy(ctx); err == nil && !f.Stale && pol.MaxBaseFen > 0 &&
		(j.BaseFen < pol.MinBaseFen || j.BaseFen > pol.MaxBaseFen) {
		return &services.Error{Code: services.CodeBaseOutOfRange, Params: map[string]any{"min": pol.MinBaseFen, "max": pol.MaxBaseFen}}
	}
	page, f, err := s.Reader.Roster(ctx, unit, core.RosterQuery{Q: j.IDNumber, Limit: 10})
	if err != nil || f.Stale {
		return nil
	}
	for _, m := range page.Items {
		if strings.EqualFold(m.IDNumber, j.IDNumber) && m.Status != core.StatusSealed {
			return services.E(services.CodeStaffAlreadyEmployed)
		}
	}
	return nil
}

// Deliver is the outbox handler of TopicStaffChange: it applies the change
// at the core with its id as the request id, so a repeated delivery
// (after a crash, a timeout, a lease taken over) is harmless. The core's
// refusal ends the change as failed with its code; anything else (the
// core down, in maintenance, slow) is retried by the outbox with backoff.
func (s *StaffChanges) Deliver(ctx context.Context, m outbox.Message) error {
	r, _, err := s.load(ctx, `id = $1`, string(m.Payload))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return outbox.Permanent(fmt.Errorf("employer: no staff change %s", m.Payload))
	case err != nil:
		return err
	case r.Status != ChangeAccepted:
		return nil // a repeated delivery
	}
	ch := core.StaffChange{RequestID: r.ID, Kind: r.Kind, PersonID: r.PersonID, BaseFen: r.BaseFen, Month: r.Month, Reason: r.Reason}
	if r.Kind == core.ChangeJoin {
		var a applicantOf
		if err := json.Unmarshal([]byte(r.Applicant), &a); err != nil {
			return outbox.Permanent(fmt.Errorf("employer: staff change %s: applicant: %w", r.ID, err))
		}
		ch.Name, ch.IDNumber, ch.PersonID = a.Name, a.IDNumber, ""
	}
	res, err := s.Core.ChangeStaff(ctx, r.UnitCode, ch)
	if err != nil {
		code := services.ErrorCode(err)
		if !refusal(code) {
			return err
		}
		s.Logger.InfoContext(ctx, "staff change refused", "staff_change", r.ID, "code", string(code))
		return s.finish(ctx, r, ChangeFailed, core.StaffChangeResult{}, code)
	}
	return s.finish(ctx, r, ChangeDone, res, "")
}

// refusal tells the core's answer to this change (a 4xx: the change can
// never succeed as sent) from a failure to get one (retried).
func refusal(code services.Code) bool {
	st := code.Status()
	return st >= 400 && st < 500 && st != 408 && st != 429
}

// keyed is the keyed hash of a join's ID number: equal numbers meet in the
// in-flight index, the number itself never stored in the clear.
func (s *StaffChanges) keyed(idNumber string) string {
	return s.Secret.Pseudonym("staff-change", idNumber)
}

func baseField(base, min int64) []services.FieldError {
	if base < min || base > MaxBaseFen {
		return []services.FieldError{{Field: "base_fen", Code: services.FieldOutOfRange, Params: map[string]any{"min": min, "max": int64(MaxBaseFen)}}}
	}
	return nil
}

func unprintable(r rune) bool { return !unicode.IsPrint(r) }

// validMonth accepts YYYY-MM with a real month.
func validMonth(s string) bool {
	t, err := time.Parse("2006-01", s)
	return err == nil && t.Year() >= 1990 && t.Year() <= 2100
}

// validStaffID admits what the core's person ids look like: 1–32 of
// A-Z a-z 0-9 - _.
func validStaffID(id string) bool {
	if id == "" || len(id) > maxStaffID {
		return false
	}
	for _, r := range id {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// newChangeID is a change id: "sc_" and 32 hex digits (128 bits), also
// the core's request id.
func newChangeID() string { return "sc_" + services.RandomHex(16) }

func validChangeID(id string) bool {
	if len(id) != 35 || !strings.HasPrefix(id, "sc_") {
		return false
	}
	_, err := hex.DecodeString(id[3:])
	return err == nil && strings.ToLower(id[3:]) == id[3:]
}
