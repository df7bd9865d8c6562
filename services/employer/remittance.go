package employer

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/core"
	"handheld/services/mask"
)

// The audit actions of the remittance screens. A bill names every person
// remitted for, so each read of one is access to personal data; a
// declaration commits the unit's money.
const (
	ActionRemittances = "read.remittances"
	ActionBill        = "read.remittance_bill"
	ActionArrears     = "read.arrears"
	ActionDeclare     = "remittance.declare"
	ActionSupplement  = "remittance.supplement"
)

// The collaborators of the remittance use cases.
type (
	// remittanceReader is the cached core read (core.Reader): the calendar,
	// the arrears and the unit account (for the month it opened).
	remittanceReader interface {
		UnitAccount(ctx context.Context, unitCode string) (core.UnitAccount, core.Freshness, error)
		Remittances(ctx context.Context, unitCode string, year int) (core.RemittanceYear, core.Freshness, error)
		Arrears(ctx context.Context, unitCode string) (core.Arrears, core.Freshness, error)
		Policy(ctx context.Context) (core.Policy, core.Freshness, error)
	}
	// bills reads and declares bills at the core without a cache
	// (core.Client): a declaration must name the version the core has now.
	bills interface {
		Bill(ctx context.Context, unitCode, month string) (core.Bill, error)
		Declare(ctx context.Context, unitCode string, d core.Declaration) (core.DeclarationResult, error)
		Supplement(ctx context.Context, unitCode string, d core.Declaration) (core.DeclarationResult, error)
	}
	// masker renders personal data for a channel (mask.Policy).
	masker interface {
		Apply(field, channel, value string) string
	}
)

// RemittanceDeps are the remittance use cases' collaborators.
type RemittanceDeps struct {
	Reader remittanceReader
	Bills  bills
	Audit  auditor
	Mask   masker
	Now    func() time.Time
	Logger *slog.Logger
}

// Remittances is the employer's remittance use cases: the year's months,
// a month's bill, declaring it, the arrears and their supplements. Like
// Service, every one reaches only the unit in the operator's token.
type Remittances struct {
	RemittanceDeps
}

