package identity

import (
	"strconv"
	"testing"
	"time"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/suite"
)

func TestValidateIdentity(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name, id string
		fields   map[string]string
	}{
		{"张伟", "330106198503124133", nil},
		{"欧阳晓峰", "330108199311051571", nil},
		{"张", "330106198503124133", map[string]string{"name": services.FieldFormat}},
		{"张伟", "33010619850312413", map[string]string{"id_number": services.FieldFormat}},
		{"张伟", "330106198503124134", map[string]string{"id_number": services.FieldChecksum}},
		{"张伟", "330106198513324133", map[string]string{"id_number": "birth_date"}},
		{"张伟", "33010619850312413x", map[string]string{"id_number": services.FieldFormat}},
		{"", "", map[string]string{"name": services.FieldFormat, "id_number": services.FieldFormat}},
		// Rare characters (CJK Extension B) are names; what cannot be part
		// of a name is refused before the core is asked.
		{"林晓𪚥", "330106199108153289", nil},
		{"张\u202E伟", "330106198503124133", map[string]string{"name": services.FieldFormat}},
		{"张\x00伟", "330106198503124133", map[string]string{"name": services.FieldFormat}},
		{"张\uE000", "330106198503124133", map[string]string{"name": services.FieldFormat}},
		{"张\uFFFD", "330106198503124133", map[string]string{"name": services.FieldFormat}},
	}
	for _, tc := range cases {
		err := validateIdentity(tc.name, tc.id, now)
		got := map[string]string{}
		if err != nil {
			for _, f := range services.AsError(err).Fields {
				got[f.Field] = f.Code
			}
		}
		if len(got) != len(tc.fields) {
			t.Errorf("%q %q: fields %v, want %v", tc.name, tc.id, got, tc.fields)
			continue
		}
		for k, v := range tc.fields {
			if got[k] != v {
				t.Errorf("%q %q: %s = %q, want %q", tc.name, tc.id, k, got[k], v)
			}
		}
	}
}

func TestRevocationCache(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	c := newRevocationCache(3, 2*time.Second, func() time.Time { return now })
	if known, _ := c.lookup("a"); known {
		t.Fatal("unknown session known")
	}
	c.markLive("a")
	if known, revoked := c.lookup("a"); !known || revoked {
		t.Fatal("live session not remembered")
	}
	now = now.Add(3 * time.Second)
	if known, _ := c.lookup("a"); known {
		t.Fatal("live answer outlived its TTL")
	}
	c.markRevoked("b")
	now = now.Add(time.Hour)
	if _, revoked := c.lookup("b"); !revoked {
		t.Fatal("revocation forgotten")
	}
	c.markLive("c")
	c.markLive("d")
	c.markLive("e") // over the bound: starts over
	if len(c.entries) > 3 {
		t.Fatalf("cache grew to %d", len(c.entries))
	}
}

func TestDeviceMessageBindsEveryPart(t *testing.T) {
	base := string(DeviceMessage("POST", "/api/v1/kiosk/session", "1800000000", "nonce-0123456789ab", []byte("{}")))
	for _, other := range [][]byte{
		DeviceMessage("GET", "/api/v1/kiosk/session", "1800000000", "nonce-0123456789ab", []byte("{}")),
		DeviceMessage("POST", "/api/v1/kiosk/sessions", "1800000000", "nonce-0123456789ab", []byte("{}")),
		DeviceMessage("POST", "/api/v1/kiosk/session", "1800000001", "nonce-0123456789ab", []byte("{}")),
		DeviceMessage("POST", "/api/v1/kiosk/session", "1800000000", "nonce-0123456789ac", []byte("{}")),
		DeviceMessage("POST", "/api/v1/kiosk/session", "1800000000", "nonce-0123456789ab", []byte("{ }")),
	} {
		if string(other) == base {
			t.Fatalf("message does not change with every part: %q", other)
		}
	}
}

// Audit actors and targets built from pseudonyms always pass the audit
// trail's personal-data guard, whatever digits the HMAC happens to hold.
func TestPseudonymTagsPassTheAuditGuard(t *testing.T) {
	s := &Service{Deps: Deps{HashKey: services.NewHashKey([]byte("0123456789abcdef0123456789abcdef"), suite.Env())}}
	// The guard checks subject, actor and target alike, so one record
	// carries the three forms of each tag: every form of every tag is
	// checked once, not twice in three records as before.
	for i := range 20000 {
		p := s.pseudonym("unit", strconv.Itoa(i))
		r := audit.Record{At: time.Now(), Subject: "wechat:" + tag(p), Actor: "operator:" + tag(p), Target: "unit:" + tag(p),
			Channel: "app", Action: "login.success", Result: "ok"}
		if err := audit.Check(r); err != nil {
			t.Fatalf("%+v refused: %v", r, err)
		}
	}
}
