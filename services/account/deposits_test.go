package account

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"handheld/services"
	"handheld/services/core"
)

func TestDepositRangeValidation(t *testing.T) {
	w := newWorld(t) // now: 2025-03-01 01:00 in Shanghai, still February in UTC
	type field struct{ Field, Code, Min, Max string }
	cases := []struct {
		name             string
		from, to         string
		limit            int
		wantFrom, wantTo string
		want             []field
	}{
		{"defaults: the last 12 months, Shanghai time", "", "", 20, "2024-04", "2025-03", nil},
		{"only to", "", "2024-06", 20, "2023-07", "2024-06", nil},
		{"only from", "2024-12", "", 1, "2024-12", "2025-03", nil},
		{"one month", "2024-12", "2024-12", 100, "2024-12", "2024-12", nil},
		{"ten years exactly", "2015-04", "2025-03", 20, "2015-04", "2025-03", nil},
		{"ten years and a month", "2015-03", "2025-03", 20, "", "", []field{{"from", "out_of_range", "2015-04", "2025-03"}}},
		{"ten years back by default to", "2015-03", "", 20, "", "", []field{{"from", "out_of_range", "2015-04", "2025-03"}}},
		{"from after to", "2025-02", "2025-01", 20, "", "", []field{{"from", "out_of_range", "2015-02", "2025-01"}}},
		{"month 13", "2024-13", "", 20, "", "", []field{{"from", "format", "", ""}}},
		{"month 0", "", "2024-00", 20, "", "", []field{{"to", "format", "", ""}}},
		{"one-digit month", "2024-1", "", 20, "", "", []field{{"from", "format", "", ""}}},
		{"a date", "", "2024-01-01", 20, "", "", []field{{"to", "format", "", ""}}},
		{"full-width digits", "２０２４-01", "", 20, "", "", []field{{"from", "format", "", ""}}},
		{"limit 0", "", "", 0, "", "", []field{{"limit", "out_of_range", "", ""}}},
		{"limit 101", "", "", 101, "", "", []field{{"limit", "out_of_range", "", ""}}},
		{"everything at once", "x", "y", -5, "", "", []field{{"to", "format", "", ""}, {"from", "format", "", ""}, {"limit", "out_of_range", "", ""}}},
	}
	for _, tc := range cases {
		v, err := w.svc.Deposits(ctxWithID(t), depositor(zhangSubject, services.ChannelMiniApp), tc.from, tc.to, tc.limit, "")
		if tc.want == nil {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			} else if v.From != tc.wantFrom || v.To != tc.wantTo {
				t.Errorf("%s: range %s..%s, want %s..%s", tc.name, v.From, v.To, tc.wantFrom, tc.wantTo)
			}
			continue
		}
		if services.ErrorCode(err) != services.CodeInvalid {
			t.Errorf("%s: %v, want request.invalid", tc.name, err)
			continue
		}
		var got []field
		for _, f := range services.AsError(err).Fields {
			min, _ := f.Params["min"].(string)
			max, _ := f.Params["max"].(string)
			got = append(got, field{f.Field, f.Code, min, max})
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s: fields -want +got:\n%s", tc.name, diff)
		}
	}
	// Valid requests reached the core with the filled range; invalid ones did not.
	var asked []string
	for _, q := range w.reader.queries {
		asked = append(asked, q.From+".."+q.To)
	}
	want := []string{"2024-04..2025-03", "2023-07..2024-06", "2024-12..2025-03", "2024-12..2024-12", "2015-04..2025-03"}
	if diff := cmp.Diff(want, asked); diff != "" {
		t.Errorf("core queries -want +got:\n%s", diff)
	}
}

func TestDepositsPageWithOpaqueIDsAndBoundCursors(t *testing.T) {
	w := newWorld(t)
	zhang := depositor(zhangSubject, services.ChannelMiniApp)
	var all []Entry
	cursor := ""
	for pages := 0; ; pages++ {
		v, err := w.svc.Deposits(ctxWithID(t), zhang, "2023-01", "2025-02", 10, cursor)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, v.Items...)
		if cursor = v.NextCursor; cursor == "" {
			break
		}
		if pages > 5 {
			t.Fatal("no end")
		}
	}
	if len(all) != 24 || all[0].Month != "2025-02" || all[23].Month != "2023-03" {
		t.Fatalf("%d entries, %s..%s", len(all), all[0].Month, all[len(all)-1].Month)
	}
	seen := map[string]bool{}
	for _, e := range all {
		if !strings.HasPrefix(e.ID, "e_") || strings.Contains(e.ID, "P1.") || seen[e.ID] {
			t.Fatalf("entry id %q: not opaque or not unique", e.ID)
		}
		seen[e.ID] = true
		if e.KindLabelKey != "deposit.kind.remittance" || e.AmountFen != 600000 {
			t.Fatalf("entry %+v", e)
		}
	}
	again, _ := w.svc.Deposits(ctxWithID(t), zhang, "2023-01", "2025-02", 1, "")
	if again.Items[0].ID != all[0].ID {
		t.Fatalf("entry ids are not stable: %s then %s", all[0].ID, again.Items[0].ID)
	}

	// A cursor works for its subject only, and the core never sees a forged one.
	page, _ := w.svc.Deposits(ctxWithID(t), zhang, "2023-01", "2025-02", 10, "")
	seenByCore := len(w.reader.queries)
	for name, c := range map[string]string{
		"another subject": page.NextCursor,
		"tampered":        tamper(page.NextCursor),
		"the core's own":  "pos:10",
		"too long":        strings.Repeat("A", 600),
	} {
		who := zhang
		if name == "another subject" {
			who = depositor(ouyangSubject, services.ChannelMiniApp)
		}
		_, err := w.svc.Deposits(ctxWithID(t), who, "2023-01", "2025-02", 10, c)
		wantCode(t, err, services.CodeInvalid)
		if f := services.AsError(err).Fields; len(f) != 1 || f[0].Field != "cursor" {
			t.Errorf("%s: fields %+v", name, f)
		}
	}
	if len(w.reader.queries) != seenByCore {
		t.Fatal("a bad cursor reached the core")
	}
	if _, err := w.svc.Deposits(ctxWithID(t), zhang, "2023-01", "2025-02", 10, page.NextCursor); err != nil {
		t.Fatalf("own cursor: %v", err)
	}
	if got := w.reader.queries[len(w.reader.queries)-1]; got != (core.DepositQuery{From: "2023-01", To: "2025-02", Limit: 10, Cursor: "pos:10"}) {
		t.Fatalf("core query %+v", got)
	}
}

// tamper changes one character in the middle of a cursor, where every bit
// counts (the last character of unpadded base64 carries bits a decoder
// ignores, so a changed tail could read the same).
func tamper(cursor string) string {
	i := len(cursor) / 2
	c := byte('A')
	if cursor[i] == 'A' {
		c = 'B'
	}
	return cursor[:i] + string(c) + cursor[i+1:]
}
