package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"handheld/bff"
	"handheld/services/reminder"
)

// remindersCmd is the operators' view of the reminder rules:
//
//	handheld reminders list             the configured rules, one JSON object a line
//	handheld reminders dry-run [rule]   how many people each rule (or the one named)
//	                                    would reach now, writing nothing
//
// It builds the app as serve does (the same store, core and rules) but
// runs no background work and serves nothing.
func remindersCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const use = "usage: handheld reminders list | dry-run [rule]"
	if len(args) == 0 || (args[0] != "list" && args[0] != "dry-run") || len(args) > 2 || (args[0] == "list" && len(args) > 1) {
		return errors.New(use)
	}
	cfg, err := bff.LoadConfig(bff.Environ())
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	if args[0] == "list" {
		for _, r := range cfg.Reminders {
			if err := enc.Encode(map[string]any{"code": r.Code, "category": r.Category, "when": r.When,
				"period": r.Period, "enabled": r.Enabled}); err != nil {
				return err
			}
		}
		return nil
	}
	var codes []string
	if len(args) == 2 {
		if _, ok := cfg.Reminders.Find(args[1]); !ok {
			return fmt.Errorf("no reminder rule %q (handheld reminders list)", args[1])
		}
		codes = []string{args[1]}
	} else {
		for _, r := range cfg.Reminders {
			codes = append(codes, r.Code)
		}
	}
	app, err := bff.New(ctx, cfg, newLogger(stderr, cfg.LogLevel))
	if err != nil {
		return err
	}
	defer app.Close()
	for _, code := range codes {
		rep, err := app.Reminders().DryRun(ctx, code)
		if err != nil {
			return fmt.Errorf("%s: %w", code, err)
		}
		if err := enc.Encode(struct {
			reminder.Report
			Reach int `json:"would_reach"`
		}{rep, rep.Matched - rep.Already}); err != nil {
			return err
		}
	}
	return nil
}
