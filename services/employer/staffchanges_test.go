package employer

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"handheld/services"
	"handheld/services/core"
	"handheld/services/outbox"
	"handheld/services/store"
	"handheld/services/store/storetest"
	"handheld/services/suite"
)

// The production reader and client satisfy the interfaces declared here.
var (
	_ staffReader = (*core.Reader)(nil)
	_ staffWriter = (*core.Client)(nil)
)

// fakeStaff is the core as staff changes see it: one roster per unit, a
// read error when set, and the changes asked for.
type fakeStaff struct {
	mu      sync.Mutex
	members map[string]core.StaffMember // unitCode + "/" + personID
	readErr error
	stale   bool
	sendErr error
	sent    []core.StaffChange
}

func (f *fakeStaff) StaffMember(_ context.Context, unit, personID string) (core.StaffMember, core.Freshness, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.readErr != nil {
		return core.StaffMember{}, core.Freshness{}, f.readErr
	}
	m, ok := f.members[unit+"/"+personID]
	if !ok {
		return core.StaffMember{}, core.Freshness{}, services.E(services.CodeStaffNotFound)
	}
	return m, core.Freshness{Stale: f.stale}, nil
}

func (f *fakeStaff) Roster(_ context.Context, unit string, q core.RosterQuery) (core.StaffPage, core.Freshness, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.readErr != nil {
		return core.StaffPage{}, core.Freshness{}, f.readErr
	}
	var page core.StaffPage
	for k, m := range f.members {
		if strings.HasPrefix(k, unit+"/") && strings.HasSuffix(m.IDNumber, q.Q) {
			page.Items = append(page.Items, m)
		}
	}
	return page, core.Freshness{Stale: f.stale}, nil
}

func (f *fakeStaff) Policy(context.Context) (core.Policy, core.Freshness, error) {
	if f.readErr != nil {
		return core.Policy{}, core.Freshness{}, f.readErr
	}
	return core.Policy{MinBaseFen: 249_000, MaxBaseFen: 3_756_900}, core.Freshness{}, nil
}

func (f *fakeStaff) ChangeStaff(_ context.Context, unit string, ch core.StaffChange) (core.StaffChangeResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, ch)
	if f.sendErr != nil {
		return core.StaffChangeResult{}, f.sendErr
	}
	res := core.StaffChangeResult{RequestID: ch.RequestID, Kind: ch.Kind, PersonID: ch.PersonID, Outcome: core.OutcomeSealed}
	if ch.Kind == core.ChangeJoin {
		res.PersonID, res.Outcome, res.FromUnitCode = "P3000000999", core.OutcomeTransferredIn, unitB
	}
	return res, nil
}

// idNumber makes a valid ID number from 17 digits.
func idNumber(t *testing.T, first17 string) string {
	t.Helper()
	c, ok := services.IDCheckDigit(first17)
	if !ok {
		t.Fatalf("bad first17 %q", first17)
	}
	return first17 + string(c)
}

