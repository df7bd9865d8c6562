package identity

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"regexp"
	"strconv"
	"time"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/core"
	"handheld/services/notify"
	"handheld/services/store"
)

// DeviceProof is a kiosk's signed request for a device session: the device
// signs DeviceMessage(...) with its Ed25519 key. Timestamp and nonce make
// each proof usable once.
type DeviceProof struct {
	DeviceID  string
	Timestamp string // Unix seconds
	Nonce     string
	Signature string // base64 (standard or URL alphabet) of the 64-byte signature
	Method    string
	Path      string
	Body      []byte
}

var noncePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{16,64}$`)

// DeviceMessage is what a kiosk signs: method, path, timestamp, nonce and
// the hex SHA-256 of the body, joined by newlines.
func DeviceMessage(method, path, timestamp, nonce string, body []byte) []byte {
	sum := sha256.Sum256(body)
	return []byte(method + "\n" + path + "\n" + timestamp + "\n" + nonce + "\n" + hex.EncodeToString(sum[:]))
}

// StartDeviceSession verifies a kiosk's proof and returns a device token.
func (s *Service) StartDeviceSession(ctx context.Context, p DeviceProof) (Tokens, error) {
	dev, ok := s.devices[p.DeviceID]
	if !ok || !noncePattern.MatchString(p.Nonce) {
		return Tokens{}, services.Errorf(services.CodeDeviceSignature, "unknown device or malformed nonce")
	}
	ts, err := strconv.ParseInt(p.Timestamp, 10, 64)
	if err != nil {
		return Tokens{}, services.Errorf(services.CodeDeviceSignature, "timestamp: %w", err)
	}
	if skew := s.Now().Sub(time.Unix(ts, 0)); skew > s.Policy.DeviceClockSkew || skew < -s.Policy.DeviceClockSkew {
		return Tokens{}, services.Errorf(services.CodeDeviceSignature, "timestamp outside the window")
	}
	sig, err := base64.StdEncoding.DecodeString(p.Signature)
	if err != nil {
		sig, err = base64.RawURLEncoding.DecodeString(p.Signature)
	}
	if err != nil || len(sig) != ed25519.SignatureSize ||
		!ed25519.Verify(dev.PublicKey, DeviceMessage(p.Method, p.Path, p.Timestamp, p.Nonce, p.Body), sig) {
		return Tokens{}, services.Errorf(services.CodeDeviceSignature, "bad signature")
	}
	if !dev.Enabled {
		_ = s.record(ctx, audit.Record{Actor: "device:" + dev.ID, Channel: services.ChannelKiosk, Action: "device.login", Target: "device:" + dev.ID, Result: "denied"})
		return Tokens{}, services.E(services.CodeDeviceDisabled)
	}
	fresh, err := s.KV.SetNX(ctx, "devnonce:"+dev.ID+":"+p.Nonce, []byte{1}, 2*s.Policy.DeviceClockSkew+time.Minute)
	if err != nil {
		return Tokens{}, services.Errorf(services.CodeInternal, "nonce: %w", err)
	}
	if !fresh {
		return Tokens{}, services.E(services.CodeReplayed)
	}
	tok, err := s.startSession(ctx, session{Subject: "device:" + dev.ID, Role: services.RoleKiosk, Channel: services.ChannelKiosk,
		Device: dev.ID, ExpiresAt: s.Now().Add(s.Policy.DeviceTokenTTL)}, false)
	if err != nil {
		return Tokens{}, err
	}
	return tok, s.record(ctx, audit.Record{Actor: "device:" + dev.ID, Channel: services.ChannelKiosk, Action: "device.login",
		Target: "device:" + dev.ID, Result: "ok"})
}

// KioskLogin is a person at a kiosk: identity plus the liveness service's
// face-verification result.
type KioskLogin struct {
	Name      string
	IDNumber  string
	FaceToken string
}

// LoginKiosk starts a short citizen session on a device: idle timeout
// KioskIdle, absolute KioskAbsolute, no refresh token, and never beyond the
// device's own session (see startCitizenSession).
func (s *Service) LoginKiosk(ctx context.Context, device services.Principal, l KioskLogin) (Tokens, error) {
	if err := validateIdentity(l.Name, l.IDNumber, s.Now()); err != nil {
		return Tokens{}, err
	}
	if n := len(l.FaceToken); n < 8 || n > 512 {
		return Tokens{}, services.Invalid(services.FieldError{Field: "face_token", Code: services.FieldFormat})
	}
	dev, ok := s.devices[device.Device]
	if !ok || !dev.Enabled {
		return Tokens{}, services.E(services.CodeDeviceDisabled)
	}
	if err := s.attempt(ctx, l.IDNumber, ""); err != nil {
		return Tokens{}, err
	}
	res, err := s.Core.VerifyFace(ctx, core.FaceCheck{Name: l.Name, IDNumber: l.IDNumber, FaceToken: l.FaceToken})
	if err != nil && services.ErrorCode(err) != services.CodePersonNotFound {
		return Tokens{}, err
	}
	matched := err == nil && res.Match && res.PersonID != ""
	if matched {
		// A person without an account is refused exactly like a face that
		// does not match, so the kiosk cannot tell who has an account.
		person, err := s.Core.Person(ctx, res.PersonID)
		if err != nil && services.ErrorCode(err) != services.CodePersonNotFound {
			return Tokens{}, err
		}
		matched = err == nil && person.HasAccount
	}
	if !matched {
		if aerr := s.record(ctx, audit.Record{Actor: "device:" + dev.ID, Channel: services.ChannelKiosk, Action: "login.failure",
			Target: "face", Result: "denied"}); aerr != nil {
			return Tokens{}, aerr
		}
		return Tokens{}, services.E(services.CodeFaceMismatch)
	}
	subject, err := s.subjectFor(ctx, res.PersonID)
	if err != nil {
		return Tokens{}, err
	}
	s.attemptsSucceeded(ctx, l.IDNumber, "")
	// The sign-in was a face check: the session starts at the face level,
	// and a service needing a recent one asks for a step-up after max_age.
	tok, err := s.startCitizenSession(ctx, device, session{Subject: subject, Role: services.RoleDepositor, Channel: services.ChannelKiosk,
		Device: dev.ID, ExpiresAt: s.Now().Add(s.Policy.KioskAbsolute), ACR: services.ACRFace, AuthTime: s.Now()})
	if err != nil {
		return Tokens{}, err
	}
	if err := s.record(ctx, audit.Record{Subject: subject, Actor: "device:" + dev.ID, Channel: services.ChannelKiosk,
		Action: "login.success", Target: "face", Result: "ok"}); err != nil {
		return Tokens{}, err
	}
	s.notice(ctx, subject, notify.NoticeSignIn)
	return tok, nil
}

// Device returns a registered kiosk, for the device's own screens.
func (s *Service) Device(id string) (Device, bool) {
	d, ok := s.devices[id]
	return d, ok
}

// startCitizenSession starts a citizen's session inside the device session
// it was signed in on: it expires with the device session at the latest,
// and is linked to it (kiosk_sessions) so that ending the device session —
// logout, revocation — ends it too (endCitizenSessions). A device session
// that has ended starts nothing: auth.session_revoked.
//
// The link is written before the session, and the device session is read
// again after: a logout racing this sign-in either finds the link or is
// seen here, so no citizen session outlives its device's.
func (s *Service) startCitizenSession(ctx context.Context, device services.Principal, sess session) (Tokens, error) {
	deviceEnds, err := s.liveDeviceSession(ctx, device.Session)
	if err != nil {
		return Tokens{}, err
	}
	sess.ID = randomID("ses_", 16)
	if deviceEnds.Before(sess.ExpiresAt) {
		sess.ExpiresAt = deviceEnds
	}
	if _, err := s.Store.Exec(ctx, `INSERT INTO kiosk_sessions (session_id, device_session_id) VALUES ($1, $2)`,
		sess.ID, device.Session); err != nil {
		return Tokens{}, services.Errorf(services.CodeInternal, "link kiosk session: %w", err)
	}
	tok, err := s.startSession(ctx, sess, false)
	if err != nil {
		return Tokens{}, err
	}
	if _, err := s.liveDeviceSession(ctx, device.Session); err != nil {
		_ = s.revoke(ctx, sess, "device_ended")
		return Tokens{}, err
	}
	return tok, nil
}

// liveDeviceSession returns when a device session ends, or
// auth.session_revoked when it already has.
func (s *Service) liveDeviceSession(ctx context.Context, sid string) (time.Time, error) {
	var expires time.Time
	var revokedAt sql.NullTime
	err := s.Store.QueryRow(ctx, `SELECT expires_at, revoked_at FROM sessions WHERE id = $1 AND role = $2`, sid, services.RoleKiosk).
		Scan(&expires, &revokedAt)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return time.Time{}, services.Errorf(services.CodeSessionRevoked, "device session %s not found", sid)
	case err != nil:
		return time.Time{}, services.Errorf(services.CodeInternal, "device session: %w", err)
	case revokedAt.Valid || !s.Now().Before(expires):
		return time.Time{}, services.Errorf(services.CodeSessionRevoked, "device session %s has ended", sid)
	}
	return expires, nil
}

// endCitizenSessions revokes the live citizen sessions started on a device
// session that has just ended.
func (s *Service) endCitizenSessions(ctx context.Context, deviceSession string) error {
	rows, err := s.Store.Query(ctx, `SELECT s.id, s.subject, s.expires_at FROM kiosk_sessions k
		JOIN sessions s ON s.id = k.session_id WHERE k.device_session_id = $1 AND s.revoked_at IS NULL`, deviceSession)
	if err != nil {
		return services.Errorf(services.CodeInternal, "kiosk sessions: %w", err)
	}
	var citizens []session
	for rows.Next() {
		c := session{Role: services.RoleDepositor, Channel: services.ChannelKiosk}
		if err := rows.Scan(&c.ID, &c.Subject, &c.ExpiresAt); err != nil {
			rows.Close()
			return services.Errorf(services.CodeInternal, "kiosk sessions: %w", err)
		}
		citizens = append(citizens, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return services.Errorf(services.CodeInternal, "kiosk sessions: %w", err)
	}
	for _, c := range citizens {
		if err := s.revoke(ctx, c, "device_ended"); err != nil {
			return err
		}
	}
	return nil
}
