package identity

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
	"time"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/notify"
)

// Sign-in at a kiosk by phone QR (docs/api.md § Sign-in at a kiosk by phone
// QR). The kiosk asks for a one-time code and shows it as a QR code; the
// person scans it with the mini-program, sees which kiosk and where, and
// confirms with a session that had a recent face check; the kiosk, polling,
// collects a kiosk citizen session in that person's name, once.
//
// The code lives only in the shared kv (Redis in production), under the
// SHA-256 of the code, never the code itself, with what it is bound to:
// the kiosk and the device session that asked for it. Its state moves
// pending → confirmed → collected by compare-and-swap, so two phones
// confirming at once, or two polls collecting at once, have exactly one
// winner.

// The bounds and default of Policy.KioskLoginTTL.
const (
	DefaultKioskLoginTTL = 60 * time.Second
	MinKioskLoginTTL     = time.Second
	MaxKioskLoginTTL     = 5 * time.Minute
)

// The states a LoginCodeState reports to the kiosk.
const (
	LoginCodePending   = "pending"
	LoginCodeConfirmed = "confirmed"
)

const (
	// kioskLoginCollect is how long after its time a confirmed code can
	// still be collected: a person confirming in the last second is not
	// refused because the kiosk's next poll comes a moment later.
	kioskLoginCollect = 15 * time.Second
	// kioskLoginRemember is how long a code's record is kept after its
	// time, so that a late scan is told "expired" (show a new code)
	// rather than "no such code".
	kioskLoginRemember = 10 * time.Minute
	// loginCodeBytes of randomness: 192 bits, 32 URL-safe characters.
	loginCodeBytes = 24
)

