package e2e

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"handheld/bff"
	"handheld/services"
	"handheld/services/store"
)

// The WeChat templates the shipped notification texts use (zh-CN).
const (
	caseTemplate     = "hpf-withdrawal-status"
	securityTemplate = "hpf-security-notice"
)

// movableClock is the message centre's clock in a test: the system clock
// plus an offset the test moves forward, so that everything keeps running
// while the quiet hours pass.
type movableClock struct{ offset atomic.Int64 }

func (c *movableClock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

func (c *movableClock) advance(d time.Duration) { c.offset.Add(int64(d)) }

type inboxMessage struct {
	ID       string `json:"id"`
	Category string `json:"category"`
	Kind     string `json:"kind"`
	Title    string `json:"title"`
	Body     string `json:"body"`
	Link     string `json:"link"`
	Read     bool   `json:"read"`
	WeChat   string `json:"wechat"`
}

// messages lists tok's messages with query ("" or "?category=...").
func (e *env) messages(tok, query string) []inboxMessage {
	e.t.Helper()
	r := e.meGet("/api/v1/me/messages"+query, tok)
	if r.StatusCode != 200 {
		e.t.Fatalf("messages%s: %d %s", query, r.StatusCode, r.body)
	}
	var page struct {
		Items []inboxMessage `json:"items"`
	}
	r.json(e.t, &page)
	return page.Items
}

// waitMessages waits until tok's messages in query satisfy ok.
func (e *env) waitMessages(tok, query string, ok func([]inboxMessage) bool) []inboxMessage {
	e.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		r := e.meGet("/api/v1/me/messages"+query, tok)
		if r.StatusCode == http.StatusTooManyRequests {
			time.Sleep(time.Second) // polled faster than a person reads: wait as the client would
			continue
		}
		if r.StatusCode != http.StatusOK {
			e.t.Fatalf("messages%s: %d %s", query, r.StatusCode, r.body)
		}
		var page struct {
			Items []inboxMessage `json:"items"`
		}
		r.json(e.t, &page)
		if ok(page.Items) {
			return page.Items
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("messages%s: %+v, still not as wanted", query, page.Items)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// grantWeChat records n accepted one-time subscriptions of template.
func (e *env) grantWeChat(tok, template string, n int) {
	e.t.Helper()
	for range n {
		r := e.do("POST", "/api/v1/me/subscriptions", map[string]any{
			"templates": []map[string]string{{"template_id": template, "result": "accept"}}}, bearer(tok))
		if r.StatusCode != 200 {
			e.t.Fatalf("subscriptions: %d %s", r.StatusCode, r.body)
		}
	}
}

// pushes maps each message kind to what became of its WeChat copy.
func pushes(ms []inboxMessage) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		out[m.Kind] = m.WeChat
	}
	return out
}

// settled reports that the three case messages of a paid withdrawal are
// in and each has a final WeChat outcome.
func settled(ms []inboxMessage) bool {
	p := pushes(ms)
	for _, k := range []string{"accepted", "approved", "paid"} {
		if p[k] == "" || p[k] == "pending" || p[k] == "deferred" {
			return false
		}
	}
	return true
}

// A demo persona's withdrawal fills her inbox with its case progress; the
// one grant she gave carries one message through WeChat, the rest stay in
// the inbox only. Another person cannot touch her messages.
func TestMessagesFromWithdrawal(t *testing.T) {
	t.Parallel()
	e := start(t, fastWithdrawals)
	lina := e.persona("depositor", "李娜")
	tok := e.bindWeChat("o-lina-messages", lina).AccessToken
	e.grantWeChat(tok, caseTemplate, 1)

	r := e.apply(tok, "msg-rent-1", rent(150_000, payoutTo(t, lina, "bank_card")))
	if r.StatusCode != 202 {
		t.Fatalf("apply %d %s", r.StatusCode, r.body)
	}
	var acc accepted
	r.json(t, &acc)
	e.waitStatus(tok, acc.ID, "paid")
	cases := e.waitMessages(tok, "?category=case_progress", settled)
	if len(cases) != 3 {
		t.Fatalf("case messages %+v, want accepted, approved, paid", cases)
	}
	if got := pushes(cases); got["accepted"] != "sent" || got["approved"] != "no_grant" || got["paid"] != "no_grant" {
		t.Errorf("WeChat outcomes %v: want the first sent on the one grant, the others kept in the inbox", got)
	}
	paid := cases[0] // newest first
	if paid.Kind != "paid" || !strings.Contains(paid.Body, acc.CaseNumber) || paid.Link != "pages/withdrawal/detail?id="+acc.ID {
		t.Errorf("newest message %+v: want the payout, naming the case and linking to it", paid)
	}
	if got := sentFor(e, acc.ID); len(got) != 1 {
		t.Errorf("%d WeChat messages about the application, want 1 (one grant)", len(got))
	}
	// English on request, rendered when read.
	en := e.meGet("/api/v1/me/messages?category=case_progress&lang=en", tok)
	if !strings.Contains(string(en.body), "Rent") {
		t.Errorf("English list: %s", en.body)
	}

	// The binding itself is a security message, in the inbox too.
	security := e.waitMessages(tok, "?category=security", func(ms []inboxMessage) bool { return len(ms) == 1 && ms[0].WeChat != "pending" })
	if security[0].Kind != "binding_changed" || security[0].WeChat != "no_grant" {
		t.Errorf("security message %+v", security[0])
	}

	var home struct {
		UnreadMessages *int `json:"unread_messages"`
	}
	e.meGet("/api/v1/me/home", tok).json(t, &home)
	if home.UnreadMessages == nil || *home.UnreadMessages != 4 {
		t.Errorf("home unread %v, want 4", home.UnreadMessages)
	}
	if r := e.do("POST", "/api/v1/me/messages/"+paid.ID+"/read", nil, bearer(tok)); r.StatusCode != 204 {
		t.Fatalf("read: %d %s", r.StatusCode, r.body)
	}
	if r := e.do("POST", "/api/v1/me/messages/"+paid.ID+"/read", nil, bearer(tok)); r.StatusCode != 204 {
		t.Errorf("read again: %d %s", r.StatusCode, r.body)
	}
	if unread := e.messages(tok, "?unread=true"); len(unread) != 3 {
		t.Errorf("%d unread after reading one, want 3", len(unread))
	}
	e.meGet("/api/v1/me/home", tok).json(t, &home)
	if home.UnreadMessages == nil || *home.UnreadMessages != 3 {
		t.Errorf("home unread %v after reading one, want 3", home.UnreadMessages)
	}

	// Another person: her message is not found, and his are his own.
	other := e.bindWeChat("o-ouyang-messages", e.persona("depositor", "欧阳晓峰")).AccessToken
	for _, id := range []string{paid.ID, security[0].ID} {
		wantProblem(t, e.do("POST", "/api/v1/me/messages/"+id+"/read", nil, bearer(other)), 404, "message.not_found")
	}
	theirs := e.waitMessages(other, "", func(ms []inboxMessage) bool { return len(ms) == 1 })
	if theirs[0].Kind != "binding_changed" {
		t.Errorf("his messages %+v", theirs)
	}
	if unread := e.messages(tok, "?unread=true"); len(unread) != 3 {
		t.Errorf("%d unread after his attempts, want still 3", len(unread))
	}

	// Every push, and every decision not to push, is on the audit trail.
	s, err := store.Open(context.Background(), e.cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, m := range append(cases, security[0]) {
		var result string
		waitFor(t, func() bool {
			err := s.QueryRow(context.Background(), `SELECT result FROM audit_log WHERE action = 'message.push' AND target = $1`,
				"message:"+m.ID+":"+m.WeChat).Scan(&result)
			return err == nil
		})
		if want := map[bool]string{true: "ok", false: "denied"}[m.WeChat == "sent"]; result != want {
			t.Errorf("audit of %s (%s): %s, want %s", m.Kind, m.WeChat, result, want)
		}
	}
}

// clockFor is an option giving the app the movable clock.
func clockFor(c *movableClock) option { return func(cfg *bff.Config) { cfg.Clock = c } }

// hhmm is t's time of day in the centre's zone.
func hhmm(t time.Time) string { return t.In(services.CentreTime).Format("15:04") }

// Inside quiet hours nothing about the case goes through WeChat, though
// the inbox has it at once; a new sign-in (security) goes all the same.
// When the hours end, the deferred messages go.
func TestMessagesQuietHoursDeferUntilTheyEnd(t *testing.T) {
	t.Parallel()
	clock := &movableClock{}
	e := start(t, fastWithdrawals, clockFor(clock))
	lina := e.persona("depositor", "李娜")
	const openid = "o-lina-quiet"
	tok := e.bindWeChat(openid, lina).AccessToken
	e.grantWeChat(tok, caseTemplate, 3)
	e.grantWeChat(tok, securityTemplate, 1)
	now := clock.Now()
	quiet := map[string]any{"from": hhmm(now.Add(-time.Hour)), "to": hhmm(now.Add(time.Hour))}
	r := e.do("PUT", "/api/v1/me/preferences", map[string]any{"quiet_hours": quiet}, bearer(tok))
	if r.StatusCode != 200 {
		t.Fatalf("preferences: %d %s", r.StatusCode, r.body)
	}

	r = e.apply(tok, "quiet-rent-1", rent(150_000, payoutTo(t, lina, "bank_card")))
	if r.StatusCode != 202 {
		t.Fatalf("apply %d %s", r.StatusCode, r.body)
	}
	var acc accepted
	r.json(t, &acc)
	e.waitStatus(tok, acc.ID, "paid")
	e.waitMessages(tok, "?category=case_progress", func(ms []inboxMessage) bool {
		p := pushes(ms)
		return len(ms) == 3 && p["accepted"] == "deferred" && p["approved"] == "deferred" && p["paid"] == "deferred"
	})

	// A new sign-in during the quiet hours: told at once.
	r = e.do("POST", "/api/v1/auth/wechat", map[string]string{"code": e.wechatCode(openid)}, nil)
	if r.StatusCode != 200 {
		t.Fatalf("sign-in %d %s", r.StatusCode, r.body)
	}
	waitFor(t, func() bool { return countTemplate(e, openid, securityTemplate) == 1 })
	if n := countTemplate(e, openid, caseTemplate); n != 0 {
		t.Fatalf("%d case messages through WeChat inside quiet hours, want none", n)
	}

	clock.advance(2 * time.Hour) // the quiet hours are over
	e.waitMessages(tok, "?category=case_progress", settled)
	if got := pushes(e.messages(tok, "?category=case_progress")); got["accepted"] != "sent" || got["approved"] != "sent" || got["paid"] != "sent" {
		t.Errorf("after the quiet hours: %v, want all sent", got)
	}
	if n := countTemplate(e, openid, caseTemplate); n != 3 {
		t.Errorf("%d case messages through WeChat after the quiet hours, want 3", n)
	}
}

// countTemplate counts the WeChat messages of template sent to openid.
func countTemplate(e *env, openid, template string) int {
	n := 0
	for _, s := range e.wechat.Sent() {
		if s.ToOpenID == openid && s.TemplateID == template {
			n++
		}
	}
	return n
}

// Every bad input of the message centre is a 4xx problem and writes
// nothing.
func TestMessagePreferencesAndSubscriptionsRefused(t *testing.T) {
	t.Parallel()
	e := start(t)
	tok := e.bindWeChat("o-zhang-prefs", e.persona("depositor", "")).AccessToken
	b := e.bad()
	put := func(body any) *response { return b.do("PUT", "/api/v1/me/preferences", body, bearer(tok)) }
	for name, tc := range map[string]struct {
		body   any
		status int
		code   string
	}{
		"hour 25":          {map[string]any{"quiet_hours": map[string]string{"from": "25:00", "to": "08:00"}}, 400, "request.invalid"},
		"equal hours":      {map[string]any{"quiet_hours": map[string]string{"from": "22:00", "to": "22:00"}}, 400, "request.invalid"},
		"one digit":        {map[string]any{"quiet_hours": map[string]string{"from": "8:00", "to": "22:00"}}, 400, "request.invalid"},
		"no end":           {map[string]any{"quiet_hours": map[string]string{"from": "22:00"}}, 400, "request.invalid"},
		"hours as string":  {map[string]any{"quiet_hours": "22:00-08:00"}, 400, "request.invalid"},
		"unknown category": {map[string]any{"categories": map[string]any{"gossip": map[string]bool{"wechat": false}}}, 400, "request.invalid"},
		"no choice":        {map[string]any{"categories": map[string]any{"reminders": map[string]bool{}}}, 400, "request.invalid"},
		"security off": {map[string]any{"quiet_hours": map[string]string{"from": "22:00", "to": "08:00"},
			"categories": map[string]any{"security": map[string]bool{"wechat": false}}}, 422, "preferences.security_required"},
		"unknown field": {map[string]any{"dnd": true}, 400, "request.unknown_field"},
		"malformed":     {"{", 400, "request.malformed_json"},
	} {
		t.Run(name, func(t *testing.T) {
			r := put(tc.body)
			wantProblem(t, r, tc.status, tc.code)
		})
	}
	if r := b.do("PUT", "/api/v1/me/preferences", "{}", withContentType(tok, "text/plain")); r.StatusCode != 415 {
		t.Errorf("text/plain: %d", r.StatusCode)
	}
	var prefs struct {
		QuietHours *struct{ From, To string } `json:"quiet_hours"`
		Categories map[string]struct {
			WeChat bool `json:"wechat"`
		} `json:"categories"`
	}
	e.meGet("/api/v1/me/preferences", tok).json(t, &prefs)
	if prefs.QuietHours != nil || !prefs.Categories["security"].WeChat || !prefs.Categories["reminders"].WeChat || len(prefs.Categories) != 4 {
		t.Errorf("preferences after refused changes %+v: want the defaults", prefs)
	}

	sub := func(templates ...map[string]string) *response {
		return b.do("POST", "/api/v1/me/subscriptions", map[string]any{"templates": templates}, bearer(tok))
	}
	accept := func(id string) map[string]string { return map[string]string{"template_id": id, "result": "accept"} }
	wantProblem(t, sub(accept("tpl-nobody-configured")), 422, "subscription.template_unknown")
	wantProblem(t, sub(accept(caseTemplate), accept("tpl-nobody-configured")), 422, "subscription.template_unknown")
	wantProblem(t, sub(map[string]string{"template_id": caseTemplate, "result": "maybe"}), 400, "request.invalid")
	wantProblem(t, sub(accept(caseTemplate), accept(caseTemplate)), 400, "request.invalid")
	wantProblem(t, sub(), 400, "request.invalid")
	wantProblem(t, b.do("POST", "/api/v1/me/subscriptions", `{"templates": "all"}`, bearer(tok)), 400, "request.invalid")
	// None of those wrote a grant: the first accept is the only one.
	r := e.do("POST", "/api/v1/me/subscriptions", map[string]any{"templates": []map[string]string{accept(caseTemplate)}}, bearer(tok))
	if r.StatusCode != 200 || !strings.Contains(string(r.body), `"remaining":1`) {
		t.Errorf("first good grant: %d %s, want remaining 1", r.StatusCode, r.body)
	}

	for q, code := range map[string]string{"?category=gossip": "request.invalid", "?unread=maybe": "request.invalid",
		"?cursor=bm90LWEtY3Vyc29y": "request.invalid", "?limit=1000": "request.invalid"} {
		wantProblem(t, b.meGet("/api/v1/me/messages"+q, tok), 400, code)
	}
	for _, id := range []string{"msg_000000000000000000000000", "nope", strings.Repeat("a", 64)} {
		wantProblem(t, e.do("POST", "/api/v1/me/messages/"+id+"/read", nil, bearer(tok)), 404, "message.not_found")
	}
	if r := b.do("GET", "/api/v1/me/messages", nil, nil); r.StatusCode != 401 {
		t.Errorf("without a token: %d", r.StatusCode)
	}
}

// withContentType is bearer(tok) with a content type.
func withContentType(tok, contentType string) http.Header {
	h := bearer(tok)
	h.Set("Content-Type", contentType)
	return h
}
