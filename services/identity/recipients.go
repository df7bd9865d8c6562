package identity

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"handheld/services"
	"handheld/services/store"
)

// The openid is the one piece of a WeChat user that identity keeps in a
// form it can read back: the centre needs it to address a subscribe message
// to the person (a withdrawal approved, paid). It is sealed under the
// store's key ring (services/seal), bound to the row's openid hash, so a
// sealed value read from the table or the kv store says nothing, and one
// copied onto another binding does not open.
//
// Before the ring, openids were sealed with AES-256-GCM under a key derived
// from the hash secret. Such values still open (openLegacy), are replaced at the
// person's next WeChat sign-in, and the sealing step of migration 0010
// moves every one of them onto the ring.

// sealedOpenID is wechat_bindings' one sealed column.
var sealedOpenID = store.SealedColumn{Table: "wechat_bindings", Key: []string{"openid_hash"}, Column: "openid_sealed", Text: true}

// SealedColumns are the columns of identity's tables that hold sealed
// personal data, for the sealing step and `handheld keys reseal`; openids
// sealed before the ring open with the legacy key derived from hashSecret.
func SealedColumns(hashSecret []byte) []store.SealedColumn {
	c := sealedOpenID
	c.Legacy = func(v []byte, at store.Place) ([]byte, bool) {
		openid, err := openLegacy(hashSecret, string(v), at.Row)
		return []byte(openid), err == nil
	}
	return []store.SealedColumn{c}
}

// openidSealInfo separates the legacy sealing key from every other use of
// HashSecret (the pseudonym HMACs).
const openidSealInfo = "handheld/identity: wechat openid seal v1"

// errSealed is the cause when a sealed openid does not open: tampered, cut,
// or sealed under another secret. It names no value.
var errSealed = errors.New("identity: sealed openid does not open")

// legacyAEAD derives the legacy sealing key from the hash secret.
func legacyAEAD(hashSecret []byte) (cipher.AEAD, error) {
	key, err := hkdf.Key(sha256.New, hashSecret, nil, openidSealInfo, 32)
	if err != nil {
		return nil, fmt.Errorf("identity: openid key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("identity: openid key: %w", err)
	}
	return cipher.NewGCMWithRandomNonce(block)
}

// sealOpenID returns the openid sealed under the ring for the binding keyed
// by openidHash.
func (s *Service) sealOpenID(openid, openidHash string) (string, error) {
	return s.Store.SealText(openid, sealedOpenID.Place(openidHash))
}

// openOpenID reverses sealOpenID, or opens a value sealed the legacy way;
// anything but an intact value sealed for openidHash is an error.
func (s *Service) openOpenID(sealed, openidHash string) (string, error) {
	if _, ok := s.Store.KeyID([]byte(sealed)); ok {
		return s.Store.OpenText(sealed, sealedOpenID.Place(openidHash))
	}
	return openLegacy(s.HashKey.Bytes(), sealed, openidHash)
}

// openLegacy opens an openid sealed before the ring: base64url of a random
// nonce, the ciphertext and the tag, with the openid hash as associated data.
func openLegacy(hashSecret []byte, sealed, openidHash string) (string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(sealed)
	if err != nil || len(raw) < 28 { // nonce and tag, see cipher.NewGCMWithRandomNonce
		return "", errSealed
	}
	aead, err := legacyAEAD(hashSecret)
	if err != nil {
		return "", err
	}
	openid, err := aead.Open(nil, nil, raw, []byte(openidHash))
	if err != nil {
		return "", errSealed
	}
	return string(openid), nil
}

// bindingValue is what a binding token holds in the kv store until Bind
// spends it: the openid hash that keys the binding, and the openid sealed
// for it, never the openid itself.
func (s *Service) bindingValue(openid, openidHash string) ([]byte, error) {
	sealed, err := s.sealOpenID(openid, openidHash)
	if err != nil {
		return nil, err
	}
	return []byte(openidHash + "." + sealed), nil
}

// parseBindingValue splits a binding token's value. A bare hash is a token
// issued before openids were sealed: it binds with no sealed openid, which
// the person's next login supplies.
func parseBindingValue(raw []byte) (openidHash, sealed string) {
	openidHash, sealed, _ = strings.Cut(string(raw), ".")
	return openidHash, sealed
}

// refreshSealedOpenID gives a bound user's binding the sealed openid it
// lacks (bound before openids were sealed) or has in a form that no longer
// opens to this openid. It is best effort: a sign-in does not fail because
// notifications cannot reach the person yet, so trouble is only logged.
func (s *Service) refreshSealedOpenID(ctx context.Context, subject, openid, openidHash, stored string) {
	if _, ok := s.Store.KeyID([]byte(stored)); ok {
		if got, err := s.openOpenID(stored, openidHash); err == nil && got == openid {
			return
		}
	}
	sealed, err := s.sealOpenID(openid, openidHash)
	if err == nil {
		_, err = s.Store.Exec(ctx, `UPDATE wechat_bindings SET openid_sealed = $1 WHERE openid_hash = $2`, sealed, openidHash)
	}
	if err != nil {
		s.Logger.WarnContext(ctx, "identity: sealed openid not refreshed", "subject", subject,
			"request_id", services.RequestID(ctx), "err", err)
	}
}

// OpenID is the openid to send a WeChat subscribe message to: that of the
// subject's most recent binding holding a sealed openid. ok is false when
// there is none — the person never used the mini-program, or bound before
// openids were sealed and has not signed in through WeChat since — which is
// no error: the person is simply not reachable by WeChat.
func (s *Service) OpenID(ctx context.Context, subject string) (openid string, ok bool, err error) {
	all, failed, err := s.OpenIDs(ctx, subject)
	if err == nil {
		err = failed[subject]
	}
	if err != nil {
		return "", false, err
	}
	openid, ok = all[subject]
	return openid, ok, nil
}

// OpenIDs is OpenID for several subjects, in one query: the openid of each
// subject WeChat can reach, by subject, the others absent. A binding whose
// sealed openid does not open is its subject's error in failed, so one
// damaged row stops nobody else's messages; err is for the query.
func (s *Service) OpenIDs(ctx context.Context, subjects ...string) (openids map[string]string, failed map[string]error, err error) {
	out, failed := make(map[string]string, len(subjects)), map[string]error{}
	if len(subjects) == 0 {
		return out, failed, nil
	}
	rows, err := s.Store.Query(ctx, `SELECT subject_id, openid_hash, openid_sealed FROM wechat_bindings
		WHERE subject_id IN (`+store.Placeholders(1, len(subjects))+`) AND openid_sealed <> ''
		ORDER BY subject_id, bound_at DESC, openid_hash DESC`, store.Args(subjects...)...)
	if err != nil {
		return nil, nil, services.Errorf(services.CodeInternal, "openids: %w", err)
	}
	defer rows.Close()
	seen := map[string]bool{}
	for rows.Next() {
		var subject, openidHash, sealed string
		if err := rows.Scan(&subject, &openidHash, &sealed); err != nil {
			return nil, nil, services.Errorf(services.CodeInternal, "openids: %w", err)
		}
		if seen[subject] {
			continue // an older binding: the first row is the one OpenID takes
		}
		seen[subject] = true
		openid, err := s.openOpenID(sealed, openidHash)
		if err != nil {
			failed[subject] = services.Errorf(services.CodeInternal, "openid of %s: %w", subject, err)
			continue
		}
		out[subject] = openid
	}
	if err := rows.Err(); err != nil {
		return nil, nil, services.Errorf(services.CodeInternal, "openids: %w", err)
	}
	return out, failed, nil
}
