package platform_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"handheld/services/platform"
	"handheld/services/platformsim"
)

// clock is a test clock shared by the client (signatures) and the
// simulator (signature window, the old centre's delay).
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func transferRig(t *testing.T, transport http.RoundTripper) (*platformsim.Sim, *platform.Client, *clock) {
	t.Helper()
	clk := &clock{t: time.Now()}
	sim := platformsim.New(platformsim.Config{Keys: map[string][]byte{keyID: []byte(secret)}, Now: clk.Now})
	srv := httptest.NewServer(sim.AdminHandler())
	t.Cleanup(srv.Close)
	c, err := platform.NewClient(platform.ClientConfig{BaseURL: srv.URL, KeyID: keyID, Secret: []byte(secret), Now: clk.Now,
		BreakerFailures: 100, HTTPClient: &http.Client{Transport: transport}})
	if err != nil {
		t.Fatal(err)
	}
	return sim, c, clk
}

func transferOf(ref, id, name, from, account string) platform.TransferRequest {
	return platform.TransferRequest{TransferRef: ref, FromCentre: from, ToCentre: platformsim.LocalCentre, AccountRef: account,
		Subject: platform.Subject{IDNumber: id, Name: name}, ToAccount: "330100100087", CallbackURL: "https://handheld.example/api/v1/platform/callbacks"}
}

// exerciseTransfers runs the transfer flow against the simulator; the
// OpenAPI test runs it too, validating every exchange.
func exerciseTransfers(t *testing.T, sim *platformsim.Sim, c *platform.Client, clk *clock) {
	ctx := context.Background()
	if err := sim.SetBehaviour(platformsim.Behaviour{Centres: map[string]platformsim.CentreBehaviour{
		platformsim.CentreBeijing: {AcceptAfter: platformsim.Duration(72 * time.Hour)}}}); err != nil {
		t.Fatal(err)
	}
	// 吴敏's sealed Beijing account: sent, then (three days on) moved.
	wumin := transferOf("tr_wumin_0001", wuMinID, "吴敏", platformsim.CentreBeijing, "1101002019045213")
	tr, err := c.RequestTransfer(ctx, wumin)
	if err != nil || tr.Status != platform.TransferSent || tr.Sequence != 1 {
		t.Fatalf("request: %+v %v", tr, err)
	}
	// Delivered again (the outbox's at-least-once): the same transfer.
	again, err := c.RequestTransfer(ctx, wumin)
	if err != nil || again.PlatformRef != tr.PlatformRef {
		t.Fatalf("again: %+v %v", again, err)
	}
	clk.add(24 * time.Hour)
	if got, err := c.TransferStatus(ctx, tr.PlatformRef); err != nil || got.Status != platform.TransferSent {
		t.Fatalf("a day on: %+v %v", got, err)
	}
	clk.add(48 * time.Hour)
	got, err := c.TransferStatus(ctx, tr.PlatformRef)
	if err != nil || got.Status != platform.TransferFundsMoved || got.AmountFen != 3862400 || got.Sequence != 3 {
		t.Fatalf("three days on: %+v %v", got, err)
	}
	if _, err := c.CancelTransfer(ctx, tr.PlatformRef); !errors.Is(err, platform.ErrNotCancelable) {
		t.Fatalf("cancel after the move: %v", err)
	}
	// The account has left Beijing.
	if a, err := c.Accounts(ctx, query(wuMinID, "吴敏")); err != nil || len(a.Accounts) != 0 {
		t.Fatalf("accounts after the move: %+v %v", a, err)
	}

	// Refusals, with the old centre's reason.
	for _, tc := range []struct {
		req  platform.TransferRequest
		want string
	}{
		{transferOf("tr_ouyang_001", ouyangID, "欧阳晓峰", platformsim.CentreShanghai, "3101000187236541"), platform.RefusalNotSealed},
		{transferOf("tr_zhou_00001", zhouQiangID, "周强", platformsim.CentreChengdu, "5101000093318277"), platform.RefusalFrozen},
		{transferOf("tr_chen_00001", chenJingID, "陈静", platformsim.CentreShanghai, "3101000000000017"), platform.RefusalAccountNotFound},
		{transferOf("tr_zhou_00002", zhouQiangID, "周墙", platformsim.CentreChengdu, "5101000093318277"), platform.RefusalPersonMismatch},
	} {
		tr, err := c.RequestTransfer(ctx, tc.req)
		if err != nil || tr.Status != platform.TransferRefused || tr.Reason != tc.want || tr.Sequence != 2 {
			t.Errorf("%s: %+v %v", tc.req.TransferRef, tr, err)
		}
	}

	// A centre switched to refuse; a centre down holds its transfers.
	if err := sim.SetHolder(chenJingID, "陈静", []platformsim.Holding{{Centre: platformsim.CentreShanghai, AccountRef: "3101000000000017",
		Status: platform.StatusSealed, BalanceFen: 100}}); err != nil {
		t.Fatal(err)
	}
	if err := sim.SetBehaviour(platformsim.Behaviour{Centres: map[string]platformsim.CentreBehaviour{
		platformsim.CentreShanghai: {Refuse: platform.RefusalLoanOutstanding}}}); err != nil {
		t.Fatal(err)
	}
	chen := transferOf("tr_chen_00002", chenJingID, "陈静", platformsim.CentreShanghai, "3101000000000017")
	if tr, err := c.RequestTransfer(ctx, chen); err != nil || tr.Reason != platform.RefusalLoanOutstanding {
		t.Fatalf("refusing centre: %+v %v", tr, err)
	}
	if err := sim.SetBehaviour(platformsim.Behaviour{Centres: map[string]platformsim.CentreBehaviour{
		platformsim.CentreShanghai: {Down: true}}}); err != nil {
		t.Fatal(err)
	}
	chen.TransferRef = "tr_chen_00003"
	held, err := c.RequestTransfer(ctx, chen)
	if err != nil || held.Status != platform.TransferSent {
		t.Fatalf("centre down: %+v %v", held, err)
	}
	// Cancelled before the old centre decides, twice alike.
	for range 2 {
		if tr, err := c.CancelTransfer(ctx, held.PlatformRef); err != nil || tr.Status != platform.TransferCancelled || tr.Sequence != 2 {
			t.Fatalf("cancel: %+v %v", tr, err)
		}
	}
	if _, err := c.TransferStatus(ctx, "PT20261206-999999"); !errors.Is(err, platform.ErrTransferNotFound) {
		t.Fatalf("unknown transfer: %v", err)
	}
	if err := sim.SetBehaviour(platformsim.Behaviour{}); err != nil {
		t.Fatal(err)
	}
}

func TestContractTransfers(t *testing.T) {
	sim, c, clk := transferRig(t, http.DefaultTransport)
	exerciseTransfers(t, sim, c, clk)
	if _, err := c.TransferStatus(context.Background(), "../centres"); !errors.Is(err, platform.ErrTransferNotFound) {
		t.Fatalf("a reference that is no reference: %v", err)
	}
}
