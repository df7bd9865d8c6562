package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"handheld/services/keys"
)

const keysUsage = `usage: handheld keys <init|add|promote|rotate> --dir DIR [--purpose P] [--kid K]

  init     create a signing key for every purpose that has none (tokens, ecard, certificates)
  add      add a key to a purpose without signing with it yet; prints its kid
  promote  make --kid the key that signs for --purpose
  rotate   add and promote in one step (single replica)

With several replicas: add, roll the new key out to every replica, then promote.
Remove an old key's file once the longest token it signed has expired.
`

// keysCmd manages the signing keys production is given in HANDHELD_KEYS_DIR.
func keysCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, keysUsage)
		return errors.New("keys: missing action")
	}
	action := args[0]
	fs := flag.NewFlagSet("keys "+action, flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "the keys directory (HANDHELD_KEYS_DIR)")
	purpose := fs.String("purpose", keys.PurposeTokens, "tokens, ecard or certificates")
	kid := fs.String("kid", "", "key id (promote)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *dir == "" {
		return errors.New("keys: --dir is required")
	}
	now := time.Now()
	switch action {
	case "init":
		if _, err := keys.Ensure(*dir, now, keys.Purposes()...); err != nil {
			return err
		}
		_, err := fmt.Fprintf(stdout, "keys ready in %s for %v\n", *dir, keys.Purposes())
		return err
	case "add":
		k, err := keys.Add(*dir, *purpose, now)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(stdout, k)
		return err
	case "promote":
		if *kid == "" {
			return errors.New("keys promote: --kid is required")
		}
		if err := keys.Promote(*dir, *purpose, *kid); err != nil {
			return err
		}
		_, err := fmt.Fprintf(stdout, "%s now signs for %s\n", *kid, *purpose)
		return err
	case "rotate":
		k, err := keys.Rotate(*dir, *purpose, now)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(stdout, k)
		return err
	default:
		fmt.Fprint(stderr, keysUsage)
		return fmt.Errorf("keys: unknown action %q", action)
	}
}
