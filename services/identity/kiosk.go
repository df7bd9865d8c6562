package identity

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"regexp"
	"strconv"
	"time"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/core"
	"handheld/services/token"
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
		_ = s.record(ctx, audit.Record{Actor: "device:" + dev.ID, Channel: ChannelKiosk, Action: "device.login", Target: "device:" + dev.ID, Result: "denied"})
		return Tokens{}, services.E(services.CodeDeviceDisabled)
	}
	fresh, err := s.KV.SetNX(ctx, "devnonce:"+dev.ID+":"+p.Nonce, []byte{1}, 2*s.Policy.DeviceClockSkew+time.Minute)
	if err != nil {
		return Tokens{}, services.Errorf(services.CodeInternal, "nonce: %w", err)
	}
	if !fresh {
		return Tokens{}, services.E(services.CodeReplayed)
	}
	tok, err := s.startSession(ctx, session{Subject: "device:" + dev.ID, Role: RoleKiosk, Channel: ChannelKiosk,
		Device: dev.ID, ExpiresAt: s.Now().Add(s.Policy.DeviceTokenTTL)}, false)
	if err != nil {
		return Tokens{}, err
	}
	return tok, s.record(ctx, audit.Record{Actor: "device:" + dev.ID, Channel: ChannelKiosk, Action: "device.login",
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
// KioskIdle, absolute KioskAbsolute, no refresh token.
func (s *Service) LoginKiosk(ctx context.Context, device Principal, l KioskLogin) (Tokens, error) {
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
		if aerr := s.record(ctx, audit.Record{Actor: "device:" + dev.ID, Channel: ChannelKiosk, Action: "login.failure",
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
	tok, err := s.startSession(ctx, session{Subject: subject, Role: RoleDepositor, Channel: ChannelKiosk,
		Device: dev.ID, ExpiresAt: s.Now().Add(s.Policy.KioskAbsolute), ACR: token.ACRFace, AuthTime: s.Now()}, false)
	if err != nil {
		return Tokens{}, err
	}
	return tok, s.record(ctx, audit.Record{Subject: subject, Actor: "device:" + dev.ID, Channel: ChannelKiosk,
		Action: "login.success", Target: "face", Result: "ok"})
}

// Device returns a registered kiosk, for the device's own screens.
func (s *Service) Device(id string) (Device, bool) {
	d, ok := s.devices[id]
	return d, ok
}
