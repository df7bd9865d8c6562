package cases

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"handheld/services"
	"handheld/services/store"
	"handheld/services/store/storetest"
)

const (
	cert1 = "c0000000000000000000000000000a01"
	cert2 = "c0000000000000000000000000000a02"
	cert3 = "c0000000000000000000000000000a03"
	certW = "c0000000000000000000000000000b01"
)

// zhangOrder is s_zhang's list, newest first; at t0+3h the withdrawal
// comes before the certificate.
var zhangOrder = []string{cert3, "w_zhang_retire", cert2, "w_zhang_buy", cert1, "w_zhang_rent"}

func TestListMergesBothKindsNewestFirst(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newRig(t, s)
		r.seed(t)
		items, next, err := r.List(t.Context(), depositor("s_zhang"), 0, "")
		if err != nil || next != "" {
			t.Fatalf("List: next %q, %v", next, err)
		}
		ts := func(d time.Duration) time.Time { return store.Timestamp(t0.Add(d)) }
		want := []Case{
			{ID: cert3, Kind: KindCertificate, Type: "deposit_use", CaseNumber: "330100-2026-000a03", Status: "revoked",
				Finished: true, CreatedAt: ts(4 * time.Hour), UpdatedAt: ts(6 * time.Hour)},
			{ID: "w_zhang_retire", Kind: KindWithdrawal, Type: "retirement", CaseNumber: "TQw_zhang_retire", Status: "cancelled",
				Finished: true, CreatedAt: ts(3 * time.Hour), UpdatedAt: ts(5 * time.Hour), DueOn: "2026-03-05"},
			{ID: cert2, Kind: KindCertificate, Type: "deposit_use", CaseNumber: "330100-2026-000a02", Status: "issued",
				Finished: true, CreatedAt: ts(3 * time.Hour), UpdatedAt: ts(3 * time.Hour)},
			{ID: "w_zhang_buy", Kind: KindWithdrawal, Type: "purchase", CaseNumber: "TQw_zhang_buy", Status: "submitted",
				Finished: false, CreatedAt: ts(2 * time.Hour), UpdatedAt: ts(2 * time.Hour), DueOn: "2026-03-05"},
			{ID: cert1, Kind: KindCertificate, Type: "deposit_use", CaseNumber: "330100-2026-000a01", Status: "issued",
				Finished: true, CreatedAt: ts(time.Hour), UpdatedAt: ts(time.Hour)},
			{ID: "w_zhang_rent", Kind: KindWithdrawal, Type: "rent", CaseNumber: "TQw_zhang_rent", Status: "paid",
				Finished: true, CreatedAt: ts(0), UpdatedAt: ts(48 * time.Hour), DueOn: "2026-03-05"},
		}
		if diff := cmp.Diff(want, items); diff != "" {
			t.Fatalf("s_zhang's cases (-want +got):\n%s", diff)
		}
		if got, want := r.audit.last(), "read.cases s_zhang self ok"; got != want {
			t.Errorf("audit: got %q, want %q", got, want)
		}

		// A rating shows in the list.
		if _, err := r.Rate(t.Context(), depositor("s_zhang"), cert1, LevelSatisfied, ""); err != nil {
			t.Fatal(err)
		}
		items, _, err = r.List(t.Context(), depositor("s_zhang"), 0, "")
		if err != nil || items[4].ID != cert1 || items[4].Rating != LevelSatisfied || items[5].Rating != 0 {
			t.Fatalf("after rating: %+v, %v", items, err)
		}
	})
}

func TestListPagesAcrossKinds(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newRig(t, s)
		r.seed(t)
		for _, limit := range []int{1, 2, 4, 5, 6, 7} {
			var got []string
			cursor, pages := "", 0
			for {
				items, next, err := r.List(t.Context(), depositor("s_zhang"), limit, cursor)
				if err != nil {
					t.Fatalf("limit %d, page %d: %v", limit, pages, err)
				}
				if len(items) > limit || (next != "" && len(items) != limit) {
					t.Fatalf("limit %d, page %d: %d items, next %q", limit, pages, len(items), next)
				}
				got = append(got, ids(items)...)
				pages++
				if next == "" {
					break
				}
				if pages > len(zhangOrder) {
					t.Fatalf("limit %d: no end after %d pages", limit, pages)
				}
				cursor = next
			}
			if diff := cmp.Diff(zhangOrder, got); diff != "" {
				t.Errorf("limit %d, pages joined (-want +got):\n%s", limit, diff)
			}
			// A page that ends exactly at the last case says so: no empty page follows.
			if wantPages := (len(zhangOrder) + limit - 1) / limit; pages != wantPages {
				t.Errorf("limit %d: %d pages, want %d", limit, pages, wantPages)
			}
		}
	})
}

