package certificate

import (
	"context"
	"errors"
	"strconv"
	"time"

	"handheld/services"
	"handheld/services/store"
)

// Stored statuses. Expiry is not stored: it is a matter of the clock.
const (
	storedIssued  = "issued"
	storedRevoked = "revoked"
)

// record is one row of certificates, without the PDF and the document,
// which only downloads read.
type record struct {
	ID, Subject, Number, VerifyCode string
	UnitCode                        string // "" on a person's certificate
	Type, Purpose, Lang, Holder     string
	Claims, JWS, PDFSHA256, Status  string
	IssuedAt, ExpiresAt, RevokedAt  time.Time
	Usage                           int
	// ToCentre and ToCentreName: a loan_elsewhere certificate's lending
	// centre; "" on any other.
	ToCentre, ToCentreName string
}

// recordColumns are the columns scan reads, in its order; usage is the
// number of verifications.
const recordColumns = `c.id, c.subject, c.number, c.verify_code, c.type, c.purpose, c.lang, c.holder,
	c.claims, c.jws, c.pdf_sha256, c.status, c.issued_at, c.expires_at, c.revoked_at, c.unit_code,
	(SELECT COUNT(*) FROM certificate_verifications v WHERE v.certificate_id = c.id), c.to_centre, c.to_centre_name`

type scanner interface{ Scan(dest ...any) error }

// scanRecord reads recordColumns, then any further columns into extra.
func scanRecord(row scanner, extra ...any) (record, error) {
	var r record
	dest := []any{&r.ID, &r.Subject, &r.Number, &r.VerifyCode, &r.Type, &r.Purpose, &r.Lang, &r.Holder,
		&r.Claims, &r.JWS, &r.PDFSHA256, &r.Status, &r.IssuedAt, &r.ExpiresAt, store.ScanTime(&r.RevokedAt), &r.UnitCode, &r.Usage,
		&r.ToCentre, &r.ToCentreName}
	err := row.Scan(append(dest, extra...)...)
	return r, err
}

// The certificate's own document and PDF name the holder in full: both are
// sealed at rest, each bound to its row and column.
var (
	sealedDocument = store.SealedColumn{Table: "certificates", Key: []string{"id"}, Column: "document"}
	sealedPDF      = store.SealedColumn{Table: "certificates", Key: []string{"id"}, Column: "pdf"}
)

// SealedColumns are the columns of this package's tables that hold sealed
// personal data, for the sealing step and `handheld keys reseal`.
func SealedColumns() []store.SealedColumn {
	return []store.SealedColumn{sealedDocument, sealedPDF}
}

// insert stores a new certificate with its document and PDF, sealed.
func insert(ctx context.Context, tx *store.Tx, r record, document, pdf []byte) error {
	document, err := tx.Seal(document, sealedDocument.Place(r.ID))
	if err != nil {
		return err
	}
	if pdf, err = tx.Seal(pdf, sealedPDF.Place(r.ID)); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO certificates (id, subject, number, verify_code, type, purpose, lang, holder,
		claims, jws, document, pdf, pdf_sha256, status, issued_at, expires_at, unit_code, to_centre, to_centre_name)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)`,
		r.ID, r.Subject, r.Number, r.VerifyCode, r.Type, r.Purpose, r.Lang, r.Holder,
		r.Claims, r.JWS, document, pdf, r.PDFSHA256, storedIssued, r.IssuedAt, r.ExpiresAt, r.UnitCode, r.ToCentre, r.ToCentreName)
	return err
}

// mine reads the scope's certificate id; another subject's (or unit's) is
// not found, exactly as an id that does not exist.
func (s *Service) mine(ctx context.Context, sc scope, id string) (record, error) {
	if !validID(id) {
		return record{}, services.Errorf(services.CodeNotFound, "certificate: malformed id")
	}
	cond, arg := sc.where("c.", 2)
	r, err := scanRecord(s.Store.QueryRow(ctx, `SELECT `+recordColumns+` FROM certificates c
		WHERE c.id = $1 AND `+cond, id, arg))
	return r, notFound(err)
}

// page reads up to limit of the scope's certificates, newest first, after
// the position of a previous page's last item (zero: from the start).
// Issue times are whole seconds, so the number, given out in order, breaks
// ties.
func (s *Service) page(ctx context.Context, sc scope, limit int, after position) ([]record, error) {
	cond, arg := sc.where("c.", 1)
	query := `SELECT ` + recordColumns + ` FROM certificates c WHERE ` + cond
	args := []any{arg}
	if after.number != "" {
		query += ` AND (c.issued_at < $2 OR (c.issued_at = $2 AND c.number < $3))`
		args = append(args, after.issuedAt, after.number)
	}
	query += ` ORDER BY c.issued_at DESC, c.number DESC LIMIT ` + strconv.Itoa(limit)
	rows, err := s.Store.Query(ctx, query, args...)
	if err != nil {
		return nil, services.Errorf(services.CodeInternal, "certificate: list: %w", err)
	}
	defer rows.Close()
	var out []record
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, services.Errorf(services.CodeInternal, "certificate: list: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, services.Errorf(services.CodeInternal, "certificate: list: %w", err)
	}
	return out, nil
}

// byCode reads the certificate a canonical verify code belongs to.
func (s *Service) byCode(ctx context.Context, code string) (record, error) {
	r, err := scanRecord(s.Store.QueryRow(ctx, `SELECT `+recordColumns+` FROM certificates c WHERE c.verify_code = $1`, code))
	return r, notFound(err)
}

// file reads what a download needs: the record, the stored PDF and the
// document it was rendered from (both nil once purged), in one statement (no transaction: on
// SQLite every transaction takes the write lock).
func (s *Service) file(ctx context.Context, id string) (r record, pdf, document []byte, err error) {
	r, err = scanRecord(s.Store.QueryRow(ctx, `SELECT `+recordColumns+`, c.pdf, c.document FROM certificates c WHERE c.id = $1`, id),
		&pdf, &document)
	if err != nil {
		return r, nil, nil, notFound(err)
	}
	if purged(pdf) {
		return r, nil, nil, nil
	}
	if pdf, err = s.Store.Open(pdf, sealedPDF.Place(r.ID)); err != nil {
		return r, nil, nil, services.Errorf(services.CodeInternal, "certificate: %w", err)
	}
	if document, err = s.Store.Open(document, sealedDocument.Place(r.ID)); err != nil {
		return r, nil, nil, services.Errorf(services.CodeInternal, "certificate: %w", err)
	}
	return r, pdf, document, nil
}

// verifications are the latest n verifications of a certificate.
func (s *Service) verifications(ctx context.Context, id string, n int) ([]Verification, error) {
	rows, err := s.Store.Query(ctx, `SELECT at, channel, centre, centre_name FROM certificate_verifications
		WHERE certificate_id = $1 ORDER BY at DESC, id DESC LIMIT `+strconv.Itoa(n), id)
	if err != nil {
		return nil, services.Errorf(services.CodeInternal, "certificate: verifications: %w", err)
	}
	defer rows.Close()
	out := []Verification{}
	for rows.Next() {
		var v Verification
		if err := rows.Scan(&v.At, &v.Channel, &v.Centre, &v.CentreName); err != nil {
			return nil, services.Errorf(services.CodeInternal, "certificate: verifications: %w", err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, services.Errorf(services.CodeInternal, "certificate: verifications: %w", err)
	}
	return out, nil
}

// notFound turns the store's not-found into the client's and any other
// store error into an internal one.
func notFound(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return services.Errorf(services.CodeNotFound, "certificate: %w", err)
	}
	return services.AsError(err)
}
