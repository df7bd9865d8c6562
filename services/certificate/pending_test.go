package certificate

import (
	"context"
	"slices"
	"testing"

	"handheld/services"
	"handheld/services/notify"
	"handheld/services/outbox"
	"handheld/services/store"
	"handheld/services/store/storetest"
)

// A certificate asked for during the core's maintenance window is accepted
// as pending, bound to its subject, and issued for that subject (nobody
// else) when the delivery runs after the window; deliveries while the core
// is still away are retried, and a repeated one is a no-op.
func TestPendingCertificateIssuedAfterTheWindow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newRig(t, s)
		ctx := context.Background()
		r.facts.err = services.E(services.CodeCoreMaintenance)
		out, err := r.Issue(ctx, depositor("s_zhang"), TypeDepositUse, "夜间", LangZhCN)
		if err != nil || !out.Pending || out.ID == "" {
			t.Fatalf("in the window: %+v %v", out, err)
		}
		if _, err := r.Request(ctx, depositor("s_wang"), out.ID); services.ErrorCode(err) != services.CodeNotFound {
			t.Fatalf("another person's request: %v", err)
		}
		m := outbox.Message{ID: string(TopicIssue) + ":" + out.ID, Topic: TopicIssue, Payload: []byte(out.ID)}
		if err := r.IssuePending(ctx, m); services.ErrorCode(err) != services.CodeCoreMaintenance {
			t.Fatalf("still in the window: %v", err)
		}
		r.facts.err = nil
		if err := r.IssuePending(ctx, m); err != nil {
			t.Fatal(err)
		}
		v, err := r.Request(ctx, depositor("s_zhang"), out.ID)
		if err != nil || v.Status != RequestIssued || v.CertificateID == "" {
			t.Fatalf("after the window: %+v %v", v, err)
		}
		if err := r.IssuePending(ctx, m); err != nil {
			t.Fatal(err)
		}
		if got := r.audit.actions(); !slices.Contains(got, ActionIssue+" certificate:"+v.CertificateID+" ok") {
			t.Fatalf("the issue on the holder's behalf is not in the trail: %v", got)
		}
		var notes int
		if err := s.QueryRow(ctx, `SELECT COUNT(*) FROM outbox WHERE topic = $1 AND id LIKE $2`, string(notify.Topic), "%"+out.ID+"%").Scan(&notes); err != nil || notes != 1 {
			t.Fatalf("notifications queued: %d %v", notes, err)
		}
		mine, err := r.List(ctx, depositor("s_zhang"), 10, "")
		if err != nil || len(mine.Items) != 1 || mine.Items[0].ID != v.CertificateID {
			t.Fatalf("the holder's certificates: %+v %v", mine, err)
		}
		if other, _ := r.List(ctx, depositor("s_wang"), 10, ""); len(other.Items) != 0 {
			t.Fatalf("someone else got it: %+v", other)
		}
	})
}
