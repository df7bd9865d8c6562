package identity

import (
	"context"
	"database/sql"
	"sync"
	"time"

	"handheld/services"
)

// Authenticate verifies an access token and that its session is still live:
// not revoked and, for a citizen at a kiosk, not idle. It costs at most one
// kv round trip, and none while the local cache remembers the session.
func (s *Service) Authenticate(ctx context.Context, bearer string) (services.Principal, error) {
	c, err := s.Tokens.Verify(bearer)
	if err != nil {
		return services.Principal{}, err
	}
	p := services.Principal{Subject: c.Subject, Role: c.Role, Channel: c.Channel, Session: c.Session, Unit: c.Unit,
		Device: c.Device, ExpiresAt: c.ExpiresAt, ACR: c.ACR, AuthTime: c.AuthTime,
		OperatorRole: c.OperatorRole, PasswordChange: c.PasswordChange}
	if p.Session == "" {
		return services.Principal{}, services.Errorf(services.CodeTokenInvalid, "token without a session")
	}
	return p, s.checkSession(ctx, p)
}

func (s *Service) checkSession(ctx context.Context, p services.Principal) error {
	switch known, revoked := s.revoked.lookup(p.Session); {
	case revoked:
		return services.E(services.CodeSessionRevoked)
	case known:
		return nil
	}
	if p.Role == services.RoleDepositor && p.Channel == services.ChannelKiosk {
		// A kiosk citizen's idle timer lives in kv; touching it both checks
		// and extends it. Logout deletes it, so this is also the revocation check.
		alive, err := s.KV.Touch(ctx, idleKey(p.Session), s.Policy.KioskIdle)
		if err != nil {
			return s.checkStore(ctx, p.Session, err)
		}
		if !alive {
			// Revocation (logout, its device session ending) deletes the
			// timer too: tell it from idleness.
			if _, revoked, err := s.KV.Get(ctx, revokedKey(p.Session)); err == nil && revoked {
				s.revoked.markRevoked(p.Session)
				return services.E(services.CodeSessionRevoked)
			}
			_ = s.revoke(ctx, session{ID: p.Session, Subject: p.Subject, Role: p.Role, Channel: p.Channel, ExpiresAt: p.ExpiresAt}, "idle")
			return services.E(services.CodeIdleTimeout)
		}
		s.revoked.markLive(p.Session)
		return nil
	}
	_, revoked, err := s.KV.Get(ctx, revokedKey(p.Session))
	if err != nil {
		return s.checkStore(ctx, p.Session, err)
	}
	if revoked {
		s.revoked.markRevoked(p.Session)
		return services.E(services.CodeSessionRevoked)
	}
	s.revoked.markLive(p.Session)
	return nil
}

// checkStore answers from the store when kv fails: slower, still correct.
func (s *Service) checkStore(ctx context.Context, sid string, kvErr error) error {
	s.Logger.WarnContext(ctx, "revocation check fell back to the store", "cause", kvErr.Error())
	var revokedAt sql.NullTime
	if err := s.Store.QueryRow(ctx, `SELECT revoked_at FROM sessions WHERE id = $1`, sid).Scan(&revokedAt); err != nil {
		return services.Errorf(services.CodeSessionRevoked, "session lookup: %w", err)
	}
	if revokedAt.Valid {
		return services.E(services.CodeSessionRevoked)
	}
	return nil
}

// revocationCache remembers recent answers about sessions: "live" for a few
// seconds (the staleness a centre accepts for another replica's logout),
// "revoked" for good. Bounded: when full it starts over.
type revocationCache struct {
	mu      sync.Mutex
	entries map[string]cacheEntry
	ttl     time.Duration
	max     int
	now     func() time.Time
}

type cacheEntry struct {
	revoked bool
	until   time.Time
}

func newRevocationCache(max int, ttl time.Duration, now func() time.Time) *revocationCache {
	if max <= 0 {
		max = 100_000
	}
	return &revocationCache{entries: map[string]cacheEntry{}, ttl: ttl, max: max, now: now}
}

func (c *revocationCache) lookup(sid string) (known, revoked bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[sid]
	if !ok {
		return false, false
	}
	if e.revoked {
		return true, true
	}
	if c.now().After(e.until) {
		delete(c.entries, sid)
		return false, false
	}
	return true, false
}

func (c *revocationCache) markLive(sid string) {
	if c.ttl <= 0 {
		return
	}
	c.put(sid, cacheEntry{until: c.now().Add(c.ttl)})
}

func (c *revocationCache) markRevoked(sid string) { c.put(sid, cacheEntry{revoked: true}) }

func (c *revocationCache) put(sid string, e cacheEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		clear(c.entries)
	}
	c.entries[sid] = e
}
