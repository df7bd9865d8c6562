package identity_test

import (
	"testing"

	"handheld/services"
	"handheld/services/identity"
)

func TestPrincipalDepositorAndActor(t *testing.T) {
	tests := []struct {
		name      string
		p         identity.Principal
		depositor bool
		actor     string
	}{
		{"mini-program depositor", identity.Principal{Subject: "s_1", Role: identity.RoleDepositor, Channel: identity.ChannelMiniApp}, true, "s_1"},
		{"citizen at a kiosk", identity.Principal{Subject: "s_1", Role: identity.RoleDepositor, Channel: identity.ChannelKiosk, Device: "k1"}, true, "device:k1"},
		{"depositor without a subject", identity.Principal{Role: identity.RoleDepositor, Channel: identity.ChannelMiniApp}, false, ""},
		{"employer", identity.Principal{Subject: "operator:ab", Role: identity.RoleEmployer, Channel: identity.ChannelApp}, false, "operator:ab"},
		{"kiosk device", identity.Principal{Subject: "device:k1", Role: identity.RoleKiosk, Channel: identity.ChannelKiosk, Device: "k1"}, false, "device:k1"},
	}
	for _, tt := range tests {
		err := tt.p.Depositor()
		if (err == nil) != tt.depositor || (err != nil && services.ErrorCode(err) != services.CodeForbidden) {
			t.Errorf("%s: Depositor() = %v, want depositor %v", tt.name, err, tt.depositor)
		}
		if got := tt.p.Actor(); got != tt.actor {
			t.Errorf("%s: Actor() = %q, want %q", tt.name, got, tt.actor)
		}
	}
}
