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

// An operator looks at a day's figures, sends the day, and sends it again:
// version 1 both times, the second a redelivery of the same figures, each
// queued once on the outbox; a day not over and malformed arguments are
// refused.
func TestReportCommand(t *testing.T) {
	dir := t.TempDir()
	s := embeddedStore(t, dir)
	ctx := context.Background()
	day := time.Now().In(services.CentreTime).AddDate(0, 0, -10).Format(time.DateOnly)

	var out bytes.Buffer
	if err := run(ctx, []string{"report", "figures", "--day", day}, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	var figures struct {
		Centre   string           `json:"centre"`
		Day      string           `json:"day"`
		Version  int              `json:"version"`
		Services []map[string]any `json:"services"`
	}
	if err := json.Unmarshal(out.Bytes(), &figures); err != nil || figures.Centre != "330100" || figures.Day != day ||
		figures.Version != 0 || len(figures.Services) < 8 {
		t.Fatalf("figures: %v %s", err, out.String())
	}
	var n int
	if err := s.QueryRow(ctx, `SELECT COUNT(*) FROM daily_reports`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("figures wrote %d reports, %v", n, err)
	}

	for _, want := range []string{`"sent": "first"`, `"sent": "again"`} {
		out.Reset()
		if err := run(ctx, []string{"report", "send", "--day", day}, &out, &bytes.Buffer{}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), want) || !strings.Contains(out.String(), `"version": 1`) {
			t.Errorf("send: want %s in %s", want, out.String())
		}
	}
	var reports, messages int
	if err := s.QueryRow(ctx, `SELECT (SELECT COUNT(*) FROM daily_reports WHERE day = $1),
		(SELECT COUNT(*) FROM outbox WHERE topic = 'report.daily' AND id LIKE $2)`, day, "report:330100:"+day+":v1%").
		Scan(&reports, &messages); err != nil || reports != 1 || messages != 2 {
		t.Errorf("stored %d reports, queued %d messages, %v", reports, messages, err)
	}

	tomorrow := time.Now().In(services.CentreTime).AddDate(0, 0, 1).Format(time.DateOnly)
	for _, args := range [][]string{{"report"}, {"report", "mail"}, {"report", "send"}, {"report", "send", "--day", "06/12/2026"},
		{"report", "send", "--day", tomorrow}, {"report", "figures", "--day", day, "extra"}} {
		if err := run(ctx, args, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}
