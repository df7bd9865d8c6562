package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"

	"handheld/bff"
)

// reportCmd is the operators' view of the daily report to the national
// platform:
//
//	handheld report figures --day YYYY-MM-DD   the day's figures as they stand now, writing nothing
//	handheld report send --day YYYY-MM-DD      send the day again: the same figures under the same
//	                                           version, changed ones as a correction (the next
//	                                           version), a day never reported as version 1
//
// It builds the app as serve does (the same store, catalogue and policy)
// but runs no background work: a report sent is queued on the outbox, and
// the running servers' outbox workers deliver it.
func reportCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const use = "usage: handheld report figures|send --day YYYY-MM-DD"
	if len(args) == 0 || (args[0] != "figures" && args[0] != "send") {
		return errors.New(use)
	}
	fs := flag.NewFlagSet("report "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	day := fs.String("day", "", "the day (YYYY-MM-DD, the centre's time zone); it must be over")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *day == "" || fs.NArg() > 0 {
		return errors.New(use)
	}
	cfg, err := bff.LoadConfig(bff.Environ())
	if err != nil {
		return err
	}
	app, err := bff.New(ctx, cfg, newLogger(stderr, cfg.LogLevel))
	if err != nil {
		return err
	}
	defer app.Close()
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if args[0] == "figures" {
		r, err := app.Reports().Figures(ctx, *day)
		if err != nil {
			return err
		}
		return enc.Encode(r)
	}
	sent, err := app.Reports().Send(ctx, *day)
	if err != nil {
		return err
	}
	return enc.Encode(map[string]any{"day": sent.Report.Day, "centre": sent.Report.Centre, "version": sent.Report.Version,
		"sent": sent.How, "totals": sent.Report.Totals})
}
