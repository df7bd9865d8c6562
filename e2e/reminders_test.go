package e2e

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"handheld/bff"
	"handheld/services/store"
)

// remindersOn switches the named shipped reminder rules on, and only
// those: the app's own schedule runs every enabled rule too, and another
// rule's message (the month's deposit, say) landing mid-test would be one
// the test did not ask for.
func remindersOn(codes ...string) option {
	return func(cfg *bff.Config) {
		for i := range cfg.Reminders {
			cfg.Reminders[i].Enabled = slices.Contains(codes, cfg.Reminders[i].Code)
		}
	}
}

// A demo persona gets the policy push in her inbox and, with a grant,
// through WeChat, once however often the rule runs; a persona the rule
// does not concern gets none, and a sealed account's reminder without a
// grant stays in the inbox. Inside quiet hours nothing goes through
// WeChat until they end. Every reminder is on the audit trail.
func TestRemindersInInboxAndThroughWeChat(t *testing.T) {
	t.Parallel()
	clock := &movableClock{}
	e := start(t, remindersOn("rent_cap_2027", "account_sealed"), clockFor(clock))
	ctx := context.Background()
	s, err := store.Open(ctx, e.cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// The app's own schedule runs both rules once at start, before anyone
	// has signed in (so it tells nobody), and not again this period; the
	// test's runs below are then the only ones that find people.
	waitFor(t, func() bool {
		var n int
		err := s.QueryRow(ctx, `SELECT COUNT(*) FROM scheduled_runs WHERE job IN ('reminder.rent_cap_2027', 'reminder.account_sealed') AND done_at IS NOT NULL`).Scan(&n)
		return err == nil && n == 2
	})
	const (
		policy   = "rent_cap_2027" // normal accounts
		template = "hpf-policy-news"
		openid   = "o-lina-reminders"
	)
	lina := e.bindWeChat(openid, e.persona("depositor", "李娜")).AccessToken
	e.grantWeChat(lina, template, 1)
	wang := e.bindWeChat("o-wangfang-reminders", e.persona("depositor", "王芳")).AccessToken // sealed for 7 months
	zhou := e.bindWeChat("o-zhouqiang-reminders", e.persona("depositor", "周强")).AccessToken
	e.grantWeChat(zhou, template, 1)
	now := clock.Now()
	quiet := map[string]any{"from": hhmm(now.Add(-time.Hour)), "to": hhmm(now.Add(time.Hour))}
	if r := e.do("PUT", "/api/v1/me/preferences", map[string]any{"quiet_hours": quiet}, bearer(zhou)); r.StatusCode != 200 {
		t.Fatalf("preferences: %d %s", r.StatusCode, r.body)
	}

	// The dry run: three signed-in people, two with a normal account, none told.
	rs := e.app.Reminders()
	dry, err := rs.DryRun(ctx, policy)
	if err != nil || dry.People != 3 || dry.Matched != 2 || dry.Written != 0 {
		t.Fatalf("dry run %+v %v, want 3 people, 2 matched, nothing written", dry, err)
	}
	for range 2 { // a second run tells nobody twice
		if _, err := rs.Run(ctx, policy); err != nil {
			t.Fatal(err)
		}
	}
	ms := e.waitMessages(lina, "?category=policy_news", func(ms []inboxMessage) bool {
		return len(ms) == 1 && ms[0].WeChat == "sent"
	})
	if m := ms[0]; m.Kind != policy || m.Title != "租房提取政策调整" || !strings.Contains(m.Body, "2,000") || m.Link != "pages/news/index" {
		t.Errorf("policy message %+v", m)
	}
	if n := countTemplate(e, openid, template); n != 1 {
		t.Errorf("%d policy messages through WeChat, want 1", n)
	}
	en := e.meGet("/api/v1/me/messages?category=policy_news&lang=en", lina)
	if !strings.Contains(string(en.body), "Rent withdrawal policy change") {
		t.Errorf("English: %s", en.body)
	}
	if ms := e.messages(wang, "?category=policy_news"); len(ms) != 0 {
		t.Errorf("the sealed account got the normal accounts' policy news: %+v", ms)
	}

	// Inside 周强's quiet hours: in the inbox, deferred; after them, sent.
	e.waitMessages(zhou, "?category=policy_news", func(ms []inboxMessage) bool {
		return len(ms) == 1 && ms[0].WeChat == "deferred"
	})
	if n := countTemplate(e, "o-zhouqiang-reminders", template); n != 0 {
		t.Fatalf("%d messages through WeChat inside quiet hours, want none", n)
	}

	// 王芳's account has been sealed for months: a reminder, inbox only.
	if rep, err := rs.Run(ctx, "account_sealed"); err != nil || rep.Matched != 1 {
		t.Fatalf("account_sealed: %+v %v", rep, err)
	}
	sealed := e.waitMessages(wang, "?category=reminders", func(ms []inboxMessage) bool {
		return len(ms) == 1 && ms[0].WeChat == "no_grant"
	})
	if !strings.Contains(sealed[0].Title, "封存") {
		t.Errorf("sealed reminder %+v", sealed[0])
	}

	clock.advance(2 * time.Hour) // 周强's quiet hours are over
	e.waitMessages(zhou, "?category=policy_news", func(ms []inboxMessage) bool {
		return len(ms) == 1 && ms[0].WeChat == "sent"
	})
	if n := countTemplate(e, "o-zhouqiang-reminders", template); n != 1 {
		t.Errorf("%d messages through WeChat after the quiet hours, want 1", n)
	}

	// Three reminders queued (two policy, one sealed), each on the audit trail.
	waitFor(t, func() bool {
		var n int
		err := s.QueryRow(ctx, `SELECT COUNT(*) FROM audit_log WHERE action = 'reminder.queued'`).Scan(&n)
		return err == nil && n == 3
	})
}
