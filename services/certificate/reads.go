package certificate

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"time"

	"handheld/services"
	"handheld/services/store"
)

// Statuses a certificate is seen in. Expired is the clock's verdict, so
// it is worked out at each read rather than stored.
const (
	StatusValid    = "valid"
	StatusExpired  = "expired"
	StatusRevoked  = "revoked"
	StatusNotFound = "not_found" // verify only: no certificate has the code
)

// List paging, as docs/api.md §Conventions sets for every list.
const (
	DefaultLimit = 20
	MaxLimit     = 100
	// MaxVerifications is how many of the latest verifications Get lists.
	MaxVerifications = 50
)

// View is one of the holder's certificates as the holder sees it.
type View struct {
	ID, Number, Type, Purpose, Lang string
	Status                          string // valid | expired | revoked
	IssuedAt, ExpiresAt             time.Time
	RevokedAt                       time.Time // zero unless revoked
	VerifyCode                      string    // grouped
	VerifyURL                       string
	// DownloadURL is a fresh signed link; empty once revoked.
	DownloadURL string
	// PDFSHA256 is the SHA-256 (hex) of the PDF the link serves.
	PDFSHA256 string
	// Facts are what the certificate states, as signed: the holder sees
	// exactly what a verifier holding the PDF reads. A unit's certificate
	// has Unit instead.
	Facts FactsSummary
	Unit  *UnitSummary
	// ToCentre and ToCentreName: the lending centre of a loan_elsewhere
	// certificate; "" on any other type.
	ToCentre, ToCentreName string
	// Usage counts every verification so far.
	Usage int
	// Verifications are the latest MaxVerifications, newest first; Get
	// only (nil in lists).
	Verifications []Verification
}

// Verification is one check of a certificate: when, and through the web
// page, the API or the national platform. Who checked is known only of a
// centre verifying through the platform (Centre, CentreName); of the page
// and the API nobody is kept.
type Verification struct {
	At         time.Time
	Channel    string // web | api | platform
	Centre     string // platform only: the verifying centre's code
	CentreName string // platform only: its name, as the platform lists it
}

// Page is one page of the holder's certificates, newest first.
type Page struct {
	Items      []View
	NextCursor string // empty on the last page
}

// List is p's certificates (an operator's: the unit's), limit
// (1–MaxLimit) at a time from cursor.
func (s *Service) List(ctx context.Context, p services.Principal, limit int, cursor string) (Page, error) {
	sc, err := scopeOf(p)
	if err != nil {
		return Page{}, err
	}
	var fields []services.FieldError
	if limit < 1 || limit > MaxLimit {
		fields = append(fields, services.FieldError{Field: "limit", Code: services.FieldOutOfRange, Params: map[string]any{"min": 1, "max": MaxLimit}})
	}
	after, ok := parseCursor(cursor)
	if !ok {
		fields = append(fields, services.FieldError{Field: "cursor", Code: services.FieldFormat})
	}
	if len(fields) > 0 {
		return Page{}, services.Invalid(fields...)
	}
	rows, err := s.page(ctx, sc, limit+1, after)
	if err := s.audited(ctx, byHolder(p, ActionList, ""), err); err != nil {
		return Page{}, err
	}
	out := Page{Items: []View{}}
	if len(rows) > limit {
		rows = rows[:limit]
		last := rows[limit-1]
		out.NextCursor = position{issuedAt: last.IssuedAt, number: last.Number}.String()
	}
	for _, r := range rows {
		out.Items = append(out.Items, s.view(r))
	}
	return out, nil
}

// Get is one of p's certificates (an operator's: one of the unit's) with
// its latest verifications; another person's or unit's id is not_found,
// exactly like an id that does not exist.
func (s *Service) Get(ctx context.Context, p services.Principal, id string) (View, error) {
	sc, err := scopeOf(p)
	if err != nil {
		return View{}, err
	}
	r, err := s.mine(ctx, sc, id)
	var vs []Verification
	if err == nil {
		vs, err = s.verifications(ctx, id, MaxVerifications)
	}
	target := id
	if err != nil {
		target = "" // never write an unknown id into the trail
	}
	if err := s.audited(ctx, byHolder(p, ActionGet, target), err); err != nil {
		return View{}, err
	}
	v := s.view(r)
	v.Verifications = vs
	return v, nil
}

