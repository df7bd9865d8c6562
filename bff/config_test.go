package bff

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDefaultsAreValid(t *testing.T) {
	cfg, err := LoadConfig(map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Profile != ProfileEmbedded || cfg.Addr != "127.0.0.1:8080" || !cfg.WeChatSandbox {
		t.Fatalf("defaults %+v", cfg)
	}
}

func TestConfigErrorsNameTheSetting(t *testing.T) {
	cases := []struct {
		env  map[string]string
		want []string
	}{
		{map[string]string{"HANDHELD_PROFILE": "staging"}, []string{"HANDHELD_PROFILE"}},
		{map[string]string{"HANDHELD_ADDR": "nowhere"}, []string{"HANDHELD_ADDR"}},
		{map[string]string{"HANDHELD_CORE_TIMEOUT": "-1s"}, []string{"HANDHELD_CORE_TIMEOUT"}},
		{map[string]string{"HANDHELD_CORE_TIMEOUT": "soon"}, []string{"HANDHELD_CORE_TIMEOUT"}},
		{map[string]string{"HANDHELD_DATABASE_URL": "mysql://x"}, []string{"HANDHELD_DATABASE_URL"}},
		{map[string]string{"HANDHELD_LOAN_RATE_BP": "9999"}, []string{"HANDHELD_LOAN_RATE_BP"}},
		{map[string]string{"HANDHELD_ECARD_FORMAT": "cose"}, []string{"HANDHELD_ECARD_FORMAT"}},
		{map[string]string{"HANDHELD_CRYPTO": "gm"}, []string{"HANDHELD_CRYPTO"}},
		{map[string]string{"HANDHELD_CRYPTO_REQUIRED": "sm"}, []string{"HANDHELD_CRYPTO"}},
		{map[string]string{"HANDHELD_CRYPTO": "intl", "HANDHELD_CRYPTO_REQUIRED": "sm"}, []string{"HANDHELD_CRYPTO"}},
		{map[string]string{"HANDHELD_PROFILE": "production"}, []string{
			"HANDHELD_DATABASE_URL", "HANDHELD_REDIS_URL", "HANDHELD_CORE_URL", "HANDHELD_CORE_SECRET",
			"HANDHELD_KEYS_DIR", "HANDHELD_WECHAT_SANDBOX", "HANDHELD_WECHAT_APP_ID", "HANDHELD_HASH_SECRET",
			"HANDHELD_PUBLIC_BASE_URL"}},
		{map[string]string{"HANDHELD_ACCESS_TTL": "1h"}, []string{"HANDHELD_ACCESS_TTL"}},
		{map[string]string{"HANDHELD_KIOSK_IDLE": "20m"}, []string{"HANDHELD_KIOSK_ABSOLUTE"}},
		{map[string]string{"HANDHELD_PROFILE": "production", "HANDHELD_WECHAT_SANDBOX": "false",
			"DATABASE_URL": "postgres://db/handheld", "REDIS_URL": "redis://r:6379", "CORE_URL": "https://core.example",
			"HANDHELD_CORE_SECRET": strings.Repeat("s", 32), "HANDHELD_KEYS_DIR": "/keys",
			"HANDHELD_CORESIM_FAULTS": "all=down"}, []string{"HANDHELD_CORESIM_FAULTS"}},
	}
	for _, tc := range cases {
		_, err := LoadConfig(tc.env)
		if err == nil {
			t.Errorf("%v: no error", tc.env)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: error %q does not name %s", tc.env, err, w)
			}
		}
	}
}

