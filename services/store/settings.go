package store

import (
	"context"
	"fmt"
)

// Setting is the value of a fact fixed when the store was first used
// (migration 0036): the one already stored, or else initial, which the
// first caller stores for every later one. Two replicas starting at once
// on a new store agree: the insert is one statement, and both read back
// the winner's value.
func (s *Store) Setting(ctx context.Context, name, initial string) (string, error) {
	if _, err := s.Exec(ctx, `INSERT INTO store_settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, name, initial); err != nil {
		return "", fmt.Errorf("store: setting %s: %w", name, err)
	}
	var v string
	if err := s.QueryRow(ctx, `SELECT value FROM store_settings WHERE name = $1`, name).Scan(&v); err != nil {
		return "", fmt.Errorf("store: setting %s: %w", name, err)
	}
	return v, nil
}
