package bff

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"time"

	"handheld/services"
	"handheld/services/catalogue"
	"handheld/services/platform"
	"handheld/services/platformsim"
)

// openPlatform is the national HPF platform's client (issue 18): over
// HTTP when a platform URL is set, otherwise to the platform simulator run
// in-process (returned too), like the core's and the exchange's. Calls
// still go through the real client, its signatures, deadline and breaker,
// only without a socket. keys are the platform's keys its callbacks are
// signed with: the shared key (the simulator signs its callbacks with it
// too).
func (a *App) openPlatform() (_ *platform.Client, _ *platformsim.Sim, keys map[string][]byte, _ error) {
	cc := platform.ClientConfig{BaseURL: a.cfg.PlatformURL, KeyID: a.cfg.PlatformKeyID, Secret: []byte(a.cfg.PlatformSecret),
		Timeout: a.cfg.PlatformTimeout, Observe: a.metrics.observePlatform}
	var sim *platformsim.Sim
	if a.cfg.PlatformURL == "" && a.cfg.Profile != ProfileEmbedded {
		// A centre not yet connected to the platform: accounts elsewhere
		// and transfers answer platform.unavailable.
		return nil, nil, map[string][]byte{}, nil
	}
	if a.cfg.PlatformURL == "" {
		// A random secret per start, known only to this process.
		var b [32]byte
		_, _ = rand.Read(b[:])
		cc.Secret = []byte(hex.EncodeToString(b[:]))
		sim = platformsim.New(platformsim.Config{Keys: map[string][]byte{cc.KeyID: cc.Secret},
			CallbackKeyID: cc.KeyID, CallbackSecret: cc.Secret})
		cc.BaseURL = "http://platformsim.internal"
		cc.HTTPClient = &http.Client{Transport: handlerTransport{sim.Handler()}}
	}
	c, err := platform.NewClient(cc)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("platform: %w", err)
	}
	return c, sim, map[string][]byte{cc.KeyID: cc.Secret}, nil
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

// RequestTransfer refuses: no platform is configured.
func (platformOff) RequestTransfer(context.Context, platform.TransferRequest) (platform.Transfer, error) {
	return platform.Transfer{}, platformOffError()
}

// TransferStatus refuses: no platform is configured.
func (platformOff) TransferStatus(context.Context, string) (platform.Transfer, error) {
	return platform.Transfer{}, platformOffError()
}

// CancelTransfer refuses: no platform is configured.
func (platformOff) CancelTransfer(context.Context, string) (platform.Transfer, error) {
	return platform.Transfer{}, platformOffError()
}

func platformOffError() error {
	e := services.Errorf(services.CodePlatformUnavailable, "platform: HANDHELD_PLATFORM_URL is not set")
	e.RetryAfter = time.Hour
	return e
}

// transferTimeLimits reads a transfer's promised time limit from the
// service catalogue's item.
type transferTimeLimits struct{ c *catalogue.Catalogue }

// PromisedDays is the item's promised working days.
func (t transferTimeLimits) PromisedDays(code string) (int, bool) {
	s, ok := t.c.Item(code)
	return s.PromisedWorkingDays, ok
}
