package bff

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"handheld/services/cases"
	"handheld/services/certificate"
	employer "handheld/services/employer"
	"handheld/services/idempotency"
	"handheld/services/identity"
	"handheld/services/inbox"
	"handheld/services/outbox"
	"handheld/services/printing"
	"handheld/services/seal"
	"handheld/services/sharing"
	"handheld/services/staff"
	"handheld/services/store"
	"handheld/services/transfer"
	"handheld/services/withdrawal"
)

// keysDir is HANDHELD_KEYS_DIR, or on the embedded profile ./keys under
// the data directory, where the keys are generated once.
func keysDir(cfg Config) string {
	if cfg.KeysDir == "" && cfg.Profile == ProfileEmbedded {
		return filepath.Join(cfg.DataDir, "keys")
	}
	return cfg.KeysDir
}

// sealingRing loads the ring that seals personal data at rest from
// <keys dir>/sealing: production requires it, the embedded profile
// creates its first key there once.
func sealingRing(cfg Config) (*seal.Ring, error) {
	var (
		ring *seal.Ring
		err  error
	)
	if cfg.Profile == ProfileEmbedded {
		ring, err = seal.Ensure(keysDir(cfg), time.Now(), cfg.Suite())
	} else {
		ring, err = seal.Load(keysDir(cfg), cfg.Suite())
	}
	if err != nil {
		return nil, fmt.Errorf("HANDHELD_KEYS_DIR: %w", err)
	}
	return ring, nil
}

// SealedColumns lists every column of handheld's store that holds sealed
// personal data, each declared by the package owning its table.
func SealedColumns(hashSecret []byte) []store.SealedColumn {
	var cols []store.SealedColumn
	for _, part := range [][]store.SealedColumn{
		certificate.SealedColumns(),
		withdrawal.SealedColumns(),
		employer.SealedColumns(),
		outbox.SealedColumns(),
		idempotency.SealedColumns(),
		cases.SealedColumns(),
		printing.SealedColumns(),
		sharing.SealedColumns(),
		inbox.SealedColumns(),
		transfer.SealedColumns(),
		identity.SealedColumns(hashSecret),
		staff.SealedColumns(),
	} {
		cols = append(cols, part...)
	}
	return cols
}

// OpenSealedStore opens the configured store with its sealing ring, for the
// commands that work on it outside the server (migrate, keys reseal).
func OpenSealedStore(ctx context.Context, cfg Config) (*store.Store, error) {
	ring, err := sealingRing(cfg)
	if err != nil {
		return nil, err
	}
	s, err := store.Open(ctx, cfg.StoreDSN())
	if err != nil {
		return nil, err
	}
	return s.WithSealer(ring), nil
}

// Reseal rewrites the sealed columns' values that are not under the current
// key (plainOnly: only the plain ones left from before migration 0010).
// See store.Reseal: batched, resumable, safe while serving.
func Reseal(ctx context.Context, cfg Config, s *store.Store, plainOnly bool) ([]store.ResealReport, error) {
	secret, err := hashSecret(cfg)
	if err != nil {
		return nil, err
	}
	return s.Reseal(ctx, SealedColumns(secret), plainOnly, 200)
}

// logReseal logs what a sealing run changed and every value it could not
// open (by row, never by value).
func logReseal(log *slog.Logger, reps []store.ResealReport) {
	for _, r := range reps {
		if r.Sealed+r.Resealed+r.Failed == 0 {
			continue
		}
		log.Info("sealed at rest", "column", r.Column, "sealed", r.Sealed, "resealed", r.Resealed, "failed", r.Failed)
		for _, err := range r.Errors {
			log.Error("sealed value does not open", "column", r.Column, "error", err)
		}
	}
}
