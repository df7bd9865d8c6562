package employer

import (
	"errors"
	"handheld/services"
)

// errCursor is any cursor this service did not issue for this list.
var errCursor = errors.New("employer: not a cursor of this list")

// cursorSealer keeps the core's cursors opaque, as services/account does
// for the depositor's lists: the client gets the core cursor encrypted and
// authenticated (the suite's AEAD, services.Opaque) with the list
// (operator, unit, filter and search) as associated data, so it can
// neither read nor alter it, nor use it for another query or under another
// operator, and a forged cursor never reaches the core.
type cursorSealer struct{ o services.Opaque }

func newCursorSealer(secret services.HashKey) (cursorSealer, error) {
	o, err := secret.Opaque("handheld/employer/cursor/v1")
	return cursorSealer{o}, err
}

// seal wraps a core cursor for list; "" stays "" (the last page).
func (s cursorSealer) seal(list, coreCursor string) string { return s.o.Seal(coreCursor, list) }

// open returns the core cursor inside c; "" for no cursor.
func (s cursorSealer) open(list, c string) (string, error) {
	plain, ok := s.o.Open(c, list)
	if !ok {
		return "", errCursor
	}
	return plain, nil
}
