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
// only without a socket. inbound are the platform's own keys, which sign
// its calls to handheld (HANDHELD_PLATFORM_INBOUND_*); the in-process
// simulator gets a random one per start and calls this centre at its
// public base URL.
func (a *App) openPlatform() (c *platform.Client, sim *platformsim.Sim, inbound map[string][]byte, err error) {
	inbound = map[string][]byte{}
	if a.cfg.PlatformInboundSecret != "" {
		inbound[a.cfg.PlatformInboundKeyID] = []byte(a.cfg.PlatformInboundSecret)
	}
	cc := platform.ClientConfig{BaseURL: a.cfg.PlatformURL, KeyID: a.cfg.PlatformKeyID, Secret: []byte(a.cfg.PlatformSecret),
		Timeout: a.cfg.PlatformTimeout, Observe: a.metrics.observePlatform}
	if a.cfg.PlatformURL == "" && a.cfg.Profile != ProfileEmbedded {
		// A centre not yet connected to the platform: accounts elsewhere
		// answer platform.unavailable.
		return nil, nil, inbound, nil
	}
	if a.cfg.PlatformURL == "" {
		// Random secrets per start, known only to this process.
		cc.Secret = []byte(randomSecret())
		if len(inbound) == 0 {
			inbound[a.cfg.PlatformInboundKeyID] = []byte(randomSecret())
		}
		sim = platformsim.New(platformsim.Config{Keys: map[string][]byte{cc.KeyID: cc.Secret},
			PlatformKeyID: a.cfg.PlatformInboundKeyID, PlatformSecret: inbound[a.cfg.PlatformInboundKeyID]})
		sim.SetCentreURL(a.cfg.CentreCode, a.cfg.PublicBase())
		cc.BaseURL = "http://platformsim.internal"
		cc.HTTPClient = &http.Client{Transport: handlerTransport{sim.Handler()}}
	}
	if c, err = platform.NewClient(cc); err != nil {
		return nil, nil, nil, fmt.Errorf("platform: %w", err)
	}
	return c, sim, inbound, nil
}

// randomSecret is 32 random bytes, hex.
func randomSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
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

// Centres refuses: no platform is configured.
func (platformOff) Centres(context.Context) (platform.Centres, error) {
	e := services.Errorf(services.CodePlatformUnavailable, "platform: HANDHELD_PLATFORM_URL is not set")
	e.RetryAfter = time.Hour
	return platform.Centres{}, e
}
