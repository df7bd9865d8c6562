package certificate

import (
	"encoding/base64"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"handheld/services"
	"handheld/services/suite"
)

func TestSignedLinks(t *testing.T) {
	c := newClock()
	s := &Service{Deps: Deps{Now: c.Now, LinkTTL: 10 * time.Minute}, linkKey: services.NewHashKey([]byte("k"), suite.Env()).Derive("link")}
	id, other := strings.Repeat("ab", 16), strings.Repeat("cd", 16)

	u, err := url.Parse(s.downloadURL(id))
	if err != nil {
		t.Fatal(err)
	}
	if u.Path != DownloadPath+id+"/pdf" {
		t.Fatalf("path %s", u.Path)
	}
	tok := u.Query().Get("t")
	exp, mac, _ := strings.Cut(tok, ".")
	if exp != strconv.FormatInt(c.Now().Add(10*time.Minute).Unix(), 10) {
		t.Fatalf("expiry %s", exp)
	}
	flipped := []byte(mac)
	flipped[3] ^= 1
	later := strconv.FormatInt(c.Now().Add(time.Hour).Unix(), 10)

	cases := []struct {
		name, id, t string
		want        services.Code // "" admits
	}{
		{"as made", id, tok, ""},
		{"for another id", other, tok, services.CodeCertificateLinkInvalid},
		{"MAC changed", id, exp + "." + string(flipped), services.CodeCertificateLinkInvalid},
		{"expiry moved later", id, later + "." + mac, services.CodeCertificateLinkInvalid},
		{"made with another secret", id, linkToken(services.NewHashKey([]byte("other"), suite.Env()).Derive("link"), id, c.Now().Add(time.Minute).Unix()), services.CodeCertificateLinkInvalid},
		{"no MAC", id, exp, services.CodeCertificateLinkInvalid},
		{"empty", id, "", services.CodeCertificateLinkInvalid},
		{"not base64", id, exp + ".***", services.CodeCertificateLinkInvalid},
		{"huge", id, strings.Repeat("1", 200) + "." + mac, services.CodeCertificateLinkInvalid},
		{"expiry not a number, yet MACed", id, "soon." + base64.RawURLEncoding.EncodeToString(linkMAC(s.linkKey, id, "soon")), services.CodeCertificateLinkInvalid},
		{"expired an hour ago", id, linkToken(s.linkKey, id, c.Now().Add(-time.Hour).Unix()), services.CodeCertificateLinkExpired},
	}
	for _, tc := range cases {
		err := s.checkLink(tc.id, tc.t)
		if got := codeOf(err); got != tc.want {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	secret := services.NewHashKey([]byte("0123456789abcdef0123456789abcdef"), suite.Env())
	withSecret := &Service{Deps: s.Deps, linkKey: secret.Derive(linkLabel)}
	if got := Link(secret, id, c.Now().Add(10*time.Minute)); got != withSecret.downloadURL(id) {
		t.Fatalf("Link %s differs from the service's %s", got, withSecret.downloadURL(id))
	}
	c.Advance(10*time.Minute - time.Second)
	if err := s.checkLink(id, tok); err != nil {
		t.Fatalf("a second before expiry: %v", err)
	}
	c.Advance(time.Second)
	if got := codeOf(s.checkLink(id, tok)); got != services.CodeCertificateLinkExpired {
		t.Fatalf("at expiry: %q", got)
	}
}

func codeOf(err error) services.Code {
	if err == nil {
		return ""
	}
	return services.ErrorCode(err)
}
