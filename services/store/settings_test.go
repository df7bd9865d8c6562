package store_test

import (
	"fmt"
	"os"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"handheld/services/store"
	"handheld/services/store/storetest"
)

// The first value stored is the value for good, whoever asks later and
// with whatever initial value, and two first callers at once agree.
func TestSettingIsFixedByTheFirstCaller(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		var wg sync.WaitGroup
		got := make([]string, 8)
		for i := range got {
			wg.Go(func() {
				initial := "sm"
				if i%2 == 1 {
					initial = "intl"
				}
				v, err := s.Setting(t.Context(), "keyed_hash", initial)
				if err != nil {
					t.Error(err)
				}
				got[i] = v
			})
		}
		wg.Wait()
		for _, v := range got[1:] {
			if v != got[0] || v == "" {
				t.Fatalf("callers disagree: %v", got)
			}
		}
		if v, err := s.Setting(t.Context(), "keyed_hash", "other"); err != nil || v != got[0] {
			t.Errorf("later Setting = %q, %v; want %q", v, err, got[0])
		}
	})
}

// A store that already held people when migration 0036 came had keyed
// them with HMAC-SHA-256: it stays intl, whatever the suite of the start
// that migrates it. An empty store is the first start's to choose.
func TestKeyedHashOfAStoreThatHeldPeople(t *testing.T) {
	before := fstest.MapFS{}
	entries, err := os.ReadDir("migrations")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() < "0036" {
			b, err := os.ReadFile("migrations/" + e.Name())
			if err != nil {
				t.Fatal(err)
			}
			before[e.Name()] = &fstest.MapFile{Data: b}
		}
	}
	for _, b := range storetest.Backends() {
		for _, people := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/people=%v", b.Name, people), func(t *testing.T) {
				t.Parallel()
				s := storetest.Open(t, b.DSN(t))
				if err := s.MigrateFS(t.Context(), before); err != nil {
					t.Fatal(err)
				}
				if people {
					if _, err := s.Exec(t.Context(), `INSERT INTO subjects (subject_id, person_id, created_at) VALUES ($1, $2, $3)`,
						"s1", "p1", time.Now().UTC()); err != nil {
						t.Fatal(err)
					}
				}
				if err := s.Migrate(t.Context()); err != nil {
					t.Fatal(err)
				}
				v, err := s.Setting(t.Context(), "keyed_hash", "sm")
				if want := map[bool]string{true: "intl", false: "sm"}[people]; err != nil || v != want {
					t.Errorf("keyed_hash = %q, %v; want %q", v, err, want)
				}
			})
		}
	}
}
