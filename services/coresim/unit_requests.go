package coresim

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"

	"handheld/services/core"
)

// unitWrite is one idempotent unit write: it validates (refusing with an
// *apiError before it changes anything) and then applies, inside the
// transaction it is given.
type unitWrite func(ctx context.Context, tx *sql.Tx) (any, error)

// idempotent runs a unit write once per (unit, request id). The first
// answer, success (201) or refusal (409, 422), is stored with a digest of
// the request; the same request again gets it back (a success as 200), the
// same id with other content is 409 conflict. Malformed requests (400) and
// failures are not stored: they may be sent again.
func (s *Sim) idempotent(ctx context.Context, unitCode, requestID, kind string, req any, apply unitWrite) (int, any, error) {
	canon, err := json.Marshal(req)
	if err != nil {
		return 0, nil, err
	}
	sum := sha256.Sum256(append([]byte(kind+"\n"), canon...))
	digest := hex.EncodeToString(sum[:])
	var status int
	var answer []byte
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var exists bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM units WHERE unit_code = ?)`, unitCode).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return notFound("no such unit")
		}
		var have string
		err := tx.QueryRowContext(ctx, `SELECT body_hash, status, answer FROM unit_requests WHERE unit_code = ? AND request_id = ?`,
			unitCode, requestID).Scan(&have, &status, &answer)
		if err == nil {
			if have != digest {
				return &apiError{status: http.StatusConflict, code: core.ErrConflict, msg: "request id already used for other content"}
			}
			if status == http.StatusCreated {
				status = http.StatusOK
			}
			return nil
		}
		if err != sql.ErrNoRows {
			return err
		}
		v, err := apply(ctx, tx)
		var refusal *apiError
		switch {
		case errors.As(err, &refusal) && (refusal.status == http.StatusConflict || refusal.status == http.StatusUnprocessableEntity):
			status, answer = refusal.status, mustJSON(core.ErrorBody{Code: refusal.code, Message: refusal.msg})
		case err != nil:
			return err
		default:
			status, answer = http.StatusCreated, mustJSON(v)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO unit_requests (unit_code, request_id, kind, body_hash, status, answer, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, unitCode, requestID, kind, digest, status, string(answer), s.now().UnixNano())
		return err
	})
	if err != nil {
		return 0, nil, err
	}
	if status >= 400 {
		var eb core.ErrorBody
		if err := json.Unmarshal(answer, &eb); err != nil {
			return 0, nil, err
		}
		return 0, nil, &apiError{status: status, code: eb.Code, msg: eb.Message}
	}
	return status, json.RawMessage(answer), nil
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("coresim: marshal answer: " + err.Error()) // contract types always marshal
	}
	return b
}

// refuse is a 409 refusal with a contract code.
func refuse(code, msg string) *apiError {
	return &apiError{status: http.StatusConflict, code: code, msg: msg}
}

// invalid is a 422 refusal: the value breaks the policy.
func invalid(code, msg string) *apiError {
	return &apiError{status: http.StatusUnprocessableEntity, code: code, msg: msg}
}

// bumpRevision marks that the unit's bills changed: a version read before
// no longer declares.
func bumpRevision(ctx context.Context, tx *sql.Tx, unitCode string) error {
	_, err := tx.ExecContext(ctx, `UPDATE units SET revision = revision + 1 WHERE unit_code = ?`, unitCode)
	return err
}
