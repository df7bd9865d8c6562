package certificate

import (
	"strings"
	"testing"
	"time"

	"handheld/services"
	"handheld/services/keys"
	"handheld/services/mask"
	"handheld/services/store/storetest"
	"handheld/services/suite"
)

func TestNewRefusesBadSettings(t *testing.T) {
	s := storetest.Migrated(t, storetest.SQLiteDSN(t))
	ring, err := keys.Ensure(t.TempDir(), start, suite.Env(), keys.PurposeCertificates)
	if err != nil {
		t.Fatal(err)
	}
	tokensOnly, err := keys.Ensure(t.TempDir(), start, suite.Env(), keys.PurposeTokens)
	if err != nil {
		t.Fatal(err)
	}
	good := func() Deps {
		return Deps{Store: s, Facts: &fakeFacts{}, Units: &fakeUnits{}, People: fakePeople{}, Renderer: &fakeRenderer{}, Ring: ring, Audit: &fakeAudit{},
			PublicBaseURL: "https://hpf.example.cn", CentreName: "中心", CentreCode: "330100", Secret: services.NewHashKey(make([]byte, 32), suite.Env())}
	}
	cases := []struct {
		name   string
		change func(*Deps)
		want   string // in the error
	}{
		{"no renderer", func(d *Deps) { d.Renderer = nil }, "missing dependency"},
		{"no unit facts", func(d *Deps) { d.Units = nil }, "missing dependency"},
		{"short secret", func(d *Deps) { d.Secret = services.NewHashKey(make([]byte, 31), suite.Env()) }, "secret"},
		{"no certificates key", func(d *Deps) { d.Ring = tokensOnly }, `"certificates" signing key`},
		{"validity too long", func(d *Deps) { d.Validity = 400 * 24 * time.Hour }, "validity"},
		{"negative link TTL", func(d *Deps) { d.LinkTTL = -time.Second }, "link TTL"},
		{"centre code with a dash", func(d *Deps) { d.CentreCode = "33-01" }, "centre code"},
		{"no centre name", func(d *Deps) { d.CentreName = " " }, "centre name"},
		{"relative base URL", func(d *Deps) { d.PublicBaseURL = "/verify" }, "public base URL"},
		{"base URL with a query", func(d *Deps) { d.PublicBaseURL = "https://x.cn/?a=1" }, "public base URL"},
		{"unknown masking field", func(d *Deps) { d.Mask = mask.Policy{"face": {}} }, "face"},
	}
	for _, tc := range cases {
		d := good()
		tc.change(&d)
		if _, err := New(d); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error naming %q", tc.name, err, tc.want)
		}
	}
	svc, err := New(good())
	if err != nil {
		t.Fatal(err)
	}
	if svc.Validity != DefaultValidity || svc.LinkTTL != DefaultLinkTTL || svc.Mask == nil || svc.Now == nil {
		t.Fatalf("defaults not filled: %+v", svc.Deps)
	}
}
