package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// ResealReport is what Reseal did to one column.
type ResealReport struct {
	Column string
	// Sealed counts plain values sealed (rows written before migration
	// 0010), Resealed values moved from an older key to the current one.
	Sealed, Resealed int
	// Failed counts values left as they were because they do not open
	// (altered, or under a key no longer in the ring); each is an error in
	// Errors, which names the row, never the value.
	Failed int
	Errors []error
}

// Reseal rewrites every value of cols that is not sealed under the current
// key: plain values are sealed, values under an older key resealed. With
// plainOnly it seals plain values and leaves older keys alone — the
// sealing step of migration 0010, run by `handheld migrate` and the
// embedded start-up.
//
// It is safe while serving and resumable: it reads batch rows at a time in
// key order, skipping in SQL every value already under the current key, and
// writes each row with a compare-and-set on the value it read, so a row a
// request rewrote meanwhile (sealed under the current key by then) is left
// alone. Stopped half-way, the next run picks up what is left. On SQLite a
// run that changed anything ends with VACUUM, so the plain values it
// replaced do not linger in free pages of the file.
func (s *Store) Reseal(ctx context.Context, cols []SealedColumn, plainOnly bool, batch int) ([]ResealReport, error) {
	if s.sealer == nil {
		return nil, errNoSealer
	}
	if batch <= 0 {
		batch = 100
	}
	skip := s.sealer.Prefix(s.sealer.Current())
	if plainOnly {
		skip = s.sealer.Prefix("")
	}
	var out []ResealReport
	changed := 0
	for _, c := range cols {
		rep, err := s.resealColumn(ctx, c, skip, batch)
		out = append(out, rep)
		changed += rep.Sealed + rep.Resealed
		if err != nil {
			return out, err
		}
	}
	if changed > 0 && s.dialect == SQLite {
		if _, err := s.db.ExecContext(ctx, `VACUUM`); err != nil {
			return out, fmt.Errorf("store: reseal: vacuum: %w", err)
		}
		if _, err := s.db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
			return out, fmt.Errorf("store: reseal: checkpoint: %w", err)
		}
	}
	return out, nil
}

// resealColumn walks one column in key order, batch by batch.
func (s *Store) resealColumn(ctx context.Context, c SealedColumn, skip string, batch int) (ResealReport, error) {
	rep := ResealReport{Column: c.String()}
	var last []string
	for {
		rows, err := s.resealBatch(ctx, c, skip, last, batch)
		if err != nil {
			return rep, fmt.Errorf("store: reseal %s: %w", c, err)
		}
		for _, r := range rows {
			if err := s.resealRow(ctx, c, r, &rep); err != nil {
				return rep, fmt.Errorf("store: reseal %s: %w", c, err)
			}
		}
		if len(rows) < batch {
			return rep, nil
		}
		last = rows[len(rows)-1].key
	}
}

// resealRow is one row's key and value.
type resealRow struct {
	key   []string
	value []byte
}

// resealBatch reads the next batch of rows after last whose value is not
// empty and does not begin with skip.
func (s *Store) resealBatch(ctx context.Context, c SealedColumn, skip string, last []string, batch int) ([]resealRow, error) {
	keys := strings.Join(c.Key, ", ")
	var skipArg any = []byte(skip)
	if c.Text {
		skipArg = skip
	}
	args := []any{len(skip), skipArg}
	where := fmt.Sprintf(`length(%s) > 0 AND substr(%s, 1, $1) <> $2`, c.Column, c.Column)
	if last != nil {
		marks := make([]string, len(last))
		for i, k := range last {
			args = append(args, k)
			marks[i] = fmt.Sprintf("$%d", len(args))
		}
		where += fmt.Sprintf(` AND (%s) > (%s)`, keys, strings.Join(marks, ", "))
	}
	q := fmt.Sprintf(`SELECT %s, %s FROM %s WHERE %s ORDER BY %s LIMIT %d`, keys, c.Column, c.Table, where, keys, batch)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var out []resealRow
	for rows.Next() {
		r := resealRow{key: make([]string, len(c.Key))}
		dest := make([]any, 0, len(c.Key)+1)
		for i := range r.key {
			dest = append(dest, &r.key[i])
		}
		if err := rows.Scan(append(dest, &r.value)...); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// resealRow seals or reseals one value under the current key.
func (s *Store) resealRow(ctx context.Context, c SealedColumn, r resealRow, rep *ResealReport) error {
	at := c.Place(r.key...)
	plain, wasPlain, err := s.openAny(c, r.value, at)
	if err != nil {
		rep.Failed++
		rep.Errors = append(rep.Errors, err)
		return nil
	}
	var next, prev any
	if c.Text {
		sealed, err := s.sealer.SealText(string(plain), at)
		if err != nil {
			return err
		}
		next, prev = sealed, string(r.value)
	} else {
		sealed, err := s.sealer.Seal(plain, at)
		if err != nil {
			return err
		}
		next, prev = sealed, r.value
	}
	args := []any{next, prev}
	cond := make([]string, len(c.Key))
	for i, k := range c.Key {
		args = append(args, r.key[i])
		cond[i] = fmt.Sprintf("%s = $%d", k, len(args))
	}
	res, err := s.db.ExecContext(ctx, fmt.Sprintf(`UPDATE %s SET %s = $1 WHERE %s = $2 AND %s`,
		c.Table, c.Column, c.Column, strings.Join(cond, " AND ")), args...)
	if err != nil {
		return translate(err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return err // rewritten meanwhile by its owner: sealed under the current key already
	}
	if wasPlain {
		rep.Sealed++
	} else {
		rep.Resealed++
	}
	return nil
}

// openAny opens a value in any form the column may hold: sealed under a key
// of the ring, sealed the column's legacy way, or plain.
func (s *Store) openAny(c SealedColumn, v []byte, at Place) (plain []byte, wasPlain bool, err error) {
	if _, ok := s.sealer.KeyID(v); ok {
		if c.Text {
			p, err := s.sealer.OpenText(string(v), at)
			return []byte(p), false, err
		}
		p, err := s.sealer.Open(v, at)
		return p, false, err
	}
	if c.Legacy != nil {
		if p, ok := c.Legacy(v, at); ok {
			return p, false, nil
		}
		return nil, false, errors.New("store: reseal " + at.String() + ": a legacy value that does not open")
	}
	return v, true, nil
}
