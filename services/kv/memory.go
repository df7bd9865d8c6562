package kv

import (
	"bytes"
	"context"
	"handheld/services"
	"strconv"
	"sync"
	"time"
)

// Memory is the embedded profile's backend: one process, no Redis. It
// hashes keys like Redis does so both behave the same under test.
type Memory struct {
	mu      sync.Mutex
	now     func() time.Time
	secret  services.HashKey
	entries map[string]entry
	writes  int
}

type entry struct {
	value   []byte
	expires time.Time // zero: never
}

// NewMemory returns an empty store using now as its clock.
func NewMemory(now func() time.Time, secret services.HashKey) *Memory {
	return &Memory{now: now, secret: secret, entries: map[string]entry{}}
}

func (m *Memory) key(k string) string { return hashedKey("", m.secret, k) }

// get returns a live entry; callers hold mu.
func (m *Memory) get(k string) (entry, bool) {
	e, ok := m.entries[k]
	if ok && !e.expires.IsZero() && !m.now().Before(e.expires) {
		delete(m.entries, k)
		return entry{}, false
	}
	return e, ok
}

// put stores an entry and now and then sweeps expired ones, so memory stays
// bounded by what is live; callers hold mu.
func (m *Memory) put(k string, value []byte, ttl time.Duration) {
	e := entry{value: append([]byte(nil), value...)}
	if ttl > 0 {
		e.expires = m.now().Add(ttl)
	}
	m.entries[k] = e
	m.writes++
	if m.writes%1024 == 0 {
		now := m.now()
		for key, e := range m.entries {
			if !e.expires.IsZero() && !now.Before(e.expires) {
				delete(m.entries, key)
			}
		}
	}
}

// SetNX implements Store.
func (m *Memory) SetNX(_ context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := m.key(key)
	if _, ok := m.get(k); ok {
		return false, nil
	}
	m.put(k, value, ttl)
	return true, nil
}

// Set implements Store.
func (m *Memory) Set(_ context.Context, key string, value []byte, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.put(m.key(key), value, ttl)
	return nil
}

// Get implements Store.
func (m *Memory) Get(_ context.Context, key string) ([]byte, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.get(m.key(key))
	return append([]byte(nil), e.value...), ok, nil
}

// GetDel implements Store.
func (m *Memory) GetDel(_ context.Context, key string) ([]byte, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := m.key(key)
	e, ok := m.get(k)
	delete(m.entries, k)
	return e.value, ok, nil
}

// Touch implements Store.
func (m *Memory) Touch(_ context.Context, key string, ttl time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := m.key(key)
	e, ok := m.get(k)
	if !ok {
		return false, nil
	}
	e.expires = m.now().Add(ttl)
	m.entries[k] = e
	return true, nil
}

// Incr implements Store.
func (m *Memory) Incr(_ context.Context, key string, ttl time.Duration) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := m.key(key)
	e, ok := m.get(k)
	if !ok {
		m.put(k, []byte("1"), ttl)
		return 1, nil
	}
	n, err := strconv.ParseInt(string(e.value), 10, 64)
	if err != nil {
		return 0, err
	}
	e.value = strconv.AppendInt(nil, n+1, 10)
	m.entries[k] = e
	return n + 1, nil
}

// TTL implements Store.
func (m *Memory) TTL(_ context.Context, key string) (time.Duration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.get(m.key(key))
	if !ok || e.expires.IsZero() {
		return 0, nil
	}
	return e.expires.Sub(m.now()), nil
}

// Del implements Store.
func (m *Memory) Del(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.entries, m.key(key))
	return nil
}

// CompareAndSwap implements Store.
func (m *Memory) CompareAndSwap(_ context.Context, key string, old, next []byte) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := m.key(key)
	e, ok := m.get(k)
	if !ok || !bytes.Equal(e.value, old) {
		return false, nil
	}
	e.value = append([]byte(nil), next...)
	m.entries[k] = e
	return true, nil
}
