// Package wechattest is a fake WeChat open API for tests: the four
// endpoints handheld calls, with WeChat's JSON shapes and errcodes, knobs to
// make the next call fail, and counters to prove what was (not) called.
// The wechat package's tests and the e2e suite share it, so both exercise
// the adapter over real HTTP.
package wechattest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// Endpoint names one fake API by its path.
type Endpoint string

// The endpoints the fake serves.
const (
	Login       Endpoint = "/sns/jscode2session"
	StableToken Endpoint = "/cgi-bin/stable_token"
	Phone       Endpoint = "/wxa/business/getuserphonenumber"
	Send        Endpoint = "/cgi-bin/message/subscribe/send"
	// VerifyID and VerifyInfo are WeChat face verification (人脸核身):
	// getVerifyId and queryVerifyInfo.
	VerifyID   Endpoint = "/cityservice/face/identify/getverifyid"
	VerifyInfo Endpoint = "/cityservice/face/identify/queryverifyinfo"
)

// TokenLifetime is the expires_in the fake gives every access token, as
// WeChat does.
const TokenLifetime = 7200 * time.Second

// Sent is one subscribe message the fake accepted.
type Sent struct {
	ToOpenID   string
	TemplateID string
	Page       string
	Lang       string
	Data       map[string]string
}

// Server is the fake. Point wechat.Config.APIBase at URL and use AppID and
// AppSecret; other credentials are refused as WeChat refuses them.
type Server struct {
	URL       string
	AppID     string
	AppSecret string

	mu       sync.Mutex
	logins   map[string]login
	used     map[string]bool
	phones   map[string]string
	failures map[Endpoint][]failure
	delays   map[Endpoint]time.Duration
	calls    map[Endpoint]int
	sent     []Sent
	token    string
	faces    map[string]*face
	faceLife time.Duration
}

type login struct{ openid, unionid string }

// failure is a queued answer: an HTTP status, or WeChat's errcode in a 200.
type failure struct {
	status  int
	errcode int64
}

// NewServer starts a fake with fresh credentials; it stops when t ends.
func NewServer(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		AppID:     "wxfake" + randomHex(5),
		AppSecret: "fakesecret" + randomHex(11),
		logins:    map[string]login{},
		used:      map[string]bool{},
		phones:    map[string]string{},
		failures:  map[Endpoint][]failure{},
		delays:    map[Endpoint]time.Duration{},
		calls:     map[Endpoint]int{},
		faces:     map[string]*face{},
		faceLife:  time.Hour,
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// AddLogin makes code a valid wx.login code for openid. Like WeChat's, it
// works once: the second exchange answers 40163.
func (s *Server) AddLogin(code, openid, unionid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.logins[code] = login{openid, unionid}
	delete(s.used, code)
}

// AddPhone makes code a valid getPhoneNumber code for an 11-digit
// mainland number; it can be exchanged any number of times.
func (s *Server) AddPhone(code, phone string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.phones[code] = phone
}

// FailNext makes the next call to ep answer WeChat's errcode (40029, 45011,
// -1, 40001, ...). Calls queue: FailNext twice fails the next two calls.
func (s *Server) FailNext(ep Endpoint, errcode int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures[ep] = append(s.failures[ep], failure{errcode: errcode})
}

// FailNextStatus makes the next call to ep answer an HTTP status (502, ...)
// with no WeChat body, as a broken gateway would.
func (s *Server) FailNextStatus(ep Endpoint, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures[ep] = append(s.failures[ep], failure{status: status})
}

// SetDelay holds every answer of ep for d (or until the caller gives up).
func (s *Server) SetDelay(ep Endpoint, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delays[ep] = d
}

// ExpireToken voids the current access token, as WeChat does when it
// expires: calls with it answer 40001, and the stable token endpoint hands
// out a new one.
func (s *Server) ExpireToken() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token = ""
}

// Token is the access token in force, or "" before the first fetch, so a
// test can check that it never shows up in an error or a log.
func (s *Server) Token() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.token
}

// Calls counts the requests ep received, failed ones included.
func (s *Server) Calls(ep Endpoint) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[ep]
}

// Sent returns the subscribe messages accepted so far, oldest first.
func (s *Server) Sent() []Sent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Sent(nil), s.sent...)
}

// ServeHTTP counts the call, waits out any delay, answers a queued
// failure, or else serves the endpoint.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ep := Endpoint(r.URL.Path)
	// Read the body first: until it is read, net/http does not notice a
	// caller that hung up, and a delayed answer would outlive the test.
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	s.mu.Lock()
	s.calls[ep]++
	delay := s.delays[ep]
	var fail *failure
	if q := s.failures[ep]; len(q) > 0 {
		fail, s.failures[ep] = &q[0], q[1:]
	}
	s.mu.Unlock()

	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	if fail != nil {
		if fail.status != 0 {
			http.Error(w, http.StatusText(fail.status), fail.status)
			return
		}
		writeError(w, fail.errcode)
		return
	}
	want := http.MethodPost
	if ep == Login {
		want = http.MethodGet
	}
	if r.Method != want {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	switch ep {
	case Login:
		s.login(w, r)
	case StableToken:
		s.stableToken(w, r)
	case Phone:
		s.phone(w, r)
	case Send:
		s.send(w, r)
	case VerifyID:
		s.verifyID(w, r)
	case VerifyInfo:
		s.verifyInfo(w, r)
	default:
		http.NotFound(w, r)
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("wechattest: %v", err)) // crypto/rand does not fail on supported platforms
	}
	return hex.EncodeToString(b)
}
