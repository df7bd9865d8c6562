package identity

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/notify"
	"handheld/services/store"
)

// WeChatLogin is the answer to a mini-program login: tokens when the openid
// is bound to a person, otherwise a short single-use binding token.
type WeChatLogin struct {
	Tokens       *Tokens
	BindingToken string
	ExpiresIn    int
}

func bindingKey(tok string) string { return "binding:" + tok }

// LoginWeChat exchanges a wx.login code for a session or a binding token.
// A bound user's login also refreshes the sealed openid notifications use.
func (s *Service) LoginWeChat(ctx context.Context, code string) (WeChatLogin, error) {
	ws, err := s.WeChat.Code2Session(ctx, code)
	if err != nil {
		return WeChatLogin{}, err
	}
	openidHash := s.pseudonym("openid", ws.OpenID)
	var subject, sealed string
	err = s.Store.QueryRow(ctx, `SELECT subject_id, openid_sealed FROM wechat_bindings WHERE openid_hash = $1`, openidHash).Scan(&subject, &sealed)
	switch {
	case errors.Is(err, store.ErrNotFound):
		value, err := s.bindingValue(ws.OpenID, openidHash)
		if err != nil {
			return WeChatLogin{}, services.Errorf(services.CodeInternal, "binding token: %w", err)
		}
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		tok := "bt_" + base64.RawURLEncoding.EncodeToString(b)
		if err := s.KV.Set(ctx, bindingKey(tok), value, s.Policy.BindingTTL); err != nil {
			return WeChatLogin{}, services.Errorf(services.CodeInternal, "binding token: %w", err)
		}
		return WeChatLogin{BindingToken: tok, ExpiresIn: int(s.Policy.BindingTTL.Seconds())}, nil
	case err != nil:
		return WeChatLogin{}, services.Errorf(services.CodeInternal, "binding lookup: %w", err)
	}
	s.refreshSealedOpenID(ctx, subject, ws.OpenID, openidHash, sealed)
	// No call to the core: a bound person signs in during its maintenance
	// window too. The session carries the openid's hash, so a face check
	// (step-up) can start from it as from a binding's session.
	tok, err := s.startSession(ctx, session{Subject: subject, Role: services.RoleDepositor, Channel: services.ChannelMiniApp,
		ExpiresAt: s.Now().Add(s.Policy.RefreshTTL[services.ChannelMiniApp]), OpenIDHash: openidHash}, true)
	if err != nil {
		return WeChatLogin{}, err
	}
	if err := s.record(ctx, audit.Record{Subject: subject, Actor: subject, Channel: services.ChannelMiniApp,
		Action: "login.success", Target: "wechat", Result: "ok"}); err != nil {
		return WeChatLogin{}, err
	}
	s.notice(ctx, subject, notify.NoticeSignIn)
	return WeChatLogin{Tokens: &tok}, nil
}

// BindRequest is a real-name binding: who the mini-program user says they
// are, and the strong factor that proves it: a face result (a verify id
// from StartBindingFaceCheck, or in the sandbox a simulator face token),
// or, where the centre's policy accepts it, a getPhoneNumber code.
type BindRequest struct {
	Name       string
	IDNumber   string
	FaceResult string
	PhoneCode  string
}

