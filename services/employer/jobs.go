package employer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/mask"
	"handheld/services/store"
)

// Bulk files (issue 15): a clerk uploads a CSV or XLSX of joins, leaves,
// rejoins or base changes. The upload checks the file as a whole and every
// line as the single calls check their fields, stores the lines sealed and
// answers 202 with the job; a runner on any replica then applies the good
// lines one by one through the single calls' own use cases (StaffChanges,
// Bases), each keyed by job id and line, so a job taken over after a crash
// never applies a line twice. The clerk polls the job's progress and
// downloads the report of the lines refused.

// The audit actions of bulk files. Each line applied is audited by the
// use case that applies it (staff.join, adjust.bases, ...), as a single
// call would be.
const (
	ActionJobUpload = "employer.job.upload"
	ActionJobReport = "read.employer_job_errors"
)

// Job statuses.
const (
	JobQueued  = "queued"  // stored, waiting for a runner
	JobRunning = "running" // a runner holds its lease (or held it and died)
	JobDone    = "done"    // every line applied or refused
)

// JobPolicy bounds bulk files, per centre (configuration: employer_jobs).
type JobPolicy struct {
	// MaxRows is the most data lines a file may have.
	MaxRows int `yaml:"max_rows"`
	// MaxFileBytes is the largest file accepted.
	MaxFileBytes int64 `yaml:"max_file_bytes"`
	// MaxActivePerUnit is how many unfinished jobs a unit may have.
	MaxActivePerUnit int `yaml:"max_active_per_unit"`
	// Lease is how long a runner's claim on a job lasts without renewal: a
	// replica that dies loses its job to another after it.
	Lease time.Duration `yaml:"lease"`
	// Parallel is how many lines of a job a runner applies at once.
	Parallel int `yaml:"parallel"`
}

// DefaultJobPolicy is the shipped policy.
func DefaultJobPolicy() JobPolicy {
	return JobPolicy{MaxRows: 10_000, MaxFileBytes: 2 << 20, MaxActivePerUnit: 2, Lease: 30 * time.Second, Parallel: 4}
}

// Validate names the first setting out of bounds.
func (p JobPolicy) Validate() error {
	switch {
	case p.MaxRows < 1 || p.MaxRows > 100_000:
		return errors.New("employer_jobs.max_rows: 1..100000")
	case p.MaxFileBytes < 1<<10 || p.MaxFileBytes > 64<<20:
		return errors.New("employer_jobs.max_file_bytes: 1 KiB..64 MiB")
	case p.MaxActivePerUnit < 1:
		return errors.New("employer_jobs.max_active_per_unit: at least 1")
	case p.Lease < time.Second:
		return errors.New("employer_jobs.lease: at least 1s")
	case p.Parallel < 1 || p.Parallel > 64:
		return errors.New("employer_jobs.parallel: 1..64")
	}
	return nil
}

// The collaborators of bulk files: the single calls' use cases.
type (
	// lineStaff applies a join, leave or rejoin (*StaffChanges).
	lineStaff interface {
		Join(ctx context.Context, p services.Principal, j Join, k Key) (StaffChange, bool, error)
		Leave(ctx context.Context, p services.Principal, l Leave, k Key) (StaffChange, bool, error)
		Rejoin(ctx context.Context, p services.Principal, r Rejoin, k Key) (StaffChange, bool, error)
	}
	// lineBases applies a base change (*Bases).
	lineBases interface {
		Adjust(ctx context.Context, p services.Principal, req AdjustRequest) (Adjusted, error)
	}
)

// JobDeps are the bulk files' collaborators.
type JobDeps struct {
	Store  *store.Store
	Staff  lineStaff
	Bases  lineBases
	Audit  auditor
	Policy JobPolicy
	// Mask is the centre's masking policy, for the values in a report;
	// nil means mask.DefaultPolicy.
	Mask mask.Policy
	// Owner names this replica in the leases it takes; empty means a
	// random name.
	Owner string
	// Poll is how often an idle runner looks for a job another replica
	// queued (a local upload wakes it at once); 0 means one second.
	Poll   time.Duration
	Now    func() time.Time
	Logger *slog.Logger
}

