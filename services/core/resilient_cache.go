package core

import (
	"context"
	"crypto/cipher"
	"encoding/json"
	"errors"
	"net/url"
	"reflect"
	"sync"
	"time"
)

// remembered is what the cache holds for one read: the core's answer as
// JSON and when the core gave it.
type remembered struct {
	AsOf    time.Time       `json:"as_of"`
	Payload json.RawMessage `json:"payload"`
}

// sealVersion leads every sealed value, so a later format or key rotation
// can tell old values from new ones instead of failing to open them.
const sealVersion byte = 1

// cacheKey names a cached read. kv hashes everything after "corecache:"
// before it reaches Redis, so the person id is never readable there. The
// person id is query-escaped so that no id can run into the query part.
func cacheKey(resource, personID, query string) string {
	return "corecache:" + resource + ":" + url.QueryEscape(personID) + ":" + query
}

// seal encrypts a value (the AEAD draws a fresh random nonce and writes it
// first). The key is the additional data: a value copied under another
// person's key does not open.
func seal(aead cipher.AEAD, key string, v remembered) ([]byte, error) {
	plain, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 1, 1+len(plain)+aead.Overhead())
	out[0] = sealVersion
	return aead.Seal(out, nil, plain, []byte(key)), nil
}

// open reverses seal. Its errors say which step failed, never what the
// value held, so they are safe to log.
func open(aead cipher.AEAD, key string, sealed []byte) (remembered, error) {
	if len(sealed) < 1+aead.Overhead() || sealed[0] != sealVersion {
		return remembered{}, errors.New("unknown format")
	}
	plain, err := aead.Open(nil, nil, sealed[1:], []byte(key))
	if err != nil {
		return remembered{}, errors.New("does not decrypt (another secret, or tampered)")
	}
	var v remembered
	if err := json.Unmarshal(plain, &v); err != nil || v.AsOf.IsZero() || len(v.Payload) == 0 {
		return remembered{}, errors.New("does not decode")
	}
	return v, nil
}

// load returns the remembered answer for key and, when this replica holds
// it in memory already decoded, the decoded value (else nil). The cache
// only saves core calls, so any trouble with it (Redis down, a value
// sealed with an old secret) is logged and treated as a miss.
func (r *Reader) load(ctx context.Context, g *group, key string) (remembered, any, bool) {
	if e, ok := r.local.get(key, r.now()); ok {
		return e.v, e.value, true
	}
	sealed, ok, err := r.cache.Get(ctx, key)
	if err != nil {
		r.log.WarnContext(ctx, "core reader: cache read failed, asking the core", "group", g.name, "err", err)
		return remembered{}, nil, false
	}
	if !ok {
		return remembered{}, nil, false
	}
	v, err := open(r.aead, key, sealed)
	if err != nil {
		r.log.WarnContext(ctx, "core reader: unreadable cache value, treated as a miss", "group", g.name, "reason", err.Error())
		return remembered{}, nil, false
	}
	if g.policy.fresh(v.AsOf, r.now()) { // another replica's answer: fresh here too
		r.local.put(key, v, v.AsOf.Add(g.policy.FreshFor))
	}
	return v, nil, true
}

// store remembers an answer for as long as it may serve. It runs detached
// from the read's deadline: the answer has been paid for, and a slow core
// must not also cost the next reader its cache.
func (r *Reader) store(ctx context.Context, g *group, key string, v remembered) {
	r.local.put(key, v, v.AsOf.Add(g.policy.FreshFor))
	sealed, err := seal(r.aead, key, v)
	if err != nil {
		r.log.ErrorContext(ctx, "core reader: sealing a cache value failed", "group", g.name, "err", err)
		return
	}
	if err := r.cache.Set(context.WithoutCancel(ctx), key, sealed, g.policy.cacheTTL()); err != nil {
		r.log.WarnContext(ctx, "core reader: cache write failed", "group", g.name, "err", err)
	}
}

// forget drops a remembered answer the core has just contradicted (the
// person or account is gone), so it can never stand in during an outage.
func (r *Reader) forget(ctx context.Context, g *group, key string) {
	r.local.drop(key)
	if err := r.cache.Del(context.WithoutCancel(ctx), key); err != nil {
		r.log.WarnContext(ctx, "core reader: cache delete failed", "group", g.name, "err", err)
	}
}

// fresh reports whether a remembered answer may be served without asking
// the core. An as_of ahead of our clock (another replica's clock runs
// fast) counts as fresh only within FreshFor, so a skewed clock cannot pin
// a value.
func (p ReadPolicy) fresh(asOf, now time.Time) bool {
	age := now.Sub(asOf)
	return age < p.FreshFor && age > -p.FreshFor
}

// usable reports whether a remembered answer may stand in for a core that
// cannot answer.
func (p ReadPolicy) usable(asOf, now time.Time) bool {
	age := now.Sub(asOf)
	return age < p.StaleFor && age > -p.StaleFor
}

// localCache keeps this replica's fresh answers in memory, in front of the
// shared cache: a fresh value is fresh wherever it is read, so serving it
// from memory changes nothing a person sees and saves a Redis round trip
// per part of every screen. Only fresh values live here; stale stand-ins
// always come from the shared cache. Bounded: when full it starts over.
type localCache struct {
	mu      sync.Mutex
	max     int
	entries map[string]localEntry
}

type localEntry struct {
	v     remembered
	until time.Time
	// value is v.Payload decoded, kept once a reader has decoded it when
	// its type is shareable: the payload is then decoded once per
	// replica and FreshFor, not on every read.
	value any
}

// keepValue keeps v as the decoded answer for key, if the entry still
// holds the answer of asOf (it may have been replaced meanwhile).
func (c *localCache) keepValue(key string, asOf time.Time, v any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[key]; ok && e.v.AsOf.Equal(asOf) {
		e.value = v
		c.entries[key] = e
	}
}

// shareable reports whether values of T can be handed to any number of
// callers as copies of one: nothing in T refers to memory a caller could
// change under another (no slice, map, pointer, interface, channel or
// function; strings are immutable). Person and Account are; a list of
// deposits is not, and is decoded for each caller.
func shareable[T any]() bool {
	t := reflect.TypeFor[T]()
	if ok, known := shareableTypes.Load(t); known {
		return ok.(bool)
	}
	ok := flat(t)
	shareableTypes.Store(t, ok)
	return ok
}

var shareableTypes sync.Map // reflect.Type → bool

func flat(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Struct:
		for i := range t.NumField() {
			if !flat(t.Field(i).Type) {
				return false
			}
		}
		return true
	case reflect.Array:
		return flat(t.Elem())
	case reflect.Slice, reflect.Map, reflect.Pointer, reflect.Interface, reflect.Chan, reflect.Func, reflect.UnsafePointer:
		return false
	default:
		return true
	}
}

func newLocalCache(max int) *localCache {
	return &localCache{max: max, entries: map[string]localEntry{}}
}

// get returns the entry for key while it is fresh: the answer, and its
// decoded value once a reader has kept one.
func (c *localCache) get(key string, now time.Time) (localEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		return localEntry{}, false
	}
	if !now.Before(e.until) {
		delete(c.entries, key)
		return localEntry{}, false
	}
	return e, true
}

func (c *localCache) put(key string, v remembered, until time.Time) {
	if c.max <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		clear(c.entries)
	}
	c.entries[key] = localEntry{v: v, until: until}
}

func (c *localCache) drop(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, key)
}
