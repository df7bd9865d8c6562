package audit

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"handheld/services"
	"handheld/services/store"
	"handheld/services/store/storetest"
)

func TestListFiltersBySubject(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		l := newLog(t, s, Options{})
		var mine []Record // newest first, as List returns them
		for i := range 12 {
			r := rec(i)
			r.Subject = "sub_other"
			if i%2 == 0 {
				r.Subject = "sub_me"
				mine = append([]Record{r}, mine...)
			}
			if err := l.Append(t.Context(), r); err != nil {
				t.Fatal(err)
			}
		}

		got, next, err := l.List(t.Context(), Filter{Subject: "sub_me"})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(mine, got); diff != "" || next != "" {
			t.Fatalf("List (-want +got):\n%s\nnext %q, want none", diff, next)
		}

		// Page by page, two at a time: the same records, in order.
		var paged []Record
		cursor := ""
		for pages := 0; ; pages++ {
			page, next, err := l.List(t.Context(), Filter{Subject: "sub_me", Limit: 2, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			if len(page) > 2 || pages > 3 {
				t.Fatalf("page %d has %d records; %d pages so far", pages, len(page), pages+1)
			}
			paged = append(paged, page...)
			if next == "" {
				break
			}
			cursor = next
		}
		if diff := cmp.Diff(mine, paged); diff != "" {
			t.Fatalf("paged (-want +got):\n%s", diff)
		}

		// Since: rec(i) happened at epoch + i seconds; 8 and 10 are left.
		got, _, err = l.List(t.Context(), Filter{Subject: "sub_me", Since: epoch.Add(8 * time.Second)})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(mine[:2], got); diff != "" {
			t.Fatalf("List since (-want +got):\n%s", diff)
		}

		if got, _, err := l.List(t.Context(), Filter{Subject: "sub_nobody"}); err != nil || len(got) != 0 {
			t.Fatalf("List of an unknown subject = %v, %v; want nothing", got, err)
		}
	})
}

func TestListRefusesBadFilters(t *testing.T) {
	s := storetest.Migrated(t, storetest.SQLiteDSN(t))
	l := newLog(t, s, Options{})
	if _, _, err := l.List(t.Context(), Filter{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("List without a subject: %v, want ErrInvalid", err)
	}
	for _, cursor := range []string{"12", "a", "a-3", "ax"} {
		_, _, err := l.List(t.Context(), Filter{Subject: "sub_me", Cursor: cursor})
		if services.ErrorCode(err) != services.CodeInvalid {
			t.Errorf("cursor %q: %v, want %s", cursor, err, services.CodeInvalid)
		}
	}
}
