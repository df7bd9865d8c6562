package notify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"handheld/services"
	"handheld/services/inbox"
	"handheld/services/kv"
	"handheld/services/notify"
	"handheld/services/reminder"
	"handheld/services/suite"
	"handheld/services/wechat"
	"handheld/services/wechat/wechattest"
	"handheld/templates"
)

const (
	alice       = "s_alice"
	aliceOpenID = "oOpenID-alice-0001"
)

// openids is the recipients fake: subject → openid, or an error for all,
// or for the subjects in broken.
type openids struct {
	m      map[string]string
	err    error
	broken map[string]bool
}

func (o openids) OpenIDs(_ context.Context, subjects ...string) (map[string]string, map[string]error, error) {
	if o.err != nil {
		return nil, nil, o.err
	}
	out, failed := map[string]string{}, map[string]error{}
	for _, s := range subjects {
		if o.broken[s] {
			failed[s] = errors.New("sealed openid does not open")
		} else if id, ok := o.m[s]; ok {
			out[s] = id
		}
	}
	return out, failed, nil
}

// syncBuffer is a log sink safe for the client's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// fixture is a Notifier sending through the real WeChat adapter to the
// fake WeChat, with the log it writes.
type fixture struct {
	n     *notify.Notifier
	wx    *wechattest.Server
	logs  *syncBuffer
	inbox *fakeInbox
	now   *time.Time
}

var clock = time.Date(2026, 11, 24, 6, 5, 0, 0, time.UTC) // 14:05 in Shanghai

func newFixture(t *testing.T, people openids) *fixture {
	t.Helper()
	srv := wechattest.NewServer(t)
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	client, err := wechat.New(wechat.Config{AppID: srv.AppID, AppSecret: srv.AppSecret, APIBase: srv.URL,
		Timeout: 2 * time.Second, Logger: log}, kv.NewMemory(time.Now, services.NewHashKey([]byte("notify-test-kv-secret-0123456789"), suite.Env())))
	if err != nil {
		t.Fatal(err)
	}
	tm, err := notify.LoadTemplates(templates.FS)
	if err != nil {
		t.Fatal(err)
	}
	// The shipped reminder rules' texts, as the wiring adds them.
	if tm, err = tm.WithReminders("reminders", reminder.Defaults().Templates()); err != nil {
		t.Fatal(err)
	}
	box := newFakeInbox()
	for _, id := range tm.TemplateIDs() {
		box.grants[id] = 100
	}
	now := clock
	n, err := notify.New(notify.Deps{Recipients: people, Sender: client, Templates: tm, Inbox: box, Logger: log,
		Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if strings.Contains(logs.String(), aliceOpenID) {
			t.Errorf("the log names an openid:\n%s", logs.String())
		}
	})
	return &fixture{n: n, wx: srv, logs: logs, inbox: box, now: &now}
}

