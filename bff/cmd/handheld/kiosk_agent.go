package main

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"handheld/bff"
	"handheld/bff/kiosk/agent"
)

// kioskAgent runs a kiosk's local agent (`handheld kiosk-agent`): the
// kiosk's browser opens http://<listen>/kiosk/ and gets the kiosk screen
// from handheld, with the device's token added by the agent, which alone
// holds the device key.
func kioskAgent(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("kiosk-agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	device := fs.String("device", "", "the kiosk's registered device id")
	key := fs.String("key", "", "base64 Ed25519 seed (prefer --key-file: a flag shows in the process list)")
	keyFile := fs.String("key-file", "", "file holding the base64 Ed25519 seed, readable only by the agent")
	upstream := fs.String("upstream", "", "handheld's base URL, e.g. https://hpf.example.cn")
	listen := fs.String("listen", "127.0.0.1:8081", "where the kiosk's browser reaches the agent (keep it on loopback)")
	screenPath := fs.String("screen-path", "/kiosk/", "the kiosk screen's path on handheld (HANDHELD_KIOSK_SCREEN_PATH)")
	printDir := fs.String("print-dir", "", "write each print to this directory as <job>.pdf (a test bench, a spool a printer service watches)")
	printCommand := fs.String("print-command", "", `run this command with each PDF on its standard input, e.g. "lp -d KIOSK1" (no shell)`)
	if err := fs.Parse(args); err != nil {
		return err
	}
	var sink agent.Sink
	switch {
	case *printDir != "" && *printCommand != "":
		return errors.New("give at most one of --print-dir and --print-command")
	case *printDir != "":
		sink = agent.DirSink{Dir: *printDir}
	case *printCommand != "":
		sink = agent.CommandSink{Command: strings.Fields(*printCommand)}
	}
	priv, err := deviceKey(*key, *keyFile)
	if err != nil {
		return err
	}
	up, err := url.Parse(*upstream)
	if err != nil {
		return fmt.Errorf("--upstream: %w", err)
	}
	log := newLogger(stderr, "info")
	a, err := agent.New(agent.Config{Device: *device, Key: priv, Upstream: up, ScreenPath: *screenPath, Logger: log.With("component", "kiosk-agent")})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("--listen %s: %w", *listen, err)
	}
	fmt.Fprintf(stdout, "kiosk agent for %s: open http://%s%s in the kiosk's browser\n", *device, ln.Addr(), *screenPath)
	if sink != nil {
		runPrinter(ctx, a, up.String(), sink, log)
	} else {
		log.Warn("kiosk agent: no printer (--print-dir or --print-command): prints wait in the queue and expire")
	}
	return serveAgent(ctx, a, ln, log)
}

// deviceKey reads the device's private key from --key or --key-file.
func deviceKey(key, file string) (ed25519.PrivateKey, error) {
	if (key == "") == (file == "") {
		return nil, errors.New("give the device key with exactly one of --key and --key-file")
	}
	if file != "" {
		raw, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("--key-file: %w", err)
		}
		key = strings.TrimSpace(string(raw))
	}
	seed, err := base64.StdEncoding.DecodeString(key)
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, errors.New("the device key must be base64 of a 32-byte Ed25519 seed")
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// runPrinter polls the device's print queue until ctx ends, with the
// agent's device token.
func runPrinter(ctx context.Context, a *agent.Agent, base string, sink agent.Sink, log *slog.Logger) {
	p := &agent.Printer{Base: strings.TrimSuffix(base, "/"), Token: a.Token, Sink: sink, Logger: log.With("component", "kiosk-printer")}
	go func() {
		if err := p.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			log.Error("kiosk printer stopped", "err", err.Error())
		}
	}()
}

// serveAgent serves the agent on ln until ctx ends.
func serveAgent(ctx context.Context, a *agent.Agent, ln net.Listener, log *slog.Logger) error {
	srv := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 60 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(shut)
	<-errc
	return err
}

// demoKioskAgent runs the demo kiosk's agent next to the embedded
// profile's server (HANDHELD_DEMO_KIOSK_LISTEN), so that the kiosk screen
// can be tried in a browser at once; its prints land in
// <data dir>/kiosk-prints as PDF files. It returns the screen's address,
// or "" when it does not run.
func demoKioskAgent(ctx context.Context, cfg bff.Config, base string, log *slog.Logger) (string, error) {
	addr := cfg.DemoKioskAddr()
	if addr == "" {
		return "", nil
	}
	up, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	a, err := agent.New(agent.Config{Device: bff.DemoKioskID, Key: bff.DemoKioskKey(), Upstream: up, ScreenPath: cfg.ScreenPath(),
		Logger: log.With("component", "kiosk-agent")})
	if err != nil {
		return "", err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("HANDHELD_DEMO_KIOSK_LISTEN %s: %w", addr, err)
	}
	runPrinter(ctx, a, base, agent.DirSink{Dir: filepath.Join(cfg.DataDir, "kiosk-prints")}, log)
	go func() {
		if err := serveAgent(ctx, a, ln, log); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("demo kiosk agent stopped", "err", err.Error())
		}
	}()
	return "http://" + ln.Addr().String() + cfg.ScreenPath(), nil
}
