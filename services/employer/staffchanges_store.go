package employer

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/core"
	"handheld/services/keyset"
	"handheld/services/mask"
	"handheld/services/outbox"
	"handheld/services/store"
)

// The staff_changes table is this package's (migration 0013); its SQL is
// here and nowhere else.

// sealedApplicant is a join's name and ID number, sealed at rest and bound
// to its change.
var sealedApplicant = store.SealedColumn{Table: "staff_changes", Key: []string{"id"}, Column: "applicant", Text: true}

// SealedColumns are the columns of this package's tables that hold sealed
// personal data, for the sealing step and `handheld keys reseal`.
func SealedColumns() []store.SealedColumn { return []store.SealedColumn{sealedApplicant, sealedCells} }

// Page sizes of ListChanges.
const (
	DefaultChangeLimit = 20
	MaxChangeLimit     = 100
)

// applicantOf is what the applicant column holds, opened.
type applicantOf struct {
	Name     string `json:"name"`
	IDNumber string `json:"id_number"`
}

// changeRow is a staff_changes row, the applicant opened.
type changeRow struct {
	ID, UnitCode, Subject, Kind, PersonKey, PersonID, Applicant string
	BaseFen                                                     int64
	Month, Reason, Status, Outcome, FromUnitCode, FailureCode   string
	CreatedAt, UpdatedAt                                        time.Time
}

const changeColumns = `id, unit_code, subject, kind, person_key, person_id, applicant, base_fen, month, reason, status,
	outcome, from_unit_code, failure_code, created_at, updated_at, request_hash`

