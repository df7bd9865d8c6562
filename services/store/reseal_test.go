package store_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"testing"
	"time"

	"handheld/services/seal"
	"handheld/services/store"
	"handheld/services/store/storetest"
)

var (
	payloads  = store.SealedColumn{Table: "outbox", Key: []string{"id"}, Column: "payload"}
	comments  = store.SealedColumn{Table: "ratings", Key: []string{"case_id"}, Column: "comment", Text: true}
	responses = store.SealedColumn{Table: "idempotency_keys", Key: []string{"scope", "key"}, Column: "response"}
)

// Rows written in clear (before migration 0010) and rows sealed under an
// old key all end under the current key, in batches smaller than the
// table, with every value as it was; a value that does not open is
// reported and left alone; a second run finds nothing to do.
func TestResealMovesEveryRowToTheCurrentKey(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		oldKey, newKey := key(), key()
		oldRing, _ := seal.NewRing("sealing-20260101-00000001", map[string][]byte{"sealing-20260101-00000001": oldKey})
		ring, _ := seal.NewRing("sealing-20260201-00000002", map[string][]byte{
			"sealing-20260101-00000001": oldKey, "sealing-20260201-00000002": newKey})
		old := s.WithSealer(oldRing)
		now := time.Now()
		want := map[string]string{}
		for i := range 7 {
			id := fmt.Sprintf("m%02d", i)
			plain := []byte(fmt.Sprintf(`{"card":"62220212020051287%02d"}`, i))
			want[id] = string(plain)
			v := plain
			if i%2 == 1 { // every other row sealed under the old key
				v, _ = old.Seal(plain, payloads.Place(id))
			}
			mustExec(t, s, `INSERT INTO outbox (id, topic, payload, next_attempt_at, created_at) VALUES ($1, 't', $2, $3, $3)`, id, v, now)
		}
		mustExec(t, s, `INSERT INTO ratings (case_id, case_kind, subject, level, comment, created_at) VALUES
			('c1', 'withdrawal', 's1', 5, '电话 13858107326', $1), ('c2', 'withdrawal', 's1', 4, '', $1)`, now)
		for i, scope := range []string{"s1", "s1", "s2"} {
			mustExec(t, s, `INSERT INTO idempotency_keys (scope, key, request_hash, status, response, created_at)
				VALUES ($1, $2, 'h', 201, $3, $4)`, scope, fmt.Sprintf("k%d", i), []byte(`{"name":"张伟"}`), now)
		}
		broken, _ := old.Seal([]byte("x"), payloads.Place("elsewhere"))
		mustExec(t, s, `INSERT INTO outbox (id, topic, payload, next_attempt_at, created_at) VALUES ('zz', 't', $1, $2, $2)`, broken, now)

		s = s.WithSealer(ring)
		reps, err := s.Reseal(ctx, []store.SealedColumn{payloads, comments, responses}, false, 2)
		if err != nil {
			t.Fatal(err)
		}
		got := fmt.Sprintf("%+v", [][3]int{{reps[0].Sealed, reps[0].Resealed, reps[0].Failed},
			{reps[1].Sealed, reps[1].Resealed, reps[1].Failed}, {reps[2].Sealed, reps[2].Resealed, reps[2].Failed}})
		if got != "[[4 3 1] [1 0 0] [3 0 0]]" {
			t.Fatalf("reports %s (%+v), want payloads 4 sealed 3 resealed 1 failed, 1 comment, 3 responses", got, reps)
		}
		for id, plain := range want {
			var v []byte
			if err := s.QueryRow(ctx, `SELECT payload FROM outbox WHERE id = $1`, id).Scan(&v); err != nil {
				t.Fatal(err)
			}
			if kid, _ := ring.KeyID(v); kid != ring.Current() {
				t.Errorf("%s under %q, want the current key", id, kid)
			}
			if opened, err := s.Open(v, payloads.Place(id)); err != nil || string(opened) != plain {
				t.Errorf("%s opens to %q, %v; want %q", id, opened, err, plain)
			}
		}
		var left []byte
		if err := s.QueryRow(ctx, `SELECT payload FROM outbox WHERE id = 'zz'`).Scan(&left); err != nil || !bytes.Equal(left, broken) {
			t.Errorf("a value that does not open was rewritten: %v", err)
		}
		var empty, comment string
		_ = s.QueryRow(ctx, `SELECT comment FROM ratings WHERE case_id = 'c2'`).Scan(&empty)
		_ = s.QueryRow(ctx, `SELECT comment FROM ratings WHERE case_id = 'c1'`).Scan(&comment)
		if empty != "" || strings.Contains(comment, "138") {
			t.Errorf("comments: empty %q, sealed %q", empty, comment)
		}
		var resp []byte
		_ = s.QueryRow(ctx, `SELECT response FROM idempotency_keys WHERE scope = 's1' AND key = 'k1'`).Scan(&resp)
		if opened, err := s.Open(resp, responses.Place("s1", "k1")); err != nil || string(opened) != `{"name":"张伟"}` {
			t.Errorf("response opens to %q, %v", opened, err)
		}
		again, err := s.Reseal(ctx, []store.SealedColumn{payloads, comments, responses}, false, 2)
		if err != nil || again[0].Sealed+again[0].Resealed+again[1].Sealed+again[2].Sealed != 0 {
			t.Errorf("second run: %+v, %v; want nothing left to do", again, err)
		}
	})
}

// The sealing step (plain values only) leaves values under older keys.
func TestSealingStepSealsPlainValuesOnly(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		oldKey := key()
		oldRing, _ := seal.NewRing("sealing-20260101-00000001", map[string][]byte{"sealing-20260101-00000001": oldKey})
		ring, _ := seal.NewRing("sealing-20260201-00000002", map[string][]byte{
			"sealing-20260101-00000001": oldKey, "sealing-20260201-00000002": key()})
		sealed, _ := s.WithSealer(oldRing).Seal([]byte("b"), payloads.Place("b"))
		now := time.Now()
		mustExec(t, s, `INSERT INTO outbox (id, topic, payload, next_attempt_at, created_at) VALUES ('a', 't', $1, $3, $3), ('b', 't', $2, $3, $3)`,
			[]byte("a"), sealed, now)
		reps, err := s.WithSealer(ring).Reseal(ctx, []store.SealedColumn{payloads}, true, 10)
		if err != nil || reps[0].Sealed != 1 || reps[0].Resealed != 0 {
			t.Fatalf("sealing step: %+v, %v; want the plain row sealed, the old one left", reps, err)
		}
	})
}

// Without a ring nothing is sealed, and nothing is written in clear either.
func TestNoSealerRefuses(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		bare := s.WithSealer(nil)
		if _, err := bare.Seal([]byte("x"), payloads.Place("a")); err == nil {
			t.Error("Seal without a ring succeeded")
		}
		if _, err := bare.Reseal(context.Background(), []store.SealedColumn{payloads}, true, 10); err == nil {
			t.Error("Reseal without a ring succeeded")
		}
	})
}

func key() []byte {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	return k
}