func TestProductionConfigAccepted(t *testing.T) {
	cfg, err := LoadConfig(map[string]string{"HANDHELD_PROFILE": "production", "HANDHELD_WECHAT_SANDBOX": "false",
		"DATABASE_URL": "postgres://db/handheld", "REDIS_URL": "redis://r:6379", "CORE_URL": "https://core.example",
		"HANDHELD_CORE_SECRET": strings.Repeat("s", 32), "HANDHELD_KEYS_DIR": "/keys",
		"HANDHELD_WECHAT_APP_ID": "wx0123456789abcdef", "HANDHELD_WECHAT_APP_SECRET": "secret",
		"HANDHELD_HASH_SECRET": strings.Repeat("h", 32), "HANDHELD_PUBLIC_BASE_URL": "https://gjj.example.gov.cn"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DatabaseURL != "postgres://db/handheld" || cfg.CoreURL != "https://core.example" {
		t.Fatalf("conventional names not read: %+v", cfg)
	}
}

func TestConfigFileThenEnvironment(t *testing.T) {
	path := filepath.Join(t.TempDir(), "centre.yaml")
	if err := os.WriteFile(path, []byte("centre_name: 杭州住房公积金管理中心\ncore_timeout: 3s\naddr: 127.0.0.1:9000\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(map[string]string{"HANDHELD_CONFIG_FILE": path, "HANDHELD_ADDR": "127.0.0.1:9100"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.CentreName != "杭州住房公积金管理中心" || cfg.CoreTimeout != 3*time.Second || cfg.Addr != "127.0.0.1:9100" {
		t.Fatalf("got %+v", cfg)
	}
	if err := os.WriteFile(path, []byte("centre_nmae: typo\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadConfig(map[string]string{"HANDHELD_CONFIG_FILE": path}); err == nil || !strings.Contains(err.Error(), "centre_nmae") {
		t.Fatalf("unknown key in file: %v", err)
	}
}

func TestRedactedHidesSecrets(t *testing.T) {
	cfg := Defaults()
	cfg.CoreSecret = "super-secret-value"
	cfg.DatabaseURL = "postgres://handheld:pa55word@db:5432/handheld"
	cfg.RedisURL = "redis://:redispass@r:6379/0"
	dump := cfg.Redacted()
	all := ""
	for k, v := range dump {
		all += k + "=" + v + "\n"
	}
	for _, secret := range []string{"super-secret-value", "pa55word", "redispass"} {
		if strings.Contains(all, secret) {
			t.Errorf("dump leaks %q:\n%s", secret, all)
		}
	}
	if dump["HANDHELD_CORE_SECRET"] != "set" || !strings.Contains(dump["HANDHELD_DATABASE_URL"], "db:5432") {
		t.Fatalf("dump %v", dump)
	}
}

// TestPublicBaseFollowsTheListenAddress: with no HANDHELD_PUBLIC_BASE_URL
// the links on certificates point where the server listens (a wildcard
// host read as loopback); a configured URL wins.
func TestPublicBaseFollowsTheListenAddress(t *testing.T) {
	cases := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{}, "http://127.0.0.1:8080"},
		{map[string]string{"HANDHELD_ADDR": "127.0.0.1:9090"}, "http://127.0.0.1:9090"},
		{map[string]string{"HANDHELD_ADDR": "0.0.0.0:9090"}, "http://127.0.0.1:9090"},
		{map[string]string{"HANDHELD_ADDR": ":9090"}, "http://127.0.0.1:9090"},
		{map[string]string{"HANDHELD_ADDR": "[::]:9090"}, "http://127.0.0.1:9090"},
		{map[string]string{"HANDHELD_ADDR": "[::1]:9090"}, "http://[::1]:9090"},
		{map[string]string{"HANDHELD_ADDR": "10.1.2.3:80"}, "http://10.1.2.3:80"},
		{map[string]string{"HANDHELD_ADDR": "0.0.0.0:9090", "HANDHELD_PUBLIC_BASE_URL": "https://gjj.example.gov.cn"}, "https://gjj.example.gov.cn"},
	}
	for _, tc := range cases {
		cfg, err := LoadConfig(tc.env)
		if err != nil {
			t.Fatalf("%v: %v", tc.env, err)
		}
		if got := cfg.PublicBase(); got != tc.want {
			t.Errorf("%v: public base %q, want %q", tc.env, got, tc.want)
		}
	}
	if _, err := LoadConfig(map[string]string{"HANDHELD_PUBLIC_BASE_URL": "gjj.example.gov.cn"}); err == nil || !strings.Contains(err.Error(), "HANDHELD_PUBLIC_BASE_URL") {
		t.Errorf("a base URL without a scheme: %v", err)
	}
}

// TestRedactedShowsEverySetting: the start-up dump has one entry per
// setting, file-only ones under their YAML key (they used to collapse into
// one empty key), secrets only as set, unset or generated, and a
// verifier's secret hash never.
func TestRedactedShowsEverySetting(t *testing.T) {
	cfg := Defaults()
	cfg.Verifiers = []VerifierCredential{{ID: "bank-1", Name: "示范银行", SecretSHA256: "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8", Enabled: true}}
	cfg.WeChatAppSecret = "wx-secret-value"
	dump := cfg.Redacted()
	if n := reflect.TypeFor[Config]().NumField(); len(dump) != n {
		t.Errorf("dump has %d entries for %d settings", len(dump), n)
	}
	if _, ok := dump[""]; ok {
		t.Errorf("a setting is dumped without a name: %v", dump)
	}
	want := map[string]string{
		"HANDHELD_WECHAT_APP_SECRET": "set",
		"HANDHELD_CORE_SECRET":       "unset",
		"HANDHELD_HASH_SECRET":       "generated",
		"HANDHELD_PUBLIC_BASE_URL":   "http://127.0.0.1:8080 (from HANDHELD_ADDR)",
		"verifiers":                  "1: 示范银行",
		"kiosks":                     "none",
		"core_reads":                 "default",
	}
	for k, v := range want {
		if dump[k] != v {
			t.Errorf("%s = %q, want %q", k, dump[k], v)
		}
	}
	for _, k := range []string{"rate_limits", "services", "masking", "withdrawals", "assurance"} {
		if dump[k] == "" {
			t.Errorf("%s is missing from the dump", k)
		}
	}
	if !strings.Contains(dump["rate_limits"], "login_ip") || !strings.Contains(dump["withdrawals"], "daily_limit_fen: 100000000") ||
		!strings.Contains(dump["assurance"], "bind_factors: [face]") {
		t.Errorf("policies not summarised: %v", dump)
	}
	all := fmt.Sprint(dump)
	for _, secret := range []string{"wx-secret-value", "5e884898"} {
		if strings.Contains(all, secret) {
			t.Errorf("dump leaks %q", secret)
		}
	}
	prod := Defaults()
	prod.Profile = ProfileProduction
	if got := prod.Redacted()["HANDHELD_HASH_SECRET"]; got != "unset" {
		t.Errorf("production hash secret dumped as %q, want unset (nothing is generated there)", got)
	}
}

// A name that joins modules (a rate-limit class, a service, a channel)
// misspelt in the centre's file stops start-up, naming the setting and the
// name, instead of silently switching a protection or a switch off.
func TestConfigFileRefusesUnknownNames(t *testing.T) {
	cases := []struct {
		name string
		file string
		want []string
	}{
		{"rate-limit class", `
rate_limits:
  - {name: read_subject, key: subject, classes: [raed], rate: 120, burst: 40, period: 1m}
`, []string{"rate_limits", "classes", `"raed"`}},
		{"service", `
services:
  withdrawals: {"*": {off: true}}
`, []string{"services", `"withdrawals"`}},
		{"channel", `
services:
  withdrawal: {mini_app: {off: true}}
`, []string{"services", `"mini_app"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "centre.yaml")
			if err := os.WriteFile(path, []byte(tc.file), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := LoadConfig(map[string]string{"HANDHELD_CONFIG_FILE": path})
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %s", err, w)
				}
			}
		})
	}
}

// TestTracingSettings: the standard OTEL_* variables are read, and a wrong
// one stops start-up naming it.
func TestTracingSettings(t *testing.T) {
	cfg, err := LoadConfig(map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
		"OTEL_TRACES_SAMPLER_ARG": "0.1", "OTEL_SERVICE_NAME": "handheld-a"})
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.tracing(); got.Exporter != "otlp" || got.Sampler != "parentbased_traceidratio" || got.SamplerArg != "0.1" || got.ServiceName != "handheld-a" {
		t.Fatalf("tracing settings %+v", got)
	}
	if Defaults().TracesExporter != "" {
		t.Fatal("tracing is on by default")
	}
	for env, name := range map[string]string{"OTEL_TRACES_EXPORTER": "zipkin", "OTEL_TRACES_SAMPLER_ARG": "half"} {
		environ := map[string]string{env: name}
		if env == "OTEL_TRACES_SAMPLER_ARG" {
			environ["OTEL_TRACES_SAMPLER"] = "traceidratio"
		}
		if _, err := LoadConfig(environ); err == nil || !strings.Contains(err.Error(), env) {
			t.Errorf("%s=%s: %v, want an error naming it", env, name, err)
		}
	}
}
