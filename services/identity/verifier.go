package identity

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"slices"

	"handheld/services"
	"handheld/services/audit"
)

// ScopeECardVerify lets a verifier check e-cards.
const ScopeECardVerify = "ecard.verify"

// Verifier is a registered verifier credential. The secret is kept only as
// its SHA-256: verifier secrets are long random strings, not passwords.
type Verifier struct {
	ID           string
	Name         string
	Scopes       []string
	SecretSHA256 string // hex
	Enabled      bool
}

// LoginVerifier exchanges a verifier's client credentials for a short-lived
// token (role verifier, no refresh token).
func (s *Service) LoginVerifier(ctx context.Context, clientID, secret string) (Tokens, error) {
	if clientID == "" || len(clientID) > 64 || secret == "" || len(secret) > 256 {
		return Tokens{}, services.Invalid(services.FieldError{Field: "client_id", Code: services.FieldFormat})
	}
	v, ok := s.verifiers[clientID]
	sum := sha256.Sum256([]byte(secret))
	want, _ := hex.DecodeString(v.SecretSHA256)
	if !ok || subtle.ConstantTimeCompare(sum[:], want) != 1 {
		_ = s.record(ctx, audit.Record{Actor: "verifier:unknown", Channel: services.ChannelApp, Action: "login.failure", Target: "verifier", Result: "denied"})
		return Tokens{}, services.E(services.CodeBadCredentials)
	}
	actor := "verifier:" + v.ID
	if !v.Enabled || !slices.Contains(v.Scopes, ScopeECardVerify) {
		_ = s.record(ctx, audit.Record{Actor: actor, Channel: services.ChannelApp, Action: "login.failure", Target: "verifier", Result: "denied"})
		return Tokens{}, services.Errorf(services.CodeForbidden, "verifier %s disabled or without scope", v.ID)
	}
	tok, err := s.startSession(ctx, session{Subject: actor, Role: services.RoleVerifier, Channel: services.ChannelApp,
		ExpiresAt: s.Now().Add(s.Policy.AccessTTL)}, false)
	if err != nil {
		return Tokens{}, err
	}
	return tok, s.record(ctx, audit.Record{Actor: actor, Channel: services.ChannelApp, Action: "login.success", Target: "verifier", Result: "ok"})
}

// VerifierName is a verifier's display name, for the holder's usage list.
func (s *Service) VerifierName(id string) (string, bool) {
	v, ok := s.verifiers[id]
	return v.Name, ok
}
