package bff

import (
	"strings"
	"testing"
)

func TestKioskScreenSettings(t *testing.T) {
	for _, tt := range []struct {
		env        map[string]string
		path, demo string
		bad        string
	}{
		{env: nil, path: "/kiosk/", demo: "127.0.0.1:8081"},
		{env: map[string]string{"HANDHELD_KIOSK_SCREEN_PATH": "off"}, path: "", demo: ""},
		{env: map[string]string{"HANDHELD_DEMO_KIOSK_LISTEN": "off"}, path: "/kiosk/", demo: ""},
		{env: map[string]string{"HANDHELD_KIOSK_SCREEN_PATH": "/self-service/kiosk/"}, path: "/self-service/kiosk/", demo: "127.0.0.1:8081"},
		{env: map[string]string{"HANDHELD_KIOSK_SCREEN_PATH": "/kiosk"}, bad: "HANDHELD_KIOSK_SCREEN_PATH"},
		{env: map[string]string{"HANDHELD_KIOSK_SCREEN_PATH": "/api/v1/kiosk/"}, bad: "HANDHELD_KIOSK_SCREEN_PATH"},
		{env: map[string]string{"HANDHELD_KIOSK_SCREEN_PATH": "/"}, bad: "HANDHELD_KIOSK_SCREEN_PATH"},
		{env: map[string]string{"HANDHELD_KIOSK_SCREEN_PATH": "/Kiosk/<x>/"}, bad: "HANDHELD_KIOSK_SCREEN_PATH"},
		{env: map[string]string{"HANDHELD_DEMO_KIOSK_LISTEN": "8081"}, bad: "HANDHELD_DEMO_KIOSK_LISTEN"},
		{env: map[string]string{"HANDHELD_DEMO_KIOSK_LISTEN": "127.0.0.1:8080"}, bad: "HANDHELD_DEMO_KIOSK_LISTEN"},
	} {
		env := map[string]string{"HANDHELD_DATA_DIR": t.TempDir()}
		for k, v := range tt.env {
			env[k] = v
		}
		cfg, err := LoadConfig(env)
		if tt.bad != "" {
			if err == nil || !strings.Contains(err.Error(), tt.bad) {
				t.Errorf("%v: %v, want an error naming %s", tt.env, err, tt.bad)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%v: %v", tt.env, err)
		}
		if cfg.ScreenPath() != tt.path || cfg.DemoKioskAddr() != tt.demo {
			t.Errorf("%v: path %q demo %q", tt.env, cfg.ScreenPath(), cfg.DemoKioskAddr())
		}
	}
	// Never on another profile, whatever it says.
	cfg := Defaults()
	cfg.Profile = ProfileProduction
	if cfg.DemoKioskAddr() != "" {
		t.Fatal("the demo kiosk's agent on production")
	}
}
