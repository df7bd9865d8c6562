package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"handheld/bff"
	"handheld/services/platformsim"
)

// runPlatformsim serves the national platform's simulator over HTTP, with
// its /_sim switches (docs/platform-contract.md § The simulator), for a
// handheld pointed at it with HANDHELD_PLATFORM_URL and the same key.
func runPlatformsim(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := bff.LoadConfig(bff.Environ())
	if err != nil {
		return err
	}
	fs := flag.NewFlagSet("platformsim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8091", "listen address")
	centre := fs.String("centre-url", "", "this centre's base URL (HANDHELD_CENTRE_CODE), for certificate verifications forwarded to it")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(cfg.PlatformSecret) < 32 {
		return errors.New("HANDHELD_PLATFORM_SECRET: required, at least 32 characters (the same as the BFF's)")
	}
	// Its transfer callbacks are signed with the shared key, as the BFF
	// verifies them, and its old centres decide on their own, every
	// second; certificate verifications it forwards are signed with the
	// platform's own key (the BFF's HANDHELD_PLATFORM_INBOUND_KEY_ID and
	// _SECRET).
	sim := platformsim.New(platformsim.Config{Keys: map[string][]byte{cfg.PlatformKeyID: []byte(cfg.PlatformSecret)}, Now: time.Now,
		PlatformKeyID: cfg.PlatformInboundKeyID, PlatformSecret: []byte(cfg.PlatformInboundSecret),
		CallbackKeyID: cfg.PlatformKeyID, CallbackSecret: []byte(cfg.PlatformSecret),
		CallbackClient: &http.Client{Timeout: 5 * time.Second}})
	if *centre != "" {
		sim.SetCentreURL(cfg.CentreCode, *centre)
	}
	go sim.Run(ctx, time.Second)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: sim.AdminHandler(), ReadHeaderTimeout: 5 * time.Second}
	fmt.Fprintf(stdout, "platform simulator on http://%s (key id %q)\n", ln.Addr(), cfg.PlatformKeyID)
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
