package identity_test

import (
	"context"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"handheld/services/identity"
	"handheld/services/notify"
	"handheld/services/store"
	"handheld/services/store/storetest"
)

// notices records the security notices identity queues.
type notices struct {
	mu   sync.Mutex
	sent []string // "notice subject"
}

func (n *notices) Notice(_ context.Context, subject, notice string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.sent = append(n.sent, notice+" "+subject)
	return nil
}

// A binding and every later sign-in tell the person (security messages);
// a login that only hands out a binding token tells no one.
func TestSecurityNoticesOnBindAndSignIn(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		n := &notices{}
		f := newWeChatFixture(t, s, func(d *identity.Deps) { d.Notices = n })
		f.bind(t, openidA, idAlice)
		subject := f.subject(t, openidA) // a sign-in
		want := []string{notify.NoticeBindingChanged + " " + subject, notify.NoticeSignIn + " " + subject}
		n.mu.Lock()
		defer n.mu.Unlock()
		if diff := cmp.Diff(want, n.sent); diff != "" {
			t.Errorf("notices (-want +got):\n%s", diff)
		}
	})
}
