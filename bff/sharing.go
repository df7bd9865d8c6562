package bff

import (
	"context"
	"time"

	"crypto/rand"
	"encoding/hex"
	"fmt"
	"handheld/services"
	"net/http"

	"handheld/services/sharing"
	"handheld/services/sharingsim"
)

// openSharing is the data-sharing exchange's client (issue 17): over
// HTTP when a sharing URL is set, otherwise to the sharing simulator run
// in-process (returned too), like the core's. Calls still go through the
// real client, its signatures, deadline and breaker, only without a socket.
func (a *App) openSharing() (*sharing.Client, *sharingsim.Sim, error) {
	cc := sharing.ClientConfig{BaseURL: a.cfg.SharingURL, KeyID: a.cfg.SharingKeyID, Secret: []byte(a.cfg.SharingSecret),
		Timeout: a.cfg.SharingTimeout, Observe: a.metrics.observeSharing}
	var sim *sharingsim.Sim
	if a.cfg.SharingURL == "" && a.cfg.Profile != ProfileEmbedded {
		// A centre not yet connected to the exchange: evidence lookups
		// answer sharing.unavailable, eligibility lists every evidence as
		// missing, and people upload instead.
		return nil, nil, nil
	}
	if a.cfg.SharingURL == "" {
		// A random secret per start, known only to this process.
		var b [32]byte
		_, _ = rand.Read(b[:])
		cc.Secret = []byte(hex.EncodeToString(b[:]))
		sim = sharingsim.New(sharingsim.Config{Keys: map[string][]byte{cc.KeyID: cc.Secret}})
		cc.BaseURL = "http://sharingsim.internal"
		cc.HTTPClient = &http.Client{Transport: handlerTransport{sim.Handler()}}
	}
	c, err := sharing.NewClient(cc)
	if err != nil {
		return nil, nil, fmt.Errorf("sharing: %w", err)
	}
	return c, sim, nil
}

// exchangeOff is the exchange of a deployment without HANDHELD_SHARING_URL
// outside the embedded profile: every question is sharing.unavailable.
type exchangeOff struct{}

// Ask refuses: no exchange is configured.
func (exchangeOff) Ask(context.Context, sharing.Query) (sharing.Answer, error) {
	e := services.Errorf(services.CodeSharingUnavailable, "sharing: HANDHELD_SHARING_URL is not set")
	e.RetryAfter = time.Hour
	return sharing.Answer{}, e
}
