package inbox

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/store"
	"handheld/services/store/storetest"
)

// t0 is the first message's time: 09:00 on 2 March 2026 in Shanghai.
var t0 = time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC)

// fakeAudit keeps what it was given after the real log's guard passed it.
type fakeAudit struct {
	mu      sync.Mutex
	records []audit.Record
}

func (a *fakeAudit) Enqueue(_ context.Context, r audit.Record) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := audit.Check(r); err != nil {
		return err
	}
	a.records = append(a.records, r)
	return nil
}

func (a *fakeAudit) actions() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for _, r := range a.records {
		out = append(out, r.Action+" "+r.Target+" "+r.Result)
	}
	return out
}

// kindRenderer renders a message as its kind and the reader's locale.
type kindRenderer struct{}

func (kindRenderer) RenderText(kind string, content []byte, locale string) (Text, error) {
	return Text{Title: kind + "/" + locale, Body: string(content)}, nil
}

func newRig(t *testing.T, s *store.Store) (*Service, *fakeAudit) {
	t.Helper()
	a := &fakeAudit{}
	svc, err := New(Deps{Store: s, Renderer: kindRenderer{}, Audit: a, Templates: []string{"tpl-case", "tpl-security"},
		Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	return svc, a
}

func person(subject string) services.Principal {
	return services.Principal{Subject: subject, Role: services.RoleDepositor, Channel: services.ChannelMiniApp, Session: "sess"}
}

func TestPostListRead(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		svc, trail := newRig(t, s)
		ctx := context.Background()
		alice, bob := person("s_alice"), person("s_bob")
		post := func(subject, key string, c Category, at time.Time) Message {
			t.Helper()
			m, _, err := svc.Post(ctx, Post{Subject: subject, Key: key, Category: c, Kind: "k-" + key, Content: []byte(`{"n":"` + key + `"}`), At: at})
			if err != nil {
				t.Fatal(err)
			}
			return m
		}
		first := post(alice.Subject, "1", CaseProgress, t0)
		post(alice.Subject, "2", Security, t0.Add(time.Minute))
		third := post(alice.Subject, "3", CaseProgress, t0.Add(2*time.Minute))
		bobs := post(bob.Subject, "1", CaseProgress, t0)
		// The same key again is the same message.
		again, created, err := svc.Post(ctx, Post{Subject: alice.Subject, Key: "1", Category: CaseProgress, Kind: "k-1", Content: []byte("{}")})
		if err != nil || created || again.ID != first.ID || string(again.Content) != `{"n":"1"}` {
			t.Fatalf("post again: %+v created=%v %v; want the first message unchanged", again, created, err)
		}

		ids := func(ms []Message) []string {
			var out []string
			for _, m := range ms {
				out = append(out, m.Text.Title)
			}
			return out
		}
		page, next, err := svc.List(ctx, alice, Filter{}, "en", 2, "")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"k-3/en", "k-2/en"}, ids(page)); diff != "" || next == "" {
			t.Fatalf("page 1 (-want +got):\n%s next %q", diff, next)
		}
		page, next, err = svc.List(ctx, alice, Filter{}, "zh-CN", 2, next)
		if err != nil || next != "" {
			t.Fatalf("page 2: %v, next %q", err, next)
		}
		if diff := cmp.Diff([]string{"k-1/zh-CN"}, ids(page)); diff != "" {
			t.Errorf("page 2 (-want +got):\n%s", diff)
		}
		page, _, _ = svc.List(ctx, alice, Filter{Category: "security"}, "en", 0, "")
		if diff := cmp.Diff([]string{"k-2/en"}, ids(page)); diff != "" {
			t.Errorf("security only (-want +got):\n%s", diff)
		}

		if n, _ := svc.Unread(ctx, alice); n != 3 {
			t.Errorf("unread %d, want 3", n)
		}
		if err := svc.MarkRead(ctx, alice, third.ID); err != nil {
			t.Fatal(err)
		}
		if err := svc.MarkRead(ctx, alice, third.ID); err != nil {
			t.Errorf("reading twice: %v", err)
		}
		for name, id := range map[string]string{"another person's": bobs.ID, "unknown": "msg_000000000000000000000000",
			"malformed": "../x"} {
			if err := svc.MarkRead(ctx, alice, id); services.ErrorCode(err) != services.CodeMessageNotFound {
				t.Errorf("%s id: %v, want message.not_found", name, err)
			}
		}
		page, _, _ = svc.List(ctx, alice, Filter{UnreadOnly: true}, "en", 0, "")
		if diff := cmp.Diff([]string{"k-2/en", "k-1/en"}, ids(page)); diff != "" {
			t.Errorf("unread only (-want +got):\n%s", diff)
		}
		if n, _ := svc.Unread(ctx, alice); n != 2 {
			t.Errorf("unread %d after reading one, want 2", n)
		}
		if n, _ := svc.Unread(ctx, bob); n != 1 {
			t.Errorf("bob's unread %d, want 1", n)
		}

		if err := svc.Pushed(ctx, first, PushSent); err != nil {
			t.Fatal(err)
		}
		again, _, _ = svc.Post(ctx, Post{Subject: alice.Subject, Key: "1", Category: CaseProgress, Kind: "k-1", Content: []byte("{}")})
		if again.Push != PushSent {
			t.Errorf("push %q after Pushed, want sent", again.Push)
		}
		if got := strings.Join(trail.actions(), "\n"); !strings.Contains(got, "message.push message:"+first.ID+":sent ok") ||
			!strings.Contains(got, "message.read message:"+bobs.ID+" error") {
			t.Errorf("audit trail lacks the push or the refused read:\n%s", got)
		}
	})
}

