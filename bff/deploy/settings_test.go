package deploy

import (
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"handheld/bff"
)

// settings are the environment variables bff.LoadConfig reads: every env tag
// of bff.Config, the file's name and the conventional URL names.
func settings() map[string]bool {
	out := map[string]bool{"HANDHELD_CONFIG_FILE": true, "DATABASE_URL": true, "REDIS_URL": true, "CORE_URL": true}
	t := reflect.TypeFor[bff.Config]()
	for i := range t.NumField() {
		if name := t.Field(i).Tag.Get("env"); name != "" {
			out[name] = true
		}
	}
	return out
}

// secretSettings are the settings the start-up dump hides: they belong in a
// Secret, never in a ConfigMap, a chart's values or an image.
func secretSettings() map[string]bool {
	out := map[string]bool{"DATABASE_URL": true, "REDIS_URL": true}
	t := reflect.TypeFor[bff.Config]()
	for i := range t.NumField() {
		if f := t.Field(i); f.Tag.Get("secret") != "" {
			out[f.Tag.Get("env")] = true
		}
	}
	return out
}

// placeholders stand in for the values a Secret holds, shaped as production
// requires them.
var placeholders = map[string]string{
	"HANDHELD_DATABASE_URL":      "postgres://handheld:password@postgres:5432/handheld",
	"HANDHELD_REDIS_URL":         "redis://redis:6379/0",
	"HANDHELD_CORE_SECRET":       strings.Repeat("c", 32),
	"HANDHELD_HASH_SECRET":       strings.Repeat("h", 32),
	"HANDHELD_WECHAT_APP_ID":     "wx0000000000000000",
	"HANDHELD_WECHAT_APP_SECRET": strings.Repeat("w", 32),
}

// loadSettings checks that every name in environ is a setting and loads
// them as the binary does; file, when not empty, is the configuration file's
// content, written where HANDHELD_CONFIG_FILE points.
func loadSettings(t *testing.T, what string, environ map[string]string, file string) bff.Config {
	t.Helper()
	known := settings()
	for _, name := range slices.Sorted(maps.Keys(environ)) {
		if !known[name] {
			t.Errorf("%s: %s is not a setting (docs/configuration.md)", what, name)
		}
	}
	env := maps.Clone(environ)
	if file != "" {
		path := filepath.Join(t.TempDir(), "handheld.yaml")
		if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
			t.Fatal(err)
		}
		env["HANDHELD_CONFIG_FILE"] = path
	} else if env["HANDHELD_CONFIG_FILE"] != "" {
		t.Fatalf("%s: HANDHELD_CONFIG_FILE is %s but no file is shipped with it", what, env["HANDHELD_CONFIG_FILE"])
	}
	cfg, err := bff.LoadConfig(env)
	if err != nil {
		t.Fatalf("%s: the binary would refuse to start:\n%v", what, err)
	}
	return cfg
}
