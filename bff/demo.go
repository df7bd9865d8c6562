package bff

import (
	"crypto/ed25519"
	"crypto/sha256"
)

// DemoKioskID is the kiosk registered on the embedded profile only. Its
// private key is public knowledge (printed by `handheld demo`), which is why
// production never registers it.
const DemoKioskID = "kiosk-demo-01"

// DemoKioskLocation is where the demo kiosk stands.
const DemoKioskLocation = "示范市政务服务中心一楼大厅"

// DemoKioskKey derives the demo kiosk's key from a fixed seed, so the
// embedded profile and `handheld demo` agree without sharing files.
func DemoKioskKey() ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("handheld demo kiosk " + DemoKioskID))
	return ed25519.NewKeyFromSeed(seed[:])
}

// The demo verifier (a counter), registered on the embedded profile only;
// `handheld demo` prints its credentials.
const (
	DemoVerifierID     = "demo-counter"
	DemoVerifierName   = "示范市政务服务中心公积金窗口"
	DemoVerifierSecret = "demo-counter-secret-0001"
)

// The demo staff member of the centre, made on the embedded profile only;
// `handheld demo` prints the credentials. Production never makes it: its
// staff are added with `handheld staff add`.
const (
	DemoStaffID       = "demo-staff"
	DemoStaffName     = "示范中心监督员"
	DemoStaffPassword = "Supervise-2026-centre"
)

// The demo relying party (a bank), registered on the embedded profile
// only; `handheld demo` prints its credentials. It may ask every
// predicate (services/share).
const (
	DemoPartyID     = "demo-bank"
	DemoPartyName   = "示范银行个人住房贷款中心"
	DemoPartySecret = "demo-bank-secret-0001"
)
