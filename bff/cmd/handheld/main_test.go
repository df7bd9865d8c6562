package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"handheld/services"
)

func TestDemoPrintsLoginFieldsPerRole(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"demo"}, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	roles := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var p map[string]string
		if err := json.Unmarshal([]byte(line), &p); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		roles[p["role"]]++
		if p["notes"] == "" {
			t.Errorf("no notes: %v", p)
		}
		switch p["role"] {
		case "depositor", "person":
			if p["name"] == "" || services.ValidateIDNumber(p["id_number"], time.Now()) != nil {
				t.Errorf("depositor without a valid name/ID: %v", p)
			}
		case "employer":
			if services.ValidateUnitCode(p["unit_code"]) != nil || p["operator_id"] == "" || p["password"] == "" {
				t.Errorf("employer without login fields: %v", p)
			}
		}
	}
	if roles["depositor"] < 5 || roles["employer"] < 1 {
		t.Fatalf("roles %v", roles)
	}
}

func TestVersionAndUnknownCommand(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"version"}, &out, &bytes.Buffer{}); err != nil || !strings.HasPrefix(out.String(), "handheld ") {
		t.Fatalf("version: %q %v", out.String(), err)
	}
	var errOut bytes.Buffer
	if err := run(context.Background(), []string{"frobnicate"}, &bytes.Buffer{}, &errOut); err == nil || !strings.Contains(errOut.String(), "usage") {
		t.Fatalf("unknown command: %v %q", err, errOut.String())
	}
}
