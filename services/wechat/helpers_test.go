package wechat_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"handheld/services"
	"handheld/services/kv"
	"handheld/services/suite"
	"handheld/services/wechat"
	"handheld/services/wechat/wechattest"
)

var kvSecret = []byte("wechat-test-kv-secret-0123456789")

// fixture is one client against one fake WeChat, with the log it writes.
type fixture struct {
	srv   *wechattest.Server
	c     *wechat.Client
	store kv.Store
	logs  *lockedBuffer
	cfg   wechat.Config
}

// newFixture builds a live (non-sandbox) client for a fresh fake; edit
// changes the config before New.
func newFixture(t *testing.T, store kv.Store, edit ...func(*wechat.Config)) *fixture {
	t.Helper()
	srv := wechattest.NewServer(t)
	if store == nil {
		store = kv.NewMemory(time.Now, services.NewHashKey(kvSecret, suite.Env()))
	}
	logs := &lockedBuffer{}
	cfg := wechat.Config{
		AppID:     srv.AppID,
		AppSecret: srv.AppSecret,
		APIBase:   srv.URL,
		Timeout:   2 * time.Second,
		Logger:    slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, e := range edit {
		e(&cfg)
	}
	c, err := wechat.New(cfg, store)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{srv: srv, c: c, store: store, logs: logs, cfg: cfg}
}

// replica is a second client over the same fake and store, as another
// BFF replica would be.
func (f *fixture) replica(t *testing.T) *wechat.Client {
	t.Helper()
	c, err := wechat.New(f.cfg, f.store)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// ctx0 is for calls made where no t is at hand; the client's own timeout
// bounds them.
func ctx0() context.Context { return context.Background() }

// wantCode fails unless err is a *services.Error with code want, and
// returns its cause as an *APIError when it has one.
func wantCode(t *testing.T, err error, want services.Code) *wechat.APIError {
	t.Helper()
	var se *services.Error
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T), want a *services.Error %s", err, err, want)
	}
	if se.Code != want {
		t.Fatalf("code %s (%v), want %s", se.Code, err, want)
	}
	var ae *wechat.APIError
	errors.As(err, &ae)
	return ae
}

// calls sums the fake's calls on the given endpoints.
func calls(srv *wechattest.Server, eps ...wechattest.Endpoint) int {
	n := 0
	for _, ep := range eps {
		n += srv.Calls(ep)
	}
	return n
}

var allEndpoints = []wechattest.Endpoint{wechattest.Login, wechattest.StableToken, wechattest.Phone, wechattest.Send}

// lockedBuffer is a log sink safe for the concurrent tests.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// brokenStore is a kv store whose every call fails, as Redis does when down.
type brokenStore struct{}

var errStoreDown = errors.New("kv: connection refused")

func (brokenStore) SetNX(context.Context, string, []byte, time.Duration) (bool, error) {
	return false, errStoreDown
}
func (brokenStore) Set(context.Context, string, []byte, time.Duration) error { return errStoreDown }
func (brokenStore) Get(context.Context, string) ([]byte, bool, error) {
	return nil, false, errStoreDown
}
func (brokenStore) GetDel(context.Context, string) ([]byte, bool, error) {
	return nil, false, errStoreDown
}
func (brokenStore) Touch(context.Context, string, time.Duration) (bool, error) {
	return false, errStoreDown
}
func (brokenStore) Incr(context.Context, string, time.Duration) (int64, error) {
	return 0, errStoreDown
}
func (brokenStore) TTL(context.Context, string) (time.Duration, error) { return 0, errStoreDown }
func (brokenStore) Del(context.Context, string) error                  { return errStoreDown }
func (brokenStore) CompareAndSwap(context.Context, string, []byte, []byte) (bool, error) {
	return false, errStoreDown
}
