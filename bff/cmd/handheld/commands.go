package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"handheld/bff"
	"handheld/bff/auth"
	"handheld/services/audit"
	"handheld/services/coresim"
	"handheld/services/identity"
	"handheld/services/store"
)

// runCoresim serves the core simulator over HTTP, with the /_sim admin
// routes, for e2e, load and fault tests.
func runCoresim(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	environ := bff.Environ()
	cfg, err := bff.LoadConfig(environ)
	if err != nil {
		return err
	}
	fs := flag.NewFlagSet("coresim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8090", "listen address")
	db := fs.String("db", "var/coresim.db", "SQLite file (\"\" for in-memory)")
	generate := fs.Int("generate", 0, "add N deterministic depositors (with employers) before serving")
	seed := fs.Int64("seed", 1, "seed for --generate")
	exit := fs.Bool("exit", false, "exit after --generate instead of serving")
	review := fs.Duration("review-delay", 0, "how long a withdrawal waits for its decision (0: 30s)")
	payout := fs.Duration("payout-delay", 0, "how long an approved withdrawal waits to be paid (0: 2m)")
	large := fs.Bool("large-units", false, "also seed the 500- and 5,000-person employers")
	collect := fs.Duration("collect-delay", 0, "how long a declared bill waits for the bank to start collecting (0: 1m)")
	settle := fs.Duration("settle-delay", 0, "how long the bank's collection takes (0: 2m)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	secret := cfg.CoreSecret
	if secret == "" {
		if cfg.Profile == bff.ProfileProduction {
			return errors.New("HANDHELD_CORE_SECRET: required")
		}
		secret = bff.DevCoreSecret
	}
	log := newLogger(stderr, cfg.LogLevel)
	sim, err := coresim.Open(ctx, coresim.Config{
		Path:         *db,
		Keys:         map[string][]byte{cfg.CoreKeyID: []byte(secret)},
		Faults:       cfg.CoresimFaults,
		Maintenance:  cfg.CoresimMaintenance,
		ReviewDelay:  *review,
		PayoutDelay:  *payout,
		LargeUnits:   *large,
		CollectDelay: *collect,
		SettleDelay:  *settle,
		Now:          time.Now,
		Logger:       log,
	})
	if err != nil {
		return err
	}
	defer sim.Close()
	if *generate > 0 {
		t0 := time.Now()
		if err := sim.Generate(ctx, *generate, *seed); err != nil {
			return fmt.Errorf("generate: %w", err)
		}
		log.Info("generated", "depositors", *generate, "seed", *seed, "took", time.Since(t0).String())
		if *exit {
			return nil
		}
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: sim.AdminHandler(), ReadHeaderTimeout: 5 * time.Second}
	fmt.Fprintf(stdout, "core simulator on http://%s (key id %q)\n", ln.Addr(), cfg.CoreKeyID)
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

// demo prints the simulator's demo personas and the seeded units'
// operators, one JSON object per line, with the fields a client needs to
// log in as them on the embedded default.
func demo(ctx context.Context, stdout io.Writer) error {
	sim, err := coresim.Open(ctx, coresim.Config{Now: time.Now})
	if err != nil {
		return err
	}
	defer sim.Close()
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	for _, p := range append(sim.Personas(), sim.UnitPersonas()...) {
		line := map[string]string{"role": p.Role, "notes": p.Notes}
		for k, v := range map[string]string{"name": p.Name, "id_number": p.IDNumber, "unit_code": p.UnitCode,
			"operator_id": p.OperatorID, "password": p.Password, "face_token": p.FaceToken} {
			if v != "" {
				line[k] = v
			}
		}
		if err := enc.Encode(line); err != nil {
			return err
		}
	}
	if err := enc.Encode(map[string]string{
		"role":          "verifier",
		"client_id":     bff.DemoVerifierID,
		"client_secret": bff.DemoVerifierSecret,
		"name":          bff.DemoVerifierName,
		"notes":         "a counter that verifies e-cards (embedded profile only): POST /api/v1/auth/verifier",
	}); err != nil {
		return err
	}
	if err := enc.Encode(map[string]string{
		"role":          "party",
		"client_id":     bff.DemoPartyID,
		"client_secret": bff.DemoPartySecret,
		"name":          bff.DemoPartyName,
		"notes":         "a bank that redeems the yes/no answers people share with it (embedded profile only): POST /api/v1/auth/party, POST /api/v1/shares/redeem",
	}); err != nil {
		return err
	}
	if err := enc.Encode(map[string]string{
		"role":        "kiosk",
		"device_id":   bff.DemoKioskID,
		"location":    bff.DemoKioskLocation,
		"private_key": base64.StdEncoding.EncodeToString(bff.DemoKioskKey().Seed()),
		"notes":       "the demo kiosk, registered on the embedded profile only; `handheld kiosk-headers` signs a device-session request with it",
	}); err != nil {
		return err
	}
	return enc.Encode(map[string]string{
		"role":     "staff",
		"staff_id": bff.DemoStaffID,
		"password": bff.DemoStaffPassword,
		"name":     bff.DemoStaffName,
		"notes":    "the centre's demo staff member (embedded profile only): sign in at /staff/login for the supervision dashboard",
	})
}

// kioskHeaders prints curl -H flags carrying a fresh device signature for
// POST /api/v1/kiosk/session with an empty body, so the kiosk flow can be
// tried with curl.
func kioskHeaders(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("kiosk-headers", flag.ContinueOnError)
	fs.SetOutput(stderr)
	device := fs.String("device", bff.DemoKioskID, "device id")
	seed := fs.String("key", base64.StdEncoding.EncodeToString(bff.DemoKioskKey().Seed()), "base64 Ed25519 seed (private key)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	raw, err := base64.StdEncoding.DecodeString(*seed)
	if err != nil || len(raw) != ed25519.SeedSize {
		return errors.New("--key must be base64 of a 32-byte Ed25519 seed")
	}
	nonce := make([]byte, 16)
	_, _ = rand.Read(nonce)
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	n := hex.EncodeToString(nonce)
	sig := ed25519.Sign(ed25519.NewKeyFromSeed(raw), identity.DeviceMessage("POST", "/api/v1/kiosk/session", ts, n, nil))
	_, err = fmt.Fprintf(stdout, "-H %s:%s -H %s:%s -H %s:%s -H %s:%s\n",
		auth.HeaderDevice, *device, auth.HeaderTimestamp, ts, auth.HeaderNonce, n,
		auth.HeaderSignature, base64.StdEncoding.EncodeToString(sig))
	return err
}

// migrate applies the store's migrations: production runs it before
// rolling out a release; the embedded profile migrates on start.
func migrate(ctx context.Context, stderr io.Writer) error {
	cfg, err := bff.LoadConfig(bff.Environ())
	if err != nil {
		return err
	}
	s, err := bff.OpenSealedStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		return err
	}
	fmt.Fprintln(stderr, "migrations applied")
	// Migration 0010's Go step: rows written before it end sealed.
	reps, err := bff.Reseal(ctx, cfg, s, true)
	printReseal(stderr, reps)
	return err
}

// auditCmd checks the audit trail's hash chain: `handheld audit verify`.
func auditCmd(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) != 1 || args[0] != "verify" {
		return errors.New("usage: handheld audit verify")
	}
	cfg, err := bff.LoadConfig(bff.Environ())
	if err != nil {
		return err
	}
	s, err := store.Open(ctx, cfg.StoreDSN())
	if err != nil {
		return err
	}
	defer s.Close()
	rep, err := audit.Verify(ctx, s)
	if err != nil {
		return err
	}
	if rep.FirstBroken != 0 {
		fmt.Fprintf(stdout, "audit chain BROKEN at record %d: %s (%d records read)\n", rep.FirstBroken, rep.Reason, rep.Records)
		return errors.New("audit chain broken")
	}
	if _, err = fmt.Fprintf(stdout, "audit chain intact: %d records, head %s\n", rep.Records, rep.Head); err != nil || rep.Shards == 0 {
		return err
	}
	_, err = fmt.Fprintf(stdout, "  of which in %d shards, %d hours anchored, last anchor %s\n", rep.Shards, rep.Anchors, rep.Anchor)
	return err
}
