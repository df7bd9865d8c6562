// Command handheld is the one binary: the BFF (serve), the core simulator
// (coresim), the demo personas (demo), migrations (migrate) and its version.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "handheld:", err)
		os.Exit(1)
	}
}

const usage = `usage: handheld <command> [flags]

commands:
  serve     run the BFF (default); --addr host:port
  coresim   run the core simulator as its own HTTP server; --addr, --db, --generate N, --seed S,
            --review-delay D, --payout-delay D
  demo      print the demo personas, one JSON object per line
  platformsim  run the national HPF platform's simulator (other centres) as its own HTTP server; --addr
  keys      create and rotate signing and sealing keys, reseal: keys init|add|promote|rotate|reseal --dir DIR
  bench     measure scenarios against their baselines in the same run (make bench): bench [-c N] [-d 5s] [scenario...]
  reminders list | dry-run [rule]   the reminder rules; how many people each would reach now, writing nothing
  report figures | send --day D      the daily report to the national platform: a day's figures; send a day again
  audit verify   check the audit trail's hash chain; exits non-zero at the first broken link
  kiosk-headers  print curl -H flags signing a kiosk device-session request (demo kiosk by default)
  kiosk-agent    run a kiosk's local agent: the kiosk screen for its browser, with the device token added
  migrate   apply the store's migrations and exit
  staff     manage the centre's staff accounts: add, disable, enable, reset, list
  version   print the version

Configuration comes from HANDHELD_* environment variables and an optional
configuration file (HANDHELD_CONFIG_FILE): see docs/configuration.md.
`

// run dispatches a subcommand; it is main without the process around it, so
// tests can drive the binary's behaviour in-process. A command's -h has
// printed its flags by the time it returns flag.ErrHelp: that is success.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if err := dispatch(ctx, args, stdout, stderr); !errors.Is(err, flag.ErrHelp) {
		return err
	}
	return nil
}

func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	start := time.Now()
	cmd := "serve"
	if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
		cmd, args = "help", args[1:]
	} else if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, start, args, stdout, stderr)
	case "coresim":
		return runCoresim(ctx, args, stdout, stderr)
	case "demo":
		return demo(ctx, stdout)
	case "platformsim":
		return runPlatformsim(ctx, args, stdout, stderr)
	case "keys":
		return keysCmd(ctx, args, stdout, stderr)
	case "bench":
		return bench(ctx, args, stdout, stderr)
	case "audit":
		return auditCmd(ctx, args, stdout)
	case "reminders":
		return remindersCmd(ctx, args, stdout, stderr)
	case "report":
		return reportCmd(ctx, args, stdout, stderr)
	case "kiosk-headers":
		return kioskHeaders(args, stdout, stderr)
	case "kiosk-agent":
		return kioskAgent(ctx, args, stdout, stderr)
	case "migrate":
		return migrate(ctx, stderr)
	case "staff":
		return staffCmd(ctx, args, os.Stdin, stdout, stderr)
	case "version":
		_, err := fmt.Fprintln(stdout, "handheld", version)
		return err
	case "help", "-h", "--help":
		_, err := fmt.Fprint(stdout, usage)
		return err
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
}
