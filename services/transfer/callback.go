package transfer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/core"
	"handheld/services/kv"
	"handheld/services/platform"
	"handheld/services/store"
)

// Signed is a request as it came, for its signature to be checked: the
// method, the escaped path, the four X-Platform-* headers and the body.
type Signed struct {
	Method, Path                       string
	KeyID, Timestamp, Nonce, Signature string
	Body                               []byte
}

// nonceShape bounds what is remembered of a nonce.
const (
	minNonce = 16
	maxNonce = 128
)

// Callback takes the platform's word on a transfer (POST PathCallback).
// It refuses, writing nothing, a key it does not know, a bad signature, a
// timestamp outside ±5 minutes and a nonce it has seen (on any replica:
// nonces live in the shared store) with callback.bad_signature; a body
// that is not a Transfer with request.invalid; a transfer it does not know
// with not_found. A sequence already recorded changes nothing (answered
// 200 all the same); a later one records every status on the way, so
// callbacks out of order, lost or doubled leave each status recorded once.
func (s *Service) Callback(ctx context.Context, r Signed) error {
	if err := s.verify(ctx, r); err != nil {
		return err
	}
	var pt platform.Transfer
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&pt); err != nil || fromPlatform(pt.Status) == "" || pt.Sequence < 1 || pt.PlatformRef == "" {
		return services.Invalid(services.FieldError{Field: "body", Code: services.FieldFormat})
	}
	var t row
	var err error
	if idKind.Valid(pt.TransferRef) {
		t, _, err = s.load(ctx, `id = $1`, pt.TransferRef)
	} else {
		err = store.ErrNotFound
	}
	switch {
	case errors.Is(err, store.ErrNotFound) || err == nil && t.PlatformRef != "" && t.PlatformRef != pt.PlatformRef:
		return services.Errorf(services.CodeNotFound, "transfer: callback for an unknown transfer")
	case err != nil:
		return services.Errorf(services.CodeInternal, "transfer: callback: %w", err)
	}
	cur, moved, err := s.advanceLatest(ctx, t, pt, nil)
	if err == nil && !moved && cur.Status != StatusCancelled {
		err = fmt.Errorf("transfer %s: moved by others under every try", t.ID)
	}
	rec := audit.Record{At: s.Now(), Subject: t.Subject, Actor: "system", Channel: "system", Action: ActionCallback,
		Target: "transfer:" + t.ID + " sequence:" + strconv.Itoa(pt.Sequence)}
	if aerr := audit.Outcome(ctx, s.Audit, s.Logger, rec, err); aerr != nil {
		return aerr
	}
	if err != nil {
		return services.Errorf(services.CodeInternal, "transfer: callback: %w", err)
	}
	s.Wake()
	return nil
}

// verify checks the signature with the platform's key and the window,
// then spends the nonce.
func (s *Service) verify(ctx context.Context, r Signed) error {
	bad := services.E(services.CodeCallbackBadSignature)
	secret, ok := s.CallbackKeys[r.KeyID]
	if !ok || len(r.Nonce) < minNonce || len(r.Nonce) > maxNonce {
		return bad
	}
	ts, err := strconv.ParseInt(r.Timestamp, 10, 64)
	if err != nil || !core.VerifySignature(secret, r.Method, r.Path, ts, r.Nonce, r.Body, r.Signature, s.Now()) {
		return bad
	}
	fresh, err := kv.Nonces{Store: s.Nonces, Namespace: "platform-callback-nonce", TTL: 2 * core.SignatureWindow}.Use(ctx, r.KeyID, r.Nonce, s.Now())
	switch {
	case err != nil:
		return services.Errorf(services.CodeInternal, "transfer: callback nonce: %w", err)
	case !fresh:
		return bad
	}
	return nil
}
