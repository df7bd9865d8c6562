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
	// pushedErr, when set, fails every PushedAll.
	pushedErr error
}

func newFakeInbox() *fakeInbox {
	return &fakeInbox{msgs: map[string]*inbox.Message{}, prefs: inbox.DefaultPreferences(), grants: map[string]int{}}
}

func (f *fakeInbox) PostAll(_ context.Context, ps ...inbox.Post) ([]inbox.Message, []bool, error) {
	var msgs []inbox.Message
	var created []bool
	for _, p := range ps {
		m, c := f.post(p)
		msgs, created = append(msgs, m), append(created, c)
	}
	return msgs, created, nil
}

func (f *fakeInbox) post(p inbox.Post) (inbox.Message, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := p.Subject + "/" + p.Key
	if m, ok := f.msgs[k]; ok {
		return *m, false
	}
	m := &inbox.Message{ID: fmt.Sprintf("msg_%024d", len(f.msgs)+1), Subject: p.Subject, Category: p.Category,
		Kind: p.Kind, Content: p.Content, Push: inbox.PushPending, CreatedAt: p.At}
	f.msgs[k] = m
	f.order = append(f.order, k)
	return *m, true
}

func (f *fakeInbox) PushedAll(_ context.Context, rs ...inbox.PushRecord) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.pushedErr != nil {
		return f.pushedErr
	}
next:
	for _, r := range rs {
		for _, x := range f.msgs {
			if x.ID == r.Message.ID {
				x.Push = r.Push
				continue next
			}
		}
		return fmt.Errorf("no message %s", r.Message.ID)
	}
	return nil
}

func (f *fakeInbox) PreferencesOfAll(_ context.Context, subjects ...string) (map[string]inbox.Preferences, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]inbox.Preferences{}
	for _, s := range subjects {
		out[s] = f.prefs
	}
	return out, nil
}

func (f *fakeInbox) TakeGrants(_ context.Context, wants ...inbox.GrantWant) ([]bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	took := make([]bool, len(wants))
	for i, w := range wants {
		if f.grants[w.TemplateID] > 0 {
			f.grants[w.TemplateID]--
			took[i] = true
		}
	}
	return took, nil
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
