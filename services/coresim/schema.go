package coresim

import (
	"context"
	"database/sql"
	"fmt"
)

// schema is the simulator's own data model: a small core, not JGJ/T 320.
// Money is integer fen, months "YYYY-MM", dates "YYYY-MM-DD" (Asia/Shanghai),
// instants Unix nanoseconds. Tables are WITHOUT ROWID and keyed so that every
// endpoint reads one contiguous key range.
const schema = `
CREATE TABLE IF NOT EXISTS meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS units (
	unit_code        TEXT PRIMARY KEY,
	name             TEXT NOT NULL,
	account_number   TEXT NOT NULL UNIQUE,
	status           TEXT NOT NULL,
	unit_rate_bp     INTEGER NOT NULL,
	personal_rate_bp INTEGER NOT NULL,
	paid_up_to       TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS operators (
	unit_code     TEXT NOT NULL,
	operator_id   TEXT NOT NULL,
	name          TEXT NOT NULL,
	password_hash TEXT NOT NULL,
	PRIMARY KEY (unit_code, operator_id)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS persons (
	person_id  TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	id_number  TEXT NOT NULL UNIQUE,
	phone      TEXT NOT NULL,
	bank_card  TEXT NOT NULL,
	face_token TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS accounts (
	person_id        TEXT PRIMARY KEY,
	account_number   TEXT NOT NULL UNIQUE,
	status           TEXT NOT NULL,
	unit_code        TEXT NOT NULL,
	deposit_base_fen INTEGER NOT NULL,
	personal_rate_bp INTEGER NOT NULL,
	unit_rate_bp     INTEGER NOT NULL,
	opened_on        TEXT NOT NULL,
	balance_fen      INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS accounts_by_unit ON accounts (unit_code, person_id);

CREATE TABLE IF NOT EXISTS deposits (
	person_id         TEXT NOT NULL,
	seq               INTEGER NOT NULL,
	month             TEXT NOT NULL,
	posted_on         TEXT NOT NULL,
	kind              TEXT NOT NULL,
	withdrawal_kind   TEXT NOT NULL DEFAULT '',
	amount_fen        INTEGER NOT NULL,
	balance_after_fen INTEGER NOT NULL,
	application_id    TEXT NOT NULL DEFAULT '', -- the application a withdrawal entry paid
	PRIMARY KEY (person_id, seq)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS loans (
	person_id      TEXT PRIMARY KEY,
	loan_number    TEXT NOT NULL UNIQUE,
	principal_fen  INTEGER NOT NULL,
	annual_rate_bp INTEGER NOT NULL,
	months         INTEGER NOT NULL,
	method         TEXT NOT NULL,
	started_on     TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS withdrawals (
	application_id TEXT PRIMARY KEY,
	person_id      TEXT NOT NULL,
	kind           TEXT NOT NULL,
	amount_fen     INTEGER NOT NULL,
	payout_method  TEXT NOT NULL,
	payout_account TEXT NOT NULL,
	status         TEXT NOT NULL,
	reason         TEXT NOT NULL DEFAULT '',
	created_at     INTEGER NOT NULL,
	updated_at     INTEGER NOT NULL,
	evidence_refs  TEXT NOT NULL DEFAULT '[]', -- JSON array of strings
	close_account  INTEGER NOT NULL DEFAULT 0,
	payout_account_id TEXT NOT NULL DEFAULT '',
	shared_evidence TEXT NOT NULL DEFAULT '[]', -- JSON array of core.SharedEvidence
	materials      TEXT NOT NULL DEFAULT '[]' -- JSON array of core.MaterialRef
) WITHOUT ROWID;

-- The documents uploaded with applications, as received (PUT
-- /core/v1/withdrawals/{application_id}/materials/{material_id}), kept
-- before or after the application arrives.
CREATE TABLE IF NOT EXISTS withdrawal_materials (
	application_id TEXT NOT NULL,
	material_id    TEXT NOT NULL,
	media_type     TEXT NOT NULL,
	size           INTEGER NOT NULL,
	sha256         TEXT NOT NULL,
	content        BLOB NOT NULL,
	received_at    INTEGER NOT NULL,
	PRIMARY KEY (application_id, material_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS withdrawals_by_person ON withdrawals (person_id, status);

-- Transfers in from other centres, credited once each (PUT
-- /core/v1/transfers-in/{transfer_id}); the ledger entry carries the
-- transfer id as its application_id.
CREATE TABLE IF NOT EXISTS transfers_in (
	transfer_id       TEXT PRIMARY KEY,
	person_id         TEXT NOT NULL,
	amount_fen        INTEGER NOT NULL,
	from_centre       TEXT NOT NULL,
	platform_ref      TEXT NOT NULL,
	balance_after_fen INTEGER NOT NULL,
	posted_on         TEXT NOT NULL
) WITHOUT ROWID;

-- The bank cards and e-CNY wallets held under a person's name, in the
-- order the person sees them; account_id is the opaque handle the contract
-- exposes.
CREATE TABLE IF NOT EXISTS payout_accounts (
	person_id   TEXT NOT NULL,
	seq         INTEGER NOT NULL,
	account_id  TEXT NOT NULL UNIQUE,
	kind        TEXT NOT NULL, -- bank_card | ecny
	number      TEXT NOT NULL,
	institution TEXT NOT NULL,
	PRIMARY KEY (person_id, seq)
) WITHOUT ROWID;

-- The schedules early repayments put in force (issue 21): from
-- first_period on, principal_fen over months at the loan's rate and method.
CREATE TABLE IF NOT EXISTS loan_segments (
	person_id     TEXT NOT NULL,
	first_period  INTEGER NOT NULL,
	principal_fen INTEGER NOT NULL,
	months        INTEGER NOT NULL,
	PRIMARY KEY (person_id, first_period)
) WITHOUT ROWID;

-- Early repayments and arrears payments, once each by id: the request as
-- received (to tell a repeat from a conflict) and the answer given.
CREATE TABLE IF NOT EXISTS loan_payments (
	payment_id    TEXT PRIMARY KEY,
	person_id     TEXT NOT NULL,
	kind          TEXT NOT NULL, -- prepayment | arrears
	request       TEXT NOT NULL, -- JSON as received
	answer        TEXT NOT NULL, -- JSON core.PrepaymentStatus
	status        TEXT NOT NULL,
	paid_on       TEXT NOT NULL,
	amount_fen    INTEGER NOT NULL,
	principal_fen INTEGER NOT NULL,
	interest_fen  INTEGER NOT NULL,
	penalty_fen   INTEGER NOT NULL,
	source        TEXT NOT NULL,
	created_at    INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS loan_payments_by_person ON loan_payments (person_id, created_at);

-- Loan applications made at a counter, with their progress.
CREATE TABLE IF NOT EXISTS loan_applications (
	application_id TEXT PRIMARY KEY,
	person_id      TEXT NOT NULL,
	applied_on     TEXT NOT NULL,
	amount_fen     INTEGER NOT NULL,
	months         INTEGER NOT NULL,
	status         TEXT NOT NULL,
	updated_on     TEXT NOT NULL,
	branch         TEXT NOT NULL
) WITHOUT ROWID;

-- A person's records that evidence references name: property
-- registrations, diagnoses, tenancies, closing certificates.
CREATE TABLE IF NOT EXISTS records (
	ref       TEXT PRIMARY KEY,
	person_id TEXT NOT NULL,
	category  TEXT NOT NULL
) WITHOUT ROWID;
`

