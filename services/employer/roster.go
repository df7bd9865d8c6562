package employer

import (
	"context"
	"errors"
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
)

// Audit actions of the roster. A roster is personal data of many people:
// every page, every person and every full ID number shown leaves a record.
const (
	ActionRoster = "read.staff_list"  // a page of the roster
	ActionStaff  = "read.staff"       // one person
	ActionReveal = "reveal.id_number" // one ID number shown in full, with its reason
)

// Reveal reasons: why a clerk needs a person's full ID number. They are a
// closed list so that the reason can stand in the audit trail (a free text
// could carry anything, personal data included).
const (
	RevealSocialInsurance = "social_insurance" // registering the person elsewhere (social insurance, tax)
	RevealPayroll         = "payroll"          // the payroll or a bank needs the number
	RevealCorrection      = "correction"       // checking the number against the person's papers
	RevealCertificate     = "certificate"      // a certificate or letter the person asked for
)

// RevealReasons lists the reasons a reveal may give.
func RevealReasons() []string {
	return []string{RevealSocialInsurance, RevealPayroll, RevealCorrection, RevealCertificate}
}

// Roster query bounds.
const (
	DefaultRosterLimit = 20
	MaxRosterLimit     = 100
	// maxNamePrefix and the ID-number tail bounds are the core's search
	// rules (core.RosterQuery), checked here so a clerk gets a field error.
	maxNamePrefix = 20
	minIDTail     = 4
	maxIDTail     = 18
)

// StaffStatuses are the account statuses a roster may be filtered by (the
// core's JGJ/T 320 codes).
func StaffStatuses() []string {
	return []string{core.StatusNormal, core.StatusSealed, core.StatusClosedMerge, core.StatusClosedTransfer,
		core.StatusClosedWithdrawal, core.StatusFrozen, core.StatusOther}
}

type (
	// rosterReader is the core's roster through the Reader (employer
	// group: deadline, breaker, short encrypted cache).
	rosterReader interface {
		Roster(ctx context.Context, unitCode string, q core.RosterQuery) (core.StaffPage, core.Freshness, error)
		StaffMember(ctx context.Context, unitCode, personID string) (core.StaffMember, core.Freshness, error)
	}
	// trail is the audit log: Enqueue for reads, Append (committed before
	// the answer) for a reveal.
	trail interface {
		auditor
		Append(ctx context.Context, r audit.Record) error
	}
)

// RosterDeps are a Roster's collaborators, built once at the wiring point.
type RosterDeps struct {
	Reader rosterReader
	Audit  trail
	// Mask is the centre's masking policy; names, ID numbers and account
	// numbers are shown as it says for the operator's channel.
	Mask mask.Policy
	// Secret keys the sealing of roster cursors; at least 32 bytes.
	Secret services.HashKey
	Now    func() time.Time
	Logger *slog.Logger
}

// Roster is the unit's staff list, one person, and the audited reveal of
// one ID number.
type Roster struct {
	d    RosterDeps
	seal cursorSealer
}