func newStaffChanges(t *testing.T, s *store.Store, f *fakeStaff, a *fakeAudit) *StaffChanges {
	t.Helper()
	sc, err := NewStaffChanges(StaffChangeDeps{Store: s, Reader: f, Core: f, Audit: a, Secret: services.NewHashKey([]byte("test-secret"), suite.Env()), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// deliver runs the outbox handler on the change, as the worker would.
func deliver(t *testing.T, sc *StaffChanges, id string) error {
	t.Helper()
	return sc.Deliver(context.Background(), outbox.Message{ID: string(TopicStaffChange) + ":" + id, Topic: TopicStaffChange, Payload: []byte(id)})
}

func TestJoinChecksTheIDNumberBeforeAnything(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		f := &fakeStaff{}
		sc := newStaffChanges(t, s, f, &fakeAudit{})
		good := idNumber(t, "11010519900307123")
		bad := good[:17] + string("0123456789X"[(strings.IndexByte("0123456789X", good[17])+1)%11])
		_, _, err := sc.Join(context.Background(), operatorOf(unitA), Join{Name: "王芳", IDNumber: bad, BaseFen: 500_000, StartMonth: "2026-11"},
			Key{"k1", "h1"})
		var e *services.Error
		if !errors.As(err, &e) || e.Code != services.CodeInvalid || len(e.Fields) != 1 || e.Fields[0].Field != "id_number" ||
			e.Fields[0].Code != services.FieldChecksum {
			t.Fatalf("bad check digit: %v %+v", err, e)
		}
		var n int
		if err := s.QueryRow(context.Background(), `SELECT count(*) FROM staff_changes`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("rows %d %v", n, err)
		}
	})
}

func TestJoinAcceptedDeliveredAndReplayed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		f := &fakeStaff{}
		sc := newStaffChanges(t, s, f, &fakeAudit{})
		ctx := context.Background()
		id := idNumber(t, "33010619850612001")
		j := Join{Name: "王芳", IDNumber: id, BaseFen: 800_000, StartMonth: "2026-11"}
		v, replayed, err := sc.Join(ctx, operatorOf(unitA), j, Key{"k1", "h1"})
		if err != nil || replayed || v.Status != ChangeAccepted || v.Kind != core.ChangeJoin {
			t.Fatalf("join: %+v %v %v", v, replayed, err)
		}
		if v.IDNumber == id || v.Name == "王芳" || !strings.HasSuffix(v.IDNumber, id[len(id)-4:]) {
			t.Errorf("not masked for the app: %q %q", v.Name, v.IDNumber)
		}
		// Sealed at rest: neither the name nor the number in the row.
		var raw string
		if err := s.QueryRow(ctx, `SELECT applicant FROM staff_changes WHERE id = $1`, v.ID).Scan(&raw); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(raw, id) || strings.Contains(raw, "王芳") || !strings.HasPrefix(raw, "hs1.") {
			t.Errorf("applicant not sealed: %q", raw)
		}
		if err := deliver(t, sc, v.ID); err != nil {
			t.Fatal(err)
		}
		if len(f.sent) != 1 || f.sent[0].RequestID != v.ID || f.sent[0].IDNumber != id || f.sent[0].Name != "王芳" || f.sent[0].Month != "2026-11" {
			t.Fatalf("sent %+v", f.sent)
		}
		got, err := sc.Change(ctx, operatorOf(unitA), v.ID)
		if err != nil || got.Status != ChangeDone || got.Outcome != core.OutcomeTransferredIn || got.StaffID != "P3000000999" || got.FromUnitCode != unitB {
			t.Fatalf("after delivery: %+v %v", got, err)
		}
		// A repeated delivery asks nothing more.
		if err := deliver(t, sc, v.ID); err != nil || len(f.sent) != 1 {
			t.Fatalf("second delivery: %v, %d sent", err, len(f.sent))
		}
		again, replayed, err := sc.Join(ctx, operatorOf(unitA), j, Key{"k1", "h1"})
		if err != nil || !replayed || again.ID != v.ID || again.Status != ChangeAccepted {
			t.Fatalf("replay: %+v %v %v", again, replayed, err)
		}
		if _, _, err := sc.Join(ctx, operatorOf(unitA), j, Key{"k1", "h2"}); services.ErrorCode(err) != services.CodeIdempotencyKeyReused {
			t.Fatalf("key reused: %v", err)
		}
		// Another unit cannot read it.
		if _, err := sc.Change(ctx, operatorOf(unitB), v.ID); services.ErrorCode(err) != services.CodeStaffNotFound {
			t.Fatalf("other unit: %v", err)
		}
	})
}

func TestLeaveRefusedUpFrontOrByTheCore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		f := &fakeStaff{members: map[string]core.StaffMember{
			unitA + "/P3000000001": {PersonID: "P3000000001", Status: core.StatusNormal},
			unitA + "/P3000000002": {PersonID: "P3000000002", Status: core.StatusSealed},
			unitB + "/P3000000003": {PersonID: "P3000000003", Status: core.StatusNormal},
		}}
		sc := newStaffChanges(t, s, f, &fakeAudit{})
		ctx := context.Background()
		leave := func(staff, key string) (StaffChange, error) {
			v, _, err := sc.Leave(ctx, operatorOf(unitA), Leave{StaffID: staff, Month: "2026-11", Reason: core.LeaveResigned}, Key{key, key})
			return v, err
		}
		for _, c := range []struct {
			staff string
			want  services.Code
		}{
			{"P3000000003", services.CodeStaffNotFound},      // another unit's
			{"../P3000000001", services.CodeStaffNotFound},   // malformed
			{"P3000000002", services.CodeStaffAlreadySealed}, // sealed
		} {
			if _, err := leave(c.staff, "k-"+c.staff); services.ErrorCode(err) != c.want {
				t.Errorf("leave %s: %v, want %s", c.staff, err, c.want)
			}
		}
		if _, _, err := sc.Leave(ctx, operatorOf(unitA), Leave{StaffID: "P3000000001", Month: "2026-13", Reason: "bored"}, Key{"x", "x"}); services.ErrorCode(err) != services.CodeInvalid {
			t.Errorf("bad month and reason: %v", err)
		}

		// The core unreachable: accepted all the same, and a second
		// change of the same person waits for the first.
		f.readErr = services.E(services.CodeCoreUnavailable)
		v, err := leave("P3000000002", "k2")
		if err != nil || v.Status != ChangeAccepted {
			t.Fatalf("leave while the core is down: %+v %v", v, err)
		}
		if _, err := leave("P3000000002", "k3"); services.ErrorCode(err) != services.CodeStaffChangeInFlight {
			t.Fatalf("second change in flight: %v", err)
		}
		// Delivery while still down is retried, the change unchanged.
		f.sendErr = services.E(services.CodeCoreMaintenance)
		if err := deliver(t, sc, v.ID); err == nil {
			t.Fatal("delivery during maintenance succeeded")
		}
		if got, _ := sc.Change(ctx, operatorOf(unitA), v.ID); got.Status != ChangeAccepted {
			t.Fatalf("after a failed delivery: %+v", got)
		}
		// The core refuses: failed with its code, not retried.
		f.sendErr = services.E(services.CodeStaffAlreadySealed)
		if err := deliver(t, sc, v.ID); err != nil {
			t.Fatalf("refusal retried: %v", err)
		}
		got, err := sc.Change(ctx, operatorOf(unitA), v.ID)
		if err != nil || got.Status != ChangeFailed || got.FailureCode != string(services.CodeStaffAlreadySealed) {
			t.Fatalf("refused: %+v %v", got, err)
		}
		list, err := sc.Changes(ctx, operatorOf(unitA), ChangeFailed, 0, "")
		if err != nil || len(list.Items) != 1 || list.Items[0].ID != v.ID {
			t.Fatalf("failed list: %+v %v", list, err)
		}
		if list, err := sc.Changes(ctx, operatorOf(unitB), "", 0, ""); err != nil || len(list.Items) != 0 {
			t.Fatalf("another unit's list: %+v %v", list, err)
		}
	})
}