// addedColumns are columns added to a table after its first release. A
// database file created earlier keeps its data (reopening never reseeds),
// so migrate adds them instead; their defaults describe the old rows. A
// function, like the seed, so nothing in the package is mutable state.
func addedColumns() []struct{ table, column, definition string } {
	return []struct{ table, column, definition string }{
		{"withdrawals", "evidence_refs", "TEXT NOT NULL DEFAULT '[]'"},
		{"withdrawals", "close_account", "INTEGER NOT NULL DEFAULT 0"},
		{"withdrawals", "payout_account_id", "TEXT NOT NULL DEFAULT ''"},
		{"withdrawals", "shared_evidence", "TEXT NOT NULL DEFAULT '[]'"},
		{"withdrawals", "materials", "TEXT NOT NULL DEFAULT '[]'"},
		{"deposits", "application_id", "TEXT NOT NULL DEFAULT ''"},
		{"accounts", "sealed_month", "TEXT NOT NULL DEFAULT ''"},
		{"accounts", "seal_reason", "TEXT NOT NULL DEFAULT ''"},
		{"units", "revision", "INTEGER NOT NULL DEFAULT 0"},
		{"units", "opened_month", "TEXT NOT NULL DEFAULT ''"},
		{"units", "bank_name", "TEXT NOT NULL DEFAULT ''"},
		{"units", "bank_account", "TEXT NOT NULL DEFAULT ''"},
		// A unit's one operator before roles existed was its administrator.
		{"operators", "role", "TEXT NOT NULL DEFAULT 'admin'"},
		{"operators", "status", "TEXT NOT NULL DEFAULT 'active'"},
		{"operators", "must_change", "INTEGER NOT NULL DEFAULT 0"},
		// Loan holders' services (issue 21): arrears, the last early
		// repayment, an early settlement and the repayment account.
		{"loans", "overdue_from", "INTEGER NOT NULL DEFAULT 0"},
		{"loans", "overdue_count", "INTEGER NOT NULL DEFAULT 0"},
		{"loans", "last_prepaid_on", "TEXT NOT NULL DEFAULT ''"},
		{"loans", "settled_on", "TEXT NOT NULL DEFAULT ''"},
		{"loans", "repay_account_id", "TEXT NOT NULL DEFAULT ''"},
		{"loans", "pending_account_id", "TEXT NOT NULL DEFAULT ''"},
		{"loans", "pending_from", "TEXT NOT NULL DEFAULT ''"},
	}
}