func TestListOnlyOwnCases(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newRig(t, s)
		r.seed(t)
		ctx := t.Context()
		items, next, err := r.List(ctx, depositor("s_wang"), 0, "")
		if err != nil || next != "" {
			t.Fatalf("s_wang: next %q, %v", next, err)
		}
		if diff := cmp.Diff([]string{certW, "w_wang_rent"}, ids(items)); diff != "" {
			t.Errorf("s_wang's cases (-want +got):\n%s", diff)
		}
		// s_zhang's cursor, replayed by s_wang, only positions in s_wang's
		// own list: after t0+3h there is s_wang's withdrawal, nothing of s_zhang's.
		_, zhangNext, err := r.List(ctx, depositor("s_zhang"), 2, "")
		if err != nil || zhangNext == "" {
			t.Fatal(err)
		}
		items, _, err = r.List(ctx, depositor("s_wang"), 10, zhangNext)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"w_wang_rent"}, ids(items)); diff != "" {
			t.Errorf("s_wang with s_zhang's cursor (-want +got):\n%s", diff)
		}
		// A person with no cases gets an empty list, not nil.
		items, next, err = r.List(ctx, depositor("s_li"), 0, "")
		if err != nil || items == nil || len(items) != 0 || next != "" {
			t.Errorf("s_li: %v, %q, %v", items, next, err)
		}
		// Only depositors have cases.
		for _, p := range []services.Principal{
			{Subject: "s_zhang", Role: services.RoleEmployer, Channel: services.ChannelApp},
			{Role: services.RoleDepositor, Channel: services.ChannelMiniApp},
		} {
			if _, _, err := r.List(ctx, p, 0, ""); services.ErrorCode(err) != services.CodeForbidden {
				t.Errorf("List as %+v: %v", p, err)
			}
		}
	})
}

func TestListRejectsBadLimitsAndForgedCursors(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newRig(t, s)
		r.seed(t)
		b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
		for name, tc := range map[string]struct {
			limit  int
			cursor string
			field  string
		}{
			"limit 101":         {101, "", "limit"},
			"limit -1":          {-1, "", "limit"},
			"not base64":        {10, "%%%", "cursor"},
			"padded base64":     {10, base64.URLEncoding.EncodeToString([]byte("v1.1.1.x")), "cursor"},
			"garbage":           {10, b64("garbage"), "cursor"},
			"wrong version":     {10, b64("v2.1772413200000000.1.w_zhang_rent"), "cursor"},
			"bad ord":           {10, b64("v1.1772413200000000.4.w_zhang_rent"), "cursor"},
			"negative time":     {10, b64("v1.-5.1.w_zhang_rent"), "cursor"},
			"time past 9999":    {10, b64("v1.999999999999999999.1.w_zhang_rent"), "cursor"},
			"not a number":      {10, b64("v1.12e5.1.w_zhang_rent"), "cursor"},
			"quote in id":       {10, b64("v1.1772413200000000.1.x' OR '1'='1"), "cursor"},
			"dot in id":         {10, b64("v1.1772413200000000.1.a.b"), "cursor"},
			"empty id":          {10, b64("v1.1772413200000000.1."), "cursor"},
			"too long":          {10, b64("v1.1772413200000000.1." + strings.Repeat("a", 200)), "cursor"},
			"NUL in id":         {10, b64("v1.1772413200000000.1.a\x00"), "cursor"},
			"invalid UTF-8 id":  {10, b64("v1.1772413200000000.1.\xff"), "cursor"},
			"whitespace cursor": {10, " ", "cursor"},
		} {
			items, next, err := r.List(t.Context(), depositor("s_zhang"), tc.limit, tc.cursor)
			if services.ErrorCode(err) != services.CodeInvalid || items != nil || next != "" {
				t.Errorf("%s: %v, %v, %q", name, err, items, next)
				continue
			}
			if e := services.AsError(err); len(e.Fields) != 1 || e.Fields[0].Field != tc.field {
				t.Errorf("%s: fields %+v, want one on %s", name, e.Fields, tc.field)
			}
		}
		if r.audit.count() != 0 {
			t.Errorf("refused requests were audited: %d records", r.audit.count())
		}
		// A well-formed cursor at a position no case holds is still a position.
		items, _, err := r.List(t.Context(), depositor("s_zhang"), 10, position{createdAt: t0.Add(150 * time.Minute), ord: 0, id: "zzz"}.String())
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(zhangOrder[3:], ids(items)); diff != "" {
			t.Errorf("from a made-up position (-want +got):\n%s", diff)
		}
	})
}

func TestListWithoutAuditAnswersNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		r := newRig(t, s)
		r.seed(t)
		r.audit.fail = true
		items, next, err := r.List(t.Context(), depositor("s_zhang"), 0, "")
		if services.ErrorCode(err) != services.CodeInternal || items != nil || next != "" {
			t.Fatalf("List with the audit log down: %v, %v, %q", err, items, next)
		}
	})
}

func TestCursorRoundTrip(t *testing.T) {
	for _, p := range []position{
		{createdAt: store.Timestamp(t0), ord: 1, id: "w_zhang_rent"},
		{createdAt: time.UnixMicro(0).UTC(), ord: 0, id: "a"},
		{createdAt: store.Timestamp(now.Add(123456 * time.Nanosecond)), ord: 0, id: strings.Repeat("f", 64)},
	} {
		got, ok := parseCursor(p.String())
		if !ok || !got.createdAt.Equal(p.createdAt) || got.ord != p.ord || got.id != p.id {
			t.Errorf("parseCursor(%v.String()) = %+v, %v", p, got, ok)
		}
		if len(p.String()) > maxCursorLen {
			t.Errorf("cursor of %+v is %d long, over %d", p, len(p.String()), maxCursorLen)
		}
	}
}
