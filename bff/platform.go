package bff

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"time"

	"handheld/services"
	"handheld/services/platform"
	"handheld/services/platformsim"
)

// openPlatform is the national HPF platform's client (issue 18): over
// HTTP when a platform URL is set, otherwise to the platform simulator run
// in-process (returned too), like the core's and the exchange's. Calls
// still go through the real client, its signatures, deadline and breaker,
// only without a socket.
func (a *App) openPlatform() (*platform.Client, *platformsim.Sim, error) {
	cc := platform.ClientConfig{BaseURL: a.cfg.PlatformURL, KeyID: a.cfg.PlatformKeyID, Secret: []byte(a.cfg.PlatformSecret),
		Timeout: a.cfg.PlatformTimeout, Observe: a.metrics.observePlatform}
	var sim *platformsim.Sim
	if a.cfg.PlatformURL == "" && a.cfg.Profile != ProfileEmbedded {
		// A centre not yet connected to the platform: accounts elsewhere
		// answer platform.unavailable.
		return nil, nil, nil
	}
	if a.cfg.PlatformURL == "" {
		// A random secret per start, known only to this process.
		var b [32]byte
		_, _ = rand.Read(b[:])
		cc.Secret = []byte(hex.EncodeToString(b[:]))
		sim = platformsim.New(platformsim.Config{Keys: map[string][]byte{cc.KeyID: cc.Secret}})
		cc.BaseURL = "http://platformsim.internal"
		cc.HTTPClient = &http.Client{Transport: handlerTransport{sim.Handler()}}
	}
	c, err := platform.NewClient(cc)
	if err != nil {
		return nil, nil, fmt.Errorf("platform: %w", err)
	}
	return c, sim, nil
}

// platformOff is the platform of a deployment without
// HANDHELD_PLATFORM_URL outside the embedded profile: every call is
// platform.unavailable.
type platformOff struct{}

// Accounts refuses: no platform is configured.
func (platformOff) Accounts(context.Context, platform.AccountQuery) (platform.AccountsAnswer, error) {
	e := services.Errorf(services.CodePlatformUnavailable, "platform: HANDHELD_PLATFORM_URL is not set")
	e.RetryAfter = time.Hour
	return platform.AccountsAnswer{}, e
}
