package coresim

import (
	"errors"
	"fmt"
	"time"

	"handheld/services/core"
)

// unitSchema is the employer side of the simulator's data: declared
// bills with their frozen lines, the unit account's ledger and the answers
// of idempotent unit requests. Instants are Unix nanoseconds; 0 is unset.
const unitSchema = `
CREATE TABLE IF NOT EXISTS unit_remittances (
	unit_code          TEXT NOT NULL,
	month              TEXT NOT NULL,
	kind               TEXT NOT NULL, -- regular | supplement
	status             TEXT NOT NULL, -- pending | collecting | paid | failed
	version            TEXT NOT NULL,
	request_id         TEXT NOT NULL,
	headcount          INTEGER NOT NULL,
	base_total_fen     INTEGER NOT NULL,
	personal_total_fen INTEGER NOT NULL,
	unit_total_fen     INTEGER NOT NULL,
	interest_fen       INTEGER NOT NULL,
	declared_at        INTEGER NOT NULL,
	collecting_at      INTEGER NOT NULL DEFAULT 0,
	done_at            INTEGER NOT NULL DEFAULT 0,
	failure_reason     TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (unit_code, month)
) WITHOUT ROWID;

-- A declared bill's lines, frozen at declaration: what the bank collects.
CREATE TABLE IF NOT EXISTS unit_bill_lines (
	unit_code    TEXT NOT NULL,
	month        TEXT NOT NULL,
	person_id    TEXT NOT NULL,
	base_fen     INTEGER NOT NULL,
	personal_fen INTEGER NOT NULL,
	unit_fen     INTEGER NOT NULL,
	PRIMARY KEY (unit_code, month, person_id)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS unit_ledger (
	unit_code  TEXT NOT NULL,
	seq        INTEGER NOT NULL,
	month      TEXT NOT NULL,
	posted_on  TEXT NOT NULL,
	kind       TEXT NOT NULL, -- remittance | supplement | interest
	amount_fen INTEGER NOT NULL,
	headcount  INTEGER NOT NULL,
	PRIMARY KEY (unit_code, seq)
) WITHOUT ROWID;

-- The answer of every unit write, by its request id: a repeat with the
-- same content gets the same answer, refusals included.
CREATE TABLE IF NOT EXISTS unit_requests (
	unit_code  TEXT NOT NULL,
	request_id TEXT NOT NULL,
	kind       TEXT NOT NULL,
	body_hash  TEXT NOT NULL,
	status     INTEGER NOT NULL,
	answer     TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (unit_code, request_id)
) WITHOUT ROWID;
`

// DefaultPolicy is the demo centre's policy: rates from 5% to 12%, equal
// for unit and person; bases from the local minimum wage (2,490 yuan) to
// three times last year's average wage (3 × 12,523 = 37,569 yuan);
// adjustments all year; supplements carry the deposit rate, 1.5% a year.
func DefaultPolicy() core.Policy {
	return core.Policy{
		MinRateBP: 500, MaxRateBP: 1200, RatesEqual: true,
		MinBaseFen: 249_000, MaxBaseFen: 3 * 1_252_300,
		SupplementRateBP: interestRateBP,
	}
}

// checkPolicy refuses a policy no unit could keep.
func checkPolicy(p core.Policy) error {
	switch {
	case p.MinRateBP <= 0 || p.MaxRateBP < p.MinRateBP || p.MaxRateBP > 10_000:
		return fmt.Errorf("rates %d..%d bp: want 0 < min ≤ max ≤ 10000", p.MinRateBP, p.MaxRateBP)
	case p.MinBaseFen <= 0 || p.MaxBaseFen < p.MinBaseFen:
		return fmt.Errorf("bases %d..%d fen: want 0 < min ≤ max", p.MinBaseFen, p.MaxBaseFen)
	case p.SupplementRateBP < 0:
		return errors.New("supplement rate must not be negative")
	case (p.AdjustmentFrom == "") != (p.AdjustmentTo == ""):
		return errors.New("adjustment window: set both ends or neither")
	}
	for _, d := range []string{p.AdjustmentFrom, p.AdjustmentTo} {
		if d == "" {
			continue
		}
		if _, err := time.Parse("01-02", d); err != nil {
			return fmt.Errorf("adjustment window %q: want MM-DD", d)
		}
	}
	return nil
}

// inAdjustmentWindow reports whether now (Shanghai) is inside the annual
// window, which may run over the new year.
func inAdjustmentWindow(p core.Policy, now time.Time) bool {
	if p.AdjustmentFrom == "" {
		return true
	}
	d := now.In(shanghai()).Format("01-02")
	if p.AdjustmentFrom <= p.AdjustmentTo {
		return d >= p.AdjustmentFrom && d <= p.AdjustmentTo
	}
	return d >= p.AdjustmentFrom || d <= p.AdjustmentTo
}