func (r changeRow) insert(ctx context.Context, tx *store.Tx, k Key) error {
	applicant := ""
	if r.Applicant != "" {
		var err error
		if applicant, err = tx.SealText(r.Applicant, sealedApplicant.Place(r.ID)); err != nil {
			return err
		}
	}
	_, err := tx.Exec(ctx, `INSERT INTO staff_changes (id, unit_code, subject, kind, person_key, person_id, applicant, base_fen,
		month, reason, status, idempotency_key, request_hash, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
		r.ID, r.UnitCode, r.Subject, r.Kind, r.PersonKey, r.PersonID, applicant, r.BaseFen, r.Month, r.Reason, r.Status,
		k.IdempotencyKey, k.RequestHash, r.CreatedAt, r.UpdatedAt)
	return err
}

// load reads one row by a condition; hash is its request hash.
func (s *StaffChanges) load(ctx context.Context, where string, args ...any) (changeRow, string, error) {
	return s.scan(s.Store.QueryRow(ctx, `SELECT `+changeColumns+` FROM staff_changes WHERE `+where, args...))
}

func (s *StaffChanges) scan(sc interface{ Scan(dest ...any) error }) (changeRow, string, error) {
	var r changeRow
	var hash string
	err := sc.Scan(&r.ID, &r.UnitCode, &r.Subject, &r.Kind, &r.PersonKey, &r.PersonID, &r.Applicant, &r.BaseFen, &r.Month,
		&r.Reason, &r.Status, &r.Outcome, &r.FromUnitCode, &r.FailureCode, store.ScanTime(&r.CreatedAt), store.ScanTime(&r.UpdatedAt), &hash)
	if err != nil || r.Applicant == "" {
		return r, hash, err
	}
	r.Applicant, err = s.Store.OpenText(r.Applicant, sealedApplicant.Place(r.ID))
	return r, hash, err
}

// byKey finds the change this operator made under k: the same request gets
// it again (as it was accepted), another request idempotency.key_reused.
func (s *StaffChanges) byKey(ctx context.Context, subject string, k Key) (StaffChange, bool, error) {
	r, hash, err := s.load(ctx, `subject = $1 AND idempotency_key = $2`, subject, k.IdempotencyKey)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return StaffChange{}, false, nil
	case err != nil:
		return StaffChange{}, false, services.Errorf(services.CodeInternal, "employer: staff change by key: %w", err)
	case hash != k.RequestHash:
		return StaffChange{}, false, services.E(services.CodeIdempotencyKeyReused)
	}
	r.Status, r.Outcome, r.FromUnitCode, r.FailureCode, r.UpdatedAt = ChangeAccepted, "", "", "", r.CreatedAt
	if r.Kind == core.ChangeJoin {
		r.PersonID = ""
	}
	return s.view(r), true, nil
}

// finish records the core's answer once: a row already finished (another
// replica got there first) is left as it is.
func (s *StaffChanges) finish(ctx context.Context, r changeRow, status string, res core.StaffChangeResult, code services.Code) error {
	personID := r.PersonID
	if res.PersonID != "" {
		personID = res.PersonID
	}
	now := store.Timestamp(s.Now())
	return s.Store.Tx(ctx, func(tx *store.Tx) error {
		updated, err := tx.Exec(ctx, `UPDATE staff_changes SET status = $1, outcome = $2, from_unit_code = $3, failure_code = $4,
			person_id = $5, updated_at = $6 WHERE id = $7 AND status = $8`,
			status, res.Outcome, res.FromUnitCode, string(code), personID, now, r.ID, ChangeAccepted)
		if err != nil {
			return err
		}
		if n, err := updated.RowsAffected(); err != nil || n == 0 || status != ChangeDone || r.Kind != core.ChangeJoin {
			return err
		}
		// A join done: whether the person has an account elsewhere to
		// offer them is asked off this path (transferoffer.go), so that
		// neither the platform's absence nor its answer touches the join.
		_, err = outbox.Enqueue(ctx, tx, outbox.Message{ID: string(TopicTransferOffer) + ":" + r.ID, Topic: TopicTransferOffer,
			Payload: []byte(r.ID)}, now)
		return err
	})
}

// view is what the clerk sees of a row: the applicant masked for the app.
func (s *StaffChanges) view(r changeRow) StaffChange {
	v := StaffChange{ID: r.ID, Kind: r.Kind, Status: r.Status, StaffID: r.PersonID, BaseFen: r.BaseFen, Month: r.Month,
		Reason: r.Reason, Outcome: r.Outcome, FromUnitCode: r.FromUnitCode, FailureCode: r.FailureCode,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if r.Applicant != "" {
		var a applicantOf
		_ = json.Unmarshal([]byte(r.Applicant), &a)
		v.Name = s.Mask.Apply(mask.Name, mask.App, a.Name)
		v.IDNumber = s.Mask.Apply(mask.IDNumber, mask.App, a.IDNumber)
	}
	return v
}

// Change is one of the operator's unit's changes; another unit's id is
// staff.not_found, like an unknown one. Audited (read.staff_changes).
func (s *StaffChanges) Change(ctx context.Context, p services.Principal, id string) (StaffChange, error) {
	if err := operator(p); err != nil {
		return StaffChange{}, err
	}
	var v StaffChange
	var err error
	if !validChangeID(id) {
		err = services.Errorf(services.CodeStaffNotFound, "employer: malformed staff change id")
	} else {
		var r changeRow
		r, _, err = s.load(ctx, `id = $1 AND unit_code = $2`, id, p.Unit)
		switch {
		case errors.Is(err, store.ErrNotFound):
			err = services.Errorf(services.CodeStaffNotFound, "employer: no staff change")
		case err != nil:
			err = services.Errorf(services.CodeInternal, "employer: staff change: %w", err)
		default:
			v = s.view(r)
		}
	}
	target := "staff_change:invalid"
	if validChangeID(id) {
		target = "staff_change:" + id
	}
	rec := audit.Record{At: s.Now(), Subject: p.Subject, Actor: p.Actor(), Channel: p.Channel, Action: ActionStaffChanges, Target: target}
	if err := audit.Outcome(ctx, s.Audit, s.Logger, rec, err); err != nil {
		return StaffChange{}, err
	}
	return v, nil
}

// ChangeList is one page of a unit's changes, newest first.
type ChangeList struct {
	Items      []StaffChange
	NextCursor string
}

// Changes lists the operator's unit's changes, newest first, optionally of
// one status; limit 1..MaxChangeLimit (0: DefaultChangeLimit), continued
// with the previous page's cursor. Audited (read.staff_changes).
func (s *StaffChanges) Changes(ctx context.Context, p services.Principal, status string, limit int, cursor string) (ChangeList, error) {
	if err := operator(p); err != nil {
		return ChangeList{}, err
	}
	out, err := s.list(ctx, p.Unit, status, limit, cursor)
	rec := audit.Record{At: s.Now(), Subject: p.Subject, Actor: p.Actor(), Channel: p.Channel, Action: ActionStaffChanges, Target: "staff_changes"}
	if err := audit.Outcome(ctx, s.Audit, s.Logger, rec, err); err != nil {
		return ChangeList{}, err
	}
	return out, nil
}

func (s *StaffChanges) list(ctx context.Context, unit, status string, limit int, cursor string) (ChangeList, error) {
	if limit == 0 {
		limit = DefaultChangeLimit
	}
	var fields []services.FieldError
	if limit < 1 || limit > MaxChangeLimit {
		fields = append(fields, services.FieldError{Field: "limit", Code: services.FieldOutOfRange, Params: map[string]any{"min": 1, "max": MaxChangeLimit}})
	}
	if status != "" && status != ChangeAccepted && status != ChangeDone && status != ChangeFailed {
		fields = append(fields, services.FieldError{Field: "status", Code: services.FieldOneOf,
			Params: map[string]any{"allowed": []string{ChangeAccepted, ChangeDone, ChangeFailed}}})
	}
	after, afterArgs, ok := keyset.After(cursor, validChangeID, 2)
	if !ok {
		fields = append(fields, services.FieldError{Field: "cursor", Code: services.FieldFormat})
	}
	where, args := `unit_code = $1`+after, append([]any{unit}, afterArgs...)
	if len(fields) > 0 {
		return ChangeList{}, services.Invalid(fields...)
	}
	if status != "" {
		args = append(args, status)
		where += ` AND status = $` + strconv.Itoa(len(args))
	}
	rows, err := s.Store.Query(ctx, `SELECT `+changeColumns+` FROM staff_changes WHERE `+where+
		` ORDER BY created_at DESC, id DESC LIMIT `+strconv.Itoa(limit+1), args...)
	if err != nil {
		return ChangeList{}, services.Errorf(services.CodeInternal, "employer: staff changes: %w", err)
	}
	defer rows.Close()
	var got []changeRow
	for rows.Next() {
		r, _, err := s.scan(rows)
		if err != nil {
			return ChangeList{}, services.Errorf(services.CodeInternal, "employer: staff changes: %w", err)
		}
		got = append(got, r)
	}
	if err := rows.Err(); err != nil {
		return ChangeList{}, services.Errorf(services.CodeInternal, "employer: staff changes: %w", err)
	}
	got, next := keyset.Trim(got, limit, func(r changeRow) (time.Time, string) { return r.CreatedAt, r.ID })
	out := ChangeList{Items: make([]StaffChange, 0, len(got)), NextCursor: next}
	for _, r := range got {
		out.Items = append(out.Items, s.view(r))
	}
	return out, nil
}
