package identity_test

import (
	"context"
	"maps"
	"testing"
	"time"

	"handheld/services/store"
	"handheld/services/store/storetest"
)

// PersonIDs answers for many subjects in one query, leaves out the ones it
// does not know, and remembers what it read as PersonID does.
func TestPersonIDsOfMany(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		f := newWeChatFixture(t, s)
		ctx := context.Background()
		for subject, person := range map[string]string{"s_alice": "P-ALICE", "s_bob": "P-BOB"} {
			if _, err := s.Exec(ctx, `INSERT INTO subjects (subject_id, person_id, created_at) VALUES ($1, $2, $3)`, subject, person, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		want := map[string]string{"s_alice": "P-ALICE", "s_bob": "P-BOB"}
		got, err := f.svc.PersonIDs(ctx, []string{"s_bob", "s_nobody", "s_alice", "s_bob"})
		if err != nil || !maps.Equal(got, want) {
			t.Fatalf("PersonIDs = %v, %v; want %v", got, err, want)
		}
		if _, err := s.Exec(ctx, `DELETE FROM subjects`); err != nil {
			t.Fatal(err)
		}
		if got, err := f.svc.PersonIDs(ctx, []string{"s_alice", "s_bob"}); err != nil || !maps.Equal(got, want) {
			t.Errorf("remembered: %v, %v; want %v", got, err, want)
		}
		if id, err := f.svc.PersonID(ctx, "s_alice"); err != nil || id != "P-ALICE" {
			t.Errorf("PersonID after PersonIDs = %q, %v", id, err)
		}
		if got, err := f.svc.PersonIDs(ctx, nil); err != nil || len(got) != 0 {
			t.Errorf("no subjects: %v, %v", got, err)
		}
	})
}