// NewRoster checks the dependencies and fills defaults.
func NewRoster(d RosterDeps) (*Roster, error) {
	switch {
	case d.Reader == nil || d.Audit == nil:
		return nil, errors.New("employer roster: missing dependency (reader or audit)")
	case d.Mask == nil:
		return nil, errors.New("employer roster: missing masking policy")
	case d.Secret.Size() < 32:
		return nil, errors.New("employer roster: secret must be at least 32 bytes")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	s, err := newCursorSealer(d.Secret)
	if err != nil {
		return nil, err
	}
	return &Roster{d: d, seal: s}, nil
}

// RosterQuery is what a clerk asks of the roster: Status one of
// StaffStatuses or ""; Q a name prefix or the last 4 to 18 characters of an
// ID number; Limit 1 to MaxRosterLimit (0: the default); Cursor as a
// previous page returned it.
type RosterQuery struct {
	Status string
	Q      string
	Limit  int
	Cursor string
}

// StaffView is one person as the roster shows them, masked per policy.
type StaffView struct {
	StaffID            string
	Name               string
	IDNumber           string
	AccountNumber      string
	Status             string
	BaseFen            int64
	PersonalRateBP     int
	UnitRateBP         int
	MonthlyPersonalFen int64
	MonthlyUnitFen     int64
	OpenedOn           string
	SealedMonth        string
	SealReason         string
}

// RosterPage is one page of the roster.
type RosterPage struct {
	Items      []StaffView
	NextCursor string
	Total      int
	core.Freshness
}

// StaffDetail is one person and when the answer holds.
type StaffDetail struct {
	StaffView
	core.Freshness
}

// Revealed is one person's full ID number.
type Revealed struct {
	StaffID  string
	IDNumber string
}

// List is a page of the operator's own unit's staff.
func (r *Roster) List(ctx context.Context, p services.Principal, q RosterQuery) (RosterPage, error) {
	if err := operator(p); err != nil {
		return RosterPage{}, err
	}
	cq, err := r.coreQuery(p, q)
	if err != nil {
		return RosterPage{}, err
	}
	page, f, err := r.d.Reader.Roster(ctx, p.Unit, cq)
	if err := r.audit(ctx, p, ActionRoster, "unit:self", err); err != nil {
		return RosterPage{}, err
	}
	out := RosterPage{Items: make([]StaffView, 0, len(page.Items)), Total: page.Total, Freshness: r.fresh(f)}
	for _, m := range page.Items {
		out.Items = append(out.Items, r.view(p.Channel, m))
	}
	out.NextCursor = r.seal.seal(rosterList(p, cq), page.NextCursor)
	return out, nil
}

// Member is one of the operator's own unit's staff; another unit's person
// is staff.not_found, exactly like a person who does not exist.
func (r *Roster) Member(ctx context.Context, p services.Principal, staffID string) (StaffDetail, error) {
	if err := operator(p); err != nil {
		return StaffDetail{}, err
	}
	if !validStaffID(staffID) {
		return StaffDetail{}, services.E(services.CodeStaffNotFound)
	}
	m, f, err := r.d.Reader.StaffMember(ctx, p.Unit, staffID)
	if err == nil && m.PersonID != staffID {
		err = services.Errorf(services.CodeInternal, "employer: the core answered for another person")
	}
	if err := r.audit(ctx, p, ActionStaff, r.staffTarget(staffID), err); err != nil {
		return StaffDetail{}, err
	}
	return StaffDetail{StaffView: r.view(p.Channel, m), Freshness: r.fresh(f)}, nil
}

// Reveal shows one person's ID number in full. It is its own call, with a
// reason from RevealReasons, so that the full number is never on a list and
// every time it is shown the trail says who, whose and why; the record is
// committed before the number is answered.
func (r *Roster) Reveal(ctx context.Context, p services.Principal, staffID, reason string) (Revealed, error) {
	if err := operator(p); err != nil {
		return Revealed{}, err
	}
	if !slices.Contains(RevealReasons(), reason) {
		return Revealed{}, services.Invalid(services.FieldError{Field: "reason", Code: services.FieldOneOf,
			Params: map[string]any{"allowed": strings.Join(RevealReasons(), ", ")}})
	}
	if !validStaffID(staffID) {
		return Revealed{}, services.E(services.CodeStaffNotFound)
	}
	m, _, err := r.d.Reader.StaffMember(ctx, p.Unit, staffID)
	if err == nil && m.PersonID != staffID {
		err = services.Errorf(services.CodeInternal, "employer: the core answered for another person")
	}
	rec := audit.Record{At: r.d.Now(), Subject: p.Subject, Actor: p.Actor(), Channel: p.Channel,
		Action: ActionReveal, Target: r.staffTarget(staffID) + " reason:" + reason, RequestID: services.RequestID(ctx), Result: "ok"}
	if err != nil {
		rec.Result = "error"
		if aerr := r.d.Audit.Enqueue(context.WithoutCancel(ctx), rec); aerr != nil {
			r.d.Logger.ErrorContext(ctx, "audit record lost", "action", rec.Action, "request_id", rec.RequestID, "err", aerr)
		}
		return Revealed{}, err
	}
	if err := r.d.Audit.Append(ctx, rec); err != nil {
		return Revealed{}, services.Errorf(services.CodeInternal, "audit %s: %w", rec.Action, err)
	}
	return Revealed{StaffID: staffID, IDNumber: m.IDNumber}, nil
}

// coreQuery checks q and turns it into the core's query, the cursor opened.
func (r *Roster) coreQuery(p services.Principal, q RosterQuery) (core.RosterQuery, error) {
	var fields []services.FieldError
	if q.Status != "" && !slices.Contains(StaffStatuses(), q.Status) {
		fields = append(fields, services.FieldError{Field: "status", Code: services.FieldOneOf,
			Params: map[string]any{"allowed": strings.Join(StaffStatuses(), ", ")}})
	}
	search, ok := searchTerm(q.Q)
	if !ok {
		fields = append(fields, services.FieldError{Field: "q", Code: services.FieldFormat,
			Params: map[string]any{"format": "name prefix (1-20 characters) or the last 4-18 characters of an ID number"}})
	}
	switch {
	case q.Limit == 0:
		q.Limit = DefaultRosterLimit
	case q.Limit < 1 || q.Limit > MaxRosterLimit:
		fields = append(fields, services.FieldError{Field: "limit", Code: services.FieldOutOfRange,
			Params: map[string]any{"min": 1, "max": MaxRosterLimit}})
	}
	if len(fields) > 0 {
		return core.RosterQuery{}, services.Invalid(fields...)
	}
	cq := core.RosterQuery{Status: q.Status, Q: search, Limit: q.Limit}
	c, err := r.seal.open(rosterList(p, cq), q.Cursor)
	if err != nil {
		return core.RosterQuery{}, services.Invalid(services.FieldError{Field: "cursor", Code: services.FieldFormat})
	}
	cq.Cursor = c
	return cq, nil
}

// searchTerm normalises a search: "" for none; the tail of an ID number
// (digits and a final X, 4 to 18) upper-cased; or a name prefix of letters
// and the separators names use, at most 20 characters. Anything else (a
// wildcard, punctuation, a digit inside a name) is refused, so the core
// never sees a query it would read as a pattern.
func searchTerm(q string) (string, bool) {
	q = strings.TrimSpace(q)
	if q == "" {
		return "", true
	}
	if !utf8.ValidString(q) {
		return "", false
	}
	if strings.ContainsAny(q, "0123456789") {
		q = strings.ToUpper(q)
		digits := strings.TrimSuffix(q, "X")
		if len(q) < minIDTail || len(q) > maxIDTail || strings.Trim(digits, "0123456789") != "" {
			return "", false
		}
		return q, true
	}
	if utf8.RuneCountInString(q) > maxNamePrefix {
		return "", false
	}
	for _, c := range q {
		if !unicode.IsLetter(c) && c != '·' && c != '•' && c != ' ' {
			return "", false
		}
	}
	return q, true
}

// rosterList names the list a cursor belongs to: the operator, the unit,
// the filter and the search. A cursor from another query, operator or unit
// does not open.
func rosterList(p services.Principal, q core.RosterQuery) string {
	return "roster\x00" + p.Unit + "\x00" + p.Subject + "\x00" + q.Status + "\x00" + q.Q
}

// view masks a core record for channel.
func (r *Roster) view(channel string, m core.StaffMember) StaffView {
	return StaffView{
		StaffID:            m.PersonID,
		Name:               r.d.Mask.Apply(mask.Name, channel, m.Name),
		IDNumber:           r.d.Mask.Apply(mask.IDNumber, channel, m.IDNumber),
		AccountNumber:      r.d.Mask.Apply(mask.AccountNumber, channel, m.AccountNumber),
		Status:             m.Status,
		BaseFen:            m.DepositBaseFen,
		PersonalRateBP:     m.PersonalRateBP,
		UnitRateBP:         m.UnitRateBP,
		MonthlyPersonalFen: m.MonthlyPersonalFen,
		MonthlyUnitFen:     m.MonthlyUnitFen,
		OpenedOn:           m.OpenedOn,
		SealedMonth:        m.SealedMonth,
		SealReason:         m.SealReason,
	}
}

func (r *Roster) fresh(f core.Freshness) core.Freshness {
	if f.AsOf.IsZero() {
		f.AsOf = r.d.Now()
	}
	return f
}

// staffTarget names a person in the audit trail by a keyed pseudonym of
// their core person id, as subjects are named: the id is the core's
// account key, which a real core may write as a long run of digits that
// the trail rightly refuses, and the trail should not be a list of whose
// records were read. An auditor holding the secret computes the same tag
// from a person id to find every access to that person.
func (r *Roster) staffTarget(staffID string) string {
	return "staff:" + r.d.Secret.Pseudonym("audit.staff", staffID)[:32]
}

func (r *Roster) audit(ctx context.Context, p services.Principal, action, target string, opErr error) error {
	return audit.Outcome(ctx, r.d.Audit, r.d.Logger, audit.Record{
		At: r.d.Now(), Subject: p.Subject, Actor: p.Actor(), Channel: p.Channel, Action: action, Target: target,
	}, opErr)
}
