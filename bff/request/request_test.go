package request

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
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

// DecodeJSON decodes a body once per request: a second reader of the same
// type (the handler after a rate limiter) gets the first decoding, or its
// error, and a reader of another type decodes afresh.
func TestDecodeJSONOncePerRequest(t *testing.T) {
	app := fiber.New()
	app.Post("/", func(c *fiber.Ctx) error {
		var first, second login
		err1 := DecodeJSON(c, &first)
		c.Request().SetBodyString(`{"code":"changed"}`) // a second parse would see this
		err2 := DecodeJSON(c, &second)
		var other struct {
			Code string `json:"code"`
		}
		err3 := DecodeJSON(c, &other)
		if services.ErrorCode(err1) != services.ErrorCode(err2) || (err1 == nil) != (err2 == nil) || (err1 == nil && first != second) {
			return c.SendString("differ")
		}
		if err1 != nil {
			return c.SendString(string(services.ErrorCode(err1)))
		}
		if err3 != nil || other.Code != "changed" {
			return c.SendString("other type not decoded afresh")
		}
		return c.SendString(second.Code)
	})
	for body, want := range map[string]string{`{"code":"abc"}`: "abc", `{"code":"a","code":"b"}`: "request.duplicate_field"} {
		req := httptest.NewRequest("POST", "/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := app.Test(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		if string(got) != want {
			t.Errorf("%s: %q, want %q", body, got, want)
		}
	}
}
