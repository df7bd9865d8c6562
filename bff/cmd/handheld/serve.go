package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"time"

	"golang.org/x/term"

	"handheld/bff"
	"handheld/services/coresim"
)

func serve(ctx context.Context, start time.Time, args []string, stdout, stderr io.Writer) error {
	environ := bff.Environ()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "", "listen address (overrides HANDHELD_ADDR)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *addr != "" {
		environ["HANDHELD_ADDR"] = *addr
	}
	cfg, err := bff.LoadConfig(environ)
	if err != nil {
		return err
	}
	cfg.Version = version
	log := newLogger(stderr, cfg.LogLevel)
	log.Info("config", "settings", cfg.Redacted())
	app, err := bff.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		_ = app.Close()
		return fmt.Errorf("HANDHELD_ADDR %s: %w", cfg.Addr, err)
	}
	elapsed := time.Since(start)
	log.Info("ready", "addr", ln.Addr().String(), "profile", cfg.Profile, "startup", elapsed.String())
	if cfg.Profile == bff.ProfileEmbedded {
		var personas []coresim.Persona
		if sim := app.Sim(); sim != nil {
			personas = sim.Personas()
		}
		// The demo kiosk's agent, so that a browser shows the kiosk screen
		// at once; it stops with ctx, before the server does.
		agentCtx, stopAgent := context.WithCancel(ctx)
		defer stopAgent()
		screen, err := demoKioskAgent(agentCtx, cfg, "http://"+ln.Addr().String(), log)
		if err != nil {
			_ = ln.Close()
			_ = app.Close()
			return err
		}
		printWelcome(stdout, "http://"+ln.Addr().String(), screen, elapsed, personas, isTerminal(stdout))
	}
	return app.Serve(ctx, ln)
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}

// isTerminal reports whether w is a terminal someone is looking at, as
// opposed to a file, a pipe or a log collector.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// printWelcome greets whoever started the embedded profile. The demo
// personas' names, ID numbers and passwords go to a terminal only: stdout
// redirected to a file or a log collector would keep them, so there it
// gets one line naming `handheld demo` instead.
func printWelcome(w io.Writer, base, kioskScreen string, elapsed time.Duration, personas []coresim.Persona, terminal bool) {
	fmt.Fprintf(w, "\nhandheld is ready on %s in %s\n", base, elapsed.Round(time.Millisecond))
	fmt.Fprintln(w, "profile: embedded (core simulator in-process, SQLite under ./var, in-process limits, WeChat sandbox)")
	if kioskScreen != "" {
		fmt.Fprintf(w, "kiosk screen: open %s in a browser (the demo kiosk's agent); sign in as a persona with their face token (face:demo-…)\n", kioskScreen)
	}
	if !terminal {
		fmt.Fprintln(w, "demo personas and their logins: run `handheld demo` (not printed here: stdout is not a terminal)")
		return
	}
	if len(personas) > 0 {
		fmt.Fprintln(w, "\ndemo personas (`handheld demo` prints them as JSON):")
		for _, p := range personas {
			who := p.Name + "  " + p.IDNumber
			if p.Role == "employer" {
				who = p.UnitCode + "  operator " + p.OperatorID + " / " + p.Password
			}
			if p.FaceToken != "" {
				who += "  " + p.FaceToken
			}
			fmt.Fprintf(w, "  %-9s  %s\n             %s\n", p.Role, who, p.Notes)
		}
	}
	fmt.Fprintf(w, `
  kiosk      %[2]s (demo kiosk; bin/handheld kiosk-headers signs its requests)

try:
  curl -s '%[1]s/api/v1/loan/calculator?principal_fen=100000000&months=360&method=annuity'
  curl -s -H 'Accept-Language: en' '%[1]s/api/v1/loan/calculator?principal_fen=-5&months=abc'
  curl -s -XPOST %[1]s/api/v1/auth/wechat -H 'Content-Type: application/json' -d '{"code":"sandbox:oDemoUser0001"}'
  # bind with the binding token it answers; in the sandbox a persona's face token (face:…) is the face result
  curl -s -XPOST %[1]s/api/v1/auth/bind -H 'Content-Type: application/json' -H 'Authorization: Bearer bt_…' \
       -d '{"name":"张伟","id_number":"330106198503124133","face_result":"face:demo-zhangwei"}'
  # withdrawals and certificates need a face check within 5 minutes; after that, step up:
  curl -s -XPOST %[1]s/api/v1/auth/step-up -H 'Content-Type: application/json' -H 'Authorization: Bearer <access_token>' \
       -d '{"face_result":"face:demo-zhangwei"}'
  curl -s -XPOST %[1]s/api/v1/auth/employer -H 'Content-Type: application/json' -d '{"unit_code":"91330106MA2GL3K72J","operator_id":"minghu01","password":"Minghu@2024"}'
  curl -s %[1]s/readyz

README.md walks through binding, refresh, kiosks and the rest.

`, base, bff.DemoKioskID)
}
