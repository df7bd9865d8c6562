package notify

import (
	"encoding/json"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"handheld/templates"
)

// shippedFS copies the shipped notification files into a MapFS, the
// locale file named by edit decoded and passed through edit first.
func shippedFS(t *testing.T, locale string, edit func(m map[string]any)) fstest.MapFS {
	t.Helper()
	fsys := fstest.MapFS{}
	for _, l := range locales {
		name := templateFile(l.locale)
		raw, err := fs.ReadFile(templates.FS, name)
		if err != nil {
			t.Fatal(err)
		}
		if l.locale == locale {
			var m map[string]any
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatal(err)
			}
			edit(m)
			if raw, err = json.Marshal(m); err != nil {
				t.Fatal(err)
			}
		}
		fsys[name] = &fstest.MapFile{Data: raw}
	}
	return fsys
}

func section(m map[string]any, path ...string) map[string]any {
	for _, p := range path {
		m = m[p].(map[string]any)
	}
	return m
}

func TestLoadTemplatesShipped(t *testing.T) {
	tm, err := LoadTemplates(templates.FS)
	if err != nil {
		t.Fatal(err)
	}
	if len(tm.byLocale) != len(locales) {
		t.Fatalf("%d locales loaded, want %d", len(tm.byLocale), len(locales))
	}
	if _, err := LoadTemplates(shippedFS(t, "en", func(map[string]any) {})); err != nil {
		t.Fatalf("an unchanged copy fails: %v", err)
	}
}

// Each broken file fails start-up with an error naming the file and the key.
func TestLoadTemplatesRejects(t *testing.T) {
	for _, tc := range []struct {
		name, locale string
		edit         func(m map[string]any)
		want         string
	}{
		{"missing status", "en", func(m map[string]any) { delete(section(m, "messages"), "paid") },
			"notifications/withdrawal.en.json: messages.paid: missing"},
		{"missing status name", "zh-CN", func(m map[string]any) { delete(section(m, "statuses"), "approved") },
			"notifications/withdrawal.zh-CN.json: statuses.approved: missing"},
		{"missing kind", "zh-CN", func(m map[string]any) { delete(section(m, "kinds"), "closing") },
			"withdrawal.zh-CN.json: kinds.closing: missing"},
		{"misspelt kind", "en", func(m map[string]any) { section(m, "kinds")["retirment"] = "Retirement" },
			"kinds.retirment: not a known kind"},
		{"unknown status message", "en", func(m map[string]any) { section(m, "messages")["lost"] = section(m, "messages", "paid") },
			"messages.lost: not a known status"},
		{"missing reason", "en", func(m map[string]any) { delete(section(m, "reasons"), "no_loan") },
			"reasons.no_loan: missing"},
		{"no generic reason", "zh-CN", func(m map[string]any) { m["reason_unknown"] = " " },
			"reason_unknown: missing"},
		{"no time layout", "zh-CN", func(m map[string]any) { delete(m, "time_layout") },
			"time_layout: missing"},
		{"unknown placeholder", "zh-CN", func(m map[string]any) { section(m, "messages", "paid", "data")["thing2"] = "{knd}" },
			"messages.paid.data.thing2: unknown placeholder {knd}"},
		{"not a data key", "en", func(m map[string]any) { section(m, "messages", "paid", "data")["title"] = "x" },
			"messages.paid.data.title: not a WeChat data key"},
		{"empty data value", "en", func(m map[string]any) { section(m, "messages", "paid", "data")["thing6"] = "" },
			"messages.paid.data.thing6: empty"},
		{"template id with a space", "en", func(m map[string]any) { section(m, "messages", "rejected")["template_id"] = "hpf withdrawal" },
			"messages.rejected.template_id: must be"},
		{"page placeholder", "en", func(m map[string]any) { section(m, "messages", "rejected")["page"] = "p?id={id}" },
			"messages.rejected.page: unknown placeholder {id}"},
		{"unknown field", "zh-CN", func(m map[string]any) { m["colour"] = "red" },
			`withdrawal.zh-CN.json: json: unknown field "colour"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadTemplates(shippedFS(t, tc.locale, tc.edit))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestLoadTemplatesMissingLocale(t *testing.T) {
	fsys := shippedFS(t, "", nil)
	delete(fsys, templateFile("en"))
	_, err := LoadTemplates(fsys)
	if err == nil || !strings.Contains(err.Error(), "notifications/withdrawal.en.json") {
		t.Fatalf("error %v, want one naming the missing file", err)
	}
}
