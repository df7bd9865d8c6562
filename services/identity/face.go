package identity

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"handheld/services"
	"handheld/services/core"
	"handheld/services/store"
	"handheld/services/wechat"
)

// A face result is how a person proves, with their face, that they are the
// person a name and ID number belong to. It takes one of two forms:
//
//   - a WeChat verify id, from a face check the BFF started
//     (StartBindingFaceCheck, StartSessionFaceCheck) and the mini-program
//     ran; the BFF reads the outcome from WeChat, never from the client;
//   - a liveness token of the centre's face service ("face:…"), at a kiosk,
//     and in the WeChat sandbox, where the simulator plays that service.
//
// A verify id is good once, for the binding or session that started it,
// for the person it was started for, until FaceResultTTL.

// FacePrefix starts a liveness token of the centre's face service.
const FacePrefix = "face:"

// FaceCheckStart is what the mini-program needs to run a face check.
type FaceCheckStart struct {
	VerifyID  string
	ExpiresIn int // seconds
}

// faceCheck is a started WeChat face check as kv keeps it, under a hash of
// its verify id. It holds no name nor ID number: Person is a keyed HMAC of
// the cert_hash, and the openid is sealed.
type faceCheck struct {
	Owner        string    `json:"owner"` // "openid:<hash>" (a binding) or "session:<sid>"
	OpenIDHash   string    `json:"openid_hash"`
	OpenIDSealed string    `json:"openid_sealed"`
	OutSeqNo     string    `json:"out_seq_no"`
	Person       string    `json:"person"`
	ExpiresAt    time.Time `json:"expires_at"`
}

func faceCheckKey(verifyID string) string { return "facecheck:" + sha256Hex(verifyID) }
func faceUsedKey(verifyID string) string  { return "faceused:" + sha256Hex(verifyID) }
func bindingOwner(openidHash string) string {
	return "openid:" + openidHash
}
func sessionOwner(sid string) string { return "session:" + sid }

// StartBindingFaceCheck starts a WeChat face check for the name and ID
// number a mini-program user is about to bind, without spending the
// binding token. It answers the same whether or not the person exists at
// the centre: WeChat checks the face against the national ID photo.
func (s *Service) StartBindingFaceCheck(ctx context.Context, bindingToken, name, idNumber string) (FaceCheckStart, error) {
	if err := validateIdentity(name, idNumber, s.Now()); err != nil {
		return FaceCheckStart{}, err
	}
	openidHash, sealed, err := s.bindingOf(ctx, bindingToken, false)
	if err != nil {
		return FaceCheckStart{}, err
	}
	if err := s.attempt(ctx, idNumber, openidHash); err != nil {
		return FaceCheckStart{}, err
	}
	return s.startFaceCheck(ctx, bindingOwner(openidHash), openidHash, sealed, name, idNumber)
}

// StartSessionFaceCheck starts a WeChat face check for the person of a
// mini-program session, by the WeChat user who signed in, for a step-up.
func (s *Service) StartSessionFaceCheck(ctx context.Context, p services.Principal) (FaceCheckStart, error) {
	if err := p.Depositor(); err != nil {
		return FaceCheckStart{}, err
	}
	if p.Channel != services.ChannelMiniApp {
		return FaceCheckStart{}, services.Errorf(services.CodeForbidden, "face checks through WeChat are for mini-program sessions")
	}
	var openidHash, sealed string
	err := s.Store.QueryRow(ctx, `SELECT s.openid_hash, b.openid_sealed FROM sessions s
		JOIN wechat_bindings b ON b.openid_hash = s.openid_hash AND b.subject_id = s.subject
		WHERE s.id = $1 AND s.subject = $2`, p.Session, p.Subject).Scan(&openidHash, &sealed)
	if errors.Is(err, store.ErrNotFound) {
		return FaceCheckStart{}, services.Errorf(services.CodeSessionRevoked, "session has no WeChat binding")
	}
	if err != nil {
		return FaceCheckStart{}, services.Errorf(services.CodeInternal, "session binding: %w", err)
	}
	person, err := s.personOf(ctx, p.Subject)
	if err != nil {
		return FaceCheckStart{}, err
	}
	if err := s.attempt(ctx, person.IDNumber, openidHash); err != nil {
		return FaceCheckStart{}, err
	}
	return s.startFaceCheck(ctx, sessionOwner(p.Session), openidHash, sealed, person.Name, person.IDNumber)
}

