package identity

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"time"

	"golang.org/x/crypto/argon2"

	"handheld/services"
	"handheld/services/core"
	"handheld/services/store"
)

// DefaultOperatorCredentialTTL is how long the cached credential check of
// an operator's last successful sign-in may stand in for the core: a week
// covers every nightly window and a long holiday's, and bounds how long a
// password changed outside handheld (at the centre's counter) could still
// be accepted at night.
const DefaultOperatorCredentialTTL = 7 * 24 * time.Hour

// argon2id parameters of the cached credential check (OWASP's minimum,
// 19 MiB and 2 passes): slow enough that a stolen kv snapshot, already
// sealed, is not a password list, quick enough for a sign-in.
const (
	credTime    = 2
	credMemory  = 19 * 1024
	credThreads = 1
	credKeyLen  = 32
)

// cachedCredential is what handheld keeps of an operator's last successful
// password check: a salted argon2id hash of the password and the operator
// as the core described them, sealed as a whole in kv.
type cachedCredential struct {
	Salt     []byte        `json:"s"`
	Hash     []byte        `json:"h"`
	Operator core.Operator `json:"o"`
	At       time.Time     `json:"at"`
}

// credentialKey is the kv key of an operator's cached check: the
// operator's pseudonym, never the unit code or operator id (and kv hashes
// key names again).
func credentialKey(operator string) string { return "opcred:" + operator }

// credentialPlace binds the sealed value to its key, so a value copied to
// another operator's key does not open.
func credentialPlace(operator string) store.Place {
	return store.Place{Table: "kv", Column: "operator_credential", Row: operator}
}

func credentialHash(password string, salt []byte) []byte {
	return argon2.IDKey([]byte(password), salt, credTime, credMemory, credThreads, credKeyLen)
}

func (s *Service) credentialTTL() time.Duration {
	if s.Policy.OperatorCredentialTTL > 0 {
		return s.Policy.OperatorCredentialTTL
	}
	return DefaultOperatorCredentialTTL
}

// rememberOperatorCredential keeps the check of a password the core has
// just accepted. A temporary password (must change) is not kept: it must
// be changed with the core, which a cached check cannot do. A failure to
// keep it only costs the night-time sign-in, so it is logged, not returned.
func (s *Service) rememberOperatorCredential(ctx context.Context, operator, password string, op core.Operator) {
	if s.Policy.OperatorCredentialTTL < 0 || op.MustChangePassword {
		s.forgetOperatorCredential(ctx, operator)
		return
	}
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	op.Name = "" // not needed to start a session
	raw, err := json.Marshal(cachedCredential{Salt: salt, Hash: credentialHash(password, salt), Operator: op, At: s.Now()})
	if err == nil {
		var sealed []byte
		if sealed, err = s.Store.Seal(raw, credentialPlace(operator)); err == nil {
			err = s.KV.Set(ctx, credentialKey(operator), sealed, s.credentialTTL())
		}
	}
	if err != nil {
		s.Logger.Warn("operator credential not cached", "error", err)
	}
}

// forgetOperatorCredential drops the cached check: after a failure the
// core saw, a password change, a reset or a disable.
func (s *Service) forgetOperatorCredential(ctx context.Context, operator string) {
	if err := s.KV.Del(ctx, credentialKey(operator)); err != nil {
		s.Logger.Warn("operator credential not forgotten", "error", err)
	}
}

// checkCachedCredential answers, while the core cannot, whether password
// is the one the core last accepted for the operator: ok with the operator
// when it is, found false when nothing is cached (the caller returns the
// core's own error).
func (s *Service) checkCachedCredential(ctx context.Context, operator, password string) (op core.Operator, found, ok bool) {
	sealed, present, err := s.KV.Get(ctx, credentialKey(operator))
	if err != nil || !present {
		return core.Operator{}, false, false
	}
	raw, err := s.Store.Open(sealed, credentialPlace(operator))
	if err != nil {
		return core.Operator{}, false, false
	}
	var c cachedCredential
	if json.Unmarshal(raw, &c) != nil || len(c.Salt) == 0 || len(c.Hash) != credKeyLen {
		return core.Operator{}, false, false
	}
	if s.Now().Sub(c.At) > s.credentialTTL() {
		return core.Operator{}, false, false
	}
	if subtle.ConstantTimeCompare(credentialHash(password, c.Salt), c.Hash) != 1 {
		return core.Operator{}, true, false
	}
	return c.Operator, true, true
}

// coreAway reports whether err is the core being in its maintenance window
// or unreachable: the only answers the cached check stands in for.
func coreAway(err error) bool {
	c := services.ErrorCode(err)
	return c == services.CodeCoreMaintenance || c == services.CodeCoreUnavailable
}
