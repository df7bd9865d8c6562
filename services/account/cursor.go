package account

import (
	"encoding/base64"
	"errors"
	"handheld/services"
)

// Lists whose cursors are sealed; the name is bound into the seal, so a
// deposits cursor is no schedule cursor.
const (
	listDeposits = "deposits"
	listSchedule = "schedule"
)

// errCursor is any cursor that this service did not issue to this subject
// for this list; the client sees a field error on "cursor".
var errCursor = errors.New("account: not a cursor of this list")

// sealer protects what crosses to the client and back.
//
// A core's cursor is the core's business: it may spell a position, a
// query, even the core's person id. The person id already comes from the
// token, which alone prevents reading another person's list; sealing goes
// further. The client gets the core cursor encrypted and authenticated
// (the suite's AEAD, services.Opaque) with the list and the subject as
// associated data, so it can neither read nor alter it, nor replay it
// under another subject or on another list, and a forged cursor never
// reaches the core.
//
// Entry ids are a keyed hash of the subject and the core's entry id:
// stable, so a client can key its rows, and free of the core's customer
// number that core ids carry.
type sealer struct {
	cursors services.Opaque
	idKey   services.HashKey
}

func newSealer(secret services.HashKey) (sealer, error) {
	cursors, err := secret.Opaque("handheld/account/cursor/v1")
	if err != nil {
		return sealer{}, err
	}
	return sealer{cursors: cursors, idKey: secret.Derive("handheld/account/entry-id/v1")}, nil
}

// cursor seals a core cursor for subject and list; "" stays "" (last page).
func (s sealer) cursor(list, subject, coreCursor string) string {
	return s.cursors.Seal(coreCursor, list+"\x00"+subject)
}

// open returns the core cursor inside c; "" for no cursor.
func (s sealer) open(list, subject, c string) (string, error) {
	plain, ok := s.cursors.Open(c, list+"\x00"+subject)
	if !ok {
		return "", errCursor
	}
	return plain, nil
}

// entryID is the opaque id a client sees for a core entry id.
func (s sealer) entryID(subject, coreID string) string {
	return "e_" + base64.RawURLEncoding.EncodeToString(s.idKey.Sum([]byte(subject + "\x00" + coreID))[:15])
}