// Bind spends a binding token: the strong factor is checked, the name and
// ID number are checked against the core, the openid is bound to the
// person's subject (keyed by its hash, kept sealed for notifications), and
// a session starts at the factor's assurance level.
//
// A wrong name or ID spends the token too, so guessing needs a new
// wx.login each time; attempts are also counted per ID number and per
// WeChat user. Whether the pair is wrong, the person has no account or
// the phone differs, the answer is the same auth.real_name_mismatch, so
// binding cannot be used to learn who has an account.
func (s *Service) Bind(ctx context.Context, bindingToken string, r BindRequest) (Tokens, error) {
	if err := validateIdentity(r.Name, r.IDNumber, s.Now()); err != nil {
		return Tokens{}, err
	}
	factor, err := s.bindFactor(r)
	if err != nil {
		return Tokens{}, err
	}
	openidHash, sealed, err := s.bindingOf(ctx, bindingToken, true)
	if err != nil {
		return Tokens{}, err
	}
	if err := s.attempt(ctx, r.IDNumber, openidHash); err != nil {
		return Tokens{}, err
	}
	denied := func(cause error) error {
		if aerr := s.record(ctx, audit.Record{Actor: "wechat:" + tag(openidHash), Channel: services.ChannelMiniApp,
			Action: "bind", Target: "real_name", Result: "denied"}); aerr != nil {
			return aerr
		}
		if services.ErrorCode(cause) == services.CodeRealNameMismatch {
			return cause
		}
		return &services.Error{Code: services.CodeRealNameMismatch, Cause: cause}
	}
	var faced string
	if factor == FactorFace {
		faced, err = s.checkFace(ctx, faceSubject{owner: bindingOwner(openidHash), channel: services.ChannelMiniApp,
			name: r.Name, idNumber: r.IDNumber}, r.FaceResult)
		if err != nil {
			_ = s.record(ctx, audit.Record{Actor: "wechat:" + tag(openidHash), Channel: services.ChannelMiniApp,
				Action: "bind", Target: "face", Result: "denied"})
			return Tokens{}, err
		}
	}
	person, err := s.Core.VerifyRealName(ctx, r.Name, r.IDNumber)
	switch {
	case services.ErrorCode(err) == services.CodePersonNotFound:
		return Tokens{}, denied(err)
	case err != nil:
		return Tokens{}, err
	case !person.HasAccount:
		return Tokens{}, denied(errors.New("no personal account"))
	case faced != "" && faced != person.PersonID:
		return Tokens{}, denied(errors.New("liveness token of another person"))
	}
	acr := services.ACRFace
	if factor == FactorPhone {
		acr = services.ACRPhone
		phone, err := s.WeChat.PhoneNumber(ctx, r.PhoneCode)
		if err != nil {
			return Tokens{}, err
		}
		if phone != person.Phone {
			return Tokens{}, denied(errors.New("phone differs from the one on file"))
		}
	}
	s.attemptsSucceeded(ctx, r.IDNumber, openidHash)
	subject, err := s.subjectFor(ctx, person.PersonID)
	if err != nil {
		return Tokens{}, err
	}
	if _, err := s.Store.Exec(ctx, `INSERT INTO wechat_bindings (openid_hash, subject_id, bound_at, openid_sealed) VALUES ($1, $2, $3, $4)
		ON CONFLICT (openid_hash) DO UPDATE SET subject_id = excluded.subject_id, bound_at = excluded.bound_at,
		openid_sealed = excluded.openid_sealed`,
		openidHash, subject, s.Now(), sealed); err != nil {
		return Tokens{}, services.Errorf(services.CodeInternal, "bind: %w", err)
	}
	tok, err := s.startSession(ctx, session{Subject: subject, Role: services.RoleDepositor, Channel: services.ChannelMiniApp,
		ExpiresAt: s.Now().Add(s.Policy.RefreshTTL[services.ChannelMiniApp]), ACR: acr, AuthTime: s.Now(), OpenIDHash: openidHash}, true)
	if err != nil {
		return Tokens{}, err
	}
	if err := s.record(ctx, audit.Record{Subject: subject, Actor: subject, Channel: services.ChannelMiniApp,
		Action: "bind", Target: "wechat", Result: "ok"}); err != nil {
		return Tokens{}, err
	}
	s.notice(ctx, subject, notify.NoticeBindingChanged)
	return tok, nil
}

// bindingOf reads what a binding token holds, spending it when spend is
// set (a bind) and leaving it for the bind otherwise (a face check).
func (s *Service) bindingOf(ctx context.Context, bindingToken string, spend bool) (openidHash, sealed string, err error) {
	if !strings.HasPrefix(bindingToken, "bt_") || len(bindingToken) > 64 {
		return "", "", services.E(services.CodeBindingInvalid)
	}
	get := s.KV.Get
	if spend {
		get = s.KV.GetDel
	}
	raw, ok, err := get(ctx, bindingKey(bindingToken))
	if err != nil {
		return "", "", services.Errorf(services.CodeInternal, "binding token: %w", err)
	}
	if !ok {
		return "", "", services.E(services.CodeBindingInvalid)
	}
	openidHash, sealed = parseBindingValue(raw)
	return openidHash, sealed, nil
}

// bindFactor checks that a binding carries exactly one strong factor the
// policy accepts, before anything is spent.
func (s *Service) bindFactor(r BindRequest) (Factor, error) {
	switch {
	case r.FaceResult != "" && r.PhoneCode != "":
		return "", services.Invalid(services.FieldError{Field: "phone_code", Code: services.FieldOneOf,
			Params: map[string]any{"allowed": []string{"face_result", "phone_code"}}})
	case r.FaceResult != "":
		if n := len(r.FaceResult); n < 8 || n > 512 {
			return "", services.Invalid(services.FieldError{Field: "face_result", Code: services.FieldFormat})
		}
		if !s.Assurance.accepts(FactorFace) {
			return "", services.Errorf(services.CodeFaceInvalid, "the policy does not accept face checks for binding")
		}
		return FactorFace, nil
	case r.PhoneCode != "":
		if len(r.PhoneCode) > 128 {
			return "", services.Invalid(services.FieldError{Field: "phone_code", Code: services.FieldFormat})
		}
		if !s.Assurance.accepts(FactorPhone) {
			return "", services.E(services.CodePhoneNotAccepted)
		}
		return FactorPhone, nil
	}
	return "", services.Invalid(services.FieldError{Field: "face_result", Code: services.FieldRequired})
}
