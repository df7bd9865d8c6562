package identity

import "handheld/services"

// Depositor admits a depositor with a subject, on any channel (kiosk
// sessions included), and refuses anyone else with auth.forbidden. The
// route guards already ensure it; each use case on a person's own data
// checks again, so that a wiring mistake never lets an employer, a device
// or a verifier at it.
func (p Principal) Depositor() error {
	if p.Role != RoleDepositor || p.Subject == "" {
		return services.Errorf(services.CodeForbidden, "role %q is not a depositor", p.Role)
	}
	return nil
}

// Actor is who acts for p in the audit trail: the kiosk device a citizen
// uses, or else the subject.
func (p Principal) Actor() string {
	if p.Channel == ChannelKiosk && p.Device != "" {
		return "device:" + p.Device
	}
	return p.Subject
}