func (s *Service) startFaceCheck(ctx context.Context, owner, openidHash, sealed, name, idNumber string) (FaceCheckStart, error) {
	openid, err := s.openOpenID(sealed, openidHash)
	if err != nil {
		return FaceCheckStart{}, services.Errorf(services.CodeBindingInvalid, "openid: %w", err)
	}
	fc := wechat.FaceCheck{OpenID: openid, OutSeqNo: randomID("fc", 15), CertName: name, CertNo: idNumber}
	verifyID, lifetime, err := s.WeChat.StartFaceCheck(ctx, fc)
	if err != nil {
		return FaceCheckStart{}, err
	}
	ttl := min(lifetime, s.Assurance.FaceResultTTL)
	rec, _ := json.Marshal(faceCheck{Owner: owner, OpenIDHash: openidHash, OpenIDSealed: sealed, OutSeqNo: fc.OutSeqNo,
		Person: s.pseudonym("cert", fc.CertHash()), ExpiresAt: s.Now().Add(ttl)})
	// Kept past its expiry so that a late use is told "expired", not "unknown".
	if err := s.KV.Set(ctx, faceCheckKey(verifyID), rec, ttl+s.Assurance.FaceResultTTL); err != nil {
		return FaceCheckStart{}, services.Errorf(services.CodeInternal, "face check: %w", err)
	}
	return FaceCheckStart{VerifyID: verifyID, ExpiresIn: int(ttl / time.Second)}, nil
}

// faceSubject is who a face result must prove: the person named, for the
// binding or session (owner) on a channel.
type faceSubject struct {
	owner    string
	channel  string
	name     string
	idNumber string
}

// checkFace verifies a face result for fs. A liveness token yields the
// core's person id; a WeChat verify id yields "" (WeChat checked the name
// and ID number, and the caller asks the core who they are).
func (s *Service) checkFace(ctx context.Context, fs faceSubject, result string) (personID string, err error) {
	if n := len(result); n < 8 || n > 512 {
		return "", services.Invalid(services.FieldError{Field: "face_result", Code: services.FieldFormat})
	}
	if strings.HasPrefix(result, FacePrefix) {
		if fs.channel != services.ChannelKiosk && !s.WeChat.Sandbox() {
			return "", services.Errorf(services.CodeFaceInvalid, "a liveness token outside a kiosk")
		}
		res, err := s.Core.VerifyFace(ctx, core.FaceCheck{Name: fs.name, IDNumber: fs.idNumber, FaceToken: result})
		if err != nil && services.ErrorCode(err) != services.CodePersonNotFound {
			return "", err
		}
		if err != nil || !res.Match || res.PersonID == "" {
			return "", services.E(services.CodeFaceFailed)
		}
		return res.PersonID, nil
	}
	if fs.channel == services.ChannelKiosk {
		return "", services.Errorf(services.CodeFaceInvalid, "a WeChat face result at a kiosk")
	}
	raw, ok, err := s.KV.Get(ctx, faceCheckKey(result))
	if err != nil {
		return "", services.Errorf(services.CodeInternal, "face check: %w", err)
	}
	var rec faceCheck
	if !ok || json.Unmarshal(raw, &rec) != nil || rec.Owner != fs.owner {
		return "", services.Errorf(services.CodeFaceInvalid, "unknown verify id, or another binding's or session's")
	}
	fc := wechat.FaceCheck{OutSeqNo: rec.OutSeqNo, CertName: fs.name, CertNo: fs.idNumber}
	if rec.Person != s.pseudonym("cert", fc.CertHash()) {
		return "", services.Errorf(services.CodeFaceInvalid, "face check for another person")
	}
	if !s.Now().Before(rec.ExpiresAt) {
		return "", services.E(services.CodeFaceExpired)
	}
	first, err := s.KV.SetNX(ctx, faceUsedKey(result), []byte{1}, 2*s.Assurance.FaceResultTTL)
	if err != nil {
		return "", services.Errorf(services.CodeInternal, "face check: %w", err)
	}
	if !first {
		return "", services.E(services.CodeFaceReplayed)
	}
	if fc.OpenID, err = s.openOpenID(rec.OpenIDSealed, rec.OpenIDHash); err != nil {
		return "", services.Errorf(services.CodeFaceInvalid, "openid: %w", err)
	}
	ret, err := s.WeChat.FaceResult(ctx, result, fc)
	if wechat.FaceResultRefused(err) {
		return "", &services.Error{Code: services.CodeFaceInvalid, Cause: err}
	}
	if err != nil {
		return "", err
	}
	if ret != wechat.FacePassed {
		return "", services.Errorf(services.CodeFaceFailed, "verify_ret %d", ret)
	}
	return "", nil
}

// personOf is the core's record of a subject's person: through the core
// reader when wired (a remembered answer during the core's maintenance
// window, so a face check and step-up still start), else the core.
func (s *Service) personOf(ctx context.Context, subject string) (core.Person, error) {
	personID, err := s.PersonID(ctx, subject)
	if err != nil {
		return core.Person{}, err
	}
	if s.Persons != nil {
		p, _, err := s.Persons.Person(ctx, personID)
		return p, err
	}
	return s.Core.Person(ctx, personID)
}
