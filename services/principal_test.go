package services_test

import (
	"testing"

	"handheld/services"
)

func TestPrincipalDepositorAndActor(t *testing.T) {
	tests := []struct {
		name      string
		p         services.Principal
		depositor bool
		actor     string
	}{
		{"mini-program depositor", services.Principal{Subject: "s_1", Role: services.RoleDepositor, Channel: services.ChannelMiniApp}, true, "s_1"},
		{"citizen at a kiosk", services.Principal{Subject: "s_1", Role: services.RoleDepositor, Channel: services.ChannelKiosk, Device: "k1"}, true, "device:k1"},
		{"depositor without a subject", services.Principal{Role: services.RoleDepositor, Channel: services.ChannelMiniApp}, false, ""},
		{"employer", services.Principal{Subject: "operator:ab", Role: services.RoleEmployer, Channel: services.ChannelApp}, false, "operator:ab"},
		{"kiosk device", services.Principal{Subject: "device:k1", Role: services.RoleKiosk, Channel: services.ChannelKiosk, Device: "k1"}, false, "device:k1"},
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