// migrate creates the schema and adds the columns an older file lacks; it
// is idempotent.
func (s *Sim) migrate(ctx context.Context) error {
	if _, err := s.wdb.ExecContext(ctx, schema+unitSchema); err != nil {
		return fmt.Errorf("coresim: create schema: %w", err)
	}
	for _, c := range addedColumns() {
		var n int
		if err := s.wdb.QueryRowContext(ctx, "SELECT count(*) FROM pragma_table_info(?) WHERE name = ?", c.table, c.column).Scan(&n); err != nil {
			return fmt.Errorf("coresim: inspect %s: %w", c.table, err)
		}
		if n > 0 {
			continue
		}
		// Names and definitions are the constants above, never input.
		if _, err := s.wdb.ExecContext(ctx, "ALTER TABLE "+c.table+" ADD COLUMN "+c.column+" "+c.definition); err != nil {
			return fmt.Errorf("coresim: add %s.%s: %w", c.table, c.column, err)
		}
	}
	return nil
}

// querier is what read helpers need, so they run on the pool or inside a
// transaction (for one consistent snapshot) alike.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// inTx runs fn in a write transaction on the single writer connection.
func (s *Sim) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// readTx runs fn in a read transaction, so several queries see one snapshot.
func (s *Sim) readTx(ctx context.Context, fn func(q querier) error) error {
	tx, err := s.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	return fn(tx)
}

// metaValue reads a meta entry; "" when missing.
func metaValue(ctx context.Context, q querier, key string) (string, error) {
	var v string
	err := q.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = ?", key).Scan(&v)
	if err == sql.ErrNoRows {
		return "", nil
	}
	return v, err
}

// setMeta writes a meta entry inside a write transaction.
func setMeta(ctx context.Context, tx *sql.Tx, key, value string) error {
	_, err := tx.ExecContext(ctx, "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", key, value)
	return err
}
