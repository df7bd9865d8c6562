package middleware

import (
	"io"
	"net"
	"net/http"
	"testing"

	"github.com/gofiber/fiber/v2"
)

func TestClientIP(t *testing.T) {
	serve := func(trusted ...string) string {
		p, err := ParseProxies(trusted)
		if err != nil {
			t.Fatal(err)
		}
		app := fiber.New(fiber.Config{DisableStartupMessage: true})
		app.Use(ClientIP(p))
		app.Get("/", func(c *fiber.Ctx) error { return c.SendString(GetClientIP(c)) })
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go func() { _ = app.Listener(ln) }()
		t.Cleanup(func() { _ = app.Shutdown() })
		return "http://" + ln.Addr().String() + "/"
	}
	get := func(url, xff string) string {
		req, _ := http.NewRequest("GET", url, nil)
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	untrusting := serve()
	trusting := serve("127.0.0.1", "10.0.0.0/8")
	cases := []struct {
		url, xff, want string
	}{
		{untrusting, "", "127.0.0.1"},
		{untrusting, "203.0.113.7", "127.0.0.1"}, // spoofed: the peer is no proxy
		{trusting, "", "127.0.0.1"},
		{trusting, "203.0.113.7", "203.0.113.7"},
		{trusting, "198.51.100.1, 203.0.113.7, 10.1.2.3", "203.0.113.7"}, // right-most untrusted hop
		{trusting, "not-an-ip", "127.0.0.1"},
		{trusting, "203.0.113.7, garbage", "127.0.0.1"},
		{trusting, "::ffff:203.0.113.9", "203.0.113.9"},
	}
	for _, tc := range cases {
		if got := get(tc.url, tc.xff); got != tc.want {
			t.Errorf("XFF %q: %q, want %q", tc.xff, got, tc.want)
		}
	}
	if _, err := ParseProxies([]string{"10.0.0.0/33"}); err == nil {
		t.Error("bad CIDR accepted")
	}
}
