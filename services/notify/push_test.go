package notify_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"handheld/services"
	"handheld/services/inbox"
	"handheld/services/notify"
	"handheld/services/outbox"
	"handheld/services/wechat/wechattest"
)

// at is a time of day in the centre's zone on the fixture's date.
func at(hh, mm int) time.Time {
	return time.Date(2026, 11, 24, hh, mm, 0, 0, services.CentreTime)
}

// A case event inside quiet hours that span midnight waits for their end;
// when the outbox delivers it again after that, it goes.
func TestDeliverDefersInQuietHours(t *testing.T) {
	f := newFixture(t, openids{m: map[string]string{alice: aliceOpenID}})
	f.inbox.prefs.Quiet = inbox.QuietHours{From: "22:00", To: "08:00"}
	ctx := context.Background()
	*f.now = at(23, 30)
	err := f.n.Deliver(ctx, payload(t, approved))
	if want := outbox.Again(8*time.Hour + 30*time.Minute); err == nil || err.Error() != want.Error() {
		t.Fatalf("in quiet hours: %v, want %v", err, want)
	}
	if n := f.wx.Calls(wechattest.Send); n != 0 {
		t.Errorf("%d sends in quiet hours, want none", n)
	}
	if diff := cmp.Diff([]inbox.Push{inbox.PushDeferred}, f.inbox.pushes()); diff != "" {
		t.Errorf("inbox (-want +got):\n%s", diff)
	}
	*f.now = at(7, 59).AddDate(0, 0, 1) // still quiet, the next morning
	if err := f.n.Deliver(ctx, payload(t, approved)); err == nil || err.Error() != outbox.Again(time.Minute).Error() {
		t.Fatalf("a minute before the end: %v, want again in 1m", err)
	}
	*f.now = at(8, 0).AddDate(0, 0, 1)
	if err := f.n.Deliver(ctx, payload(t, approved)); err != nil {
		t.Fatalf("after quiet hours: %v", err)
	}
	if n := len(f.wx.Sent()); n != 1 {
		t.Errorf("%d sent after quiet hours, want 1", n)
	}
	if diff := cmp.Diff([]inbox.Push{inbox.PushSent}, f.inbox.pushes()); diff != "" {
		t.Errorf("inbox (-want +got):\n%s", diff)
	}
}

// A security notice goes at any hour.
func TestDeliverSecurityIgnoresQuietHours(t *testing.T) {
	f := newFixture(t, openids{m: map[string]string{alice: aliceOpenID}})
	f.inbox.prefs.Quiet = inbox.QuietHours{From: "00:00", To: "23:59"}
	*f.now = at(12, 0)
	signIn := notify.Event{Subject: alice, Notice: notify.NoticeSignIn, Category: inbox.Security, ID: "n1", At: at(12, 0)}
	if err := f.n.Deliver(context.Background(), payload(t, signIn)); err != nil {
		t.Fatal(err)
	}
	sent := f.wx.Sent()
	if len(sent) != 1 || sent[0].TemplateID != "hpf-security-notice" || sent[0].Data["time2"] != "2026-11-24 12:00" {
		t.Errorf("sent %+v, want one security notice at 12:00", sent)
	}
}

// Without a grant nothing goes through WeChat; each grant carries one
// message; the inbox has every message either way.
func TestDeliverSpendsOneGrantPerMessage(t *testing.T) {
	f := newFixture(t, openids{m: map[string]string{alice: aliceOpenID}})
	f.inbox.grants = map[string]int{"hpf-withdrawal-status": 1}
	ctx := context.Background()
	for _, status := range []string{"accepted", "approved", "paid"} {
		e := approved
		e.Status = status
		if err := f.n.Deliver(ctx, payload(t, e)); err != nil {
			t.Fatalf("%s: %v", status, err)
		}
	}
	if n := len(f.wx.Sent()); n != 1 {
		t.Errorf("%d sent with one grant, want 1", n)
	}
	want := []inbox.Push{inbox.PushSent, inbox.PushNoGrant, inbox.PushNoGrant}
	if diff := cmp.Diff(want, f.inbox.pushes()); diff != "" {
		t.Errorf("inbox (-want +got):\n%s", diff)
	}
	if f.inbox.grants["hpf-withdrawal-status"] != 0 {
		t.Errorf("grants left %d, want 0", f.inbox.grants["hpf-withdrawal-status"])
	}
}

// A send that may pass on a retry gives its grant back for the retry.
func TestDeliverReturnsGrantOnRetryableFailure(t *testing.T) {
	f := newFixture(t, openids{m: map[string]string{alice: aliceOpenID}})
	f.inbox.grants = map[string]int{"hpf-withdrawal-status": 1}
	ctx := context.Background()
	f.wx.FailNext(wechattest.Send, -1)
	if err := f.n.Deliver(ctx, payload(t, approved)); err == nil || errors.Is(err, notify.ErrUndeliverable) {
		t.Fatalf("busy: %v, want a retryable error", err)
	}
	if g := f.inbox.grants["hpf-withdrawal-status"]; g != 1 {
		t.Fatalf("grants after a failed send %d, want 1", g)
	}
	if err := f.n.Deliver(ctx, payload(t, approved)); err != nil || len(f.wx.Sent()) != 1 {
		t.Fatalf("retry: %v, %d sent; want nil, 1", err, len(f.wx.Sent()))
	}
	// Delivered again (at least once): the inbox knows it went.
	if err := f.n.Deliver(ctx, payload(t, approved)); err != nil || len(f.wx.Sent()) != 1 {
		t.Errorf("redelivery: %v, %d sent; want nil, 1", err, len(f.wx.Sent()))
	}
}

// A category the person keeps out of WeChat stays in the inbox only.
func TestDeliverRespectsCategoryPreference(t *testing.T) {
	f := newFixture(t, openids{m: map[string]string{alice: aliceOpenID}})
	f.inbox.prefs.WeChat[inbox.CaseProgress] = false
	if err := f.n.Deliver(context.Background(), payload(t, approved)); err != nil {
		t.Fatal(err)
	}
	if n := f.wx.Calls(wechattest.Send); n != 0 {
		t.Errorf("%d sends, want none", n)
	}
	if diff := cmp.Diff([]inbox.Push{inbox.PushOff}, f.inbox.pushes()); diff != "" {
		t.Errorf("inbox (-want +got):\n%s", diff)
	}
}

func TestDeliverRefusesUnknownCategoryAndNotice(t *testing.T) {
	f := newFixture(t, openids{m: map[string]string{alice: aliceOpenID}})
	for name, e := range map[string]notify.Event{
		"category": {Subject: alice, Notice: notify.NoticeSignIn, Category: "gossip", ID: "n2"},
		"notice":   {Subject: alice, Notice: "lottery_win", ID: "n3"},
	} {
		if err := f.n.Deliver(context.Background(), payload(t, e)); !errors.Is(err, notify.ErrUndeliverable) {
			t.Errorf("%s: %v, want ErrUndeliverable", name, err)
		}
	}
	if len(f.inbox.pushes()) != 0 {
		t.Errorf("inbox has %d messages, want none", len(f.inbox.pushes()))
	}
}
