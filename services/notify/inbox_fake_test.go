package notify_test

import (
	"context"
	"fmt"
	"sync"

	"handheld/services/inbox"
)

// fakeInbox is the mailbox fake: messages by key, one person's
// preferences, grants by template.
type fakeInbox struct {
	mu     sync.Mutex
	msgs   map[string]*inbox.Message
	order  []string
	prefs  inbox.Preferences
	grants map[string]int
}

func newFakeInbox() *fakeInbox {
	return &fakeInbox{msgs: map[string]*inbox.Message{}, prefs: inbox.DefaultPreferences(), grants: map[string]int{}}
}

func (f *fakeInbox) Post(_ context.Context, p inbox.Post) (inbox.Message, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := p.Subject + "/" + p.Key
	if m, ok := f.msgs[k]; ok {
		return *m, false, nil
	}
	m := &inbox.Message{ID: fmt.Sprintf("msg_%024d", len(f.msgs)+1), Subject: p.Subject, Category: p.Category,
		Kind: p.Kind, Content: p.Content, Push: inbox.PushPending, CreatedAt: p.At}
	f.msgs[k] = m
	f.order = append(f.order, k)
	return *m, true, nil
}

func (f *fakeInbox) Pushed(_ context.Context, m inbox.Message, push inbox.Push) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, x := range f.msgs {
		if x.ID == m.ID {
			x.Push = push
			return nil
		}
	}
	return fmt.Errorf("no message %s", m.ID)
}

func (f *fakeInbox) PreferencesOf(context.Context, string) (inbox.Preferences, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.prefs, nil
}

func (f *fakeInbox) TakeGrant(_ context.Context, _, templateID string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.grants[templateID] == 0 {
		return false, nil
	}
	f.grants[templateID]--
	return true, nil
}

func (f *fakeInbox) ReturnGrant(_ context.Context, _, templateID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.grants[templateID]++
	return nil
}

// pushes are the messages' push states, in the order posted.
func (f *fakeInbox) pushes() []inbox.Push {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]inbox.Push, 0, len(f.order))
	for _, k := range f.order {
		out = append(out, f.msgs[k].Push)
	}
	return out
}