// Jobs runs bulk files: uploads, progress, reports, and the runner.
type Jobs struct {
	JobDeps
	wake chan struct{}
}

// NewJobs checks the dependencies and fills defaults.
func NewJobs(d JobDeps) (*Jobs, error) {
	if d.Store == nil || d.Staff == nil || d.Bases == nil || d.Audit == nil {
		return nil, errors.New("employer: jobs need a store, staff changes, bases and audit")
	}
	if err := d.Policy.Validate(); err != nil {
		return nil, err
	}
	if d.Mask == nil {
		d.Mask = mask.DefaultPolicy()
	}
	if d.Owner == "" {
		d.Owner = "runner-" + services.RandomHex(8)
	}
	if d.Poll <= 0 {
		d.Poll = time.Second
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	return &Jobs{JobDeps: d, wake: make(chan struct{}, 1)}, nil
}

// Upload is one bulk file as the clerk sent it.
type Upload struct {
	Kind           string
	Data           []byte
	IdempotencyKey string
}

// Job is a bulk file's progress: Processed of Total lines done, Failed of
// them refused (in the report).
type Job struct {
	ID         string
	Kind       string
	Status     string
	Total      int
	Processed  int
	Failed     int
	CreatedAt  time.Time
	UpdatedAt  time.Time
	FinishedAt time.Time // zero until done
}

// Submit checks a file and queues its lines: the file's type, encoding,
// size and header refuse the upload; each line's own errors are recorded
// on it and the line is not applied. The same Idempotency-Key with the
// same file answers the job it made (replayed true); with another file
// idempotency.key_reused. Audited (employer.job.upload).
func (j *Jobs) Submit(ctx context.Context, p services.Principal, u Upload) (v Job, replayed bool, err error) {
	if err := operator(p); err != nil {
		return Job{}, false, err
	}
	rec := audit.Record{At: j.Now(), Subject: p.Subject, Actor: p.Actor(), Channel: p.Channel, Action: ActionJobUpload, Target: "employer_job"}
	defer func() {
		if v.ID != "" {
			rec.Target = fmt.Sprintf("employer_job:%s rows:%d", v.ID, v.Total)
		}
		if aerr := audit.Outcome(ctx, j.Audit, j.Logger, rec, err); aerr != nil && err == nil {
			v, replayed, err = Job{}, false, aerr
		}
	}()
	if !slices.Contains(JobKinds(), u.Kind) {
		return Job{}, false, services.Invalid(services.FieldError{Field: "kind", Code: services.FieldOneOf,
			Params: map[string]any{"allowed": JobKinds()}})
	}
	if int64(len(u.Data)) > j.Policy.MaxFileBytes {
		return Job{}, false, &services.Error{Code: services.CodeJobFileTooLarge, Params: map[string]any{"max_bytes": j.Policy.MaxFileBytes}}
	}
	sum := sha256.Sum256(append([]byte(u.Kind+"\x00"), u.Data...))
	hash := hex.EncodeToString(sum[:])
	if v, ok, err := j.byKey(ctx, p.Subject, u.IdempotencyKey, hash); ok || err != nil {
		return v, ok, err
	}
	if n, err := j.active(ctx, p.Unit); err != nil {
		return Job{}, false, err
	} else if n >= j.Policy.MaxActivePerUnit {
		return Job{}, false, &services.Error{Code: services.CodeJobTooManyActive, Params: map[string]any{"max": j.Policy.MaxActivePerUnit},
			RetryAfter: 30 * time.Second}
	}
	format, err := FormatOf(u.Data)
	if err != nil {
		return Job{}, false, err
	}
	rows, err := parseSheet(u.Data, format, u.Kind, j.Policy.MaxRows)
	if err != nil {
		return Job{}, false, err
	}
	now := store.Timestamp(j.Now())
	lines := checkLines(u.Kind, rows, now)
	r := jobRow{Job: Job{ID: newJobID(), Kind: u.Kind, Status: JobQueued, Total: len(lines), CreatedAt: now, UpdatedAt: now},
		UnitCode: p.Unit, Subject: p.Subject}
	for _, l := range lines {
		if len(l.errs) > 0 {
			r.Failed++
		}
	}
	r.Processed = r.Failed
	if r.Processed == r.Total {
		r.Status, r.FinishedAt = JobDone, now
	}
	if err := j.insert(ctx, r, lines, u.IdempotencyKey, hash); err != nil {
		// A concurrent upload with the same key may have won.
		if prev, ok, kerr := j.byKey(ctx, p.Subject, u.IdempotencyKey, hash); ok || kerr != nil {
			return prev, ok, kerr
		}
		return Job{}, false, services.Errorf(services.CodeInternal, "employer: store job: %w", err)
	}
	j.Wake()
	return r.Job, false, nil
}

// Job is one of the operator's unit's jobs; another unit's id is
// job.not_found, like an unknown one. Progress holds no personal data and
// is not audited (the clerk polls it).
func (j *Jobs) Job(ctx context.Context, p services.Principal, id string) (Job, error) {
	if err := operator(p); err != nil {
		return Job{}, err
	}
	r, err := j.own(ctx, p, id)
	return r.Job, err
}

// ReportLine is one error of a refused line, with the cell's value (names
// and ID numbers masked as the app shows them; "" for the line as a
// whole).
type ReportLine struct {
	Line  int
	Value string
	RowError
}

// Report is the errors of a job's refused lines, in line order. Audited
// (read.employer_job_errors): it shows the cells of the lines.
func (j *Jobs) Report(ctx context.Context, p services.Principal, id string) (out []ReportLine, err error) {
	if err := operator(p); err != nil {
		return nil, err
	}
	rec := audit.Record{At: j.Now(), Subject: p.Subject, Actor: p.Actor(), Channel: p.Channel, Action: ActionJobReport, Target: "employer_job:invalid"}
	if validJobID(id) {
		rec.Target = "employer_job:" + id
	}
	defer func() {
		if aerr := audit.Outcome(ctx, j.Audit, j.Logger, rec, err); aerr != nil && err == nil {
			out, err = nil, aerr
		}
	}()
	r, err := j.own(ctx, p, id)
	if err != nil {
		return nil, err
	}
	failed, err := j.failedLines(ctx, r)
	if err != nil {
		return nil, services.Errorf(services.CodeInternal, "employer: job report: %w", err)
	}
	cols := jobColumns[r.Kind]
	for _, fl := range failed {
		for _, e := range fl.errs {
			rl := ReportLine{Line: fl.line, RowError: e}
			for i, c := range cols {
				if c.Key == e.Column && i < len(fl.cells) {
					rl.Value = j.masked(c.Key, fl.cells[i])
				}
			}
			out = append(out, rl)
		}
	}
	return out, nil
}

func (j *Jobs) masked(column, v string) string {
	switch column {
	case "name":
		return j.Mask.Apply(mask.Name, mask.App, v)
	case "id_number":
		return j.Mask.Apply(mask.IDNumber, mask.App, v)
	}
	return v
}

// own loads a job of p's unit.
func (j *Jobs) own(ctx context.Context, p services.Principal, id string) (jobRow, error) {
	if !validJobID(id) {
		return jobRow{}, services.Errorf(services.CodeJobNotFound, "employer: malformed job id")
	}
	r, err := j.load(ctx, `id = $1 AND unit_code = $2`, id, p.Unit)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return jobRow{}, services.Errorf(services.CodeJobNotFound, "employer: no job")
	case err != nil:
		return jobRow{}, services.Errorf(services.CodeInternal, "employer: job: %w", err)
	}
	return r, nil
}

// Wake nudges this replica's runner: a job was just queued.
func (j *Jobs) Wake() {
	select {
	case j.wake <- struct{}{}:
	default:
	}
}

// newJobID is a job id: "job_" and 32 hex digits (128 bits).
func newJobID() string { return "job_" + services.RandomHex(16) }

func validJobID(id string) bool {
	if len(id) != 36 || !strings.HasPrefix(id, "job_") {
		return false
	}
	_, err := hex.DecodeString(id[4:])
	return err == nil && strings.ToLower(id[4:]) == id[4:]
}
