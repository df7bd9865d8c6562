package e2e

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// fakeWeChat stands in for the WeChat open API. Identity adds code2Session,
// access tokens, phone numbers and subscribe messages to its mux.
type fakeWeChat struct {
	srv   *httptest.Server
	mux   *http.ServeMux
	calls atomic.Int64
}

func newFakeWeChat(t *testing.T) *fakeWeChat {
	t.Helper()
	f := &fakeWeChat{mux: http.NewServeMux()}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.calls.Add(1)
		f.mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// URL is the base the WeChat adapter is pointed at.
func (f *fakeWeChat) URL() string { return f.srv.URL }
