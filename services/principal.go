package services

import "time"

// Roles and channels, as carried in the role and chn claims of every token.
const (
	RoleDepositor = "depositor"
	RoleEmployer  = "employer"
	RoleKiosk     = "kiosk"
	RoleVerifier  = "verifier"
	// RoleStaff is the centre's own staff, on the staff pages only
	// (services/staff); no API route admits it.
	RoleStaff = "staff"
	// RoleParty is a relying party (a bank, a rental platform, an
	// employer) redeeming the yes/no answers a person shared with it
	// (services/share); its subject is "party:<id>".
	RoleParty = "party"

	ChannelMiniApp = "miniapp"
	ChannelApp     = "app"
	ChannelKiosk   = "kiosk"
	// ChannelWeb is the staff pages in a browser at the centre.
	ChannelWeb = "web"
)

// ACR is an authentication context class: how strongly the person behind a
// depositor token was identified (the acr claim). The classes are ordered:
// a service that needs phone accepts face too.
type ACR string

// The classes, weakest first. RealName is a name and ID number only (a
// binding made before strong factors were required); Phone adds the phone
// number bound to WeChat equal to the one on file; Face is a liveness face
// check against the national ID photo (WeChat face verification, or the
// centre's liveness service at a kiosk).
const (
	ACRRealName ACR = "realname"
	ACRPhone    ACR = "phone"
	ACRFace     ACR = "face"
)

// Rank orders the classes; an unknown class ranks below every known one.
func (a ACR) Rank() int {
	switch a {
	case ACRRealName:
		return 1
	case ACRPhone:
		return 2
	case ACRFace:
		return 3
	}
	return 0
}

// Principal is who a verified request acts for. Handlers take the subject
// from here and never from a path, query or body; use cases take it as
// their second argument, after ctx.
type Principal struct {
	Subject   string
	Role      string
	Channel   string
	Session   string
	Unit      string // employer tokens: the unit they may reach
	Device    string // kiosk tokens: the device
	ExpiresAt time.Time
	// ACR and AuthTime are how strongly and when the person was last
	// identified (depositors only); the assurance policy checks them.
	ACR      ACR
	AuthTime time.Time
	// OperatorRole is an employer operator's role in the unit (employer
	// tokens); PasswordChange marks a session signed in with a temporary
	// password, which may only change it.
	OperatorRole   OperatorRole
	PasswordChange bool
}

// OperatorRole is what an employer operator may do in their unit: the
// administrator manages the unit's operators and does everything a clerk
// does; a clerk does the unit's business. The employer routes' policy
// (bff) names the roles each route admits.
type OperatorRole string

// The operator roles, as in the op_role claim and the core's operator
// records.
const (
	OperatorAdmin OperatorRole = "admin"
	OperatorClerk OperatorRole = "clerk"
)

// Valid reports a known role.
func (r OperatorRole) Valid() bool { return r == OperatorAdmin || r == OperatorClerk }

// Depositor admits a depositor with a subject, on any channel (kiosk
// sessions included), and refuses anyone else with auth.forbidden. The
// route guards already ensure it; each use case on a person's own data
// checks again, so that a wiring mistake never lets an employer, a device
// or a verifier at it.
func (p Principal) Depositor() error {
	if p.Role != RoleDepositor || p.Subject == "" {
		return Errorf(CodeForbidden, "role %q is not a depositor", p.Role)
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
