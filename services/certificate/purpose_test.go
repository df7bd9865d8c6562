package certificate

import (
	"strings"
	"testing"

	"handheld/services"
	"handheld/services/store/storetest"
)

// TestPurposeText: a purpose that cannot be printed on a certificate, or
// cannot be a purpose at all, is a field error on purpose before anything
// is rendered or stored; one that can is kept as it prints (NFC, trimmed).
func TestPurposeText(t *testing.T) {
	r := newRig(t, storetest.Migrated(t, storetest.SQLiteDSN(t)))
	ctx := t.Context()
	refused := []struct {
		name, purpose, code, char string
	}{
		{"emoji", "买房😀", services.FieldUnprintable, "U+1F600"},
		{"bidi override", "购房\u202E款贷", services.FieldFormat, "U+202E"},
		{"control", "购房\x07", services.FieldFormat, "U+0007"},
		{"private use", "购\uE000房", services.FieldFormat, "U+E000"},
		{"unassigned", "购\u0378房", services.FieldFormat, "U+0378"},
		{"noncharacter", "购\uFFFE房", services.FieldFormat, "U+FFFE"},
		{"lone surrogate, as JSON decodes it", "购\uFFFD房", services.FieldFormat, "U+FFFD"},
		{"combining mark", "a\u0489", services.FieldFormat, "U+0489"},
		{"zero-width joiner", "购\u200D房", services.FieldFormat, "U+200D"},
		{"very long", strings.Repeat("𠮷", 101), services.FieldTooLong, ""},
	}
	for _, tc := range refused {
		_, err := r.Issue(ctx, depositor("s_zhang"), TypeDepositUse, tc.purpose, LangZhCN)
		e := services.AsError(err)
		if e.Code != services.CodeInvalid || len(e.Fields) != 1 || e.Fields[0].Field != "purpose" || e.Fields[0].Code != tc.code ||
			tc.char != "" && e.Fields[0].Params["char"] != tc.char {
			t.Errorf("%s: %v %+v, want %s on purpose", tc.name, err, e.Fields, tc.code)
		}
	}
	if n := r.renderer.calls.Load(); n != 0 {
		t.Errorf("refused purposes were rendered %d times", n)
	}
	if page, err := r.List(ctx, depositor("s_zhang"), 10, ""); err != nil || len(page.Items) != 0 {
		t.Fatalf("refused purposes left certificates: %+v, %v", page.Items, err)
	}

	got, err := r.Issue(ctx, depositor("s_zhang"), TypeDepositUse, "  Cafe\u0301 吉𠮷 ", LangZhCN)
	if err != nil {
		t.Fatal(err)
	}
	view, err := r.Get(ctx, depositor("s_zhang"), got.ID)
	if err != nil || view.Purpose != "Café 吉𠮷" {
		t.Fatalf("purpose kept as %+q, %v; want NFC and trimmed", view.Purpose, err)
	}
}
