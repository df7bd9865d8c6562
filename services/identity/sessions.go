package identity

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"time"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/store"
	"handheld/services/token"
)

// session is a sign-in as stored.
type session struct {
	ID        string
	Subject   string
	Role      string
	Channel   string
	Unit      string
	Device    string
	CreatedAt time.Time
	ExpiresAt time.Time
	// ACR and AuthTime: depositor sessions only (see token.Claims).
	ACR      services.ACR
	AuthTime time.Time
	// OpenIDHash is the WeChat user of a mini-program session.
	OpenIDHash string
	// OperatorRole and PasswordChange: employer sessions only (see
	// token.Claims).
	OperatorRole   services.OperatorRole
	PasswordChange bool
}

// kv keys. kv hashes them; the prefixes only group them.
func revokedKey(sid string) string { return "revoked:" + sid }
func idleKey(sid string) string    { return "idle:" + sid }

// startSession stores a session and returns its tokens; withRefresh adds a
// refresh token (mini-program and employer app, not kiosks).
func (s *Service) startSession(ctx context.Context, sess session, withRefresh bool) (Tokens, error) {
	now := s.Now()
	if sess.ID == "" { // a kiosk citizen's is chosen first, to link it to its device's
		sess.ID = randomID("ses_", 16)
	}
	sess.CreatedAt = now
	var refresh string
	err := s.Store.Tx(ctx, func(tx *store.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO sessions (id, subject, role, channel, unit_code, device_id, created_at, expires_at,
				acr, auth_time, openid_hash, op_role, password_change)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
			sess.ID, sess.Subject, sess.Role, sess.Channel, sess.Unit, sess.Device, now, sess.ExpiresAt,
			string(sess.ACR), store.NullTime(sess.AuthTime), sess.OpenIDHash, string(sess.OperatorRole), sess.PasswordChange); err != nil {
			return err
		}
		if !withRefresh {
			return nil
		}
		var err error
		refresh, err = s.insertRefresh(ctx, tx, sess.ID, now, sess.ExpiresAt)
		return err
	})
	if err != nil {
		return Tokens{}, services.Errorf(services.CodeInternal, "start session: %w", err)
	}
	if sess.Channel == services.ChannelKiosk {
		if err := s.KV.Set(ctx, idleKey(sess.ID), []byte{1}, s.Policy.KioskIdle); err != nil {
			return Tokens{}, services.Errorf(services.CodeInternal, "kiosk idle timer: %w", err)
		}
	}
	tok, err := s.accessToken(sess)
	if err != nil {
		return Tokens{}, err
	}
	tok.RefreshToken = refresh
	return tok, nil
}

// insertRefresh issues a refresh token (256 random bits; only its SHA-256
// is stored).
func (s *Service) insertRefresh(ctx context.Context, tx *store.Tx, sid string, now, expires time.Time) (string, error) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	tok := "rt_" + base64.RawURLEncoding.EncodeToString(b)
	_, err := tx.Exec(ctx, `INSERT INTO refresh_tokens (token_hash, session_id, issued_at, expires_at) VALUES ($1, $2, $3, $4)`,
		sha256Hex(tok), sid, now, expires)
	return tok, err
}

// accessToken mints an access token that never outlives its session.
func (s *Service) accessToken(sess session) (Tokens, error) {
	claims := token.Claims{Subject: sess.Subject, Channel: sess.Channel, Role: sess.Role, Session: sess.ID,
		Unit: sess.Unit, Device: sess.Device, ACR: sess.ACR, AuthTime: sess.AuthTime,
		OperatorRole: sess.OperatorRole, PasswordChange: sess.PasswordChange}
	if sess.Role == services.RoleDepositor && sess.ACR == "" {
		// A session from before assurance levels: a name and ID number,
		// identified when it began.
		claims.ACR, claims.AuthTime = services.ACRRealName, sess.CreatedAt
	}
	if until := sess.ExpiresAt.Sub(s.Now()); until < s.Policy.AccessTTL {
		claims.ExpiresAt = sess.ExpiresAt
	}
	tok, exp, err := s.Tokens.Mint(claims)
	if err != nil {
		return Tokens{}, services.Errorf(services.CodeInternal, "mint: %w", err)
	}
	return Tokens{AccessToken: tok, TokenType: "Bearer", ExpiresIn: int(exp.Sub(s.Now()).Seconds())}, nil
}

