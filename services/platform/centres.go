package platform

import (
	"context"
	"sync"
	"time"
)

// centresTTL is how long the platform's list of connected centres is
// remembered: centres join the platform rarely, and a certificate for a
// loan elsewhere or a verification through the platform should not cost
// a call each.
const centresTTL = 10 * time.Minute

// centreCache remembers the platform's list of centres for centresTTL.
type centreCache struct {
	mu    sync.Mutex
	names map[string]string // by code
	until time.Time
}

// CentreName names a centre connected to the platform: the lending centre
// of a certificate for a loan elsewhere, or the centre verifying one. ok is
// false for a code the platform does not list and for this centre itself
// (no centre lends elsewhere to itself). The list is asked for at most
// every centresTTL; the platform being away is platform.unavailable.
func (s *Service) CentreName(ctx context.Context, code string) (name string, ok bool, err error) {
	if code == s.CentreCode || !centreCode.MatchString(code) {
		return "", false, nil
	}
	s.centres.mu.Lock()
	defer s.centres.mu.Unlock()
	if now := s.Now(); s.centres.names == nil || !now.Before(s.centres.until) {
		list, err := s.Platform.Centres(ctx)
		if err != nil {
			return "", false, err
		}
		names := make(map[string]string, len(list.Items))
		for _, c := range list.Items {
			names[c.Code] = c.Name
		}
		s.centres.names, s.centres.until = names, now.Add(centresTTL)
	}
	name, ok = s.centres.names[code]
	return name, ok && name != "", nil
}
