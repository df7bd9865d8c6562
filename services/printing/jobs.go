package printing

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"hash/fnv"
	"io"
	"regexp"
	"strconv"
	"time"

	"handheld/services"
	"handheld/services/keyset"
	"handheld/services/store"
)

// The job's PDF names the holder in full: sealed at rest, bound to its row.
var sealedPDF = store.SealedColumn{Table: "print_jobs", Key: []string{"id"}, Column: "pdf"}

// SealedColumns are the columns of this package's tables that hold sealed
// personal data, for the sealing step and `handheld keys reseal`.
func SealedColumns() []store.SealedColumn { return []store.SealedColumn{sealedPDF} }

// params is what the parameters column keeps: the request, no personal data.
type params struct {
	From          string `json:"from,omitempty"`
	To            string `json:"to,omitempty"`
	CertificateID string `json:"certificate_id,omitempty"`
}

// Create renders the document p asked for and queues it for the kiosk p
// is signed in at. It is refused over the person's daily limit (counted in
// the store, all kiosks together, Asia/Shanghai days), and audited.
func (s *Service) Create(ctx context.Context, p services.Principal, r Request) (Job, error) {
	if err := kioskCitizen(p); err != nil {
		return Job{}, err
	}
	pr, err := s.check(r)
	if err != nil {
		return Job{}, err
	}
	now := store.Timestamp(s.Now())
	day := now.In(services.CentreTime).Format(time.DateOnly)
	if n, err := s.countDay(ctx, p.Subject, day); err != nil {
		return Job{}, err
	} else if n >= s.Policy.MaxPerDay {
		return Job{}, s.overLimit(now)
	}
	id, err := newID(s.Rand)
	if err != nil {
		return Job{}, services.Errorf(services.CodeInternal, "printing: %w", err)
	}
	location := ""
	if d, ok := s.Devices.Device(p.Device); ok {
		location = d.Location
	}
	j := Job{ID: id, Document: r.Document, Status: StatusReady, DeviceID: p.Device, Location: location,
		From: pr.From, To: pr.To, CertificateID: pr.CertificateID, CreatedAt: now, ExpiresAt: now.Add(s.Policy.TTL)}
	pdf, err := s.render(ctx, p, j, lang(r.Locale))
	if err == nil {
		j.Pages = pageCount(pdf)
		err = s.insert(ctx, p.Subject, j, day, pdf, r.IdempotencyKey)
	}
	if err := s.audited(ctx, p, p.Subject, ActionCreate, j.ID, err); err != nil {
		return Job{}, err
	}
	return j, nil
}

// overLimit is the daily limit's refusal: retry after the centre's midnight.
func (s *Service) overLimit(now time.Time) error {
	local := now.In(services.CentreTime)
	midnight := time.Date(local.Year(), local.Month(), local.Day()+1, 0, 0, 0, 0, services.CentreTime)
	return &services.Error{Code: services.CodePrintDailyLimit, Params: map[string]any{"max": s.Policy.MaxPerDay},
		RetryAfter: midnight.Sub(now)}
}

// countDay counts the person's prints of a day.
func (s *Service) countDay(ctx context.Context, subject, day string) (int, error) {
	var n int
	if err := s.Store.QueryRow(ctx, `SELECT COUNT(*) FROM print_jobs WHERE subject = $1 AND day = $2`, subject, day).Scan(&n); err != nil {
		return 0, services.Errorf(services.CodeInternal, "printing: count: %w", err)
	}
	return n, nil
}

