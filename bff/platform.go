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

// platformKeys are the keys the national platform signs its calls to this
// centre with: inbound, its own key for certificate verifications by other
// centres (HANDHELD_PLATFORM_INBOUND_*); callbacks, the shared key its
// transfer callbacks are signed with (HANDHELD_PLATFORM_KEY_ID, _SECRET).
type platformKeys struct {
	inbound, callbacks map[string][]byte
}

// openPlatform is the national HPF platform's client (issue 18): over
// HTTP when a platform URL is set, otherwise to the platform simulator run
// in-process (returned too), like the core's and the exchange's. Calls
// still go through the real client, its signatures, deadline and breaker,
// only without a socket. The in-process simulator gets random keys per
// start, signs its callbacks with the shared one, and calls this centre at
// its public base URL for certificate verifications.
func (a *App) openPlatform() (c *platform.Client, sim *platformsim.Sim, keys platformKeys, err error) {
	keys = platformKeys{inbound: map[string][]byte{}, callbacks: map[string][]byte{}}
	if a.cfg.PlatformInboundSecret != "" {
		keys.inbound[a.cfg.PlatformInboundKeyID] = []byte(a.cfg.PlatformInboundSecret)
	}
	cc := platform.ClientConfig{BaseURL: a.cfg.PlatformURL, KeyID: a.cfg.PlatformKeyID, Secret: []byte(a.cfg.PlatformSecret),
		Timeout: a.cfg.PlatformTimeout, Observe: a.metrics.observePlatform}
	if a.cfg.PlatformURL == "" && a.cfg.Profile != ProfileEmbedded {
		// A centre not yet connected to the platform: accounts elsewhere
		// and transfers answer platform.unavailable.
		return nil, nil, keys, nil
	}
	if a.cfg.PlatformURL == "" {
		// Random secrets per start, known only to this process.
		cc.Secret = []byte(randomSecret())
		if len(keys.inbound) == 0 {
			keys.inbound[a.cfg.PlatformInboundKeyID] = []byte(randomSecret())
		}
		sim = platformsim.New(platformsim.Config{Keys: map[string][]byte{cc.KeyID: cc.Secret},
			PlatformKeyID: a.cfg.PlatformInboundKeyID, PlatformSecret: keys.inbound[a.cfg.PlatformInboundKeyID],
			CallbackKeyID: cc.KeyID, CallbackSecret: cc.Secret})
		sim.SetCentreURL(a.cfg.CentreCode, a.cfg.PublicBase())
		cc.BaseURL = "http://platformsim.internal"
		cc.HTTPClient = &http.Client{Transport: handlerTransport{sim.Handler()}}
	}
	if c, err = platform.NewClient(cc); err != nil {
		return nil, nil, keys, fmt.Errorf("platform: %w", err)
	}
	keys.callbacks[cc.KeyID] = cc.Secret
	return c, sim, keys, nil
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
	return platform.AccountsAnswer{}, platformOffError()
}

// Centres refuses: no platform is configured.
func (platformOff) Centres(context.Context) (platform.Centres, error) {
	return platform.Centres{}, platformOffError()
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
