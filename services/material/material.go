// Package material keeps the files a person uploads as evidence for an
// application when shared data cannot supply it (issue 17, part 2): a
// hospital's diagnosis, a closing certificate, a photo of a registration.
//
// An upload is sniffed from its bytes and sanitised (Sanitize: images
// decoded and re-encoded without any metadata, PDFs parsed and refused if
// they carry scripts, actions, attachments or forms), sealed with the
// project's key ring (services/seal, AES-256-GCM, bound to the material's
// id) and only then handed to the blob store (files under the data
// directory, or S3-compatible object storage), so the object store never
// holds a readable document. The row in materials, which this package
// owns, holds the metadata: no file name (names carry personal data; they
// are not kept at all). A person reaches only their own materials: another
// person's id is material.not_found exactly like an unknown one.
//
// A material is claimed by the application that uses it (Claim), after
// which it cannot be deleted; an unused material expires after the
// retention period and is swept, row and blob (Sweep). Every upload,
// read, delivery and deletion is audited.
package material

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/keyset"
	"handheld/services/store"
)

// The audit actions of this package.
const (
	ActionUpload  = "material.upload"
	ActionDelete  = "material.delete"
	ActionClaim   = "material.claim"
	ActionDeliver = "material.deliver"
	ActionSweep   = "material.expire"
	ActionList    = "read.materials"
	ActionGet     = "read.material"
)

// Policy defaults and bounds (materials in the configuration).
const (
	DefaultMaxBytes    = 10 << 20
	DefaultMaxPixels   = 40_000_000
	DefaultMaxPDFPages = 20
	DefaultRetention   = 90 * 24 * time.Hour
	DefaultSweepEvery  = time.Hour
	DefaultLimit       = 20
	MaxLimit           = 100
	// maxMaxBytes stays under the HTTP server's in-memory bound for a
	// multipart file (fasthttp: 16 MiB): a larger part would be spooled to
	// a temporary file, a plain copy of the document on disk.
	maxMaxBytes    = 15 << 20
	maxMaxPixels   = 200_000_000
	maxMaxPDFPages = 500
)

// DefaultKinds are the evidence a material may be uploaded as: the names
// the withdrawal policies' evidence uses (issue 17, part 1).
func DefaultKinds() []string {
	return []string{"diagnosis", "medical_bill", "closing_certificate", "property_registration", "purchase_contract",
		"marriage_certificate", "retirement_certificate", "household_registration", "other"}
}

// Policy is the centre's upload policy (house rule 13: data, not code).
type Policy struct {
	// MaxBytes bounds an upload (and its re-encoded form).
	MaxBytes int64 `yaml:"max_bytes"`
	// MaxPixels bounds an image's width × height, read from its header
	// before any decoding (decompression bombs).
	MaxPixels int64 `yaml:"max_pixels"`
	// MaxPDFPages bounds a PDF's pages.
	MaxPDFPages int `yaml:"max_pdf_pages"`
	// Retention is how long an unused material is kept; claimed ones stay
	// with their application.
	Retention time.Duration `yaml:"retention"`
	// SweepEvery is how often expired unused materials are deleted.
	SweepEvery time.Duration `yaml:"sweep_every"`
	// Kinds are the evidence names a material may carry.
	Kinds []string `yaml:"kinds"`
}

// DefaultPolicy is the shipped policy.
func DefaultPolicy() Policy {
	return Policy{MaxBytes: DefaultMaxBytes, MaxPixels: DefaultMaxPixels, MaxPDFPages: DefaultMaxPDFPages,
		Retention: DefaultRetention, SweepEvery: DefaultSweepEvery, Kinds: DefaultKinds()}
}

var kindShape = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)