func TestListRejects(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		svc, _ := newRig(t, s)
		for name, tc := range map[string]struct {
			f      Filter
			limit  int
			cursor string
		}{
			"category": {f: Filter{Category: "gossip"}},
			"limit":    {limit: 101},
			"cursor":   {cursor: "not-a-cursor"},
		} {
			if _, _, err := svc.List(context.Background(), person("s_alice"), tc.f, "en", tc.limit, tc.cursor); services.ErrorCode(err) != services.CodeInvalid {
				t.Errorf("%s: %v, want invalid", name, err)
			}
		}
	})
}

func TestGrants(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		svc, _ := newRig(t, s)
		ctx := context.Background()
		alice := person("s_alice")
		take := func() bool {
			t.Helper()
			took, err := svc.TakeGrants(ctx, GrantWant{Subject: alice.Subject, TemplateID: "tpl-case"})
			if err != nil {
				t.Fatal(err)
			}
			return took[0]
		}
		if take() {
			t.Fatal("a grant taken before any was given")
		}
		for _, bad := range [][]Grant{
			nil,
			{{TemplateID: "tpl-unknown", Result: GrantAccept}},
			{{TemplateID: "tpl-case", Result: "maybe"}},
			{{TemplateID: "tpl-case", Result: GrantAccept}, {TemplateID: "tpl-case", Result: GrantAccept}},
			{{TemplateID: "tpl-case", Result: GrantAccept}, {TemplateID: "tpl-unknown", Result: GrantAccept}},
		} {
			if _, err := svc.RecordGrants(ctx, alice, bad); err == nil {
				t.Errorf("%+v recorded", bad)
			}
		}
		if take() {
			t.Fatal("a refused call left a grant")
		}
		states, err := svc.RecordGrants(ctx, alice, []Grant{{TemplateID: "tpl-case", Result: GrantAccept}, {TemplateID: "tpl-security", Result: GrantReject}})
		if err != nil {
			t.Fatal(err)
		}
		want := []GrantState{{TemplateID: "tpl-case", Remaining: 1}, {TemplateID: "tpl-security"}}
		if diff := cmp.Diff(want, states); diff != "" {
			t.Errorf("states (-want +got):\n%s", diff)
		}
		if !take() || take() {
			t.Fatal("one accept should carry exactly one message")
		}
		if err := svc.ReturnGrant(ctx, alice.Subject, "tpl-case"); err != nil || !take() {
			t.Fatalf("a returned grant: %v", err)
		}
		_, _ = svc.RecordGrants(ctx, alice, []Grant{{TemplateID: "tpl-case", Result: GrantAccept}})
		_, _ = svc.RecordGrants(ctx, alice, []Grant{{TemplateID: "tpl-case", Result: GrantBan}})
		if take() {
			t.Error("a banned template sent")
		}
		if took, _ := svc.TakeGrants(ctx, GrantWant{Subject: "s_bob", TemplateID: "tpl-case"}); took[0] {
			t.Error("alice's grant spent for bob")
		}
		// Accepts at once each count; the count is capped.
		var wg sync.WaitGroup
		for range 5 {
			wg.Go(func() {
				if _, err := svc.RecordGrants(ctx, alice, []Grant{{TemplateID: "tpl-security", Result: GrantAccept}}); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		states, _ = svc.RecordGrants(ctx, alice, []Grant{{TemplateID: "tpl-security", Result: GrantReject}})
		if states[0].Remaining != 5 {
			t.Errorf("after 5 accepts at once: %d left, want 5", states[0].Remaining)
		}
		for range MaxRemaining {
			states, _ = svc.RecordGrants(ctx, alice, []Grant{{TemplateID: "tpl-security", Result: GrantAccept}})
		}
		if states[0].Remaining != MaxRemaining {
			t.Errorf("after many accepts: %d left, want the cap %d", states[0].Remaining, MaxRemaining)
		}
	})
}

func TestPreferencesStored(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		svc, _ := newRig(t, s)
		ctx := context.Background()
		alice := person("s_alice")
		got, err := svc.Preferences(ctx, alice)
		if err != nil || got.Quiet.Set() || !got.WeChat[PolicyNews] {
			t.Fatalf("defaults %+v %v", got, err)
		}
		if _, err := svc.SetPreferences(ctx, alice, PreferencesUpdate{Quiet: QuietHours{From: "22:00", To: "08:00"},
			WeChat: map[string]bool{"reminders": false}}); err != nil {
			t.Fatal(err)
		}
		// An invalid update writes nothing.
		if _, err := svc.SetPreferences(ctx, alice, PreferencesUpdate{Quiet: QuietHours{From: "23:00", To: "23:00"},
			WeChat: map[string]bool{"policy_news": false}}); err == nil {
			t.Fatal("an empty window was accepted")
		}
		got, _ = svc.PreferencesOf(ctx, alice.Subject)
		want := Preferences{Quiet: QuietHours{From: "22:00", To: "08:00"},
			WeChat: map[Category]bool{CaseProgress: true, Reminders: false, PolicyNews: true, Security: true}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("stored (-want +got):\n%s", diff)
		}
		// Categories not named keep their choice; quiet hours cleared.
		got, _ = svc.SetPreferences(ctx, alice, PreferencesUpdate{WeChat: map[string]bool{"policy_news": false}})
		want = Preferences{WeChat: map[Category]bool{CaseProgress: true, Reminders: false, PolicyNews: false, Security: true}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("second update (-want +got):\n%s", diff)
		}
	})
}

