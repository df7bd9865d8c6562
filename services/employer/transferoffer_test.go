package employer

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/notify"
	"handheld/services/outbox"
	"handheld/services/platform"
	"handheld/services/store"
	"handheld/services/store/storetest"
)

// fakeElsewhere answers the platform's account query, or fails.
type fakeElsewhere struct {
	accounts []platform.Account
	err      error
	asked    []platform.AccountQuery
}

func (f *fakeElsewhere) Accounts(_ context.Context, q platform.AccountQuery) (platform.AccountsAnswer, error) {
	f.asked = append(f.asked, q)
	return platform.AccountsAnswer{Accounts: f.accounts, Unanswered: []string{}}, f.err
}

// fakeSubjects knows P3000000999 (the person the fake core joins) as s_wang.
type fakeSubjects struct{}

func (fakeSubjects) SubjectOf(_ context.Context, personID string) (string, bool, error) {
	return "s_wang", personID == "P3000000999", nil
}

// outboxRows are the outbox rows on topic.
func outboxRows(t *testing.T, s *store.Store, topic outbox.TopicName) []string {
	t.Helper()
	rows, err := s.Query(context.Background(), `SELECT id FROM outbox WHERE topic = $1 ORDER BY id`, string(topic))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

// TestJoinOffersTheTransfer: a join done queues the offer; the platform
// away is an error for the outbox to retry (the join stays done); a sealed
// account elsewhere makes one message to the person, once however often
// the offer is delivered, audited in the person's trail; an account that
// is not sealed offers nothing. The employer's view says nothing of it.
func TestJoinOffersTheTransfer(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		f := &fakeStaff{}
		a := &fakeAudit{}
		sc := newStaffChanges(t, s, f, a)
		v, _, err := sc.Join(ctx, operatorOf(unitA), Join{Name: "王芳", IDNumber: idNumber(t, "33010619850612001"), BaseFen: 800_000,
			StartMonth: "2026-11"}, Key{"k1", "h1"})
		if err != nil {
			t.Fatal(err)
		}
		if err := deliver(t, sc, v.ID); err != nil {
			t.Fatal(err)
		}
		if got := outboxRows(t, s, TopicTransferOffer); len(got) != 1 || got[0] != string(TopicTransferOffer)+":"+v.ID {
			t.Fatalf("offer rows %v", got)
		}
		p := &fakeElsewhere{err: services.E(services.CodePlatformUnavailable)}
		offers, err := NewTransferOffers(TransferOfferDeps{Changes: sc, Platform: p, Subjects: fakeSubjects{}, Audit: a, CentreCode: "330100"})
		if err != nil {
			t.Fatal(err)
		}
		m := outbox.Message{ID: string(TopicTransferOffer) + ":" + v.ID, Topic: TopicTransferOffer, Payload: []byte(v.ID)}
		if err := offers.Deliver(ctx, m); services.ErrorCode(err) != services.CodePlatformUnavailable {
			t.Fatalf("platform down: %v, want it retried", err)
		}
		if got, _ := sc.Change(ctx, operatorOf(unitA), v.ID); got.Status != ChangeDone {
			t.Fatalf("the join after the failed offer: %+v", got)
		}
		if len(p.asked) != 1 || p.asked[0].Purpose != platform.PurposeTransfer || p.asked[0].Subject.Name != "王芳" {
			t.Fatalf("asked %+v", p.asked)
		}

		p.err = nil
		p.accounts = []platform.Account{{Centre: "110100", CentreName: "北京住房公积金管理中心", AccountRef: "1101002020113377", Status: platform.StatusSealed}}
		for range 2 {
			if err := offers.Deliver(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
		notes := outboxRows(t, s, notify.Topic)
		if len(notes) != 1 {
			t.Fatalf("messages %v, want one", notes)
		}
		var payload []byte
		if err := s.QueryRow(ctx, `SELECT payload FROM outbox WHERE id = $1`, notes[0]).Scan(&payload); err != nil {
			t.Fatal(err)
		}
		if payload, err = s.Open(payload, store.SealedColumn{Table: "outbox", Key: []string{"id"}, Column: "payload"}.Place(notes[0])); err != nil {
			t.Fatal(err)
		}
		var e notify.Event
		if err := json.Unmarshal(payload, &e); err != nil || e.Subject != "s_wang" || e.Status != "transfer_offered" || e.Kind != "transfer_in" {
			t.Fatalf("event %s %v", payload, err)
		}
		offered := 0
		a.mu.Lock()
		trail := append([]audit.Record(nil), a.records...)
		a.mu.Unlock()
		for _, r := range trail {
			if r.Action == ActionTransferOffer {
				offered++
				if r.Subject != "s_wang" || r.Target != "self sealed_elsewhere:1" {
					t.Errorf("offer audited as %+v", r)
				}
			}
			if r.Subject == operatorOf(unitA).Subject && strings.Contains(r.Target, "110100") {
				t.Errorf("the employer's trail tells: %+v", r)
			}
		}
		if offered == 0 {
			t.Fatal("the offer was not audited")
		}
		view, err := sc.Change(ctx, operatorOf(unitA), v.ID)
		if raw, _ := json.Marshal(view); err != nil || strings.Contains(string(raw), "110100") || strings.Contains(string(raw), "北京") {
			t.Fatalf("the employer's view tells: %s %v", raw, err)
		}
	})
}
