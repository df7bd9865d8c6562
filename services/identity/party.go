package identity

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"

	"handheld/services"
	"handheld/services/audit"
)

// Party is a registered relying party's credential: a bank, a rental
// platform or an employer that redeems the yes/no answers people share
// with it (services/share). Like a verifier's, its secret is kept only as
// its SHA-256: party secrets are long random strings, not passwords.
type Party struct {
	ID           string
	SecretSHA256 string // hex
	Enabled      bool
}

// PartySubjectPrefix starts a party token's subject: "party:<id>".
const PartySubjectPrefix = "party:"

// LoginParty exchanges a relying party's client credentials for a
// short-lived token (role party, channel app, no refresh token). An
// unknown party and a wrong secret are the same answer; a disabled party
// is refused with auth.forbidden. Every attempt is audited.
func (s *Service) LoginParty(ctx context.Context, clientID, secret string) (Tokens, error) {
	if clientID == "" || len(clientID) > 64 || secret == "" || len(secret) > 256 {
		return Tokens{}, services.Invalid(services.FieldError{Field: "client_id", Code: services.FieldFormat})
	}
	p, ok := s.parties[clientID]
	sum := sha256.Sum256([]byte(secret))
	want, _ := hex.DecodeString(p.SecretSHA256)
	if !ok || subtle.ConstantTimeCompare(sum[:], want) != 1 {
		_ = s.record(ctx, audit.Record{Actor: "party:unknown", Channel: services.ChannelApp, Action: "login.failure", Target: "party", Result: "denied"})
		return Tokens{}, services.E(services.CodeBadCredentials)
	}
	actor := PartySubjectPrefix + p.ID
	if !p.Enabled {
		_ = s.record(ctx, audit.Record{Actor: actor, Channel: services.ChannelApp, Action: "login.failure", Target: "party", Result: "denied"})
		return Tokens{}, services.Errorf(services.CodeForbidden, "party %s disabled", p.ID)
	}
	tok, err := s.startSession(ctx, session{Subject: actor, Role: services.RoleParty, Channel: services.ChannelApp,
		ExpiresAt: s.Now().Add(s.Policy.AccessTTL)}, false)
	if err != nil {
		return Tokens{}, err
	}
	return tok, s.record(ctx, audit.Record{Actor: actor, Channel: services.ChannelApp, Action: "login.success", Target: "party", Result: "ok"})
}
