package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"handheld/bff"
	"handheld/services"
	"handheld/services/staff"
)

const staffUsage = `usage: handheld staff <command> [flags]

  add     --id ID --name NAME [--totp] [--password-stdin]   create an account; prints its password once
  disable --id ID                                          refuse sign-in and end its sessions
  enable  --id ID                                          allow sign-in again
  reset   --id ID [--totp] [--password-stdin]              new password (and TOTP secret); ends its sessions
  list                                                     every account, without secrets

A password is generated (16 characters from a look-alike-free alphabet) unless
--password-stdin reads one, which must meet the password policy. With --totp the
otpauth:// URL to enrol an authenticator app is printed once.
`

// staffCmd manages the centre's staff accounts: `handheld staff ...`.
func staffCmd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, staffUsage)
		return errors.New("handheld staff: command required")
	}
	cmd, args := args[0], args[1:]
	fs := flag.NewFlagSet("staff "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	id := fs.String("id", "", "staff id (letters, digits, ._-; 3–32)")
	name := fs.String("name", "", "the staff member's name, as the pages show it")
	withTOTP := fs.Bool("totp", false, "enrol a TOTP authenticator")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := bff.LoadConfig(bff.Environ())
	if err != nil {
		return err
	}
	svc, closeFn, err := bff.OpenStaffAccounts(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeFn()
	password := ""
	if *fromStdin {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		password = strings.TrimRight(line, "\r\n")
	}
	needID := func() error {
		if *id == "" {
			return errors.New("--id is required")
		}
		return nil
	}
	switch cmd {
	case "add":
		if err := needID(); err != nil {
			return err
		}
		iss, err := svc.Add(ctx, staff.NewAccount{StaffID: *id, Name: *name, Password: password, TOTP: *withTOTP})
		if err != nil {
			return describe(err)
		}
		return printIssued(stdout, iss, password == "")
	case "reset":
		if err := needID(); err != nil {
			return err
		}
		iss, err := svc.Reset(ctx, *id, password, *withTOTP)
		if err != nil {
			return describe(err)
		}
		return printIssued(stdout, iss, password == "")
	case "disable", "enable":
		if err := needID(); err != nil {
			return err
		}
		status := staff.StatusDisabled
		if cmd == "enable" {
			status = staff.StatusActive
		}
		if err := svc.SetStatus(ctx, *id, status); err != nil {
			return describe(err)
		}
		_, err := fmt.Fprintf(stdout, "%s %s\n", *id, status)
		return err
	case "list":
		accs, err := svc.List(ctx)
		if err != nil {
			return err
		}
		for _, a := range accs {
			totp := "-"
			if a.TOTP {
				totp = "totp"
			}
			fmt.Fprintf(stdout, "%s\t%s\t%s\t%s\n", a.StaffID, a.Status, totp, a.Name)
		}
		return nil
	}
	fmt.Fprint(stderr, staffUsage)
	return fmt.Errorf("handheld staff: unknown command %q", cmd)
}

// printIssued shows a new password (when generated) and TOTP URL once.
func printIssued(w io.Writer, iss staff.Issued, generated bool) error {
	fmt.Fprintf(w, "staff_id: %s\n", iss.Account.StaffID)
	if generated {
		fmt.Fprintf(w, "password: %s\n", iss.Password)
	}
	if iss.TOTPURL != "" {
		fmt.Fprintf(w, "totp_url: %s\n", iss.TOTPURL)
	}
	_, err := fmt.Fprintln(w, "(shown once: hand it over in person; handheld keeps only a hash)")
	return err
}

// describe words a refusal for the terminal: the code and the fields.
func describe(err error) error {
	e := services.AsError(err)
	if len(e.Fields) == 0 {
		return err
	}
	var parts []string
	for _, f := range e.Fields {
		parts = append(parts, f.Field+" "+f.Code)
	}
	return fmt.Errorf("%s: %s", e.Code, strings.Join(parts, ", "))
}