// NewRemittances checks the dependencies and fills defaults.
func NewRemittances(d RemittanceDeps) (*Remittances, error) {
	if d.Reader == nil || d.Bills == nil || d.Audit == nil || d.Mask == nil {
		return nil, errors.New("employer: missing dependency (reader, bills, audit or mask)")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	return &Remittances{RemittanceDeps: d}, nil
}

// YearView is a year's remittance calendar and when it holds.
type YearView struct {
	core.RemittanceYear
	core.Freshness
}

// Year lists year's months, oldest first, up to the current one. Year 0
// is the current year (Asia/Shanghai).
func (s *Remittances) Year(ctx context.Context, p services.Principal, year int) (YearView, error) {
	if err := operator(p); err != nil {
		return YearView{}, err
	}
	now := s.Now().In(services.CentreTime)
	if year == 0 {
		year = now.Year()
	}
	acc, _, err := s.Reader.UnitAccount(ctx, p.Unit)
	if err != nil {
		return YearView{}, err
	}
	first := 1990
	if len(acc.OpenedMonth) == 7 {
		if y, err := strconv.Atoi(acc.OpenedMonth[:4]); err == nil {
			first = y
		}
	}
	if year < first || year > now.Year() {
		return YearView{}, services.Invalid(services.FieldError{Field: "year", Code: services.FieldOutOfRange,
			Params: map[string]any{"min": first, "max": now.Year()}})
	}
	y, f, err := s.Reader.Remittances(ctx, p.Unit, year)
	if err := s.audit(ctx, p, ActionRemittances, "remittances:"+strconv.Itoa(year), err); err != nil {
		return YearView{}, err
	}
	return YearView{RemittanceYear: y, Freshness: s.fresh(f)}, nil
}

// BillView is a month's bill as the app shows it: names and ID numbers
// masked for the caller's channel, with the ETag a declaration names.
type BillView struct {
	core.Bill
	ETag string
}

// Bill reads month's bill from the core (never a cached one: the clerk
// may declare what they see), masks it and records the read.
func (s *Remittances) Bill(ctx context.Context, p services.Principal, month string) (BillView, error) {
	if err := operator(p); err != nil {
		return BillView{}, err
	}
	if err := s.checkMonth(ctx, p, month); err != nil {
		return BillView{}, err
	}
	b, err := s.Bills.Bill(ctx, p.Unit, month)
	if err == nil && (b.UnitCode != p.Unit || b.Month != month) {
		err = services.Errorf(services.CodeInternal, "employer: the core answered with another unit's or month's bill")
	}
	if err := s.audit(ctx, p, ActionBill, "remittance:"+month, err); err != nil {
		return BillView{}, err
	}
	for i := range b.Lines {
		l := &b.Lines[i]
		l.Name = s.Mask.Apply(mask.Name, p.Channel, l.Name)
		l.IDNumber = s.Mask.Apply(mask.IDNumber, p.Channel, l.IDNumber)
	}
	return BillView{Bill: b, ETag: BillETag(month, b.Version)}, nil
}

// Declared is a declaration's answer with the ETag of the bill it froze.
type Declared struct {
	core.DeclarationResult
	ETag string
}

// Declare asks the unit's bank to collect month's bill as read: ifMatch
// is the ETag the bill was read with (If-Match). key is the request's
// Idempotency-Key: the core's request id is derived from it, so a retry
// after any failure is the same declaration at the core, never a second.
func (s *Remittances) Declare(ctx context.Context, p services.Principal, month, ifMatch, key string) (Declared, error) {
	return s.declare(ctx, p, core.BillRegular, month, ifMatch, key)
}

// Supplement declares a month in arrears with the policy's interest, like
// Declare.
func (s *Remittances) Supplement(ctx context.Context, p services.Principal, month, ifMatch, key string) (Declared, error) {
	return s.declare(ctx, p, core.BillSupplement, month, ifMatch, key)
}

func (s *Remittances) declare(ctx context.Context, p services.Principal, kind, month, ifMatch, key string) (Declared, error) {
	if err := operator(p); err != nil {
		return Declared{}, err
	}
	if err := s.checkMonth(ctx, p, month); err != nil {
		return Declared{}, err
	}
	version, err := matchVersion(ifMatch, month)
	if err != nil {
		return Declared{}, err
	}
	if key == "" {
		return Declared{}, services.E(services.CodeIdempotencyKeyMissing)
	}
	d := core.Declaration{RequestID: RequestID(p, kind, month, key), Month: month, BillVersion: version}
	send, action := s.Bills.Declare, ActionDeclare
	if kind == core.BillSupplement {
		send, action = s.Bills.Supplement, ActionSupplement
	}
	r, err := send(ctx, p.Unit, d)
	if err == nil && r.Month != month {
		err = services.Errorf(services.CodeInternal, "employer: the core declared another month")
	}
	if err := s.audit(ctx, p, action, "remittance:"+month, err); err != nil {
		return Declared{}, err
	}
	return Declared{DeclarationResult: r, ETag: BillETag(month, r.Version)}, nil
}

// ArrearsView is the unit's unpaid months and when they hold, with the
// policy's annual interest rate a supplement pays (SupplementInterest).
type ArrearsView struct {
	core.Arrears
	core.Freshness
	InterestRateBP int
}

// Arrears lists the unit's unpaid complete months with the interest a
// supplement declared today would carry.
func (s *Remittances) Arrears(ctx context.Context, p services.Principal) (ArrearsView, error) {
	if err := operator(p); err != nil {
		return ArrearsView{}, err
	}
	pol, _, err := s.Reader.Policy(ctx)
	if err != nil {
		return ArrearsView{}, err
	}
	a, f, err := s.Reader.Arrears(ctx, p.Unit)
	if err := s.audit(ctx, p, ActionArrears, "arrears:self", err); err != nil {
		return ArrearsView{}, err
	}
	if a.Items == nil {
		a.Items = []core.ArrearsMonth{}
	}
	return ArrearsView{Arrears: a, Freshness: s.fresh(f), InterestRateBP: pol.SupplementRateBP}, nil
}

// checkMonth admits YYYY-MM from the month the unit opened (when the core
// knows it) to the current month, Asia/Shanghai.
func (s *Remittances) checkMonth(ctx context.Context, p services.Principal, month string) error {
	if !ValidMonth(month) {
		return services.Invalid(services.FieldError{Field: "month", Code: services.FieldFormat, Params: map[string]any{"format": "YYYY-MM"}})
	}
	current := s.Now().In(services.CentreTime).Format("2006-01")
	if month > current {
		return services.Invalid(services.FieldError{Field: "month", Code: services.FieldOutOfRange, Params: map[string]any{"max": current}})
	}
	acc, _, err := s.Reader.UnitAccount(ctx, p.Unit)
	if err != nil {
		return err
	}
	if ValidMonth(acc.OpenedMonth) && month < acc.OpenedMonth {
		return services.Invalid(services.FieldError{Field: "month", Code: services.FieldOutOfRange,
			Params: map[string]any{"min": acc.OpenedMonth, "max": current}})
	}
	return nil
}

func (s *Remittances) audit(ctx context.Context, p services.Principal, action, target string, err error) error {
	return audit.Outcome(ctx, s.Audit, s.Logger, audit.Record{
		At: s.Now(), Subject: p.Subject, Actor: p.Actor(), Channel: p.Channel, Action: action, Target: target,
	}, err)
}

func (s *Remittances) fresh(f core.Freshness) core.Freshness {
	if f.AsOf.IsZero() {
		f.AsOf = s.Now()
	}
	return f
}

// ValidMonth accepts YYYY-MM with a real month.
func ValidMonth(s string) bool {
	if len(s) != 7 || s[4] != '-' {
		return false
	}
	for i, c := range []byte(s) {
		if i != 4 && (c < '0' || c > '9') {
			return false
		}
	}
	m := (s[5]-'0')*10 + s[6] - '0'
	return m >= 1 && m <= 12 && s[:4] >= "1990"
}

// BillETag is the strong ETag of month's bill at the core's version:
// the month and the version, so that the tag of one month's bill never
// matches another month's, quoted as RFC 9110 wants.
func BillETag(month, version string) string {
	return `"` + month + "." + base64.RawURLEncoding.EncodeToString([]byte(version)) + `"`
}

// matchVersion finds, in an If-Match value, the version of month's bill.
// No value at all, or "*", is remittance.if_match_required (428): a
// declaration must say which bill the clerk saw. Tags of another month,
// weak tags (If-Match compares strongly) and malformed ones match nothing:
// remittance.bill_changed (412).
func matchVersion(ifMatch, month string) (string, error) {
	v := strings.TrimSpace(ifMatch)
	if v == "" || v == "*" {
		return "", services.E(services.CodeIfMatchRequired)
	}
	for tag := range strings.SplitSeq(v, ",") {
		tag = strings.TrimSpace(tag)
		if len(tag) < 2 || tag[0] != '"' || tag[len(tag)-1] != '"' {
			continue
		}
		m, enc, ok := strings.Cut(tag[1:len(tag)-1], ".")
		if !ok || m != month {
			continue
		}
		if version, err := base64.RawURLEncoding.DecodeString(enc); err == nil && len(version) > 0 {
			return string(version), nil
		}
	}
	return "", services.Errorf(services.CodeBillChanged, "employer: If-Match names no version of %s", month)
}

// RequestID is the core's request id of a declaration: derived from the
// operator, the kind, the month and the Idempotency-Key, so the same
// request retried is the same declaration at the core, and two operators'
// keys never meet.
func RequestID(p services.Principal, kind, month, key string) string {
	h := sha256.Sum256([]byte(p.Unit + "\n" + p.Subject + "\n" + kind + "\n" + month + "\n" + key))
	return "rm-" + hex.EncodeToString(h[:16])
}
