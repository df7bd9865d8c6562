package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"handheld/bff"
)

func TestStaffCommand(t *testing.T) {
	t.Setenv("HANDHELD_DATA_DIR", t.TempDir())
	ctx := context.Background()
	var errOut bytes.Buffer
	if err := run(ctx, []string{"migrate"}, &bytes.Buffer{}, &errOut); err != nil {
		t.Fatal(err, errOut.String())
	}
	staff := func(stdin string, args ...string) (string, error) {
		var out bytes.Buffer
		err := staffCmd(ctx, args, strings.NewReader(stdin), &out, &errOut)
		return out.String(), err
	}
	out, err := staff("", "add", "--id", "S0100", "--name", "周科长", "--totp")
	if err != nil || !strings.Contains(out, "password: ") || !strings.Contains(out, "totp_url: otpauth://totp/") {
		t.Fatalf("add: %v\n%s", err, out)
	}
	if _, err := staff("", "add", "--id", "S0100", "--name", "again"); err == nil || !strings.Contains(err.Error(), "centre_staff.exists") {
		t.Errorf("second add: %v", err)
	}
	if _, err := staff("short\n", "reset", "--id", "S0100", "--password-stdin"); err == nil || !strings.Contains(err.Error(), "password too_short") {
		t.Errorf("weak password: %v", err)
	}
	if out, err = staff("Chosen-Password-42\n", "reset", "--id", "S0100", "--password-stdin"); err != nil || strings.Contains(out, "Chosen") {
		t.Errorf("reset with a chosen password: %v %q", err, out)
	}
	if _, err := staff("", "disable", "--id", "S0100"); err != nil {
		t.Fatal(err)
	}
	if _, err := staff("", "disable", "--id", "S9999"); err == nil {
		t.Error("disabling an unknown id succeeded")
	}
	out, err = staff("", "list")
	if err != nil || !strings.Contains(out, "S0100\tdisabled\ttotp\t周科长") {
		t.Errorf("list: %v %q", err, out)
	}
	if _, err := staff("", "rename"); err == nil {
		t.Error("unknown subcommand succeeded")
	}
}

func TestDemoListsTheStaffMember(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"demo"}, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var p map[string]string
		_ = json.Unmarshal([]byte(line), &p)
		if p["role"] == "staff" {
			if p["staff_id"] != bff.DemoStaffID || p["password"] != bff.DemoStaffPassword {
				t.Errorf("staff line %v", p)
			}
			return
		}
	}
	t.Error("handheld demo lists no staff member")
}
