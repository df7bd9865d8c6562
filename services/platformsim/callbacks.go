package platformsim

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"handheld/services/core"
	"handheld/services/platform"
)

// Callback counters of Calls and GET /_sim/calls.
const (
	CallCallbacks       = "callbacks"        // callbacks answered 2xx by the requesting centre
	CallCallbacksFailed = "callbacks_failed" // callbacks refused or not delivered
	CallCallbacksDrop   = "callbacks_dropped"
)

// emit sends the requesting centre one signed callback per status the
// transfer took (in order), unless the platform has no callback key or
// the drop switch is on; twice each under the duplicate switch. Sending
// runs apart from the caller: a slow centre delays no platform answer.
// Called with s.mu held.
func (s *Sim) emit(tr *transfer, statuses ...platform.Transfer) {
	if len(s.cfg.CallbackSecret) == 0 || len(statuses) == 0 {
		return
	}
	if s.behaviour.DropCallbacks || s.behaviour.Outage {
		s.calls[CallCallbacksDrop] += int64(len(statuses))
		return
	}
	if s.behaviour.DuplicateCallbacks {
		statuses = append(statuses, statuses...)
	}
	target := tr.req.CallbackURL
	s.sending.Add(1)
	go func() {
		defer s.sending.Done()
		for _, t := range statuses {
			kind := CallCallbacksFailed
			if s.deliver(target, t) {
				kind = CallCallbacks
			}
			s.count(kind)
		}
	}()
}

// deliver POSTs one callback, signed with the platform's callback key.
func (s *Sim) deliver(target string, t platform.Transfer) bool {
	u, err := url.Parse(target)
	if err != nil {
		return false
	}
	body, _ := json.Marshal(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return false
	}
	ts := s.cfg.Now().Unix()
	var b [16]byte
	_, _ = rand.Read(b[:])
	nonce := hex.EncodeToString(b[:])
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(platform.HeaderKeyID, s.cfg.CallbackKeyID)
	req.Header.Set(platform.HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(platform.HeaderNonce, nonce)
	req.Header.Set(platform.HeaderSignature, core.Sign(s.cfg.CallbackSecret, http.MethodPost, u.EscapedPath(), ts, nonce, body))
	client := s.cfg.CallbackClient
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode/100 == 2
}

// Tick advances every transfer to where the clock has brought it, calling
// back each change: the old centres decide on their own, whether or not
// anyone asks. Run calls it periodically; a test with its own clock calls
// it after moving the clock.
func (s *Sim) Tick() { s.TickAt(s.cfg.Now()) }

// TickAt advances every transfer as if it were now at the old centres: a
// test moves their days on without moving the clock that signatures are
// checked by.
func (s *Sim) TickAt(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, tr := range s.transfers {
		s.advance(tr, now)
	}
}

// Run ticks every interval until ctx ends.
func (s *Sim) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.Tick()
		}
	}
}

// Flush waits until every callback sent so far has been answered (or
// given up on), so a test can tell what arrived.
func (s *Sim) Flush() { s.sending.Wait() }

// TransferOf is the transfer the requesting centre toCentre asked for
// under transferRef, as the platform holds it (not advanced), for tests.
func (s *Sim) TransferOf(toCentre, transferRef string) (platform.Transfer, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ref, ok := s.byTransferRef[toCentre+"/"+transferRef]
	if !ok {
		return platform.Transfer{}, false
	}
	return s.transfers[ref].t, true
}
