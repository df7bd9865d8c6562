package certificate

import (
	"context"
	"strconv"
	"strings"
	"time"

	"handheld/services"
	"handheld/services/store"
)

// Expiring is, for each of subjects holding an issued certificate that
// expires after from and no later than to, the earliest such expiry: what
// the certificate_expiring reminder (services/reminder) tells them of.
// A revoked certificate expires nothing.
func (s *Service) Expiring(ctx context.Context, subjects []string, from, to time.Time) (map[string]time.Time, error) {
	out := map[string]time.Time{}
	if len(subjects) == 0 {
		return out, nil
	}
	args := []any{store.Timestamp(from), store.Timestamp(to)}
	marks := make([]string, len(subjects))
	for i, sub := range subjects {
		args = append(args, sub)
		marks[i] = "$" + strconv.Itoa(len(args))
	}
	rows, err := s.Store.Query(ctx, `SELECT subject, MIN(expires_at) FROM certificates
		WHERE status = 'issued' AND expires_at > $1 AND expires_at <= $2 AND subject IN (`+strings.Join(marks, ", ")+`)
		GROUP BY subject`, args...)
	if err != nil {
		return nil, services.Errorf(services.CodeInternal, "certificate: expiring: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var sub string
		var at time.Time
		if err := rows.Scan(&sub, store.ScanTime(&at)); err != nil {
			return nil, services.Errorf(services.CodeInternal, "certificate: expiring: %w", err)
		}
		out[sub] = at
	}
	if err := rows.Err(); err != nil {
		return nil, services.Errorf(services.CodeInternal, "certificate: expiring: %w", err)
	}
	return out, nil
}