// LoginCodePattern is the shape of a code: 32 characters of unpadded
// base64url. Anything else is refused before kv is asked.
var LoginCodePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{32}$`)

// LoginCode is a new code for the kiosk to show.
type LoginCode struct {
	// Code is the one-time code (192 random bits).
	Code string
	// URL is what the QR code shows: <public base>/kiosk-login?code=<code>.
	URL string
	// ExpiresIn is how long the code can be confirmed.
	ExpiresIn time.Duration
}

// LoginCodeState is what a kiosk's poll learns.
type LoginCodeState struct {
	// Status is LoginCodePending or LoginCodeConfirmed.
	Status string
	// Tokens are the citizen session's, set once: on the poll that finds
	// the code confirmed. Later polls are kiosk_login.used.
	Tokens *Tokens
	// ExpiresIn is how long a pending code can still be confirmed.
	ExpiresIn time.Duration
}

// KioskLoginPreview is what the phone shows before and after confirming:
// which kiosk, where.
type KioskLoginPreview struct {
	DeviceID    string
	Location    string
	ExpiresIn   time.Duration
	ConfirmedAt time.Time // set by ConfirmKioskLogin
}

// kioskLogin is a code's record in kv.
type kioskLogin struct {
	Device        string    `json:"d"`
	DeviceSession string    `json:"ds"`
	State         string    `json:"st"` // pending, confirmed, collected
	Expires       time.Time `json:"exp"`
	// Set on confirmation: who confirmed, and their face check, which the
	// kiosk session carries.
	Subject     string       `json:"sub,omitempty"`
	ACR         services.ACR `json:"acr,omitempty"`
	AuthTime    time.Time    `json:"at,omitzero"`
	ConfirmedAt time.Time    `json:"ca,omitzero"`
}

const kioskLoginCollected = "collected"

// kioskLoginKey is the kv key of a code: a hash of it (kv hashes keys once
// more with its secret), so neither Redis nor its backups hold a code.
func kioskLoginKey(code string) string { return "kiosklogin:" + sha256Hex(code) }

// CreateLoginCode gives a kiosk a new one-time sign-in code, bound to the
// kiosk and its current device session, valid for Policy.KioskLoginTTL.
func (s *Service) CreateLoginCode(ctx context.Context, device services.Principal) (LoginCode, error) {
	dev, err := s.kioskDevice(device)
	if err != nil {
		return LoginCode{}, err
	}
	ttl := s.Policy.KioskLoginTTL
	b := make([]byte, loginCodeBytes)
	_, _ = rand.Read(b)
	code := base64.RawURLEncoding.EncodeToString(b)
	rec := kioskLogin{Device: dev.ID, DeviceSession: device.Session, State: LoginCodePending, Expires: s.Now().Add(ttl)}
	v, _ := json.Marshal(rec)
	fresh, err := s.KV.SetNX(ctx, kioskLoginKey(code), v, ttl+kioskLoginCollect+kioskLoginRemember)
	if err != nil {
		return LoginCode{}, services.Errorf(services.CodeInternal, "kiosk login code: %w", err)
	}
	if !fresh { // 192 random bits do not collide; a broken random source might
		return LoginCode{}, services.Errorf(services.CodeInternal, "kiosk login code collided")
	}
	if err := s.record(ctx, audit.Record{Actor: "device:" + dev.ID, Channel: services.ChannelKiosk, Action: "kiosk_login.create",
		Target: "device:" + dev.ID, Result: "ok"}); err != nil {
		return LoginCode{}, err
	}
	return LoginCode{Code: code, URL: KioskLoginURL(s.PublicBaseURL, code), ExpiresIn: ttl}, nil
}

// KioskLoginURL is what the QR code shows (the kiosk screen draws it again
// on each poll). The mini-program, scanning it,
// takes the code from the query and opens its confirmation page; any other
// scanner opens a page on this server's public address.
func KioskLoginURL(base, code string) string {
	return strings.TrimRight(base, "/") + "/kiosk-login?code=" + url.QueryEscape(code)
}

// PollLoginCode is the kiosk asking after its code: pending, or confirmed
// with the citizen session's tokens, once. Another kiosk's code, or the
// same kiosk's from an earlier device session, is kiosk_login.not_found
// exactly like a code that never existed.
func (s *Service) PollLoginCode(ctx context.Context, device services.Principal, code string) (LoginCodeState, error) {
	dev, err := s.kioskDevice(device)
	if err != nil {
		return LoginCodeState{}, err
	}
	if err := validLoginCode(code); err != nil {
		return LoginCodeState{}, err
	}
	rec, raw, err := s.loadKioskLogin(ctx, code)
	if err != nil {
		return LoginCodeState{}, err
	}
	if rec.Device != dev.ID || rec.DeviceSession != device.Session {
		_ = s.record(ctx, audit.Record{Actor: "device:" + dev.ID, Channel: services.ChannelKiosk, Action: "kiosk_login.poll",
			Target: "device:" + rec.Device, Result: "denied"})
		return LoginCodeState{}, services.Errorf(services.CodeKioskLoginNotFound, "code of another kiosk or device session")
	}
	now := s.Now()
	switch {
	case rec.State == kioskLoginCollected:
		return LoginCodeState{}, services.E(services.CodeKioskLoginUsed)
	case rec.State == LoginCodePending && !now.Before(rec.Expires):
		return LoginCodeState{}, services.E(services.CodeKioskLoginExpired)
	case rec.State == LoginCodePending:
		return LoginCodeState{Status: LoginCodePending, ExpiresIn: rec.Expires.Sub(now)}, nil
	case !now.Before(rec.Expires.Add(kioskLoginCollect)):
		return LoginCodeState{}, services.E(services.CodeKioskLoginExpired)
	}
	// Confirmed: collect it, once. The swap decides between two polls at
	// once; the loser is told the code is used.
	next := rec
	next.State = kioskLoginCollected
	v, _ := json.Marshal(next)
	won, err := s.KV.CompareAndSwap(ctx, kioskLoginKey(code), raw, v)
	if err != nil {
		return LoginCodeState{}, services.Errorf(services.CodeInternal, "kiosk login collect: %w", err)
	}
	if !won {
		return LoginCodeState{}, services.Errorf(services.CodeKioskLoginUsed, "collected by a concurrent poll")
	}
	tok, err := s.startCitizenSession(ctx, device, session{Subject: rec.Subject, Role: services.RoleDepositor,
		Channel: services.ChannelKiosk, Device: dev.ID, ExpiresAt: now.Add(s.Policy.KioskAbsolute), ACR: rec.ACR, AuthTime: rec.AuthTime})
	if err != nil {
		return LoginCodeState{}, err
	}
	if err := s.record(ctx, audit.Record{Subject: rec.Subject, Actor: "device:" + dev.ID, Channel: services.ChannelKiosk,
		Action: "login.success", Target: "phone_qr", Result: "ok"}); err != nil {
		return LoginCodeState{}, err
	}
	s.notice(ctx, rec.Subject, notify.NoticeSignIn)
	return LoginCodeState{Status: LoginCodeConfirmed, Tokens: &tok}, nil
}

// PreviewKioskLogin tells the person on the phone which kiosk, and where,
// a scanned code would sign them in at, before they confirm.
func (s *Service) PreviewKioskLogin(ctx context.Context, phone services.Principal, code string) (KioskLoginPreview, error) {
	if err := phoneSession(phone); err != nil {
		return KioskLoginPreview{}, err
	}
	if err := validLoginCode(code); err != nil {
		return KioskLoginPreview{}, err
	}
	rec, _, err := s.loadKioskLogin(ctx, code)
	if err != nil {
		return KioskLoginPreview{}, err
	}
	dev, err := s.confirmable(ctx, rec)
	if err != nil {
		return KioskLoginPreview{}, err
	}
	return KioskLoginPreview{DeviceID: dev.ID, Location: dev.Location, ExpiresIn: rec.Expires.Sub(s.Now())}, nil
}

// ConfirmKioskLogin signs the phone's person in at the kiosk that shows
// code: the code becomes confirmed, carrying the person's subject and face
// check, and the kiosk's next poll collects the session. The phone's
// session must meet ServiceKioskLogin's assurance (a recent face check by
// default); a kiosk's own sessions cannot confirm. Of two confirmations
// at once exactly one wins; the other, like any later one, is
// kiosk_login.used.
func (s *Service) ConfirmKioskLogin(ctx context.Context, phone services.Principal, code string) (KioskLoginPreview, error) {
	if err := phoneSession(phone); err != nil {
		return KioskLoginPreview{}, err
	}
	if err := s.RequireAssurance(phone, ServiceKioskLogin); err != nil {
		return KioskLoginPreview{}, err
	}
	if err := validLoginCode(code); err != nil {
		return KioskLoginPreview{}, err
	}
	deny := func(err error, target string) (KioskLoginPreview, error) {
		if aerr := s.record(ctx, audit.Record{Subject: phone.Subject, Actor: phone.Actor(), Channel: phone.Channel,
			Action: "kiosk_login.confirm", Target: target, Result: "denied"}); aerr != nil {
			return KioskLoginPreview{}, aerr
		}
		return KioskLoginPreview{}, err
	}
	rec, raw, err := s.loadKioskLogin(ctx, code)
	if services.ErrorCode(err) == services.CodeKioskLoginNotFound {
		return deny(err, "kiosk_login")
	}
	if err != nil {
		return KioskLoginPreview{}, err
	}
	dev, err := s.confirmable(ctx, rec)
	if err != nil {
		return deny(err, "device:"+rec.Device)
	}
	now := s.Now()
	next := rec
	next.State, next.Subject, next.ACR, next.AuthTime, next.ConfirmedAt = LoginCodeConfirmed, phone.Subject, phone.ACR, phone.AuthTime, now
	v, _ := json.Marshal(next)
	won, err := s.KV.CompareAndSwap(ctx, kioskLoginKey(code), raw, v)
	if err != nil {
		return KioskLoginPreview{}, services.Errorf(services.CodeInternal, "kiosk login confirm: %w", err)
	}
	if !won {
		return deny(services.Errorf(services.CodeKioskLoginUsed, "confirmed by a concurrent request"), "device:"+dev.ID)
	}
	if err := s.record(ctx, audit.Record{Subject: phone.Subject, Actor: phone.Actor(), Channel: phone.Channel,
		Action: "kiosk_login.confirm", Target: "device:" + dev.ID, Result: "ok"}); err != nil {
		return KioskLoginPreview{}, err
	}
	return KioskLoginPreview{DeviceID: dev.ID, Location: dev.Location, ExpiresIn: rec.Expires.Sub(now), ConfirmedAt: now}, nil
}

// confirmable checks that a code can still be confirmed: pending, within
// its time, its kiosk enabled and its device session live (a kiosk that
// has signed out is an expired code to the phone, not its own session's
// problem).
func (s *Service) confirmable(ctx context.Context, rec kioskLogin) (Device, error) {
	switch {
	case rec.State != LoginCodePending:
		return Device{}, services.E(services.CodeKioskLoginUsed)
	case !s.Now().Before(rec.Expires):
		return Device{}, services.E(services.CodeKioskLoginExpired)
	}
	dev, ok := s.devices[rec.Device]
	if !ok || !dev.Enabled {
		return Device{}, services.Errorf(services.CodeKioskLoginExpired, "kiosk %s disabled or unregistered", rec.Device)
	}
	if _, err := s.liveDeviceSession(ctx, rec.DeviceSession); err != nil {
		if services.ErrorCode(err) == services.CodeSessionRevoked {
			return Device{}, services.Errorf(services.CodeKioskLoginExpired, "%w", err)
		}
		return Device{}, err
	}
	return dev, nil
}

// loadKioskLogin reads a code's record and its raw value (the swap's
// expected value).
func (s *Service) loadKioskLogin(ctx context.Context, code string) (kioskLogin, []byte, error) {
	raw, ok, err := s.KV.Get(ctx, kioskLoginKey(code))
	if err != nil {
		return kioskLogin{}, nil, services.Errorf(services.CodeInternal, "kiosk login code: %w", err)
	}
	if !ok {
		return kioskLogin{}, nil, services.E(services.CodeKioskLoginNotFound)
	}
	var rec kioskLogin
	if err := json.Unmarshal(raw, &rec); err != nil {
		return kioskLogin{}, nil, services.Errorf(services.CodeInternal, "kiosk login record: %w", err)
	}
	return rec, raw, nil
}

// kioskDevice is the registered, enabled kiosk of a device session.
func (s *Service) kioskDevice(p services.Principal) (Device, error) {
	if p.Role != services.RoleKiosk || p.Channel != services.ChannelKiosk {
		return Device{}, services.Errorf(services.CodeForbidden, "role %s on %s is not a kiosk device", p.Role, p.Channel)
	}
	dev, ok := s.devices[p.Device]
	if !ok || !dev.Enabled {
		return Device{}, services.E(services.CodeDeviceDisabled)
	}
	return dev, nil
}

// phoneSession admits a depositor's mini-program session: a kiosk citizen
// session signing someone in at another kiosk would let whoever stands at
// an unattended screen sign in elsewhere.
func phoneSession(p services.Principal) error {
	if err := p.Depositor(); err != nil {
		return err
	}
	if p.Channel != services.ChannelMiniApp {
		return services.Errorf(services.CodeForbidden, "kiosk sign-in confirmed from channel %s", p.Channel)
	}
	return nil
}

// validLoginCode refuses a malformed code as a field error before kv is
// asked.
func validLoginCode(code string) error {
	if code == "" {
		return services.Invalid(services.FieldError{Field: "code", Code: services.FieldRequired})
	}
	if !LoginCodePattern.MatchString(code) {
		return services.Invalid(services.FieldError{Field: "code", Code: services.FieldFormat})
	}
	return nil
}