// PostAll posts many messages in one statement: a key posted before, or
// twice in the list, is the message that holds it; PushedAll records each
// outcome and audits the final ones; PreferencesOfAll reads many people.
func TestPostAllAndPushedAll(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		svc, trail := newRig(t, s)
		ctx := context.Background()
		first, _, err := svc.Post(ctx, Post{Subject: "s_alice", Key: "1", Category: CaseProgress, Kind: "k", Content: []byte(`"a1"`)})
		if err != nil {
			t.Fatal(err)
		}
		msgs, created, err := svc.PostAll(ctx,
			Post{Subject: "s_alice", Key: "1", Category: CaseProgress, Kind: "k", Content: []byte(`"again"`)},
			Post{Subject: "s_alice", Key: "2", Category: Security, Kind: "k", Content: []byte(`"a2"`)},
			Post{Subject: "s_bob", Key: "1", Category: CaseProgress, Kind: "k", Content: []byte(`"b1"`)},
			Post{Subject: "s_bob", Key: "1", Category: CaseProgress, Kind: "k", Content: []byte(`"b1 twice"`)})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]bool{false, true, true, false}, created); diff != "" {
			t.Errorf("created (-want +got):\n%s", diff)
		}
		var contents []string
		for _, m := range msgs {
			contents = append(contents, string(m.Content))
		}
		if diff := cmp.Diff([]string{`"a1"`, `"a2"`, `"b1"`, `"b1"`}, contents); diff != "" {
			t.Errorf("contents (-want +got):\n%s", diff)
		}
		if msgs[0].ID != first.ID || msgs[2].ID != msgs[3].ID {
			t.Errorf("ids %v: a key posted before or twice is not the message that holds it", msgs)
		}
		if _, _, err := svc.PostAll(ctx, Post{Subject: "s_carol", Key: "1", Category: CaseProgress, Kind: "k"},
			Post{Subject: "s_carol", Key: "2", Category: "gossip", Kind: "k"}); err == nil {
			t.Error("a list with an unknown category was accepted")
		}
		if n, _ := svc.Unread(ctx, person("s_carol")); n != 0 {
			t.Errorf("carol has %d messages from a refused list, want none", n)
		}

		if err := svc.PushedAll(ctx, PushRecord{Message: msgs[0], Push: PushSent}, PushRecord{Message: msgs[1], Push: PushDeferred},
			PushRecord{Message: msgs[2], Push: PushNoGrant}); err != nil {
			t.Fatal(err)
		}
		var pushes []Push
		for _, m := range msgs[:3] {
			again, _, _ := svc.Post(ctx, Post{Subject: m.Subject, Key: map[string]string{first.ID: "1", msgs[1].ID: "2", msgs[2].ID: "1"}[m.ID],
				Category: CaseProgress, Kind: "k"})
			pushes = append(pushes, again.Push)
		}
		if diff := cmp.Diff([]Push{PushSent, PushDeferred, PushNoGrant}, pushes); diff != "" {
			t.Errorf("push states (-want +got):\n%s", diff)
		}
		got := strings.Join(trail.actions(), "\n")
		if !strings.Contains(got, "message.push message:"+msgs[0].ID+":sent ok") ||
			!strings.Contains(got, "message.push message:"+msgs[2].ID+":no_grant denied") || strings.Contains(got, msgs[1].ID) {
			t.Errorf("audit trail, want the sent and the no_grant pushes and not the deferred one:\n%s", got)
		}

		if _, err := svc.SetPreferences(ctx, person("s_bob"), PreferencesUpdate{WeChat: map[string]bool{"reminders": false}}); err != nil {
			t.Fatal(err)
		}
		prefs, err := svc.PreferencesOfAll(ctx, "s_alice", "s_bob")
		if err != nil {
			t.Fatal(err)
		}
		if len(prefs) != 2 || !prefs["s_alice"].WeChat[Reminders] || prefs["s_bob"].WeChat[Reminders] {
			t.Errorf("preferences %+v, want alice's defaults and bob without reminders", prefs)
		}
	})
}

