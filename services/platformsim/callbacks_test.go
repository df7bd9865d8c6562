package platformsim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"handheld/services/core"
	"handheld/services/platform"
)

// TestCallbacksAreSignedAndObeyTheSwitches drives transfers straight
// through the simulator's decisions and checks what the requesting centre
// receives: each status once, signed with the callback key; none
// when dropped or during an outage; each twice under the duplicate switch.
func TestCallbacksAreSignedAndObeyTheSwitches(t *testing.T) {
	var mu sync.Mutex
	var got []platform.Transfer
	nonces := core.NewNonceStore(0)
	keys := map[string][]byte{"platform": []byte("platform-callback-secret-0123456789abcdef")}
	heads := core.SignHeaders{KeyID: platform.HeaderKeyID, Timestamp: platform.HeaderTimestamp, Nonce: platform.HeaderNonce, Signature: platform.HeaderSignature}
	centre := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !core.VerifyRequest(r, body, heads, keys, nonces, time.Now()) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var tr platform.Transfer
		_ = json.Unmarshal(body, &tr)
		mu.Lock()
		got = append(got, tr)
		mu.Unlock()
	}))
	defer centre.Close()
	s := New(Config{CallbackKeyID: "platform", CallbackSecret: keys["platform"]})
	wumin := "330110199909302242"
	ask := func(ref string) {
		tr := &transfer{req: platform.TransferRequest{TransferRef: ref, FromCentre: CentreBeijing, ToCentre: "330100",
			AccountRef: "1101002019045213", Subject: platform.Subject{IDNumber: wumin, Name: "吴敏"}, CallbackURL: centre.URL + "/cb"},
			t: platform.Transfer{PlatformRef: "PT-" + ref, TransferRef: ref, Status: platform.TransferSent, Sequence: 1}, amount: 100}
		s.mu.Lock()
		s.emit(tr, tr.t)
		s.advance(tr, time.Now())
		s.mu.Unlock()
		s.Flush()
	}
	statuses := func() []string {
		mu.Lock()
		defer mu.Unlock()
		// Each status's callbacks go in order; two statuses reached in
		// two steps may overtake each other, as on a real network.
		slices.SortStableFunc(got, func(a, b platform.Transfer) int { return a.Sequence - b.Sequence })
		var out []string
		for _, tr := range got {
			out = append(out, tr.Status)
		}
		got = nil
		return out
	}
	ask("tr-normal-01")
	if st := statuses(); len(st) != 3 || st[0] != platform.TransferSent || st[1] != platform.TransferAccepted || st[2] != platform.TransferFundsMoved {
		t.Fatalf("callbacks %v", st)
	}
	if err := s.SetBehaviour(Behaviour{DropCallbacks: true}); err != nil {
		t.Fatal(err)
	}
	ask("tr-dropped-01")
	if st := statuses(); len(st) != 0 || s.Calls(CallCallbacksDrop) != 3 {
		t.Fatalf("dropped: %v, %d counted", st, s.Calls(CallCallbacksDrop))
	}
	if err := s.SetBehaviour(Behaviour{DuplicateCallbacks: true}); err != nil {
		t.Fatal(err)
	}
	ask("tr-twice-0001")
	if st := statuses(); len(st) != 6 {
		t.Fatalf("duplicated: %v", st)
	}
	if s.Calls(CallCallbacksFailed) != 0 {
		t.Fatalf("%d callbacks refused by the centre", s.Calls(CallCallbacksFailed))
	}
}
