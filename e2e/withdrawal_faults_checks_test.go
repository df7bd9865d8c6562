//go:build linux

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"handheld/services/core"
	"handheld/services/coresim"
	"handheld/services/notify"
	"handheld/services/wechat/wechattest"
	"handheld/services/withdrawal"
	"handheld/templates"
)

// drain waits until no application is undecided and no outbox row is
// undelivered: the replicas have done all they will do.
func (r *faultRig) drain(ctx context.Context, db *pgx.Conn, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		var open, pending int
		err := db.QueryRow(ctx, `SELECT (SELECT count(*) FROM withdrawals WHERE status IN ('accepted', 'submitted', 'approved')),
			(SELECT count(*) FROM outbox WHERE delivered_at IS NULL)`).Scan(&open, &pending)
		switch {
		case err != nil:
			return err
		case open == 0 && pending == 0:
			return nil
		case time.Now().After(deadline):
			return fmt.Errorf("after %s, %d applications are undecided and %d outbox rows undelivered:\n%s",
				timeout, open, pending, outboxBacklog(ctx, db))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// outboxBacklog describes the undelivered outbox rows by topic.
func outboxBacklog(ctx context.Context, db *pgx.Conn) string {
	rows, err := db.Query(ctx, `SELECT topic, count(*), max(attempts), min(next_attempt_at), max(last_error)
		FROM outbox WHERE delivered_at IS NULL GROUP BY topic ORDER BY topic`)
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	for rows.Next() {
		var topic, lastError string
		var n, attempts int
		var next time.Time
		if err := rows.Scan(&topic, &n, &attempts, &next, &lastError); err != nil {
			return err.Error()
		}
		fmt.Fprintf(&b, "  %s: %d rows, up to %d attempts, next due %s, an error: %q\n", topic, n, attempts, next.Format(time.RFC3339Nano), lastError)
	}
	return b.String()
}

// settledNotifications waits for the messages the replicas are still
// sending (the outbox is empty, but a claimed notification is sent after
// its row is closed) and returns all that WeChat accepted.
func (r *faultRig) settledNotifications() []wechattest.Sent {
	last, since := -1, time.Now()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if n := len(r.wx.Sent()); n != last {
			last, since = n, time.Now()
		} else if time.Since(since) >= time.Second {
			break
		}
	}
	return r.wx.Sent()
}

// findings collects violations by kind, so that a run with thousands of
// them reports each kind once: how many, and the first few.
type findings map[string][]string

func (f findings) add(kind, format string, args ...any) {
	f[kind] = append(f[kind], fmt.Sprintf(format, args...))
}

func (f findings) report(t *testing.T) {
	t.Helper()
	for _, kind := range slices.Sorted(maps.Keys(f)) {
		some := f[kind][:min(len(f[kind]), 5)]
		t.Errorf("%s: %d times, e.g.\n  %s", kind, len(f[kind]), strings.Join(some, "\n  "))
	}
}

// checkAnswers checks what the clients got: a final answer for every copy,
// the same for all copies of a request, at most one of them creating the
// application; 202 or a refusal of an ineligible person. Some answers of
// each kind are checked against bff/openapi.yaml. It notes each accepted
// application's id.
func checkAnswers(t *testing.T, apps []*faultApp) {
	t.Helper()
	f := findings{}
	v := &env{t: t, openapi: openAPIValidator(t)}
	validated := map[string]int{}
	ids := map[string]string{} // application id → key
	for _, a := range apps {
		var first *answer
		created := 0
		for k, ans := range a.answers {
			if a.errs[k] != nil {
				f.add("a request never got a final answer", "%s copy %d: %v", a.key, k, a.errs[k])
				continue
			}
			if first == nil {
				first = &a.answers[k]
			} else if ans.canonical() != first.canonical() {
				f.add("copies of a request got different answers", "%s: %s, then %s", a.key, first.canonical(), ans.canonical())
			}
			if ans.Status == http.StatusAccepted && !ans.Replayed {
				created++
			}
			if class := fmt.Sprint(ans.Status, ans.problemCode()); validated[class] < 10 {
				validated[class]++
				req, _ := http.NewRequest(http.MethodPost, "http://handheld"+withdrawals, bytes.NewReader(a.body))
				req.Header.Set("Content-Type", "application/json")
				v.validate(req, &http.Response{StatusCode: ans.Status, Header: ans.Header}, ans.Body)
			}
		}
		if created > 1 {
			f.add("a key created more than one application", "%s: %d answers 202 not marked Idempotent-Replayed", a.key, created)
		}
		switch {
		case first == nil:
		case first.Status == http.StatusAccepted:
			var acc accepted
			if err := json.Unmarshal(first.Body, &acc); err != nil || acc.Status != "accepted" || !strings.HasPrefix(acc.ID, "wd_") || acc.DueOn == "" {
				f.add("a 202 is not an accepted application", "%s: %s", a.key, first.Body)
			} else if other, dup := ids[acc.ID]; dup {
				f.add("two keys were answered with one application", "%s and %s: %s", other, a.key, acc.ID)
			} else {
				ids[acc.ID], a.id = a.key, acc.ID
			}
		case first.Status == http.StatusUnprocessableEntity && first.problemCode() == "withdrawal.not_eligible":
		default:
			f.add("a final answer is neither 202 nor 422 withdrawal.not_eligible", "%s: %s", a.key, first.canonical())
		}
	}
	f.report(t)
}

// storedApp is an application as the store holds it.
type storedApp struct {
	status string
	events []string // withdrawal_events, sorted
}

// checkStore checks the store against the answers: a 202 is one
// application under its key, approved and paid or rejected, with the
// history of that way and nothing else; a refusal left nothing.
func checkStore(t *testing.T, ctx context.Context, db *pgx.Conn, apps []*faultApp) map[string]storedApp {
	t.Helper()
	stored := map[string]storedApp{}
	byKey := map[string]string{}
	rows, _ := db.Query(ctx, `SELECT id, idempotency_key, status FROM withdrawals`)
	var id, key, status string
	_, err := pgx.ForEachRow(rows, []any{&id, &key, &status}, func() error {
		stored[id], byKey[key] = storedApp{status: status}, id
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	rows, _ = db.Query(ctx, `SELECT application_id, status FROM withdrawal_events ORDER BY application_id, status`)
	_, err = pgx.ForEachRow(rows, []any{&id, &status}, func() error {
		s := stored[id]
		s.events = append(s.events, status)
		stored[id] = s
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ways := map[string][]string{"paid": {"accepted", "approved", "paid", "submitted"}, "rejected": {"accepted", "rejected", "submitted"}}
	f := findings{}
	accepted := 0
	for _, a := range apps {
		id, ok := byKey[a.key]
		switch {
		case a.id == "" && ok:
			f.add("a refused request left an application", "%s: %s", a.key, id)
		case a.id == "":
		case !ok:
			f.add("an accepted application is lost", "%s: 202 %s, and nothing under the key", a.key, a.id)
		case id != a.id:
			f.add("a key holds another application than its 202 named", "%s: 202 %s, stored %s", a.key, a.id, id)
		default:
			accepted++
			s := stored[id]
			if way, ok := ways[s.status]; !ok {
				f.add("an application finished neither paid nor rejected", "%s is %s", id, s.status)
			} else if !slices.Equal(s.events, way) {
				f.add("an application's history is not the way to its status", "%s is %s after %v", id, s.status, s.events)
			}
		}
	}
	if len(stored) != accepted {
		f.add("the store holds applications nobody was answered 202 for", "%d stored, %d accepted", len(stored), accepted)
	}
	f.report(t)
	return stored
}

// checkCore checks the core against the store: each accepted application
// is there once, in the status the store has, and nothing else is. It
// stops the simulator to count in its file.
func (r *faultRig) checkCore(ctx context.Context, apps []*faultApp, stored map[string]storedApp) {
	t := r.t
	t.Helper()
	client, err := core.NewClient(core.ClientConfig{BaseURL: r.simURL, KeyID: "handheld", Secret: []byte(coreSecret)})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, a := range apps {
		if a.id != "" {
			ids = append(ids, a.id)
		}
	}
	statuses, errs := make([]string, len(ids)), make([]error, len(ids))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(ids); i = int(next.Add(1) - 1) {
				st, err := client.Withdrawal(ctx, ids[i])
				statuses[i], errs[i] = st.Status, err
			}
		})
	}
	wg.Wait()
	f := findings{}
	for i, id := range ids {
		switch {
		case errs[i] != nil:
			f.add("the core does not answer for an accepted application", "%s: %v", id, errs[i])
		case statuses[i] != stored[id].status:
			f.add("the store and the core disagree", "%s: %s here, %s at the core", id, stored[id].status, statuses[i])
		}
	}
	r.sim.terminate(10 * time.Second)
	sim, err := coresim.Open(ctx, coresim.Config{Path: r.simDB, Keys: map[string][]byte{"handheld": []byte(coreSecret)}, Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	for _, id := range ids {
		if n := sim.WithdrawalCount(id); n != 1 {
			f.add("an accepted application is not once at the core", "%s: %d times", id, n)
		}
	}
	if total := sim.Withdrawals(); total != len(ids) {
		f.add("the core holds other applications than the accepted ones", "%d at the core, %d accepted", total, len(ids))
	}
	f.report(t)
}

// checkNotifications checks that each person heard of every announced
// status (withdrawal.DefaultPolicies().NotifyOn) their applications took,
// on their own openid, and of nothing else: exactly once, except the
// messages being sent by replica A at the instant it was killed, which
// notifications being sent at most once may lose (and must never repeat).
func checkNotifications(t *testing.T, ctx context.Context, db *pgx.Conn, apps []*faultApp, persons []faultPerson,
	stored map[string]storedApp, sent []wechattest.Sent, sendingAtKill map[string]bool) {
	t.Helper()
	labels := statusLabels(t)
	owner := map[string]string{}
	for _, a := range apps {
		if a.id != "" {
			owner[a.id] = persons[a.person].openid
		}
	}
	f := findings{}
	got := map[string]map[string]int{}
	for _, s := range sent {
		id := ""
		if u, err := url.Parse(s.Page); err == nil {
			id = u.Query().Get("id")
		}
		openid, ok := owner[id]
		if !ok {
			f.add("a notification names no accepted application", "page %q", s.Page)
			continue
		}
		if s.ToOpenID != openid {
			f.add("a notification went to another person", "%s to %s, not %s", id, s.ToOpenID, openid)
		}
		var named []string
		for _, v := range s.Data {
			if st, ok := labels[v]; ok {
				named = append(named, st)
			}
		}
		if len(named) != 1 {
			f.add("a notification names no one status", "%s: %v", id, s.Data)
			continue
		}
		if got[id] == nil {
			got[id] = map[string]int{}
		}
		got[id][named[0]]++
	}
	notifyOn := withdrawal.DefaultPolicies().NotifyOn
	lostInCrash := 0
	for _, id := range slices.Sorted(maps.Keys(owner)) {
		for _, st := range stored[id].events {
			row := string(notify.Topic) + ":" + id + ":" + st
			switch n := got[id][st]; {
			case !slices.Contains(notifyOn, st):
			case n == 0 && sendingAtKill[row]:
				lostInCrash++
			case n == 0:
				f.add("a status change was never notified", "%s %s (outbox row: %s)", id, st, outboxRow(ctx, db, row))
			case n > 1:
				f.add("a status change was notified more than once", "%s %s: %d times", id, st, n)
			}
		}
		for st := range got[id] {
			if !slices.Contains(stored[id].events, st) || !slices.Contains(notifyOn, st) {
				f.add("a notification announced a status the application did not take", "%s %s", id, st)
			}
		}
	}
	f.report(t)
	t.Logf("notifications: %d sent exactly once; %d lost with replica A (of %d being sent when it died), none sent twice",
		len(sent), lostInCrash, len(sendingAtKill))
}

// statusLabels maps each status label of the notification templates, in
// every locale, to its status: a withdrawal's only (other services'
// statuses, certificate_… and transfer_…, share labels such as 已受理).
func statusLabels(t *testing.T) map[string]string {
	t.Helper()
	files, err := fs.Glob(templates.FS, "notifications/withdrawal.*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("notification templates: %v %v", files, err)
	}
	labels := map[string]string{}
	for _, name := range files {
		raw, err := fs.ReadFile(templates.FS, name)
		var c struct {
			Statuses map[string]string `json:"statuses"`
		}
		if err == nil {
			err = json.Unmarshal(raw, &c)
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for status, label := range c.Statuses {
			if !strings.Contains(status, "_") {
				labels[label] = status
			}
		}
	}
	return labels
}

// outboxRow describes one outbox row, for a report.
func outboxRow(ctx context.Context, db *pgx.Conn, id string) string {
	var attempts int
	var delivered *time.Time
	var lastError string
	err := db.QueryRow(ctx, `SELECT attempts, delivered_at, last_error FROM outbox WHERE id = $1`, id).Scan(&attempts, &delivered, &lastError)
	switch {
	case err != nil:
		return err.Error()
	case delivered == nil:
		return fmt.Sprintf("%d attempts, not delivered, last error %q", attempts, lastError)
	}
	return fmt.Sprintf("%d attempts, closed at %s, last error %q", attempts, delivered.UTC().Format("15:04:05.000"), lastError)
}