// Validate refuses a policy outside its bounds, naming the setting.
func (p Policy) Validate() error {
	switch {
	case p.MaxBytes < 1024 || p.MaxBytes > maxMaxBytes:
		return fmt.Errorf("max_bytes %d must be between 1024 and %d", p.MaxBytes, maxMaxBytes)
	case p.MaxPixels < 1 || p.MaxPixels > maxMaxPixels:
		return fmt.Errorf("max_pixels %d must be between 1 and %d", p.MaxPixels, maxMaxPixels)
	case p.MaxPDFPages < 1 || p.MaxPDFPages > maxMaxPDFPages:
		return fmt.Errorf("max_pdf_pages %d must be between 1 and %d", p.MaxPDFPages, maxMaxPDFPages)
	case p.Retention < time.Hour:
		return fmt.Errorf("retention %s must be at least 1h", p.Retention)
	case p.SweepEvery < time.Second:
		return fmt.Errorf("sweep_every %s must be at least 1s", p.SweepEvery)
	case len(p.Kinds) == 0:
		return errors.New("kinds: at least one")
	}
	for _, k := range p.Kinds {
		if !kindShape.MatchString(k) {
			return fmt.Errorf("kinds: %q is not a lower-case evidence name", k)
		}
	}
	return nil
}

// Limits are the policy's bounds for Sanitize.
func (p Policy) Limits() Limits {
	return Limits{MaxBytes: p.MaxBytes, MaxPixels: p.MaxPixels, MaxPDFPages: p.MaxPDFPages}
}

// auditor queues audit records (*audit.Log).
type auditor interface {
	Enqueue(ctx context.Context, r audit.Record) error
}

// Deps are a Service's collaborators, built once in bff/app.go. Store
// must carry the sealing ring (store.WithSealer): it seals the blobs.
type Deps struct {
	Store  *store.Store
	Blobs  Blobs
	Audit  auditor
	Policy Policy
	Now    func() time.Time
	Rand   io.Reader
	Logger *slog.Logger
}

// Service uploads, lists, deletes, claims and opens materials.
type Service struct{ Deps }