func TestTwoIdenticalRequestsAtOnceMakeOneChange(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		f := &fakeStaff{members: map[string]core.StaffMember{unitA + "/P3000000002": {PersonID: "P3000000002", Status: core.StatusSealed}}}
		sc := newStaffChanges(t, s, f, &fakeAudit{})
		var wg sync.WaitGroup
		ids := make([]string, 4)
		errs := make([]error, 4)
		for i := range ids {
			wg.Go(func() {
				v, _, err := sc.Rejoin(context.Background(), operatorOf(unitA), Rejoin{StaffID: "P3000000002"}, Key{"same", "h"})
				ids[i], errs[i] = v.ID, err
			})
		}
		wg.Wait()
		for i := range ids {
			if errs[i] != nil || ids[i] != ids[0] {
				t.Fatalf("request %d: %q %v (first %q)", i, ids[i], errs[i], ids[0])
			}
		}
		var n int
		if err := s.QueryRow(context.Background(), `SELECT count(*) FROM staff_changes`).Scan(&n); err != nil || n != 1 {
			t.Fatalf("rows %d %v", n, err)
		}
	})
}

func TestJoinOfSomeoneOnTheRosterIsRefusedUpFront(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		id := idNumber(t, "33010619850612001")
		f := &fakeStaff{members: map[string]core.StaffMember{unitA + "/P3000000001": {PersonID: "P3000000001", IDNumber: id, Status: core.StatusNormal}}}
		sc := newStaffChanges(t, s, f, &fakeAudit{})
		j := Join{Name: "王芳", IDNumber: id, BaseFen: 800_000, StartMonth: "2026-11"}
		if _, _, err := sc.Join(context.Background(), operatorOf(unitA), j, Key{"k", "h"}); services.ErrorCode(err) != services.CodeStaffAlreadyEmployed {
			t.Fatalf("already employed: %v", err)
		}
		j.BaseFen = 100
		if _, _, err := sc.Join(context.Background(), operatorOf(unitB), j, Key{"k", "h"}); services.ErrorCode(err) != services.CodeBaseOutOfRange {
			t.Fatalf("base below the minimum: %v", err)
		}
		if _, _, err := sc.Join(context.Background(), services.Principal{Subject: "s", Role: services.RoleDepositor}, j, Key{"k", "h"}); services.ErrorCode(err) != services.CodeForbidden {
			t.Fatalf("depositor: %v", err)
		}
	})
}

func TestRefusalEndsAChangeOutageRetriesIt(t *testing.T) {
	for code, want := range map[services.Code]bool{
		services.CodeStaffAlreadyEmployed:   true,
		services.CodeStaffEmployedElsewhere: true,
		services.CodeStaffNameMismatch:      true,
		services.CodeStaffNotFound:          true,
		services.CodeBaseOutOfRange:         true,
		services.CodeMonthNotOpen:           true,
		services.CodeInvalid:                true,
		services.CodeCoreRejected:           true,
		services.CodeCoreUnavailable:        false,
		services.CodeCoreMaintenance:        false,
		services.CodeInternal:               false,
		services.CodeRateLimited:            false,
	} {
		if got := refusal(code); got != want {
			t.Errorf("refusal(%s) = %v, want %v", code, got, want)
		}
	}
}
