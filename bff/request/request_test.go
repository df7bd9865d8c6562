package request

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"handheld/services"
)

type login struct {
	Code  string `json:"code"`
	Count int    `json:"count"`
}

func TestDecode(t *testing.T) {
	cases := []struct {
		name     string
		body     string
		wantCode services.Code
		field    string
	}{
		{"ok", `{"code":"abc","count":2}`, "", ""},
		{"empty", ``, services.CodeInvalid, "body"},
		{"whitespace", "  \n", services.CodeInvalid, "body"},
		{"not json", `code=abc`, services.CodeMalformedJSON, ""},
		{"truncated", `{"code":"abc"`, services.CodeMalformedJSON, ""},
		{"trailing value", `{"code":"abc"} {"code":"def"}`, services.CodeMalformedJSON, ""},
		{"unknown field", `{"code":"abc","admin":true}`, services.CodeUnknownField, "admin"},
		{"wrong type", `{"code":"abc","count":"two"}`, services.CodeInvalid, "count"},
		{"array", `[1,2]`, services.CodeInvalid, "body"},
		{"float for int", `{"count":1.5}`, services.CodeInvalid, "count"},
		{"null", `null`, "", ""},
		// Names match exactly: another case is another (unknown) field, so
		// that what a limiter keyed by a field reads is what the handler reads.
		{"case variant", `{"Code":"abc"}`, services.CodeUnknownField, "Code"},
		{"upper case", `{"COUNT":2}`, services.CodeUnknownField, "COUNT"},
		{"duplicate", `{"code":"abc","code":"victim"}`, services.CodeDuplicateField, "code"},
		{"duplicate escaped", `{"code":"abc","\u0063ode":"victim"}`, services.CodeDuplicateField, "code"},
		{"duplicate unknown", `{"x":1,"x":2}`, services.CodeUnknownField, "x"}, // the first fault found
		{"invalid utf-8", "{\"code\":\"\xff\"}", services.CodeMalformedJSON, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var v login
			err := Decode([]byte(tc.body), &v)
			if tc.wantCode == "" {
				if err != nil {
					t.Fatalf("unexpected %v", err)
				}
				return
			}
			e := services.AsError(err)
			if e.Code != tc.wantCode {
				t.Fatalf("code %q, want %q (%v)", e.Code, tc.wantCode, err)
			}
			if tc.field != "" {
				if len(e.Fields) != 1 || e.Fields[0].Field != tc.field {
					t.Fatalf("fields %+v, want %s", e.Fields, tc.field)
				}
			}
		})
	}
	var v login
	if err := Decode([]byte(`{"code":"x","count":7}`), &v); err != nil || !cmp.Equal(v, login{Code: "x", Count: 7}) {
		t.Fatalf("decoded %+v, %v", v, err)
	}
}
