//go:build linux

package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"handheld/services/coresim"
	"handheld/services/wechat/wechattest"
)

// faultClient sends requests as the mini-program does, to replica A (0)
// or B (1), and counts the answers it had to retry.
type faultClient struct {
	http                                                     *http.Client
	bases                                                    [2]string
	requests, connErrors, serverErrors, throttled, contended atomic.Int64
}

func newFaultClient(bases [2]string) *faultClient {
	// Idle connections are dropped before the replicas' 10 s read timeout:
	// a connection the transport dialled but never used would otherwise be
	// answered 503 request.timeout by the replica, unasked.
	return &faultClient{bases: bases, http: &http.Client{Timeout: 20 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 128, IdleConnTimeout: 5 * time.Second}}}
}

func (c *faultClient) retries() int64 {
	return c.connErrors.Load() + c.serverErrors.Load() + c.throttled.Load() + c.contended.Load()
}

// answer is one response, read whole.
type answer struct {
	Status   int
	Header   http.Header
	Body     []byte
	Replayed bool // Idempotent-Replayed: true
}

func (a answer) problem() bool {
	return strings.HasPrefix(a.Header.Get("Content-Type"), "application/problem+json")
}

// problemCode is a problem's code; "" for other answers.
func (a answer) problemCode() string {
	var p struct {
		Code string `json:"code"`
	}
	if a.problem() {
		_ = json.Unmarshal(a.Body, &p)
	}
	return p.Code
}

// canonical is what every answer to one request must share: the status and
// the body, less a problem's request_id, which names each request.
func (a answer) canonical() string {
	body := string(a.Body)
	var m map[string]any
	if a.problem() && json.Unmarshal(a.Body, &m) == nil {
		delete(m, "request_id")
		b, _ := json.Marshal(m)
		body = string(b)
	}
	return strconv.Itoa(a.Status) + " " + body
}

func (c *faultClient) post(i int, path, token, key string, body []byte) (answer, error) {
	req, err := http.NewRequest(http.MethodPost, c.bases[i]+path, bytes.NewReader(body))
	if err != nil {
		return answer{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	c.requests.Add(1)
	resp, err := c.http.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, err
	}
	return answer{Status: resp.StatusCode, Header: resp.Header, Body: b, Replayed: resp.Header.Get("Idempotent-Replayed") == "true"}, nil
}

// bind signs openid in on replica i and binds it to p; it returns the
// access token. A transient failure starts over with a new login code, as
// the mini-program would: a code works once.
func (c *faultClient) bind(i int, wx *wechattest.Server, openid string, p coresim.Persona) (string, error) {
	var err error
	for range 10 {
		code := "c" + newNonce()
		wx.AddLogin(code, openid, "")
		var first, bound tokens
		var face struct {
			VerifyID string `json:"verify_id"`
		}
		if err = c.call(i, "/api/v1/auth/wechat", "", map[string]string{"code": code}, &first); err == nil {
			err = c.call(i, "/api/v1/auth/face-checks", first.BindingToken, map[string]string{"name": p.Name, "id_number": p.IDNumber}, &face)
		}
		if err == nil {
			wx.CompleteFace(face.VerifyID, wechattest.FacePassed)
			err = c.call(i, "/api/v1/auth/bind", first.BindingToken,
				map[string]string{"name": p.Name, "id_number": p.IDNumber, "face_result": face.VerifyID}, &bound)
		}
		if err == nil {
			return bound.AccessToken, c.grant(i, bound.AccessToken)
		}
		if !errors.Is(err, errTransient) {
			return "", err
		}
		time.Sleep(50 * time.Millisecond)
	}
	return "", err
}

// grant records the person's one-time WeChat grants for the case
// template, as the mini-program asks them before applying: the
// notifications about the case go through WeChat only on them. A transient
// failure is tried again on the other replica (a grant that landed before
// its answer was lost only adds one).
func (c *faultClient) grant(i int, token string) error {
	accept := map[string]any{"templates": []map[string]string{{"template_id": caseTemplate, "result": "accept"}}}
	var granted struct {
		Templates []struct {
			Remaining int `json:"remaining"`
		} `json:"templates"`
	}
	for tries := 0; len(granted.Templates) == 0 || granted.Templates[0].Remaining < grantsPerPerson; tries++ {
		err := c.call((i+tries)%len(c.bases), "/api/v1/me/subscriptions", token, accept, &granted)
		switch {
		case err == nil:
		case !errors.Is(err, errTransient) || tries >= 2*grantsPerPerson:
			return err
		default:
			time.Sleep(50 * time.Millisecond)
		}
	}
	return nil
}

// grantsPerPerson covers every notification a person's three
// applications can bring (accepted, approved or rejected, paid, cancelled).
const grantsPerPerson = 15

// errTransient marks an answer a client tries again.
var errTransient = errors.New("transient")

func (c *faultClient) call(i int, path, token string, in, out any) error {
	raw, _ := json.Marshal(in)
	a, err := c.post(i, path, token, "", raw)
	switch {
	case err != nil:
		return fmt.Errorf("%s: %w: %w", path, errTransient, err)
	case a.Status >= 500 || a.Status == http.StatusTooManyRequests:
		return fmt.Errorf("%s: %w: %d %s", path, errTransient, a.Status, a.Body)
	case a.Status != http.StatusOK && a.Status != http.StatusCreated:
		return fmt.Errorf("%s: %d %s", path, a.Status, a.Body)
	}
	return json.Unmarshal(a.Body, out)
}

// applyAll sends every copy of a's request at once, copy k first to
// replica (index+k) mod 2, and keeps each copy's final answer.
func (c *faultClient) applyAll(a *faultApp, token string) {
	a.answers, a.errs = make([]answer, a.copies), make([]error, a.copies)
	deadline := time.Now().Add(2 * time.Minute)
	var wg sync.WaitGroup
	for k := range a.copies {
		wg.Go(func() { a.answers[k], a.errs[k] = c.apply(a.index+k, token, a.key, a.body, deadline) })
	}
	wg.Wait()
}

// apply sends one request until it gets a final answer, retrying what a
// real client retries on the other replica, with the same key and body.
func (c *faultClient) apply(first int, token, key string, body []byte, deadline time.Time) (answer, error) {
	pause := 10 * time.Millisecond
	for i := first; ; i++ {
		a, err := c.post(i%2, withdrawals, token, key, body)
		switch {
		case err != nil:
			c.connErrors.Add(1)
		case a.Status >= 500:
			c.serverErrors.Add(1)
		case a.Status == http.StatusTooManyRequests:
			c.throttled.Add(1)
		case a.Status == http.StatusConflict && a.problemCode() == "idempotency.in_flight":
			c.contended.Add(1)
		default:
			return a, nil
		}
		if time.Now().After(deadline) {
			return answer{}, fmt.Errorf("no final answer in time; the last: %v %d %s", err, a.Status, a.Body)
		}
		time.Sleep(pause/2 + rand.N(pause)) // backing off, as clients should
		pause = min(2*pause, 500*time.Millisecond)
	}
}
