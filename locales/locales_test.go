package locales_test

import (
	"testing"

	"handheld/locales"
	"handheld/services"
)

func TestEveryCodeHasTextsInEveryLocale(t *testing.T) {
	c, err := locales.Load()
	if err != nil {
		t.Fatal(err)
	}
	if m := c.Missing(); len(m) > 0 {
		t.Fatalf("keys missing: %v", m)
	}
	for _, code := range services.Codes() {
		for _, part := range []string{"title", "detail"} {
			key := "error." + string(code) + "." + part
			if !c.Has(key) {
				t.Errorf("no %s", key)
			}
		}
	}
	for _, f := range []string{services.FieldRequired, services.FieldNotNumber, services.FieldOutOfRange,
		services.FieldOneOf, services.FieldFormat, services.FieldChecksum, services.FieldTooLong, services.FieldUnprintable,
		services.FieldTooShort, services.FieldTooFewClasses, services.FieldContainsID, services.FieldReused} {
		if !c.Has("field." + f) {
			t.Errorf("no field.%s", f)
		}
	}
}

func TestNegotiate(t *testing.T) {
	c, err := locales.Load()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ param, accept, want string }{
		{"", "", locales.ZhCN},
		{"", "en-US,en;q=0.9", locales.En},
		{"", "zh;q=0.9,en;q=0.8", locales.ZhCN},
		{"", "en;q=0.5,zh-Hans-CN", locales.ZhCN},
		{"", "fr-FR", locales.ZhCN},
		{"", "garbage;;;q=x", locales.ZhCN},
		{"en", "zh-CN", locales.En},
		{"zh-CN", "en", locales.ZhCN},
		{"xx-invalid-!!", "en", locales.En},
	}
	for _, tc := range cases {
		if got := c.Negotiate(tc.param, tc.accept); got != tc.want {
			t.Errorf("Negotiate(%q, %q) = %q, want %q", tc.param, tc.accept, got, tc.want)
		}
	}
}

func TestPlaceholders(t *testing.T) {
	c, err := locales.Load()
	if err != nil {
		t.Fatal(err)
	}
	got := c.T(locales.En, "field.out_of_range", map[string]any{"field": "months", "min": 1, "max": 360})
	if want := "months must be between 1 and 360"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
