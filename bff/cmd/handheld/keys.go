package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"handheld/bff"
	"handheld/services/keys"
	"handheld/services/seal"
	"handheld/services/store"
	"handheld/services/suite"
)

const keysUsage = `usage: handheld keys <init|add|promote|rotate|reseal> --dir DIR [--purpose P] [--kid K] [--suite intl|sm]

  init     create a key for every purpose that has none (tokens, ecard, certificates, shares, sealing)
  add      add a key to a purpose without using it yet; prints its kid
  promote  make --kid the key that signs (or seals) for --purpose
  rotate   add and promote in one step (single replica)
  reseal   rewrite every sealed value not under the current sealing key, and seal
           any plain one left from before migration 0010; batched, resumable, safe
           while serving (the store comes from HANDHELD_DATABASE_URL / the data dir)

New keys are of --suite (default HANDHELD_CRYPTO, else intl): Ed25519 signing
and AES-256 sealing keys under intl, SM2 and SM4 under sm; promote refuses a
key of another suite. To move a
running centre from intl to sm: add a key of the sm suite for every purpose,
roll it out, then promote each, restart with HANDHELD_CRYPTO=sm, and reseal.

With several replicas: add, roll the new key out to every replica, then promote.
Remove an old signing key's file once the longest token it signed has expired;
remove an old sealing key's file only after a reseal reported nothing left under it.
`

// keysCmd manages the keys production is given in HANDHELD_KEYS_DIR: the
// signing keys (services/keys) and the sealing ring (services/seal).
func keysCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, keysUsage)
		return errors.New("keys: missing action")
	}
	action := args[0]
	fs := flag.NewFlagSet("keys "+action, flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "the keys directory (HANDHELD_KEYS_DIR)")
	purpose := fs.String("purpose", keys.PurposeTokens, "tokens, ecard, certificates, shares or sealing")
	kid := fs.String("kid", "", "key id (promote)")
	suiteName := fs.String("suite", os.Getenv("HANDHELD_CRYPTO"), "intl or sm: the suite of new signing keys (HANDHELD_CRYPTO)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	s, err := suite.Parse(*suiteName)
	if err != nil {
		return fmt.Errorf("keys: --suite: %w", err)
	}
	if action == "reseal" {
		return reseal(ctx, *dir, stdout)
	}
	if *dir == "" {
		return errors.New("keys: --dir is required")
	}
	now := time.Now()
	sealing := *purpose == seal.Purpose
	switch action {
	case "init":
		if _, err := keys.Ensure(*dir, now, s, keys.Purposes()...); err != nil {
			return err
		}
		if _, err := seal.Ensure(*dir, now, s); err != nil {
			return err
		}
		_, err := fmt.Fprintf(stdout, "keys ready in %s for %v\n", *dir, append(keys.Purposes(), seal.Purpose))
		return err
	case "add", "rotate":
		var k string
		var err error
		switch {
		case sealing && action == "add":
			k, err = seal.Add(*dir, now, s)
		case sealing:
			k, err = seal.Rotate(*dir, now, s)
		case action == "add":
			k, err = keys.Add(*dir, *purpose, now, s)
		default:
			k, err = keys.Rotate(*dir, *purpose, now, s)
		}
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(stdout, k)
		return err
	case "promote":
		if *kid == "" {
			return errors.New("keys promote: --kid is required")
		}
		var err error
		if sealing {
			err = seal.Promote(*dir, *kid, s)
		} else {
			err = keys.Promote(*dir, *purpose, *kid, s)
		}
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdout, "%s is now current for %s\n", *kid, *purpose)
		return err
	default:
		fmt.Fprint(stderr, keysUsage)
		return fmt.Errorf("keys: unknown action %q", action)
	}
}

// reseal moves every sealed value onto the current sealing key.
func reseal(ctx context.Context, dir string, stdout io.Writer) error {
	cfg, err := bff.LoadConfig(bff.Environ())
	if err != nil {
		return err
	}
	if dir != "" {
		cfg.KeysDir = dir
	}
	s, err := bff.OpenSealedStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer s.Close()
	reps, err := bff.Reseal(ctx, cfg, s, false)
	printReseal(stdout, reps)
	if err != nil {
		return err
	}
	for _, r := range reps {
		if r.Failed > 0 {
			return errors.New("keys reseal: some values do not open (see above); their rows are left as they were")
		}
	}
	return nil
}

// printReseal reports a sealing run, one line per column, and each value
// that did not open by its row.
func printReseal(w io.Writer, reps []store.ResealReport) {
	for _, r := range reps {
		fmt.Fprintf(w, "%-32s sealed %d, resealed %d, failed %d\n", r.Column, r.Sealed, r.Resealed, r.Failed)
		for _, err := range r.Errors {
			fmt.Fprintf(w, "  %v\n", err)
		}
	}
}
