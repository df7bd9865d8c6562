package certificate

import (
	"context"
	"strconv"
	"time"

	"handheld/services"
	"handheld/services/store"
)

// PurgeFiles empties the stored PDF and document of up to batch
// certificates that expired before `before`. The record stays, with its
// number, claims, signature and every verification: the verify page and
// the holder's list still answer for it; a download answers
// certificate.file_purged. It returns how many files went.
func (s *Service) PurgeFiles(ctx context.Context, before time.Time, batch int) (int, error) {
	empty := []byte{}
	res, err := s.Store.Exec(ctx, `UPDATE certificates SET pdf = $2, document = $2 WHERE id IN (SELECT id FROM certificates
		WHERE expires_at < $1 AND length(pdf) > 0 ORDER BY expires_at LIMIT `+strconv.Itoa(max(batch, 1))+`)`,
		store.Timestamp(before), empty)
	if err != nil {
		return 0, services.Errorf(services.CodeInternal, "certificate: purge files: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// purged tells a record whose files the retention policy removed.
func purged(pdf []byte) bool { return len(pdf) == 0 }