// Revoke withdraws one of p's certificates (an operator: one of the
// unit's, whichever operator issued it): from then on it verifies as
// revoked and its PDF is no longer served. Revoking again changes nothing
// and answers the same.
func (s *Service) Revoke(ctx context.Context, p services.Principal, id string) (View, error) {
	sc, err := scopeOf(p)
	if err != nil {
		return View{}, err
	}
	if _, err := s.mine(ctx, sc, id); err != nil {
		return View{}, err
	}
	at := store.Timestamp(s.Now())
	cond, arg := sc.where("", 4)
	_, err = s.Store.Exec(ctx, `UPDATE certificates SET status = $1, revoked_at = $2
		WHERE id = $3 AND `+cond+` AND status = $5`, storedRevoked, at, id, arg, storedIssued)
	if err != nil {
		err = services.Errorf(services.CodeInternal, "certificate: revoke: %w", err)
	}
	if err := s.audited(ctx, byHolder(p, ActionRevoke, id), err); err != nil {
		return View{}, err
	}
	r, err := s.mine(ctx, sc, id)
	if err != nil {
		return View{}, err
	}
	return s.view(r), nil
}

// view shapes a record for its holder.
func (s *Service) view(r record) View {
	v := View{ID: r.ID, Number: r.Number, Type: r.Type, Purpose: r.Purpose, Lang: r.Lang,
		Status: s.status(r), IssuedAt: r.IssuedAt, ExpiresAt: r.ExpiresAt, RevokedAt: r.RevokedAt,
		VerifyCode: FormatCode(r.VerifyCode), VerifyURL: s.PublicBaseURL + "/verify/" + FormatCode(r.VerifyCode),
		PDFSHA256: r.PDFSHA256, Usage: r.Usage, ToCentre: r.ToCentre, ToCentreName: r.ToCentreName}
	var signed struct {
		Facts FactsSummary `json:"facts"`
		Unit  *UnitSummary `json:"unit"`
	}
	if err := json.Unmarshal([]byte(r.Claims), &signed); err != nil {
		s.Logger.Error("stored claims unreadable", "certificate", r.ID, "err", err)
	}
	v.Facts, v.Unit = signed.Facts, signed.Unit
	if r.Status != storedRevoked {
		v.DownloadURL = s.downloadURL(r.ID)
	}
	return v
}

// status is what a record is now: revoked outranks expired.
func (s *Service) status(r record) string {
	switch {
	case r.Status == storedRevoked:
		return StatusRevoked
	case !s.Now().Before(r.ExpiresAt):
		return StatusExpired
	}
	return StatusValid
}

// position is where a page ended: the last item's issue time and number,
// the list's order. Cursors are not sealed: the list is always the
// caller's own, so a forged cursor can only skip around in it.
type position struct {
	issuedAt time.Time
	number   string
}

func (p position) String() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(p.issuedAt.UnixMicro(), 10) + "." + p.number))
}

// numberShape is what a certificate number looks like, for cursors.
var numberShape = regexp.MustCompile(`^[0-9A-Z]{1,12}-[0-9]{4}-[0-9]{6,}$`)

// parseCursor reads a cursor; "" is the first page.
func parseCursor(c string) (position, bool) {
	if c == "" {
		return position{}, true
	}
	if len(c) > 128 {
		return position{}, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return position{}, false
	}
	micros, number, ok := strings.Cut(string(raw), ".")
	n, err := strconv.ParseInt(micros, 10, 64)
	if !ok || err != nil || !numberShape.MatchString(number) {
		return position{}, false
	}
	return position{issuedAt: time.UnixMicro(n).UTC(), number: number}, true
}
