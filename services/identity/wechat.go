package identity

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"

	"handheld/services"
	"handheld/services/audit"
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
	tok, err := s.startSession(ctx, session{Subject: subject, Role: RoleDepositor, Channel: ChannelMiniApp,
		ExpiresAt: s.Now().Add(s.Policy.RefreshTTL[ChannelMiniApp])}, true)
	if err != nil {
		return WeChatLogin{}, err
	}
	if err := s.record(ctx, audit.Record{Subject: subject, Actor: subject, Channel: ChannelMiniApp,
		Action: "login.success", Target: "wechat", Result: "ok"}); err != nil {
		return WeChatLogin{}, err
	}
	return WeChatLogin{Tokens: &tok}, nil
}

// BindRequest is a real-name binding: who the mini-program user says they are.
type BindRequest struct {
	Name      string
	IDNumber  string
	PhoneCode string
}

// Bind spends a binding token: the name and ID number are checked against
// the core, the openid is bound to the person's subject (keyed by its hash,
// kept sealed for notifications), and a session starts.
// A wrong name or ID spends the token too, so guessing needs a new wx.login
// each time.
func (s *Service) Bind(ctx context.Context, bindingToken string, r BindRequest) (Tokens, error) {
	if err := validateIdentity(r.Name, r.IDNumber, s.Now()); err != nil {
		return Tokens{}, err
	}
	if r.PhoneCode != "" && len(r.PhoneCode) > 128 {
		return Tokens{}, services.Invalid(services.FieldError{Field: "phone_code", Code: services.FieldFormat})
	}
	if !strings.HasPrefix(bindingToken, "bt_") || len(bindingToken) > 64 {
		return Tokens{}, services.E(services.CodeBindingInvalid)
	}
	raw, ok, err := s.KV.GetDel(ctx, bindingKey(bindingToken))
	if err != nil {
		return Tokens{}, services.Errorf(services.CodeInternal, "binding token: %w", err)
	}
	if !ok {
		return Tokens{}, services.E(services.CodeBindingInvalid)
	}
	openidHash, sealed := parseBindingValue(raw)
	person, err := s.Core.VerifyRealName(ctx, r.Name, r.IDNumber)
	if err != nil {
		if services.ErrorCode(err) == services.CodePersonNotFound {
			_ = s.record(ctx, audit.Record{Actor: "wechat:" + tag(openidHash), Channel: ChannelMiniApp,
				Action: "bind", Target: "real_name", Result: "denied"})
			return Tokens{}, &services.Error{Code: services.CodeRealNameMismatch, Cause: err}
		}
		return Tokens{}, err
	}
	if !person.HasAccount {
		return Tokens{}, services.E(services.CodeAccountNotFound)
	}
	if r.PhoneCode != "" {
		phone, err := s.WeChat.PhoneNumber(ctx, r.PhoneCode)
		if err != nil {
			return Tokens{}, err
		}
		if phone != person.Phone {
			return Tokens{}, services.E(services.CodePhoneMismatch)
		}
	}
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
	tok, err := s.startSession(ctx, session{Subject: subject, Role: RoleDepositor, Channel: ChannelMiniApp,
		ExpiresAt: s.Now().Add(s.Policy.RefreshTTL[ChannelMiniApp])}, true)
	if err != nil {
		return Tokens{}, err
	}
	return tok, s.record(ctx, audit.Record{Subject: subject, Actor: subject, Channel: ChannelMiniApp,
		Action: "bind", Target: "wechat", Result: "ok"})
}
