package store

import (
	"errors"
	"fmt"
)

// Place is where a sealed value lives: its table, its column and the key
// of its row. Sealing binds a value to its place, so a value copied onto
// another row, or into another column, does not open. Row holds
// identifiers only (ids, hashes), never personal data: it shows in errors.
type Place struct {
	Table, Column, Row string
}

// String names the place for errors and logs.
func (p Place) String() string { return p.Table + "." + p.Column + " of " + p.Row }

// Sealer seals and opens the personal data of a row (services/seal's Ring).
// The store holds one so that the package owning a table seals each
// personal column at its one write site and opens it at its one read site,
// inside or outside a transaction, without another dependency to carry.
type Sealer interface {
	Seal(plain []byte, at Place) ([]byte, error)
	Open(sealed []byte, at Place) ([]byte, error)
	SealText(plain string, at Place) (string, error)
	OpenText(sealed string, at Place) (string, error)
	// KeyID names the key a sealed value was sealed with; ok is false for
	// a value that is not sealed.
	KeyID(v []byte) (kid string, ok bool)
	// Prefix is how every value sealed under kid begins, or with kid ""
	// every sealed value: what the sealing step's queries look for.
	Prefix(kid string) string
	// Current names the key that seals.
	Current() string
}

// errNoSealer is what sealing without a ring reports: the wiring forgot
// WithSealer. Refusing beats storing personal data in clear.
var errNoSealer = errors.New("store: no sealing key ring: personal data cannot be written or read (wire store.WithSealer)")

// WithSealer returns the store with sl as its sealer, sharing the pool.
// The wiring calls it once, after loading the ring.
func (s *Store) WithSealer(sl Sealer) *Store {
	c := *s
	c.sealer = sl
	return &c
}

// KeyID names the key v was sealed with; ok is false when v is not a
// sealed value (or the store has no ring to tell).
func (s *Store) KeyID(v []byte) (kid string, ok bool) {
	if s.sealer == nil {
		return "", false
	}
	return s.sealer.KeyID(v)
}

// Seal seals plain (a BYTEA/BLOB column's value) for its place.
func (s *Store) Seal(plain []byte, at Place) ([]byte, error) { return sealBytes(s.sealer, plain, at) }

// Open opens a value Seal made for at.
func (s *Store) Open(sealed []byte, at Place) ([]byte, error) { return openBytes(s.sealer, sealed, at) }

// SealText seals plain (a TEXT column's value) for its place.
func (s *Store) SealText(plain string, at Place) (string, error) {
	return sealText(s.sealer, plain, at)
}

// OpenText opens a value SealText made for at.
func (s *Store) OpenText(sealed string, at Place) (string, error) {
	return openText(s.sealer, sealed, at)
}

// Seal seals plain for its place, as Store.Seal does.
func (t *Tx) Seal(plain []byte, at Place) ([]byte, error) { return sealBytes(t.sealer, plain, at) }

// SealText seals plain for its place, as Store.SealText does.
func (t *Tx) SealText(plain string, at Place) (string, error) {
	return sealText(t.sealer, plain, at)
}

// OpenText opens a value SealText made for at, as Store.OpenText does.
func (t *Tx) OpenText(sealed string, at Place) (string, error) {
	return openText(t.sealer, sealed, at)
}

func sealBytes(sl Sealer, plain []byte, at Place) ([]byte, error) {
	if sl == nil {
		return nil, errNoSealer
	}
	return sl.Seal(plain, at)
}

func openBytes(sl Sealer, sealed []byte, at Place) ([]byte, error) {
	if sl == nil {
		return nil, errNoSealer
	}
	return sl.Open(sealed, at)
}

func sealText(sl Sealer, plain string, at Place) (string, error) {
	if sl == nil {
		return "", errNoSealer
	}
	return sl.SealText(plain, at)
}

func openText(sl Sealer, sealed string, at Place) (string, error) {
	if sl == nil {
		return "", errNoSealer
	}
	return sl.OpenText(sealed, at)
}

// SealedColumn is one column holding sealed values, as the package owning
// its table declares it for the sealing step and `handheld keys reseal`.
type SealedColumn struct {
	Table  string
	Key    []string // the row key's columns; the Place's Row joins their values with "/"
	Column string
	Text   bool // a TEXT column: sealed in the text form
	// Legacy, when set, opens a value sealed before the ring existed (the
	// openid's own HKDF seal); ok false means the value is plain data.
	Legacy func(v []byte, at Place) (plain []byte, ok bool)
}

// String names the column for reports.
func (c SealedColumn) String() string { return fmt.Sprintf("%s.%s", c.Table, c.Column) }

// Place is where a value of this column on the row with key values lives.
func (c SealedColumn) Place(key ...string) Place {
	row := ""
	for i, k := range key {
		if i > 0 {
			row += "/"
		}
		row += k
	}
	return Place{Table: c.Table, Column: c.Column, Row: row}
}