// Refresh rotates a refresh token. A token presented a second time means it
// leaked: the whole session (the token family) is revoked (RFC 9700).
func (s *Service) Refresh(ctx context.Context, refresh string) (Tokens, error) {
	if len(refresh) < 10 || len(refresh) > 128 {
		return Tokens{}, services.E(services.CodeRefreshInvalid)
	}
	now := s.Now()
	var sess session
	var reused bool
	var next string
	err := s.Store.Tx(ctx, func(tx *store.Tx) error {
		reused = false
		var usedAt, revokedAt, authTime sql.NullTime
		var tokenExpires time.Time
		var acr, opRole string
		err := tx.QueryRow(ctx, `SELECT r.used_at, r.expires_at, s.id, s.subject, s.role, s.channel, s.unit_code, s.device_id,
				s.created_at, s.expires_at, s.revoked_at, s.acr, s.auth_time, s.openid_hash, s.op_role, s.password_change
			FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id WHERE r.token_hash = $1`, sha256Hex(refresh)).
			Scan(&usedAt, &tokenExpires, &sess.ID, &sess.Subject, &sess.Role, &sess.Channel, &sess.Unit, &sess.Device,
				&sess.CreatedAt, &sess.ExpiresAt, &revokedAt, &acr, &authTime, &sess.OpenIDHash, &opRole, &sess.PasswordChange)
		sess.ACR, sess.AuthTime, sess.OperatorRole = services.ACR(acr), authTime.Time, services.OperatorRole(opRole)
		if errors.Is(err, store.ErrNotFound) {
			return services.E(services.CodeRefreshInvalid)
		}
		if err != nil {
			return err
		}
		if revokedAt.Valid || !now.Before(tokenExpires) || !now.Before(sess.ExpiresAt) {
			return services.E(services.CodeRefreshInvalid)
		}
		if sess.Role == services.RoleEmployer && !sess.OperatorRole.Valid() {
			// Begun before operators had roles: sign in again to get one.
			return services.Errorf(services.CodeRefreshInvalid, "employer session without an operator role")
		}
		if usedAt.Valid {
			reused = true
			return nil
		}
		res, err := tx.Exec(ctx, `UPDATE refresh_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL`, now, sha256Hex(refresh))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			reused = true // another request won the race with the same token
			return nil
		}
		next, err = s.insertRefresh(ctx, tx, sess.ID, now, sess.ExpiresAt)
		return err
	})
	if err != nil {
		return Tokens{}, asInternal(err)
	}
	if reused {
		if err := s.revoke(ctx, sess, "refresh_reuse"); err != nil {
			return Tokens{}, err
		}
		if err := s.record(ctx, audit.Record{Subject: personOf(sess.Role, sess.Subject), Actor: sess.Subject, Channel: sess.Channel,
			Action: "refresh.reuse", Target: "session:" + sess.ID, Result: "denied"}); err != nil {
			return Tokens{}, err
		}
		return Tokens{}, services.E(services.CodeRefreshReused)
	}
	tok, err := s.accessToken(sess)
	if err != nil {
		return Tokens{}, err
	}
	tok.RefreshToken = next
	return tok, nil
}

// Logout revokes the caller's session.
func (s *Service) Logout(ctx context.Context, p services.Principal) error {
	sess := session{ID: p.Session, Subject: p.Subject, Channel: p.Channel, ExpiresAt: p.ExpiresAt}
	if err := s.revoke(ctx, sess, "logout"); err != nil {
		return err
	}
	return s.record(ctx, audit.Record{Subject: personOf(p.Role, p.Subject), Actor: p.Subject, Channel: p.Channel,
		Action: "logout", Target: "session:" + p.Session, Result: "ok"})
}

// revoke marks the session revoked in the store (durable) and in kv (what
// every replica checks per request), and ends a kiosk idle timer.
func (s *Service) revoke(ctx context.Context, sess session, reason string) error {
	now := s.Now()
	if _, err := s.Store.Exec(ctx, `UPDATE sessions SET revoked_at = $1, revoke_reason = $2 WHERE id = $3 AND revoked_at IS NULL`,
		now, reason, sess.ID); err != nil {
		return services.Errorf(services.CodeInternal, "revoke: %w", err)
	}
	ttl := sess.ExpiresAt.Sub(now)
	if sess.ExpiresAt.IsZero() || ttl <= 0 {
		ttl = 24 * time.Hour
	}
	// Longer than any access token of the session can live.
	ttl = max(ttl, s.Policy.AccessTTL) + time.Minute
	if err := s.KV.Set(ctx, revokedKey(sess.ID), []byte{1}, ttl); err != nil {
		s.Logger.WarnContext(ctx, "revocation not shared; replicas fall back to the store", "session", sess.ID, "cause", err.Error())
	}
	_ = s.KV.Del(ctx, idleKey(sess.ID))
	s.revoked.markRevoked(sess.ID)
	if sess.Channel == services.ChannelKiosk && sess.Role != services.RoleDepositor {
		return s.endCitizenSessions(ctx, sess.ID) // a device's session: its citizens' end with it
	}
	return nil
}

func asInternal(err error) error {
	var e *services.Error
	if errors.As(err, &e) {
		return e
	}
	return services.Errorf(services.CodeInternal, "%w", err)
}

// personOf is the audit subject for a session's subject: people only, not
// operators or devices.
func personOf(role, subject string) string {
	if role == services.RoleDepositor {
		return subject
	}
	return ""
}

// record appends to the audit trail with the request id from ctx. A sign-in
// that cannot be audited does not happen.
func (s *Service) record(ctx context.Context, r audit.Record) error {
	r.At = s.Now()
	r.RequestID = services.RequestID(ctx)
	if err := s.Audit.Append(ctx, r); err != nil {
		return services.Errorf(services.CodeInternal, "audit %s: %w", r.Action, err)
	}
	return nil
}