// New checks the dependencies and the policy.
func New(d Deps) (*Service, error) {
	if d.Store == nil || d.Blobs == nil || d.Audit == nil {
		return nil, errors.New("material: missing dependency")
	}
	if err := d.Policy.Validate(); err != nil {
		return nil, fmt.Errorf("materials: %w", err)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Rand == nil {
		d.Rand = rand.Reader
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{Deps: d}, nil
}

// Material is one upload's metadata as its owner sees it.
type Material struct {
	ID, Kind, MediaType string
	Size                int64
	Pages               int
	Width, Height       int
	SHA256              string
	// UsedBy is the application that claimed it; "" while unused.
	UsedBy               string
	CreatedAt, ExpiresAt time.Time
}

// Page is one page of a person's materials, newest first.
type Page struct {
	Items      []Material
	NextCursor string
}

// blobPlace binds a sealed blob to its material: a blob copied under
// another material's key does not open.
func blobPlace(id string) store.Place {
	return store.Place{Table: "materials", Column: "blob", Row: id}
}

// audited records what happened to a material (see audit.Outcome). The
// target is the material's id, never a file name.
func (s *Service) audited(ctx context.Context, p services.Principal, action, id string, opErr error) error {
	target := "self"
	if id != "" {
		target = "material:" + id
	}
	return audit.Outcome(ctx, s.Audit, s.Logger, audit.Record{At: s.Now(), Subject: p.Subject, Actor: p.Actor(),
		Channel: p.Channel, Action: action, Target: target}, opErr)
}

// Upload checks and sanitises data (Sanitize), seals it for a new
// material id, puts it in the blob store and records the row. A refusal
// stores nothing: the checks run before any write, and a row that cannot
// be written takes its blob away again.
func (s *Service) Upload(ctx context.Context, p services.Principal, kind string, data []byte) (Material, error) {
	if err := p.Depositor(); err != nil {
		return Material{}, err
	}
	if !slices.Contains(s.Policy.Kinds, kind) {
		err := services.Invalid(services.FieldError{Field: "kind", Code: services.FieldOneOf,
			Params: map[string]any{"allowed": strings.Join(s.Policy.Kinds, ", ")}})
		if kind == "" {
			err = services.Invalid(services.FieldError{Field: "kind", Code: services.FieldRequired})
		}
		return Material{}, err
	}
	m, err := s.upload(ctx, p, kind, data)
	target := m.ID
	if aerr := s.audited(ctx, p, ActionUpload, target, err); aerr != nil {
		return Material{}, aerr
	}
	return m, nil
}

func (s *Service) upload(ctx context.Context, p services.Principal, kind string, data []byte) (Material, error) {
	clean, err := Sanitize(data, s.Policy.Limits())
	if err != nil {
		return Material{}, err
	}
	id, err := newID(s.Rand)
	if err != nil {
		return Material{}, services.Errorf(services.CodeInternal, "material: %w", err)
	}
	sum := sha256.Sum256(clean.Data)
	now := store.Timestamp(s.Now())
	m := Material{ID: id, Kind: kind, MediaType: clean.MediaType, Size: int64(len(clean.Data)), Pages: clean.Pages,
		Width: clean.Width, Height: clean.Height, SHA256: hex.EncodeToString(sum[:]),
		CreatedAt: now, ExpiresAt: now.Add(s.Policy.Retention)}
	sealed, err := s.Store.Seal(clean.Data, blobPlace(id))
	if err != nil {
		return Material{}, services.Errorf(services.CodeInternal, "material: seal: %w", err)
	}
	if err := s.Blobs.Put(ctx, id, sealed); err != nil {
		return Material{}, services.Errorf(services.CodeUnavailable, "material: %w", err)
	}
	if _, err := s.Store.Exec(ctx, `INSERT INTO materials (id, subject, kind, media_type, size, pages, width, height,
		sha256, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		m.ID, p.Subject, m.Kind, m.MediaType, m.Size, m.Pages, m.Width, m.Height, m.SHA256, m.CreatedAt, m.ExpiresAt); err != nil {
		if derr := s.Blobs.Delete(context.WithoutCancel(ctx), id); derr != nil {
			s.Logger.ErrorContext(ctx, "material: blob left after a failed insert", "material", id, "error", derr)
		}
		return Material{}, services.Errorf(services.CodeInternal, "material: insert: %w", err)
	}
	return m, nil
}

// columns are what scan reads, in its order.
const columns = `id, kind, media_type, size, pages, width, height, sha256, used_by, created_at, expires_at`

type scanner interface{ Scan(dest ...any) error }

func scan(row scanner, extra ...any) (Material, error) {
	var (
		m      Material
		usedBy sql.NullString
	)
	err := row.Scan(append([]any{&m.ID, &m.Kind, &m.MediaType, &m.Size, &m.Pages, &m.Width, &m.Height, &m.SHA256,
		&usedBy, &m.CreatedAt, &m.ExpiresAt}, extra...)...)
	m.UsedBy = usedBy.String
	return m, err
}

// Get is one of p's own materials' metadata.
func (s *Service) Get(ctx context.Context, p services.Principal, id string) (Material, error) {
	if err := p.Depositor(); err != nil {
		return Material{}, err
	}
	m, err := s.own(ctx, p.Subject, id)
	target := id
	if err != nil {
		target = ""
	}
	if err := s.audited(ctx, p, ActionGet, target, err); err != nil {
		return Material{}, err
	}
	return m, nil
}

func (s *Service) own(ctx context.Context, subject, id string) (Material, error) {
	if !validID(id) {
		return Material{}, services.Errorf(services.CodeMaterialNotFound, "material: malformed id")
	}
	m, err := scan(s.Store.QueryRow(ctx, `SELECT `+columns+` FROM materials WHERE id = $1 AND subject = $2`, id, subject))
	return m, notFound(err)
}

// List is p's materials, newest first, limit (1–MaxLimit) at a time.
func (s *Service) List(ctx context.Context, p services.Principal, limit int, cursor string) (Page, error) {
	if err := p.Depositor(); err != nil {
		return Page{}, err
	}
	var fields []services.FieldError
	if limit < 1 || limit > MaxLimit {
		fields = append(fields, services.FieldError{Field: "limit", Code: services.FieldOutOfRange, Params: map[string]any{"min": 1, "max": MaxLimit}})
	}
	after, afterID, ok := time.Time{}, "", true
	if cursor != "" {
		after, afterID, ok = keyset.Decode(cursor, validID)
	}
	if !ok {
		fields = append(fields, services.FieldError{Field: "cursor", Code: services.FieldFormat})
	}
	if len(fields) > 0 {
		return Page{}, services.Invalid(fields...)
	}
	query := `SELECT ` + columns + ` FROM materials WHERE subject = $1`
	args := []any{p.Subject}
	if afterID != "" {
		query += ` AND (created_at < $2 OR (created_at = $2 AND id < $3))`
		args = append(args, after, afterID)
	}
	query += ` ORDER BY created_at DESC, id DESC LIMIT ` + strconv.Itoa(limit+1)
	items, err := s.query(ctx, query, args...)
	if err := s.audited(ctx, p, ActionList, "", err); err != nil {
		return Page{}, err
	}
	out := Page{Items: []Material{}}
	if len(items) > limit {
		items = items[:limit]
		last := items[limit-1]
		out.NextCursor = keyset.Encode(last.CreatedAt, last.ID)
	}
	out.Items = append(out.Items, items...)
	return out, nil
}

func (s *Service) query(ctx context.Context, query string, args ...any) ([]Material, error) {
	rows, err := s.Store.Query(ctx, query, args...)
	if err != nil {
		return nil, services.Errorf(services.CodeInternal, "material: list: %w", err)
	}
	defer rows.Close()
	var out []Material
	for rows.Next() {
		m, err := scan(rows)
		if err != nil {
			return nil, services.Errorf(services.CodeInternal, "material: list: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, services.Errorf(services.CodeInternal, "material: list: %w", err)
	}
	return out, nil
}

// Delete removes one of p's materials while no application uses it
// (material.in_use otherwise): the row first, in one conditional delete
// that a Claim at the same moment cannot slip past, then the blob.
func (s *Service) Delete(ctx context.Context, p services.Principal, id string) error {
	if err := p.Depositor(); err != nil {
		return err
	}
	err := s.delete(ctx, p.Subject, id)
	target := id
	if services.ErrorCode(err) == services.CodeMaterialNotFound {
		target = ""
	}
	return s.audited(ctx, p, ActionDelete, target, err)
}

func (s *Service) delete(ctx context.Context, subject, id string) error {
	m, err := s.own(ctx, subject, id)
	if err != nil {
		return err
	}
	if m.UsedBy != "" {
		return services.Errorf(services.CodeMaterialInUse, "material: %s is used", id)
	}
	res, err := s.Store.Exec(ctx, `DELETE FROM materials WHERE id = $1 AND subject = $2 AND used_by IS NULL`, id, subject)
	if err != nil {
		return services.Errorf(services.CodeInternal, "material: delete: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return services.Errorf(services.CodeMaterialInUse, "material: %s claimed meanwhile", id)
	}
	s.dropBlob(ctx, id)
	return nil
}

// dropBlob deletes a blob whose row is gone. A failure leaves sealed
// noise behind (logged by id, for the operator), never a readable file.
func (s *Service) dropBlob(ctx context.Context, id string) {
	if err := s.Blobs.Delete(context.WithoutCancel(ctx), id); err != nil {
		s.Logger.ErrorContext(ctx, "material: blob not deleted", "material", id, "error", err)
	}
}

// Usable are p's materials ids that an application may name: each the
// person's, unexpired, and unused (or used by applicationID already: a
// retry), in the order given, duplicates once. Another person's, an
// unknown or an expired id is material.not_found, one another application
// uses material.in_use. Nothing is written (the application's
// transaction calls ClaimTx). Audited as a read of each.
func (s *Service) Usable(ctx context.Context, p services.Principal, ids []string, applicationID string) ([]Material, error) {
	if err := p.Depositor(); err != nil {
		return nil, err
	}
	now := s.Now()
	out := make([]Material, 0, len(ids))
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		m, err := s.own(ctx, p.Subject, id)
		switch {
		case err == nil && m.UsedBy != "" && m.UsedBy != applicationID:
			err = services.Errorf(services.CodeMaterialInUse, "material: %s used by another application", id)
		case err == nil && m.UsedBy == "" && !m.ExpiresAt.After(now):
			err = services.Errorf(services.CodeMaterialNotFound, "material: %s expired", id)
		}
		target := id
		if services.ErrorCode(err) == services.CodeMaterialNotFound {
			target = ""
		}
		if aerr := s.audited(ctx, p, ActionGet, target, err); aerr != nil {
			return nil, aerr
		}
		out = append(out, m)
	}
	return out, nil
}

// Claim marks p's materials ids as used by applicationID, all or none:
// another person's or an unknown id is material.not_found, one already
// used (by any application) or expired material.in_use / not_found. It
// runs in its own transaction; ClaimTx joins the caller's.
func (s *Service) Claim(ctx context.Context, p services.Principal, ids []string, applicationID string) error {
	if err := p.Depositor(); err != nil {
		return err
	}
	return s.Store.Tx(ctx, func(tx *store.Tx) error { return s.ClaimTx(ctx, tx, p, ids, applicationID) })
}

// ClaimTx is Claim inside the caller's transaction, so that an
// application and the claim of its materials commit together.
func (s *Service) ClaimTx(ctx context.Context, tx *store.Tx, p services.Principal, ids []string, applicationID string) error {
	if err := p.Depositor(); err != nil {
		return err
	}
	if applicationID == "" || len(applicationID) > 64 {
		return services.Errorf(services.CodeInternal, "material: claim without an application id")
	}
	now := store.Timestamp(s.Now())
	seen := map[string]bool{}
	var err error
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		if err = s.claimOne(ctx, tx, p.Subject, id, applicationID, now); err != nil {
			break
		}
	}
	for id := range seen {
		target := id
		if services.ErrorCode(err) == services.CodeMaterialNotFound {
			target = ""
		}
		if aerr := s.audited(ctx, p, ActionClaim, target, err); aerr != nil && err == nil {
			err = aerr
		}
	}
	return err
}

// ReleaseTx frees the materials applicationID claimed, in the caller's
// transaction (the application cancelled or refused): they may serve the
// person's next application until they expire.
func (s *Service) ReleaseTx(ctx context.Context, tx *store.Tx, applicationID string) error {
	if applicationID == "" {
		return nil
	}
	if _, err := tx.Exec(ctx, `UPDATE materials SET used_by = NULL WHERE used_by = $1`, applicationID); err != nil {
		return services.Errorf(services.CodeInternal, "material: release: %w", err)
	}
	return nil
}

func (s *Service) claimOne(ctx context.Context, tx *store.Tx, subject, id, app string, now time.Time) error {
	if !validID(id) {
		return services.Errorf(services.CodeMaterialNotFound, "material: malformed id")
	}
	res, err := tx.Exec(ctx, `UPDATE materials SET used_by = $1 WHERE id = $2 AND subject = $3 AND used_by IS NULL AND expires_at > $4`,
		app, id, subject, now)
	if err != nil {
		return services.Errorf(services.CodeInternal, "material: claim: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	var usedBy sql.NullString
	var expires time.Time
	err = tx.QueryRow(ctx, `SELECT used_by, expires_at FROM materials WHERE id = $1 AND subject = $2`, id, subject).Scan(&usedBy, &expires)
	switch {
	case errors.Is(err, store.ErrNotFound) || errors.Is(err, sql.ErrNoRows):
		return services.Errorf(services.CodeMaterialNotFound, "material: claim %s: not the person's", id)
	case err != nil:
		return services.Errorf(services.CodeInternal, "material: claim: %w", err)
	case usedBy.Valid && usedBy.String == app:
		return nil // claimed by this application already: a retried submission
	case usedBy.Valid:
		return services.Errorf(services.CodeMaterialInUse, "material: %s used by another application", id)
	}
	return services.Errorf(services.CodeMaterialNotFound, "material: %s expired", id)
}

// Open is a material's bytes, for delivery to the core with its
// application: read from the blob store, opened with the ring (bound to
// the id, so a blob swapped between keys does not open) and checked
// against the stored sha256. Audited under the material's owner with the
// system as actor.
func (s *Service) Open(ctx context.Context, id string) ([]byte, error) {
	if !validID(id) {
		return nil, services.Errorf(services.CodeMaterialNotFound, "material: malformed id")
	}
	var subject string
	m, err := scan(s.Store.QueryRow(ctx, `SELECT `+columns+`, subject FROM materials WHERE id = $1`, id), &subject)
	if err != nil {
		return nil, notFound(err)
	}
	plain, err := s.open(ctx, m)
	rec := audit.Record{At: s.Now(), Subject: subject, Actor: "system", Channel: "system", Action: ActionDeliver, Target: "material:" + id}
	if aerr := audit.Outcome(ctx, s.Audit, s.Logger, rec, err); aerr != nil {
		return nil, aerr
	}
	return plain, nil
}

func (s *Service) open(ctx context.Context, m Material) ([]byte, error) {
	sealed, err := s.Blobs.Get(ctx, m.ID)
	if err != nil {
		return nil, services.Errorf(services.CodeInternal, "material: %s: %w", m.ID, err)
	}
	plain, err := s.Store.Open(sealed, blobPlace(m.ID))
	if err != nil {
		return nil, services.Errorf(services.CodeInternal, "material: %s: %w", m.ID, err)
	}
	if sum := sha256.Sum256(plain); hex.EncodeToString(sum[:]) != m.SHA256 {
		return nil, services.Errorf(services.CodeInternal, "material: %s: digest differs", m.ID)
	}
	return plain, nil
}

// Sweep deletes unused materials past their expiry, rows then blobs, at
// most batch at a time; it returns how many went. Each is audited under
// its owner with the system as actor.
func (s *Service) Sweep(ctx context.Context, batch int) (int, error) {
	now := store.Timestamp(s.Now())
	rows, err := s.Store.Query(ctx, `SELECT id, subject FROM materials WHERE used_by IS NULL AND expires_at <= $1
		ORDER BY expires_at LIMIT `+strconv.Itoa(max(batch, 1)), now)
	if err != nil {
		return 0, fmt.Errorf("material: sweep: %w", err)
	}
	type gone struct{ id, subject string }
	var due []gone
	for rows.Next() {
		var g gone
		if err := rows.Scan(&g.id, &g.subject); err != nil {
			rows.Close()
			return 0, fmt.Errorf("material: sweep: %w", err)
		}
		due = append(due, g)
	}
	rows.Close()
	n := 0
	for _, g := range due {
		res, err := s.Store.Exec(ctx, `DELETE FROM materials WHERE id = $1 AND used_by IS NULL AND expires_at <= $2`, g.id, now)
		if err != nil {
			return n, fmt.Errorf("material: sweep: %w", err)
		}
		if k, _ := res.RowsAffected(); k != 1 {
			continue // claimed meanwhile
		}
		s.dropBlob(ctx, g.id)
		n++
		_ = audit.Outcome(ctx, s.Audit, s.Logger, audit.Record{At: s.Now(), Subject: g.subject, Actor: "system",
			Channel: "system", Action: ActionSweep, Target: "material:" + g.id}, nil)
	}
	return n, nil
}

// Run sweeps every Policy.SweepEvery until ctx ends; the app starts it
// beside the outbox worker.
func (s *Service) Run(ctx context.Context) error {
	t := time.NewTicker(s.Policy.SweepEvery)
	defer t.Stop()
	for {
		for {
			n, err := s.Sweep(ctx, 100)
			if err != nil {
				s.Logger.ErrorContext(ctx, "material: sweep", "error", err)
			}
			if n < 100 || err != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// newID is 16 random bytes in hex: a material's id and its blob's key.
func newID(r io.Reader) (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

var idShape = regexp.MustCompile(`^[0-9a-f]{32}$`)

func validID(id string) bool { return idShape.MatchString(id) }

// notFound turns the store's not-found into the client's.
func notFound(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound), errors.Is(err, sql.ErrNoRows):
		return services.Errorf(services.CodeMaterialNotFound, "material: %w", err)
	}
	return services.Errorf(services.CodeInternal, "material: %w", err)
}
