package ratelimit

import "time"

// DefaultPolicies are the tiers a centre starts from; its configuration
// file replaces them as a whole (house rule 13). They are sized for a city
// centre of a few million depositors, where the mini-program carries most
// traffic and the core, not handheld, is the scarce resource:
//
//   - Anonymous routes (certificate verification, the loan calculator)
//     are limited per client address, generously enough for a counter
//     behind one NAT address.
//   - Sign-in, binding and refresh are limited per address and per account
//     being signed into, against password guessing and ID-number
//     enumeration. Every route without a token has a per-address policy
//     below its channel's ceiling (CheckRoutes insists), so that one
//     address cannot spend the ceiling and starve everyone else.
//   - Signed-in routes are limited per subject, whatever the channel.
//   - Costly or consequential writes (certificates, withdrawals) get a
//     small budget per subject over hours; replays and failures on the
//     service's side give their unit back (Policy.Budget).
//   - Channel ceilings cap what each channel as a whole may send, so one
//     channel's surge (a policy announcement on WeChat) cannot starve the
//     kiosks and the employer app of the core's capacity.
//
// None is FailClosed: rate limiting fails soft (house rule 7). While Redis
// is down each replica enforces its share of every limit (rate and burst
// divided by Config.Replicas), which bounds an attacker about as well as
// Redis does; refusing every sign-in during an outage would turn a Redis
// incident into a full outage of the service.
func DefaultPolicies() []Policy {
	const (
		second = time.Second
		minute = time.Minute
		hour   = time.Hour
		day    = 24 * time.Hour
	)
	var (
		all      = []string(nil) // every channel
		allClass = []Class(nil)  // every class
	)
	return []Policy{
		// Anonymous.
		{Name: "verify_public_ip", Key: KeyIP, Classes: []Class{ClassVerifyPublic}, Channels: all,
			Rate: 60, Burst: 20, Period: minute},
		{Name: "public_ip", Key: KeyIP, Classes: []Class{ClassPublic}, Channels: all,
			Rate: 120, Burst: 40, Period: minute},

		// Signing in. For login and bind, Subject is the account being
		// signed into (operator, pseudonymised ID number or openid), not
		// a caller who has yet to prove who they are.
		{Name: "login_ip", Key: KeyIP, Classes: []Class{ClassLogin}, Channels: all,
			Rate: 20, Burst: 10, Period: minute},
		{Name: "login_subject", Key: KeySubject, Classes: []Class{ClassLogin}, Channels: all,
			Rate: 10, Burst: 5, Period: minute},
		{Name: "bind_ip", Key: KeyIP, Classes: []Class{ClassBind}, Channels: all,
			Rate: 10, Burst: 5, Period: minute},
		{Name: "bind_subject", Key: KeySubject, Classes: []Class{ClassBind}, Channels: all,
			Rate: 5, Burst: 5, Period: minute},
		// Face checks cost a WeChat call each and step-ups a core call;
		// identity also counts them per ID number and WeChat user.
		{Name: "face_check_ip", Key: KeyIP, Classes: []Class{ClassFaceCheck}, Channels: all,
			Rate: 20, Burst: 10, Period: minute},
		{Name: "face_check_subject", Key: KeySubject, Classes: []Class{ClassFaceCheck}, Channels: all,
			Rate: 10, Burst: 5, Period: minute},
		{Name: "refresh_ip", Key: KeyIP, Classes: []Class{ClassRefresh}, Channels: all,
			Rate: 60, Burst: 30, Period: minute},
		{Name: "refresh_subject", Key: KeySubject, Classes: []Class{ClassRefresh}, Channels: all,
			Rate: 30, Burst: 10, Period: minute},

		// Signed in.
		{Name: "read_subject", Key: KeySubject, Classes: []Class{ClassRead}, Channels: all,
			Rate: 120, Burst: 40, Period: minute},
		{Name: "read_unit", Key: KeyUnit, Classes: []Class{ClassRead}, Channels: []string{ChannelApp},
			Rate: 600, Burst: 100, Period: minute},
		{Name: "ecard_subject", Key: KeySubject, Classes: []Class{ClassECard}, Channels: all,
			Rate: 30, Burst: 10, Period: minute},
		{Name: "certificate_issue_subject", Key: KeySubject, Classes: []Class{ClassCertificateIssue}, Channels: all,
			Rate: 10, Burst: 5, Period: day, Budget: true},
		// A unit's certificates: each operator has the person's daily
		// budget above, and the unit as a whole a few more, so that several
		// clerks cannot issue without bound.
		{Name: "certificate_issue_unit", Key: KeyUnit, Classes: []Class{ClassCertificateIssue}, Channels: []string{ChannelApp},
			Rate: 20, Burst: 10, Period: day},
		{Name: "withdrawal_submit_subject", Key: KeySubject, Classes: []Class{ClassWithdrawalSubmit}, Channels: all,
			Rate: 30, Burst: 10, Period: hour, Budget: true},
		{Name: "rating_subject", Key: KeySubject, Classes: []Class{ClassRating}, Channels: all,
			Rate: 20, Burst: 10, Period: hour},
		// A full ID number is shown one person at a time, each audited
		// with its reason: a clerk needs a few a day, a harvest many.
		{Name: "staff_reveal_subject", Key: KeySubject, Classes: []Class{ClassStaffReveal}, Channels: all,
			Rate: 30, Burst: 5, Period: hour},
		{Name: "staff_reveal_unit", Key: KeyUnit, Classes: []Class{ClassStaffReveal}, Channels: []string{ChannelApp},
			Rate: 100, Burst: 10, Period: hour},
		// An employer's writes each reach the core's books; a unit
		// adjusts its bases a few times a year, in up to 1,000 lines a call.
		{Name: "employer_write_subject", Key: KeySubject, Classes: []Class{ClassEmployerWrite}, Channels: all,
			Rate: 60, Burst: 20, Period: hour, Budget: true},
		// ... and the unit as a whole, whichever of its operators writes:
		// adding clerks must not multiply what one unit can send the core.
		// Three operators' worth, enough for a firm's payroll office.
		{Name: "employer_write_unit", Key: KeyUnit, Classes: []Class{ClassEmployerWrite}, Channels: []string{ChannelApp},
			Rate: 180, Burst: 40, Period: hour},
		// Operator management is rare (a clerk hired, a password forgotten):
		// a few an hour per administrator and per unit, so a stolen
		// administrator's session cannot churn accounts or passwords.
		{Name: "operator_admin_subject", Key: KeySubject, Classes: []Class{ClassOperatorAdmin}, Channels: all,
			Rate: 30, Burst: 10, Period: hour},
		{Name: "operator_admin_unit", Key: KeyUnit, Classes: []Class{ClassOperatorAdmin}, Channels: []string{ChannelApp},
			Rate: 60, Burst: 15, Period: hour},
		// Changing one's password: a few tries; guessing the current one is
		// also under the sign-in lockout.
		{Name: "password_change_subject", Key: KeySubject, Classes: []Class{ClassPasswordChange}, Channels: all,
			Rate: 10, Burst: 5, Period: hour},
		// Printing at a kiosk: a person's prints a day are bounded in the
		// store (print_jobs.max_per_day); this keeps a burst of requests,
		// each rendering a PDF, off the renderer and the core.
		{Name: "print_subject", Key: KeySubject, Classes: []Class{ClassPrint}, Channels: all,
			Rate: 30, Burst: 5, Period: hour},
		// Evidence from shared data: each lookup asks several government
		// sources on the person's behalf; a few an hour is plenty for a
		// person preparing applications, and keeps a stolen session from
		// making the centre hammer the exchange.
		{Name: "sharing_lookup_subject", Key: KeySubject, Classes: []Class{ClassSharingLookup}, Channels: all,
			Rate: 20, Burst: 5, Period: hour},
		// Uploading evidence: each upload decodes and re-encodes an image
		// or parses a PDF and writes a blob; a person sends a few papers
		// for an application, a handful more when one is refused.
		{Name: "material_write_subject", Key: KeySubject, Classes: []Class{ClassMaterialWrite}, Channels: all,
			Rate: 30, Burst: 10, Period: hour},
		// Accounts elsewhere: each read makes the national platform ask
		// every other centre about the person; a person looks a few times
		// while deciding on a transfer, a stolen session must not make the
		// centre hammer the platform.
		{Name: "platform_read_subject", Key: KeySubject, Classes: []Class{ClassPlatformRead}, Channels: all,
			Rate: 30, Burst: 10, Period: hour},
		// Transfers in: a person asks for one transfer at a time and may
		// cancel it; a few retries fit, a script does not.
		{Name: "transfer_write_subject", Key: KeySubject, Classes: []Class{ClassTransferWrite}, Channels: all,
			Rate: 20, Burst: 5, Period: hour},
		// The platform's callbacks come from its few addresses, a few per
		// transfer; generous, as a refused callback only delays news.
		{Name: "platform_callback_ip", Key: KeyIP, Classes: []Class{ClassPlatformCallback}, Channels: all,
			Rate: 1200, Burst: 200, Period: minute},
		{Name: "verify_ecard_verifier", Key: KeyVerifier, Classes: []Class{ClassVerifyECard}, Channels: all,
			Rate: 600, Burst: 100, Period: minute},
		{Name: "kiosk_device", Key: KeyDevice, Classes: allClass, Channels: []string{ChannelKiosk},
			Rate: 600, Burst: 100, Period: minute},
		// Sign-in at a kiosk by phone QR: an idle kiosk shows a new code
		// each minute (a few at once when people give up and touch the
		// screen), polls its code about once a second, and a person
		// confirms a sign-in a few times a day.
		{Name: "kiosk_login_code_device", Key: KeyDevice, Classes: []Class{ClassKioskLoginCode}, Channels: []string{ChannelKiosk},
			Rate: 6, Burst: 10, Period: minute},
		{Name: "kiosk_login_poll_device", Key: KeyDevice, Classes: []Class{ClassKioskLoginPoll}, Channels: []string{ChannelKiosk},
			Rate: 120, Burst: 30, Period: minute},
		{Name: "kiosk_login_subject", Key: KeySubject, Classes: []Class{ClassKioskLogin}, Channels: all,
			Rate: 30, Burst: 10, Period: hour},

		// Consented yes/no answers (issue 20): a person makes, revokes or
		// answers a few shares a day; each relying party (its subject is
		// "party:<id>") redeems and asks within its own budget, so one
		// busy bank cannot spend another's, nor a leaked party secret
		// hammer the core. Guessed codes are bounded apart, per party, by
		// the share policy's max_failed_redemptions.
		{Name: "share_write_subject", Key: KeySubject, Classes: []Class{ClassShareWrite}, Channels: all,
			Rate: 60, Burst: 20, Period: hour},
		{Name: "share_redeem_party", Key: KeySubject, Classes: []Class{ClassShareRedeem}, Channels: all,
			Rate: 600, Burst: 100, Period: minute},
		{Name: "share_request_party", Key: KeySubject, Classes: []Class{ClassShareRequest}, Channels: all,
			Rate: 600, Burst: 100, Period: hour},

		// Channel ceilings, protecting the core.
		{Name: "ceiling_miniapp", Key: KeyChannel, Classes: allClass, Channels: []string{ChannelMiniApp},
			Rate: 2000, Burst: 2000, Period: second},
		{Name: "ceiling_app", Key: KeyChannel, Classes: allClass, Channels: []string{ChannelApp},
			Rate: 500, Burst: 500, Period: second},
		{Name: "ceiling_kiosk", Key: KeyChannel, Classes: allClass, Channels: []string{ChannelKiosk},
			Rate: 200, Burst: 200, Period: second},
		{Name: "ceiling_public", Key: KeyChannel, Classes: allClass, Channels: []string{ChannelPublic},
			Rate: 300, Burst: 300, Period: second},
	}
}