// TakeGrants serves a batch in one statement: each message with a grant
// gets one, a person with fewer grants than messages has exactly as many
// sent, and a ban or no grant gives none.
func TestTakeGrants(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		svc, _ := newRig(t, s)
		ctx := context.Background()
		accept := func(subject string, times int, result GrantResult) {
			t.Helper()
			for range times {
				if _, err := svc.RecordGrants(ctx, person(subject), []Grant{{TemplateID: "tpl-case", Result: result}}); err != nil {
					t.Fatal(err)
				}
			}
		}
		accept("s_alice", 3, GrantAccept)
		accept("s_bob", 1, GrantAccept)
		accept("s_carol", 2, GrantAccept)
		accept("s_carol", 1, GrantBan)
		alice, bob := GrantWant{Subject: "s_alice", TemplateID: "tpl-case"}, GrantWant{Subject: "s_bob", TemplateID: "tpl-case"}
		took, err := svc.TakeGrants(ctx, alice, bob, GrantWant{Subject: "s_carol", TemplateID: "tpl-case"}, alice, bob,
			GrantWant{Subject: "s_dave", TemplateID: "tpl-case"}, GrantWant{Subject: "s_alice", TemplateID: "tpl-security"})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]bool{true, true, false, true, false, false, false}, took); diff != "" {
			t.Errorf("taken (-want +got):\n%s", diff)
		}
		left := func(subject string) int {
			t.Helper()
			var n int
			if err := s.QueryRow(ctx, `SELECT remaining FROM subscription_grants WHERE subject = $1 AND template_id = 'tpl-case'`, subject).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		if a, b := left("s_alice"), left("s_bob"); a != 1 || b != 0 {
			t.Errorf("left: alice %d, bob %d; want 1 and 0", a, b)
		}
		if took, err := svc.TakeGrants(ctx); err != nil || len(took) != 0 {
			t.Errorf("TakeGrants() = %v, %v", took, err)
		}

		// Ten batches at once, each wanting two of erin's four grants:
		// exactly four messages get one.
		accept("s_erin", 4, GrantAccept)
		erin := GrantWant{Subject: "s_erin", TemplateID: "tpl-case"}
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			sent int
		)
		for range 10 {
			wg.Go(func() {
				took, err := svc.TakeGrants(ctx, erin, erin)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				for _, ok := range took {
					if ok {
						sent++
					}
				}
			})
		}
		wg.Wait()
		if sent != 4 || left("s_erin") != 0 {
			t.Errorf("%d grants taken at once, %d left; want 4 and 0", sent, left("s_erin"))
		}
	})
}
