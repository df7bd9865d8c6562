package certpdf_test

import (
	"encoding/json"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"handheld/locales"
	"handheld/services/certificate"
	"handheld/services/certpdf"
	"handheld/templates"
)

func TestLayoutForEveryTypeAndLocale(t *testing.T) {
	for _, typ := range []string{certificate.TypeDepositUse} {
		for _, lang := range []string{locales.ZhCN, locales.En} {
			name := "certificate." + typ + "." + lang + ".json"
			raw, err := fs.ReadFile(templates.FS, name)
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			var m map[string]any
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
	}
	newRenderer(t) // New checks every layout against the fields and the catalogue
}

// mutated is the embedded templates with the zh-CN layout changed by edit,
// or removed when edit is nil.
func mutated(t *testing.T, edit func(map[string]any)) fs.FS {
	t.Helper()
	files := fstest.MapFS{}
	for _, lang := range []string{locales.ZhCN, locales.En} {
		name := "certificate.deposit_use." + lang + ".json"
		raw, err := fs.ReadFile(templates.FS, name)
		if err != nil {
			t.Fatal(err)
		}
		if lang == locales.ZhCN {
			if edit == nil {
				continue
			}
			var m map[string]any
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatal(err)
			}
			edit(m)
			if raw, err = json.Marshal(m); err != nil {
				t.Fatal(err)
			}
		}
		files[name] = &fstest.MapFile{Data: raw}
	}
	return files
}

func TestNewFailsFastNamingTheProblem(t *testing.T) {
	font, cat := mainFont(t)
	firstRow := func(m map[string]any) map[string]any {
		return m["sections"].([]any)[0].(map[string]any)["rows"].([]any)[0].(map[string]any)
	}
	cases := []struct {
		name string
		edit func(map[string]any)
		want string
	}{
		{"layout missing", nil, "certificate.deposit_use.zh-CN.json"},
		{"title missing", func(m map[string]any) { delete(m, "title") }, "title: missing"},
		{"seal missing", func(m map[string]any) { delete(m, "seal") }, "seal.ring: missing"},
		{"print variant missing", func(m map[string]any) { delete(m["variants"].(map[string]any), "print") }, "variants.print: missing"},
		{"unknown key", func(m map[string]any) { m["colour"] = "red" }, `unknown field "colour"`},
		{"locale key not in catalogue", func(m map[string]any) { m["title"] = map[string]any{"key": "certificate.no_such.title"} }, "no locale key certificate.no_such.title"},
		{"unknown field", func(m map[string]any) { firstRow(m)["field"] = "salary" }, `unknown field "salary"`},
		{"format that does not fit", func(m map[string]any) { firstRow(m)["format"] = "money" }, `cannot take format "money"`},
		{"unknown placeholder", func(m map[string]any) { m["intro"] = "兹证明 {holder}" }, "unknown placeholder {holder}"},
		{"bad colour", func(m map[string]any) { m["variants"].(map[string]any)["print"].(map[string]any)["seal"] = "red" }, "want #rrggbb"},
		{"unknown section kind", func(m map[string]any) { m["sections"].([]any)[0].(map[string]any)["kind"] = "chart" }, `got "chart"`},
	}
	for _, tc := range cases {
		_, err := certpdf.New(font, mutated(t, tc.edit), cat)
		if err == nil {
			t.Errorf("%s: New succeeded", tc.name)
			continue
		}
		if !strings.Contains(err.Error(), "certificate.deposit_use.zh-CN.json") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %q does not name the file and %q", tc.name, err, tc.want)
		}
	}

	if _, err := certpdf.New([]byte("not a font"), templates.FS, cat); err == nil || !strings.Contains(err.Error(), "font") {
		t.Errorf("a bad font: error %v, want one naming the font", err)
	}
}
