package middleware

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/gofiber/fiber/v2"
)

const localClientIP = "client_ip"

// Proxies are the addresses whose X-Forwarded-For is believed. Anyone else
// could write any address there to dodge a per-IP limit.
type Proxies struct{ nets []netip.Prefix }

// ParseProxies reads addresses and CIDR ranges ("10.0.0.0/8", "127.0.0.1").
func ParseProxies(list []string) (Proxies, error) {
	var p Proxies
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !strings.Contains(s, "/") {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return Proxies{}, fmt.Errorf("trusted proxy %q: %w", s, err)
			}
			s = netip.PrefixFrom(a, a.BitLen()).String()
		}
		n, err := netip.ParsePrefix(s)
		if err != nil {
			return Proxies{}, fmt.Errorf("trusted proxy %q: %w", s, err)
		}
		p.nets = append(p.nets, n.Masked())
	}
	return p, nil
}

func (p Proxies) trusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, n := range p.nets {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

// ClientIP puts the client's address on the request: the peer, or — when the
// peer is a trusted proxy — the right-most X-Forwarded-For entry that is not
// itself a trusted proxy. Garbage entries stop the walk; the peer stands.
func ClientIP(p Proxies) fiber.Handler {
	return func(c *fiber.Ctx) error {
		c.Locals(localClientIP, p.resolve(c))
		return c.Next()
	}
}

func (p Proxies) resolve(c *fiber.Ctx) string {
	peer, ok := netip.AddrFromSlice(c.Context().RemoteIP())
	if !ok {
		return "unknown"
	}
	peer = peer.Unmap()
	if len(p.nets) == 0 || !p.trusted(peer) {
		return peer.String()
	}
	client := peer
	hops := strings.Split(c.Get(fiber.HeaderXForwardedFor), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		client = a.Unmap()
		if !p.trusted(client) {
			break
		}
	}
	return client.String()
}

// GetClientIP returns the address ClientIP resolved ("unknown" if none).
func GetClientIP(c *fiber.Ctx) string {
	if ip, ok := c.Locals(localClientIP).(string); ok {
		return ip
	}
	return "unknown"
}
