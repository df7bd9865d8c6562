package coresim

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"handheld/services/core"
)

func TestSignatureIsRequired(t *testing.T) {
	h := newHarness(t)
	old := testNow.Add(-core.SignatureWindow - time.Second)
	early := testNow.Add(core.SignatureWindow + time.Second)
	edge := testNow.Add(-core.SignatureWindow + time.Second)
	body := core.RealNameCheck{Name: "张伟", IDNumber: h.persona("张伟").IDNumber}
	tests := []struct {
		name     string
		method   string
		path     string
		body     any
		sg       signing
		wantCode int
	}{
		{"unsigned", http.MethodGet, core.PathHealth, nil, signing{unsigned: true}, http.StatusUnauthorized},
		{"unknown key id", http.MethodGet, core.PathHealth, nil, signing{keyID: "someone-else"}, http.StatusUnauthorized},
		{"wrong secret", http.MethodGet, core.PathHealth, nil, signing{secret: "guess"}, http.StatusUnauthorized},
		{"timestamp too old", http.MethodGet, core.PathHealth, nil, signing{ts: &old}, http.StatusUnauthorized},
		{"timestamp too far ahead", http.MethodGet, core.PathHealth, nil, signing{ts: &early}, http.StatusUnauthorized},
		{"short nonce", http.MethodGet, core.PathHealth, nil, signing{nonce: "0123456789abcde"}, http.StatusUnauthorized},
		{"body changed after signing", http.MethodPost, core.PathPersonVerify, body, signing{signedBody: []byte(`{}`)}, http.StatusUnauthorized},
		{"inside the window", http.MethodGet, core.PathHealth, nil, signing{ts: &edge}, http.StatusOK},
		{"signed body", http.MethodPost, core.PathPersonVerify, body, signing{}, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := h.request(tt.method, tt.path, tt.body, tt.sg)
			if tt.wantCode != http.StatusOK {
				wantError(t, resp, b, tt.wantCode, core.ErrBadSignature)
				return
			}
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("got %d %s, want 200", resp.StatusCode, b)
			}
		})
	}
}

func TestSignatureCoversTheQuery(t *testing.T) {
	h := newHarness(t)
	id := h.personID("张伟")
	ts := h.clock.Now()
	nonce := newNonce()
	p := path(core.PathDeposits, id)
	// Signed for ?limit=1, sent with ?limit=2.
	sig := core.Sign([]byte(testSecret), http.MethodGet, p+"?limit=1", ts.Unix(), nonce, nil)
	req, _ := http.NewRequest(http.MethodGet, h.srv.URL+p+"?limit=2", nil)
	req.Header.Set(core.HeaderKeyID, testKeyID)
	req.Header.Set(core.HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	req.Header.Set(core.HeaderNonce, nonce)
	req.Header.Set(core.HeaderSignature, sig)
	resp, err := h.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("query changed after signing: got %d, want 401", resp.StatusCode)
	}
}

func TestReplayIsRejected(t *testing.T) {
	h := newHarness(t)
	nonce := newNonce()
	resp, b := h.request(http.MethodGet, core.PathHealth, nil, signing{nonce: nonce})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("first use: %d %s", resp.StatusCode, b)
	}
	resp, b = h.request(http.MethodGet, core.PathHealth, nil, signing{nonce: nonce})
	wantError(t, resp, b, http.StatusUnauthorized, core.ErrReplayed)

	// Still refused near the end of the timestamp window, with a timestamp
	// that is still acceptable.
	ts := h.clock.Now()
	h.clock.Advance(core.SignatureWindow - time.Second)
	resp, b = h.request(http.MethodGet, core.PathHealth, nil, signing{nonce: nonce, ts: &ts})
	wantError(t, resp, b, http.StatusUnauthorized, core.ErrReplayed)
}
