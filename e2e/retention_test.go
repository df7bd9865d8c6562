package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// count runs a COUNT(*) query against the test's database.
func count(t *testing.T, db *pgx.Conn, query string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), query).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// The retention job removes what has aged past the policy (closed outbox
// rows, Idempotency-Keys, ended sessions, expired certificates' files) and
// nothing else: messages still to deliver, certificate records and their
// verification, and the audit trail stay.
func TestRetentionRemovesWhatAgedAndKeepsTheTrail(t *testing.T) {
	t.Parallel()
	e := start(t, fastWithdrawals, relaxedIssue())
	ctx := context.Background()
	lina := e.persona("depositor", "李娜")
	tok := e.bindWeChat("o-lina-retention", lina).AccessToken
	r := e.issue(tok, "retention-cert", map[string]string{"type": "deposit_use"})
	if r.StatusCode != 201 {
		t.Fatalf("issue %d %s", r.StatusCode, r.body)
	}
	var cert issuedCert
	r.json(t, &cert)
	applied := e.apply(tok, "retention-rent", rent(100_000, payoutTo(t, lina, "bank_card")))
	var acc accepted
	applied.json(t, &acc)
	e.waitStatus(tok, acc.ID, "paid")

	db, err := pgx.Connect(ctx, e.cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	if count(t, db, `SELECT COUNT(*) FROM outbox WHERE delivered_at IS NOT NULL`) == 0 ||
		count(t, db, `SELECT COUNT(*) FROM idempotency_keys`) == 0 || count(t, db, `SELECT COUNT(*) FROM sessions`) == 0 {
		t.Fatal("nothing to age: the journey left no outbox rows, keys or sessions")
	}
	trail := count(t, db, `SELECT COUNT(*) FROM audit_log`)

	// Today nothing is old enough.
	if note, err := e.app.RetentionAt(ctx, time.Now()); err != nil || note != "outbox=0 idempotency_keys=0 sessions=0 certificate_files=0 reminder_sends=0 activity_minutes=0 shares=0 share_requests=0" {
		t.Fatalf("a run today: %q %v", note, err)
	}
	if d := e.do("GET", cert.DownloadURL, nil, nil); d.StatusCode != 200 {
		t.Fatalf("download before: %d", d.StatusCode)
	}

	// A message still to deliver is kept however old: it has not done its work.
	if _, err := db.Exec(ctx, `INSERT INTO outbox (id, topic, payload, next_attempt_at, created_at)
		VALUES ('retention-pending', 'nobody.listens', '\x00', now() + interval '10 years', now())`); err != nil {
		t.Fatal(err)
	}

	// Three years on, everything the journey left behind has aged out.
	note, err := e.app.RetentionAt(ctx, time.Now().Add(3*365*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("retention: %s", note)
	for q, want := range map[string]int{
		`SELECT COUNT(*) FROM outbox WHERE delivered_at IS NOT NULL`:                       0,
		`SELECT COUNT(*) FROM outbox WHERE id = 'retention-pending'`:                       1,
		`SELECT COUNT(*) FROM idempotency_keys`:                                            0,
		`SELECT COUNT(*) FROM sessions`:                                                    0,
		`SELECT COUNT(*) FROM refresh_tokens`:                                              0,
		`SELECT COUNT(*) FROM certificates WHERE length(pdf) = 0 AND length(document) = 0`: 1,
	} {
		if got := count(t, db, q); got != want {
			t.Errorf("%s = %d, want %d", q, got, want)
		}
	}
	// The record still verifies; its file is gone, and the answer says so.
	var answer verdict
	e.do("GET", "/api/v1/verify/"+cert.VerifyCode, nil, nil).json(t, &answer)
	if answer.Number != cert.Number {
		t.Fatalf("verify after purge: %+v", answer)
	}
	wantProblem(t, e.do("GET", cert.DownloadURL, nil, nil), 410, "certificate.file_purged")

	// The trail kept every record and gained one per kind removed.
	deadline := time.Now().Add(10 * time.Second)
	for count(t, db, `SELECT COUNT(*) FROM audit_log WHERE action = 'retention.purge'`) < 4 {
		if time.Now().After(deadline) {
			t.Fatalf("retention runs not in the trail: %d", count(t, db, `SELECT COUNT(*) FROM audit_log WHERE action = 'retention.purge'`))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := count(t, db, `SELECT COUNT(*) FROM audit_log`); got < trail+4 {
		t.Fatalf("audit_log has %d rows, had %d before", got, trail)
	}

	// The scheduled job ran once at start, for the day, and not again.
	if n := count(t, db, `SELECT COUNT(*) FROM scheduled_runs WHERE job = 'retention' AND done_at IS NOT NULL`); n != 1 {
		t.Fatalf("scheduled runs done: %d", n)
	}
}