// insert stores the job with its PDF sealed. The count is taken again
// under the person's lock, so that two requests at once cannot both take
// the last print of the day.
func (s *Service) insert(ctx context.Context, subject string, j Job, day string, pdf []byte, key string) error {
	raw, _ := json.Marshal(params{From: j.From, To: j.To, CertificateID: j.CertificateID})
	err := s.Store.Tx(ctx, func(tx *store.Tx) error {
		if tx.Dialect() == store.Postgres {
			h := fnv.New64a()
			h.Write([]byte("print\x00" + subject))
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(h.Sum64())); err != nil {
				return err
			}
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM print_jobs WHERE subject = $1 AND day = $2`, subject, day).Scan(&n); err != nil {
			return err
		}
		if n >= s.Policy.MaxPerDay {
			return s.overLimit(j.CreatedAt)
		}
		sealed, err := tx.Seal(pdf, sealedPDF.Place(j.ID))
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO print_jobs (id, subject, device_id, location, document, parameters, status, pages,
			pdf, day, idempotency_key, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
			j.ID, subject, j.DeviceID, j.Location, j.Document, string(raw), StatusReady, j.Pages, sealed, day, key,
			j.CreatedAt, j.ExpiresAt)
		return err
	})
	var e *services.Error
	if err != nil && !errors.As(err, &e) {
		return services.Errorf(services.CodeInternal, "printing: insert: %w", err)
	}
	return err
}

// jobColumns are what scanJob reads, in its order.
const jobColumns = `id, document, status, pages, device_id, location, parameters, created_at, expires_at, printed_at`

type scanner interface{ Scan(dest ...any) error }

func scanJob(row scanner, extra ...any) (Job, error) {
	var (
		j       Job
		raw     string
		printed time.Time
	)
	err := row.Scan(append([]any{&j.ID, &j.Document, &j.Status, &j.Pages, &j.DeviceID, &j.Location, &raw,
		&j.CreatedAt, &j.ExpiresAt, store.ScanTime(&printed)}, extra...)...)
	if err != nil {
		return j, err
	}
	var pr params
	_ = json.Unmarshal([]byte(raw), &pr)
	j.From, j.To, j.CertificateID = pr.From, pr.To, pr.CertificateID
	if !printed.IsZero() {
		j.PrintedAt = &printed
	}
	return j, nil
}

// seen is the job as of now: a ready job past its expiry is expired, as
// the next write will record.
func (s *Service) seen(j Job) Job {
	if j.Status == StatusReady && !s.Now().Before(j.ExpiresAt) {
		j.Status = StatusExpired
	}
	return j
}

// Get is one of p's own prints; another person's id is not found, exactly
// like an id that does not exist.
func (s *Service) Get(ctx context.Context, p services.Principal, id string) (Job, error) {
	if err := p.Depositor(); err != nil {
		return Job{}, err
	}
	j, err := s.own(ctx, p.Subject, id)
	target := id
	if err != nil {
		target = ""
	}
	if err := s.audited(ctx, p, p.Subject, ActionGet, target, err); err != nil {
		return Job{}, err
	}
	return s.seen(j), nil
}

func (s *Service) own(ctx context.Context, subject, id string) (Job, error) {
	if !validID(id) {
		return Job{}, services.Errorf(services.CodeNotFound, "printing: malformed id")
	}
	j, err := scanJob(s.Store.QueryRow(ctx, `SELECT `+jobColumns+` FROM print_jobs WHERE id = $1 AND subject = $2`, id, subject))
	return j, notFound(err)
}

// List is p's prints on every kiosk, newest first, limit (1–MaxLimit) at a
// time from cursor; p may be on any channel.
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
	query := `SELECT ` + jobColumns + ` FROM print_jobs WHERE subject = $1`
	args := []any{p.Subject}
	if afterID != "" {
		query += ` AND (created_at < $2 OR (created_at = $2 AND id < $3))`
		args = append(args, after, afterID)
	}
	query += ` ORDER BY created_at DESC, id DESC LIMIT ` + strconv.Itoa(limit+1)
	jobs, err := s.query(ctx, query, args...)
	if err := s.audited(ctx, p, p.Subject, ActionList, "", err); err != nil {
		return Page{}, err
	}
	out := Page{Items: []Job{}}
	if len(jobs) > limit {
		jobs = jobs[:limit]
		last := jobs[limit-1]
		out.NextCursor = keyset.Encode(last.CreatedAt, last.ID)
	}
	for _, j := range jobs {
		out.Items = append(out.Items, s.seen(j))
	}
	return out, nil
}

func (s *Service) query(ctx context.Context, query string, args ...any) ([]Job, error) {
	rows, err := s.Store.Query(ctx, query, args...)
	if err != nil {
		return nil, services.Errorf(services.CodeInternal, "printing: list: %w", err)
	}
	defer rows.Close()
	var out []Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, services.Errorf(services.CodeInternal, "printing: list: %w", err)
		}
		out = append(out, j)
	}
	if err := rows.Err(); err != nil {
		return nil, services.Errorf(services.CodeInternal, "printing: list: %w", err)
	}
	return out, nil
}

// Queue is the device's jobs waiting to print, oldest first. Jobs past
// their expiry are expired on the way (their PDFs emptied) and left out.
func (s *Service) Queue(ctx context.Context, device services.Principal) ([]Job, error) {
	if err := kioskDevice(device); err != nil {
		return nil, err
	}
	now := store.Timestamp(s.Now())
	if _, err := s.Store.Exec(ctx, `UPDATE print_jobs SET status = $1, pdf = $2
		WHERE device_id = $3 AND status = $4 AND expires_at <= $5`, StatusExpired, []byte{}, device.Device, StatusReady, now); err != nil {
		return nil, services.Errorf(services.CodeInternal, "printing: expire: %w", err)
	}
	jobs, err := s.query(ctx, `SELECT `+jobColumns+` FROM print_jobs WHERE device_id = $1 AND status = $2
		ORDER BY created_at, id LIMIT `+strconv.Itoa(MaxLimit), device.Device, StatusReady)
	if jobs == nil {
		jobs = []Job{}
	}
	return jobs, err
}

// Document hands the job's PDF to the device it was created on, once: the
// job is marked printed and its PDF emptied in the same conditional
// update, so two fetches at once give the PDF to one of them. Another
// device's job is not found; a printed one print.already_printed; an
// expired one print.expired. Each fetch is audited under the holder.
func (s *Service) Document(ctx context.Context, device services.Principal, id string) ([]byte, error) {
	if err := kioskDevice(device); err != nil {
		return nil, err
	}
	if !validID(id) {
		return nil, services.Errorf(services.CodeNotFound, "printing: malformed id")
	}
	var (
		subject string
		sealed  []byte
	)
	j, err := scanJob(s.Store.QueryRow(ctx, `SELECT `+jobColumns+`, subject, pdf FROM print_jobs WHERE id = $1 AND device_id = $2`,
		id, device.Device), &subject, &sealed)
	if err != nil {
		return nil, notFound(err)
	}
	now := store.Timestamp(s.Now())
	var pdf []byte
	switch j = s.seen(j); j.Status {
	case StatusPrinted:
		err = services.Errorf(services.CodePrintAlreadyPrinted, "printing: %s printed already", id)
	case StatusExpired, StatusFailed:
		err = services.Errorf(services.CodePrintExpired, "printing: %s is %s", id, j.Status)
	default:
		if pdf, err = s.Store.Open(sealed, sealedPDF.Place(id)); err != nil {
			err = services.Errorf(services.CodeInternal, "printing: %w", err)
			break
		}
		var res interface{ RowsAffected() (int64, error) }
		res, err = s.Store.Exec(ctx, `UPDATE print_jobs SET status = $1, printed_at = $2, pdf = $3
			WHERE id = $4 AND device_id = $5 AND status = $6 AND expires_at > $2`, StatusPrinted, now, []byte{}, id, device.Device, StatusReady)
		if err != nil {
			err = services.Errorf(services.CodeInternal, "printing: mark printed: %w", err)
		} else if n, _ := res.RowsAffected(); n != 1 {
			err = services.Errorf(services.CodePrintAlreadyPrinted, "printing: %s taken by another fetch", id)
		}
	}
	if err := s.audited(ctx, device, subject, ActionFetch, id, err); err != nil {
		return nil, err
	}
	return pdf, nil
}

// newID is 16 random bytes in hex: a print job's id.
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
	case errors.Is(err, store.ErrNotFound):
		return services.Errorf(services.CodeNotFound, "printing: %w", err)
	}
	return services.Errorf(services.CodeInternal, "printing: %w", err)
}

// pageRe matches one page object (/Type /Page, not the /Pages root).
var pageRe = regexp.MustCompile(`/Type\s*/Page\b[^s]`)

// pageCount counts the pages of a PDF the renderer wrote.
func pageCount(pdf []byte) int { return len(pageRe.FindAllIndex(pdf, -1)) }