func payload(t *testing.T, e notify.Event) []byte {
	t.Helper()
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var approved = notify.Event{Subject: alice, ApplicationID: "wd_01", CaseNumber: "WD20261124000042", Kind: "purchase",
	Status: "approved", AmountFen: 4_500_00, Locale: "zh-CN", At: clock}

func TestDeliverSendsOneMessage(t *testing.T) {
	f := newFixture(t, openids{m: map[string]string{alice: aliceOpenID}})
	if err := f.n.Deliver(context.Background(), payload(t, approved)); err != nil {
		t.Fatal(err)
	}
	en := approved
	en.Locale, en.Status, en.At = "en", "paid", time.Time{} // no time: the clock's
	if err := f.n.Deliver(context.Background(), payload(t, en)); err != nil {
		t.Fatal(err)
	}
	want := []wechattest.Sent{
		{ToOpenID: aliceOpenID, TemplateID: "hpf-withdrawal-status", Page: "pages/withdrawal/detail?id=wd_01", Lang: "zh_CN",
			Data: map[string]string{"character_string1": "WD20261124000042", "thing2": "购房提取", "amount3": "4,500.00元",
				"phrase4": "审核通过", "time5": "2026-11-24 14:05", "thing6": "审核通过，资金将尽快转入账户"}},
		{ToOpenID: aliceOpenID, TemplateID: "hpf-withdrawal-status-en", Page: "pages/withdrawal/detail?id=wd_01", Lang: "en_US",
			Data: map[string]string{"character_string1": "WD20261124000042", "thing2": "Home purchase", "amount3": "CNY 4,500.00",
				"thing4": "Paid", "time5": "2026-11-24 14:05", "thing6": "Paid to your account"}},
	}
	if diff := cmp.Diff(want, f.wx.Sent()); diff != "" {
		t.Errorf("sent (-want +got):\n%s", diff)
	}
}

func TestDeliverWithoutOpenIDSendsNothing(t *testing.T) {
	f := newFixture(t, openids{m: map[string]string{}})
	if err := f.n.Deliver(context.Background(), payload(t, approved)); err != nil {
		t.Fatalf("no openid: %v, want nil", err)
	}
	if n := f.wx.Calls(wechattest.Send); n != 0 {
		t.Errorf("%d sends, want none", n)
	}
	logs := f.logs.String()
	if !strings.Contains(logs, "level=INFO") || !strings.Contains(logs, "subject="+alice) || !strings.Contains(logs, "status=approved") {
		t.Errorf("log %q, want an INFO line with subject and status", logs)
	}
	if strings.Contains(logs, approved.CaseNumber) || strings.Contains(logs, "450000") {
		t.Errorf("log %q says more than subject and status", logs)
	}
}

func TestDeliverUndeliverablePayloads(t *testing.T) {
	f := newFixture(t, openids{m: map[string]string{alice: aliceOpenID}})
	unknownStatus := approved
	unknownStatus.Status = "lost"
	for name, p := range map[string][]byte{
		"not json":       []byte("not json"),
		"wrong type":     []byte(`{"subject": "s_alice", "amount_fen": "4500"}`),
		"empty":          nil,
		"unknown status": payload(t, unknownStatus),
	} {
		err := f.n.Deliver(context.Background(), p)
		if !errors.Is(err, notify.ErrUndeliverable) {
			t.Errorf("%s: %v, want ErrUndeliverable", name, err)
		}
	}
	if n := f.wx.Calls(wechattest.Send); n != 0 {
		t.Errorf("%d sends, want none", n)
	}
}

// WeChat trouble is returned for the outbox to retry, except the person's
// refusal (43101), which no retry cures.
func TestDeliverSenderFailures(t *testing.T) {
	f := newFixture(t, openids{m: map[string]string{alice: aliceOpenID}})
	ctx := context.Background()
	f.wx.FailNext(wechattest.Send, -1)
	err := f.n.Deliver(ctx, payload(t, approved))
	if err == nil || errors.Is(err, notify.ErrUndeliverable) || services.ErrorCode(err) != services.CodeWeChatUnavailable {
		t.Errorf("system busy: %v, want a retryable wechat.unavailable", err)
	}
	f.wx.FailNextStatus(wechattest.Send, 502)
	if err := f.n.Deliver(ctx, payload(t, approved)); err == nil || errors.Is(err, notify.ErrUndeliverable) {
		t.Errorf("502: %v, want a retryable error", err)
	}
	f.wx.FailNext(wechattest.Send, 43101)
	if err := f.n.Deliver(ctx, payload(t, approved)); !errors.Is(err, notify.ErrUndeliverable) {
		t.Errorf("refused: %v, want ErrUndeliverable", err)
	}
	if n := len(f.wx.Sent()); n != 0 {
		t.Errorf("%d messages accepted, want none", n)
	}
	// The refused message is settled: delivering it again sends nothing.
	if err := f.n.Deliver(ctx, payload(t, approved)); err != nil || len(f.wx.Sent()) != 0 {
		t.Errorf("refused message again: %v, %d sent; want nil, none", err, len(f.wx.Sent()))
	}
	next := approved
	next.ApplicationID = "wd_02"
	if err := f.n.Deliver(ctx, payload(t, next)); err != nil || len(f.wx.Sent()) != 1 {
		t.Errorf("after the failures: %v, %d sent; want nil, 1", err, len(f.wx.Sent()))
	}
}

// A refusal that cannot be put on record is retried, not parked unsaid;
// a message WeChat took is never sent twice for want of its record.
func TestDeliverOutcomeNotRecorded(t *testing.T) {
	f := newFixture(t, openids{m: map[string]string{alice: aliceOpenID}})
	down := errors.New("store: connection refused")
	f.inbox.pushedErr = down
	f.wx.FailNext(wechattest.Send, 43101)
	if err := f.n.Deliver(context.Background(), payload(t, approved)); !errors.Is(err, down) || errors.Is(err, notify.ErrUndeliverable) {
		t.Errorf("refused, not recorded: %v, want the store's error, retryable", err)
	}
	if err := f.n.Deliver(context.Background(), payload(t, approved)); err != nil || len(f.wx.Sent()) != 1 {
		t.Errorf("sent, not recorded: %v, %d sent; want nil, 1", err, len(f.wx.Sent()))
	}
}

func TestDeliverRecipientLookupFails(t *testing.T) {
	down := errors.New("store: connection refused")
	f := newFixture(t, openids{err: down})
	err := f.n.Deliver(context.Background(), payload(t, approved))
	if !errors.Is(err, down) || errors.Is(err, notify.ErrUndeliverable) {
		t.Errorf("%v, want the lookup error, retryable", err)
	}
	if n := f.wx.Calls(wechattest.Send); n != 0 {
		t.Errorf("%d sends, want none", n)
	}
}

// A batch answers each message on its own: a payload that cannot be read
// and a person whose binding cannot be read fail alone, the others go.
func TestDeliverAllAnswersEachMessage(t *testing.T) {
	const bob, carol = "s_bob", "s_carol"
	f := newFixture(t, openids{m: map[string]string{alice: aliceOpenID, bob: "oOpenID-bob-0002"}, broken: map[string]bool{carol: true}})
	bobs, carols := approved, approved
	bobs.Subject, bobs.ApplicationID = bob, "wd_02"
	carols.Subject, carols.ApplicationID = carol, "wd_03"
	errs := f.n.DeliverAll(context.Background(), payload(t, approved), []byte("not json"), payload(t, carols), payload(t, bobs))
	if len(errs) != 4 {
		t.Fatalf("%d answers for 4 messages", len(errs))
	}
	if errs[0] != nil || errs[3] != nil {
		t.Errorf("alice %v, bob %v; want both sent", errs[0], errs[3])
	}
	if !errors.Is(errs[1], notify.ErrUndeliverable) {
		t.Errorf("not json: %v, want ErrUndeliverable", errs[1])
	}
	if errs[2] == nil || errors.Is(errs[2], notify.ErrUndeliverable) {
		t.Errorf("carol's broken binding: %v, want a retryable error", errs[2])
	}
	var to []string
	for _, m := range f.wx.Sent() {
		to = append(to, m.ToOpenID)
	}
	slices.Sort(to)
	if diff := cmp.Diff([]string{aliceOpenID, "oOpenID-bob-0002"}, to); diff != "" {
		t.Errorf("sent to (-want +got):\n%s", diff)
	}
	// In the order posted: alice, carol (left pending for the retry), bob.
	if diff := cmp.Diff([]inbox.Push{inbox.PushSent, inbox.PushPending, inbox.PushSent}, f.inbox.pushes()); diff != "" {
		t.Errorf("push states (-want +got):\n%s", diff)
	}
}

func TestNewRequiresDependencies(t *testing.T) {
	tm, err := notify.LoadTemplates(templates.FS)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := notify.New(notify.Deps{Recipients: openids{}, Templates: tm}); err == nil {
		t.Error("New without a sender succeeded")
	}
	if _, err := notify.New(notify.Deps{Recipients: openids{}, Sender: &wechat.Client{}, Inbox: newFakeInbox()}); err == nil {
		t.Error("New without templates succeeded")
	}
	if _, err := notify.New(notify.Deps{Recipients: openids{}, Sender: &wechat.Client{}, Templates: tm}); err == nil {
		t.Error("New without an inbox succeeded")
	}
}
