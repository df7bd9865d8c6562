// Package services holds the vocabulary every use case shares: the one error
// type with its stable codes, money, identifiers and masking.
package services

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Code is a stable, machine-readable error code. Codes are append-only: a
// client may switch on them, so one is never renamed or reused.
type Code string

// The codes. Each has an HTTP status and a locale key (error.<code>.title and
// error.<code>.detail) in the table below.
const (
	CodeInternal          Code = "internal"
	CodeNotFound          Code = "not_found"
	CodeMethodNotAllowed  Code = "method_not_allowed"
	CodeInvalid           Code = "request.invalid"
	CodeMalformedJSON     Code = "request.malformed_json"
	CodeUnknownField      Code = "request.unknown_field"
	CodeDuplicateField    Code = "request.duplicate_field"
	CodeTooLarge          Code = "request.too_large"
	CodeUnsupportedMedia  Code = "request.unsupported_media_type"
	CodeHeadersTooLarge   Code = "request.headers_too_large"
	CodeTimeout           Code = "request.timeout"
	CodeRateLimited       Code = "rate_limited"
	CodeCoreUnavailable   Code = "core.unavailable"
	CodeCoreMaintenance   Code = "core.maintenance"
	CodeCoreRejected      Code = "core.rejected"
	CodeNotReady          Code = "service.not_ready"
	CodeServiceClosed     Code = "service.closed"
	CodeServiceHours      Code = "service.outside_hours"
	CodeUnavailable       Code = "service.unavailable" // shared state (Redis) failing: try again shortly
	CodePersonNotFound    Code = "person.not_found"
	CodeAccountNotFound   Code = "account.not_found"
	CodeUnitNotFound      Code = "unit.not_found"
	CodeApplicationExists Code = "application.exists"

	// Identity and sessions.
	CodeTokenMissing      Code = "auth.token_missing"
	CodeTokenInvalid      Code = "auth.token_invalid"
	CodeTokenExpired      Code = "auth.token_expired"
	CodeSessionRevoked    Code = "auth.session_revoked"
	CodeIdleTimeout       Code = "auth.idle_timeout"
	CodeForbidden         Code = "auth.forbidden"
	CodeBadCredentials    Code = "auth.bad_credentials"
	CodeLocked            Code = "auth.locked"
	CodeBindingInvalid    Code = "auth.binding_invalid"
	CodeRealNameMismatch  Code = "auth.real_name_mismatch"
	CodePhoneMismatch     Code = "auth.phone_mismatch"
	CodeRefreshInvalid    Code = "auth.refresh_invalid"
	CodeRefreshReused     Code = "auth.refresh_reused"
	CodeDeviceSignature   Code = "auth.device_signature"
	CodeDeviceDisabled    Code = "auth.device_disabled"
	CodeReplayed          Code = "auth.replayed"
	CodeFaceMismatch      Code = "auth.face_mismatch"
	CodeWeChatInvalidCode Code = "wechat.invalid_code"
	CodeWeChatRateLimited Code = "wechat.rate_limited"
	CodeWeChatUnavailable Code = "wechat.unavailable"
	// Assurance: how strongly a session's person was identified.
	CodeStepUpRequired   Code = "auth.step_up_required"
	CodeFaceInvalid      Code = "auth.face_invalid"
	CodeFaceExpired      Code = "auth.face_expired"
	CodeFaceReplayed     Code = "auth.face_replayed"
	CodeFaceFailed       Code = "auth.face_failed"
	CodePhoneNotAccepted Code = "auth.phone_not_accepted"

	// Idempotency-Key on creating writes (docs/api.md §Conventions).
	CodeIdempotencyKeyMissing Code = "idempotency.key_missing"
	CodeIdempotencyKeyInvalid Code = "idempotency.key_invalid"
	CodeIdempotencyKeyReused  Code = "idempotency.key_reused"
	CodeIdempotencyInFlight   Code = "idempotency.in_flight"

	// Certificates: signed download links and verify codes.
	CodeCertificateLinkExpired Code = "certificate.link_expired"
	CodeCertificateLinkInvalid Code = "certificate.link_invalid"
	CodeCertificateBadCode     Code = "certificate.bad_code"

	// E-cards: the one-time payload a verifier scans.
	CodeECardMalformed    Code = "ecard.malformed"
	CodeECardBadSignature Code = "ecard.bad_signature"
	CodeECardExpired      Code = "ecard.expired"
	CodeECardReplayed     Code = "ecard.replayed"

	// Withdrawals, cases and ratings.
	CodeWithdrawalInFlight         Code = "withdrawal.in_flight"
	CodeWithdrawalNotEligible      Code = "withdrawal.not_eligible"
	CodeWithdrawalAmountOverLimit  Code = "withdrawal.amount_over_limit"
	CodeWithdrawalEvidenceRequired Code = "withdrawal.evidence_required"
	// CodeWithdrawalNoBankCard is no longer answered: applications name
	// one of the person's payout accounts (payout_account_unknown).
	CodeWithdrawalNoBankCard     Code = "withdrawal.no_bank_card"
	CodeWithdrawalNotCancellable Code = "withdrawal.not_cancellable"
	// CodeWithdrawalPayoutAccountUnknown: the payout account is not one
	// the core holds under the applicant's name (another person's,
	// unknown, malformed).
	CodeWithdrawalPayoutAccountUnknown Code = "withdrawal.payout_account_unknown"
	// CodeWithdrawalEvidenceUnknown: an evidence reference names no
	// record of the applicant of the category the kind needs.
	CodeWithdrawalEvidenceUnknown Code = "withdrawal.evidence_unknown"
	CodeRatingNotRateable         Code = "rating.not_rateable"
	CodeRatingAlreadyRated        Code = "rating.already_rated"

	// The employer's business: staff, bases and rates, remittances.
	CodeStaffNotFound          Code = "staff.not_found"
	CodeStaffAlreadyEmployed   Code = "staff.already_employed"
	CodeStaffEmployedElsewhere Code = "staff.employed_elsewhere"
	CodeStaffNameMismatch      Code = "staff.name_mismatch"
	CodeStaffAlreadySealed     Code = "staff.already_sealed"
	CodeStaffNotSealed         Code = "staff.not_sealed"
	CodeStaffNotActive         Code = "staff.not_active"
	CodeStaffChangeInFlight    Code = "staff.change_in_flight"
	CodeBaseOutOfRange         Code = "contribution.base_out_of_range"
	CodeRateOutOfRange         Code = "contribution.rate_out_of_range"
	CodeOutsideWindow          Code = "contribution.outside_window"
	CodeBillChanged            Code = "remittance.bill_changed"
	CodeBillDeclared           Code = "remittance.already_declared"
	CodeMonthOverdue           Code = "remittance.overdue"
	CodeMonthNotOverdue        Code = "remittance.not_overdue"
	CodeMonthNotOpen           Code = "remittance.not_open"
	// CodeIfMatchRequired: a declaration without If-Match naming the bill
	// as read (428), so that no clerk declares a bill they have not seen.
	CodeIfMatchRequired Code = "remittance.if_match_required"

	// Bulk files (employer jobs): the file as a whole; a line's own errors
	// are reported on the line.
	CodeJobNotFound      Code = "job.not_found"
	CodeJobFileType      Code = "job.unsupported_file"
	CodeJobFileEncoding  Code = "job.bad_encoding"
	CodeJobFileMalformed Code = "job.malformed_file"
	CodeJobFileTooLarge  Code = "job.file_too_large"
	CodeJobTooManyRows   Code = "job.too_many_rows"
	CodeJobEmpty         Code = "job.empty_file"
	CodeJobBadHeader     Code = "job.bad_header"
	// CodeJobTooManyActive: the unit already has as many unfinished jobs
	// as its policy allows.
	CodeJobTooManyActive Code = "job.too_many_active"
	// A unit's operators (docs/api.md § Operators).
	// CodePasswordChangeRequired: a session signed in with a temporary
	// password may only change it (403 on every other route).
	CodePasswordChangeRequired Code = "auth.password_change_required"
	CodeOperatorNotFound       Code = "operator.not_found"
	CodeOperatorExists         Code = "operator.exists"
	// CodeOperatorLastAdmin: the unit's last active administrator cannot
	// be disabled; CodeOperatorSelf: nor can administrators disable or
	// reset themselves (they change their own password instead).
	CodeOperatorLastAdmin Code = "operator.last_admin"
	CodeOperatorSelf      Code = "operator.self"
	// CodeOperatorInFlight: another change of the same operator is under
	// way (two resets at once); try again when it has finished.
	CodeOperatorInFlight Code = "operator.in_flight"
	// Printing at a kiosk (docs/api.md § Printing at a kiosk).
	// CodePrintDailyLimit: the person has printed print_jobs.max_per_day
	// documents today (Asia/Shanghai days), on any kiosk.
	CodePrintDailyLimit Code = "print.daily_limit"
	// CodePrintAlreadyPrinted: the job's PDF was fetched once already; a
	// printer never gets it twice (a second copy is a new job).
	CodePrintAlreadyPrinted Code = "print.already_printed"
	// CodePrintExpired: the job waited longer than print_jobs.ttl
	// unprinted; its PDF is gone.
	CodePrintExpired Code = "print.expired"
	// CodePrintNoLoan: a loan statement for a person without an HPF loan.
	CodePrintNoLoan Code = "print.no_loan"
	// CodePrintLoanNotSettled: the settled-loan certificate (贷款结清证明)
	// for a loan that still has money owing, or no loan at all.
	CodePrintLoanNotSettled Code = "print.loan_not_settled"
	// CodePrintCertificateNotValid: printing one's own certificate that
	// is revoked or expired.
	CodePrintCertificateNotValid Code = "print.certificate_not_valid"

	// Sign-in at a kiosk by phone QR (docs/api.md § Sign-in at a kiosk by
	// phone QR). CodeKioskLoginNotFound: no such code, or another kiosk's
	// (the same answer, so a kiosk cannot probe for codes);
	// CodeKioskLoginExpired: the code's time is up (or its kiosk signed
	// out), show a new one; CodeKioskLoginUsed: the code has been confirmed
	// or collected already and works no more.
	CodeKioskLoginNotFound Code = "kiosk_login.not_found"
	CodeKioskLoginExpired  Code = "kiosk_login.expired"
	CodeKioskLoginUsed     Code = "kiosk_login.used"

	// Evidence from shared data (issue 17, services/sharing).
	// CodeSharingUnavailable: the data-sharing exchange or a source cannot
	// answer now (down, slow, breaker open); retry after Retry-After.
	CodeSharingUnavailable Code = "sharing.unavailable"
	// CodeSharingConsentRequired: a lookup without the person's consent.
	CodeSharingConsentRequired Code = "sharing.consent_required"
	// CodeSharingConsentUsed: the consent was used by another application
	// already; a consent is for one application only.
	CodeSharingConsentUsed Code = "sharing.consent_used"
	// CodeSharingConsentNotFound: no such consent of the caller's (or it
	// expired).
	CodeSharingConsentNotFound Code = "sharing.consent_not_found"
	// Uploaded materials (docs/api.md § Materials). The type is sniffed
	// from the bytes: CodeMaterialUnsupportedType for anything but a JPEG,
	// PNG or PDF (a zip renamed .pdf, a file whose name or header lies);
	// CodeMaterialTooLarge over materials.max_bytes; CodeMaterialEmpty for
	// 0 bytes; CodeMaterialTooManyPixels for an image whose header claims
	// more than materials.max_pixels (a decompression bomb, refused before
	// decoding); CodeMaterialTooManyPages over materials.max_pdf_pages;
	// CodeMaterialUnsafePDF for a PDF carrying scripts, actions, embedded
	// files or forms (XFA); CodeMaterialInUse: deleting a material an
	// application uses; CodeMaterialNotFound: no such material, or another
	// person's (the same answer).
	CodeMaterialUnsupportedType Code = "material.unsupported_type"
	CodeMaterialTooLarge        Code = "material.too_large"
	CodeMaterialEmpty           Code = "material.empty"
	CodeMaterialTooManyPixels   Code = "material.too_many_pixels"
	CodeMaterialTooManyPages    Code = "material.too_many_pages"
	CodeMaterialUnsafePDF       Code = "material.unsafe_pdf"
	CodeMaterialInUse           Code = "material.in_use"
	CodeMaterialNotFound        Code = "material.not_found"

	// The core's maintenance window (docs/api.md § At night).
	// CodeECardStatusUnknown: the core cannot be asked and the last known
	// account status is older than the e-card's status max age, so no
	// card is shown or verified from it.
	CodeECardStatusUnknown Code = "ecard.status_unknown"

	// CodeWithdrawalMaterialUnusable: an application names an upload whose
	// kind stands for no evidence its withdrawal kind needs (a marriage
	// certificate for a critical illness).
	CodeWithdrawalMaterialUnusable Code = "withdrawal.material_unusable"
	// The national HPF transfer and information platform (issue 18,
	// services/platform). CodePlatformUnavailable: the platform cannot
	// answer now (down, slow, breaker open, not configured); retry after
	// Retry-After.
	CodePlatformUnavailable Code = "platform.unavailable"
	// CodeCertificateFilePurged: the certificate's PDF was removed by the
	// retention policy, some time after the certificate expired; its record
	// and verification stay. A new certificate is the answer.
	CodeCertificateFilePurged Code = "certificate.file_purged"
	// CodePlatformBadSignature: a call from the national platform (a
	// certificate verification) with an unknown key, a bad signature, a
	// timestamp outside the window or a nonce seen before.
	CodePlatformBadSignature Code = "platform.bad_signature"
	// The message centre (issue 19, services/inbox).
	// CodeMessageNotFound: no such message among the person's own.
	CodeMessageNotFound Code = "message.not_found"
	// CodeSecurityMessagesRequired: preferences that would keep security
	// messages (a new sign-in, a binding change) out of WeChat.
	CodeSecurityMessagesRequired Code = "preferences.security_required"
	// CodeSubscriptionTemplateUnknown: a grant for a WeChat template the
	// centre's notifications do not use.
	CodeSubscriptionTemplateUnknown Code = "subscription.template_unknown"
	// Transfers in (issue 18, services/transfer): from this centre itself;
	// from a centre not in the policy; while another is unfinished; from
	// an account the platform does not know as the person's at that
	// centre; from an account whose status the policy does not transfer
	// (normal, frozen); into a local account that is not normal; a cancel
	// after the old centre accepted.
	CodeTransferOwnCentre       Code = "transfer.own_centre"
	CodeTransferUnknownCentre   Code = "transfer.unknown_centre"
	CodeTransferInFlight        Code = "transfer.in_flight"
	CodeTransferAccountUnknown  Code = "transfer.account_unknown"
	CodeTransferNotTransferable Code = "transfer.not_transferable"
	CodeTransferLocalAccount    Code = "transfer.local_account_not_normal"
	CodeTransferNotCancellable  Code = "transfer.not_cancellable"
	// CodeCallbackBadSignature: a platform callback whose key, signature,
	// timestamp or nonce is refused.
	CodeCallbackBadSignature Code = "callback.bad_signature"
	// Standing (monthly) withdrawals (issue 19, services/standing): a kind
	// the policy makes no standing withdrawal for; a second of one kind;
	// none among the person's own; a change to a stopped one; a resume of
	// one paused until the person confirms it again.
	CodeStandingKindNotAllowed Code = "standing_withdrawal.kind_not_allowed"
	CodeStandingExists         Code = "standing_withdrawal.exists"
	CodeStandingNotFound       Code = "standing_withdrawal.not_found"
	CodeStandingStopped        Code = "standing_withdrawal.stopped"
	CodeStandingReconfirm      Code = "standing_withdrawal.reconfirm_required"

	// Loan holders' services (issue 21, services/repayment). CodeLoanNone:
	// the person has no loan outstanding (none, or settled). The early
	// repayment rules are the core's loan policy: below its minimum
	// amount; above the principal owed; sooner after the last one than
	// its interval; after the month's cut-off day; from the HPF balance
	// where it does not allow that, or more than the balance; while
	// instalments are overdue (clear the arrears first); while another is
	// being applied. CodeLoanAccountNotOwned: an account id that is not
	// one of the person's own. CodeLoanNoArrears: paying arrears when
	// nothing is overdue. CodeLoanNotSettled: a settled-loan certificate
	// for a loan not repaid in full (or none).
	CodeLoanNone                    Code = "loan.none"
	CodeLoanPrepaymentBelowMinimum  Code = "loan.prepayment_below_minimum"
	CodeLoanPrepaymentAboveOwed     Code = "loan.prepayment_above_owed"
	CodeLoanPrepaymentTooSoon       Code = "loan.prepayment_too_soon"
	CodeLoanPrepaymentAfterCutoff   Code = "loan.prepayment_after_cutoff"
	CodeLoanPrepaymentSourceRefused Code = "loan.prepayment_source_refused"
	CodeLoanInArrears               Code = "loan.in_arrears"
	CodeLoanPrepaymentInFlight      Code = "loan.prepayment_in_flight"
	CodeLoanAccountNotOwned         Code = "loan.account_not_owned"
	CodeLoanNoArrears               Code = "loan.no_arrears"
	CodeLoanNotSettled              Code = "loan.not_settled"

	// Centre staff and the supervision dashboard (issue 20, part 4).
	CodeCentreStaffExists Code = "centre_staff.exists"
	CodeCSRF              Code = "auth.csrf"
	// Consented yes/no answers for relying parties (issue 20,
	// services/share). CodeShareNotFound: no such share among the
	// person's own. CodeSharePartyUnknown: the party named is not a
	// registered, enabled relying party. CodeSharePredicateNotAllowed: a
	// predicate the party may not ask. CodeShareCodeInvalid: a code (or a
	// request id) that names no share made for the party redeeming it
	// (unknown, malformed, another party's: the same answer).
	// CodeShareExpired, CodeShareUsedUp and CodeShareRevoked: the share
	// is past its valid_until, has answered max_uses times, or was
	// revoked by its person. CodeShareRequestNotFound: no such request
	// (the person's, or the party's own). CodeShareRequestClosed:
	// approving or declining a request already answered or expired.
	// CodeShareRequestPending: redeeming a request the person has not
	// approved (yet), or asking again for a person while the party's
	// request to them still waits.
	CodeShareNotFound            Code = "share.not_found"
	CodeSharePartyUnknown        Code = "share.party_unknown"
	CodeSharePredicateNotAllowed Code = "share.predicate_not_allowed"
	CodeShareCodeInvalid         Code = "share.code_invalid"
	CodeShareExpired             Code = "share.expired"
	CodeShareUsedUp              Code = "share.used_up"
	CodeShareRevoked             Code = "share.revoked"
	CodeShareRequestNotFound     Code = "share_request.not_found"
	CodeShareRequestClosed       Code = "share_request.closed"
	CodeShareRequestPending      Code = "share_request.pending"
)

// Field-level validation codes, used in Error.Fields.
const (
	FieldRequired   = "required"
	FieldNotNumber  = "not_a_number"
	FieldOutOfRange = "out_of_range"
	FieldOneOf      = "one_of"
	FieldFormat     = "format"
	FieldChecksum   = "checksum"
	// FieldTooLong carries Params{"max": n}: a free-text field longer
	// than n characters (runes).
	FieldTooLong = "too_long"
	// FieldUnprintable carries Params{"char": "U+1F600"}: free text with a
	// character the document it goes on cannot print (an emoji on a
	// certificate), refused rather than printed as a blank or a box.
	FieldUnprintable = "unprintable"
	// FieldDuplicate carries Params{"first": field}: a list names the same
	// thing twice (one person's base in two lines); first is the line that
	// named it first.
	FieldDuplicate = "duplicate"
	// FieldNotEqual carries Params{"other": field}: the policy wants the
	// two values equal (the unit and personal contribution rates).
	FieldNotEqual = "not_equal"
	// FieldFormula: a cell of a bulk file that begins as a spreadsheet
	// formula does (= + - @ tab CR).
	FieldFormula = "formula"
	// Password policy (docs/api.md § Operators): FieldTooShort carries
	// Params{"min": n} (characters); FieldTooFewClasses Params{"min": n}
	// (of lower case, upper case, digits, symbols); FieldContainsID a
	// password containing the operator id; FieldReused the current
	// password again.
	FieldTooShort      = "too_short"
	FieldTooFewClasses = "too_few_classes"
	FieldContainsID    = "contains_operator_id"
	FieldReused        = "reused"
	// FieldSameAs carries Params{"other": field}: the value may not equal
	// the other field's (quiet hours ending when they begin).
	FieldSameAs = "same_as"
)

// statusOf maps each code to its HTTP status. A code missing here is a bug,
// and a test walks the table to make sure every code has locale texts.
var statusOf = map[Code]int{
	CodeInternal:          http.StatusInternalServerError,
	CodeNotFound:          http.StatusNotFound,
	CodeMethodNotAllowed:  http.StatusMethodNotAllowed,
	CodeInvalid:           http.StatusBadRequest,
	CodeMalformedJSON:     http.StatusBadRequest,
	CodeUnknownField:      http.StatusBadRequest,
	CodeDuplicateField:    http.StatusBadRequest,
	CodeTooLarge:          http.StatusRequestEntityTooLarge,
	CodeUnsupportedMedia:  http.StatusUnsupportedMediaType,
	CodeHeadersTooLarge:   http.StatusRequestHeaderFieldsTooLarge,
	CodeTimeout:           http.StatusServiceUnavailable,
	CodeRateLimited:       http.StatusTooManyRequests,
	CodeCoreUnavailable:   http.StatusServiceUnavailable,
	CodeCoreMaintenance:   http.StatusServiceUnavailable,
	CodeCoreRejected:      http.StatusUnprocessableEntity,
	CodeNotReady:          http.StatusServiceUnavailable,
	CodeServiceClosed:     http.StatusServiceUnavailable,
	CodeServiceHours:      http.StatusServiceUnavailable,
	CodeUnavailable:       http.StatusServiceUnavailable,
	CodePersonNotFound:    http.StatusNotFound,
	CodeAccountNotFound:   http.StatusNotFound,
	CodeUnitNotFound:      http.StatusNotFound,
	CodeApplicationExists: http.StatusConflict,
	CodeTokenMissing:      http.StatusUnauthorized,
	CodeTokenInvalid:      http.StatusUnauthorized,
	CodeTokenExpired:      http.StatusUnauthorized,
	CodeSessionRevoked:    http.StatusUnauthorized,
	CodeIdleTimeout:       http.StatusUnauthorized,
	CodeForbidden:         http.StatusForbidden,
	CodeBadCredentials:    http.StatusUnauthorized,
	CodeLocked:            http.StatusLocked,
	CodeBindingInvalid:    http.StatusUnauthorized,
	CodeRealNameMismatch:  http.StatusUnprocessableEntity,
	CodePhoneMismatch:     http.StatusUnprocessableEntity,
	CodeRefreshInvalid:    http.StatusUnauthorized,
	CodeRefreshReused:     http.StatusUnauthorized,
	CodeDeviceSignature:   http.StatusUnauthorized,
	CodeDeviceDisabled:    http.StatusForbidden,
	CodeReplayed:          http.StatusUnauthorized,
	CodeFaceMismatch:      http.StatusUnauthorized,
	CodeWeChatInvalidCode: http.StatusBadRequest,
	CodeWeChatRateLimited: http.StatusTooManyRequests,
	CodeWeChatUnavailable: http.StatusServiceUnavailable,
	CodeStepUpRequired:    http.StatusForbidden,
	CodeFaceInvalid:       http.StatusUnprocessableEntity,
	CodeFaceExpired:       http.StatusUnprocessableEntity,
	CodeFaceReplayed:      http.StatusConflict,
	CodeFaceFailed:        http.StatusUnprocessableEntity,
	CodePhoneNotAccepted:  http.StatusForbidden,

	CodeIdempotencyKeyMissing:  http.StatusBadRequest,
	CodeIdempotencyKeyInvalid:  http.StatusBadRequest,
	CodeIdempotencyKeyReused:   http.StatusUnprocessableEntity,
	CodeIdempotencyInFlight:    http.StatusConflict,
	CodeCertificateLinkExpired: http.StatusForbidden,
	CodeCertificateLinkInvalid: http.StatusForbidden,
	CodeCertificateBadCode:     http.StatusBadRequest,
	CodeECardMalformed:         http.StatusBadRequest,
	CodeECardBadSignature:      http.StatusUnprocessableEntity,
	CodeECardExpired:           http.StatusUnprocessableEntity,
	CodeECardReplayed:          http.StatusConflict,

	CodeWithdrawalInFlight:             http.StatusConflict,
	CodeWithdrawalNotEligible:          http.StatusUnprocessableEntity,
	CodeWithdrawalAmountOverLimit:      http.StatusUnprocessableEntity,
	CodeWithdrawalEvidenceRequired:     http.StatusUnprocessableEntity,
	CodeWithdrawalNoBankCard:           http.StatusUnprocessableEntity,
	CodeWithdrawalNotCancellable:       http.StatusConflict,
	CodeWithdrawalPayoutAccountUnknown: http.StatusUnprocessableEntity,
	CodeWithdrawalEvidenceUnknown:      http.StatusUnprocessableEntity,
	CodeRatingNotRateable:              http.StatusConflict,
	CodeRatingAlreadyRated:             http.StatusConflict,

	CodeStaffNotFound:          http.StatusNotFound,
	CodeStaffAlreadyEmployed:   http.StatusConflict,
	CodeStaffEmployedElsewhere: http.StatusConflict,
	CodeStaffNameMismatch:      http.StatusUnprocessableEntity,
	CodeStaffAlreadySealed:     http.StatusConflict,
	CodeStaffNotSealed:         http.StatusConflict,
	CodeStaffNotActive:         http.StatusConflict,
	CodeStaffChangeInFlight:    http.StatusConflict,
	CodeBaseOutOfRange:         http.StatusUnprocessableEntity,
	CodeRateOutOfRange:         http.StatusUnprocessableEntity,
	CodeOutsideWindow:          http.StatusConflict,
	CodeBillChanged:            http.StatusPreconditionFailed,
	CodeBillDeclared:           http.StatusConflict,
	CodeMonthOverdue:           http.StatusConflict,
	CodeMonthNotOverdue:        http.StatusConflict,
	CodeMonthNotOpen:           http.StatusConflict,
	CodeIfMatchRequired:        http.StatusPreconditionRequired,

	CodeJobNotFound:            http.StatusNotFound,
	CodeJobFileType:            http.StatusUnsupportedMediaType,
	CodeJobFileEncoding:        http.StatusBadRequest,
	CodeJobFileMalformed:       http.StatusBadRequest,
	CodeJobFileTooLarge:        http.StatusRequestEntityTooLarge,
	CodeJobTooManyRows:         http.StatusRequestEntityTooLarge,
	CodeJobEmpty:               http.StatusBadRequest,
	CodeJobBadHeader:           http.StatusBadRequest,
	CodeJobTooManyActive:       http.StatusTooManyRequests,
	CodePasswordChangeRequired: http.StatusForbidden,
	CodeOperatorNotFound:       http.StatusNotFound,
	CodeOperatorExists:         http.StatusConflict,
	CodeOperatorLastAdmin:      http.StatusConflict,
	CodeOperatorSelf:           http.StatusConflict,
	CodeOperatorInFlight:       http.StatusConflict,

	CodePrintDailyLimit:          http.StatusTooManyRequests,
	CodePrintAlreadyPrinted:      http.StatusConflict,
	CodePrintExpired:             http.StatusConflict,
	CodePrintNoLoan:              http.StatusConflict,
	CodePrintLoanNotSettled:      http.StatusConflict,
	CodePrintCertificateNotValid: http.StatusConflict,
	CodeKioskLoginNotFound:       http.StatusNotFound,
	CodeKioskLoginExpired:        http.StatusGone,
	CodeKioskLoginUsed:           http.StatusGone,

	CodeSharingUnavailable:      http.StatusServiceUnavailable,
	CodeSharingConsentRequired:  http.StatusBadRequest,
	CodeSharingConsentUsed:      http.StatusConflict,
	CodeSharingConsentNotFound:  http.StatusNotFound,
	CodeMaterialUnsupportedType: http.StatusUnsupportedMediaType,
	CodeMaterialTooLarge:        http.StatusRequestEntityTooLarge,
	CodeMaterialEmpty:           http.StatusBadRequest,
	CodeMaterialTooManyPixels:   http.StatusUnprocessableEntity,
	CodeMaterialTooManyPages:    http.StatusUnprocessableEntity,
	CodeMaterialUnsafePDF:       http.StatusUnprocessableEntity,
	CodeMaterialInUse:           http.StatusConflict,
	CodeMaterialNotFound:        http.StatusNotFound,

	CodeECardStatusUnknown: http.StatusServiceUnavailable,

	CodeWithdrawalMaterialUnusable: http.StatusUnprocessableEntity,
	CodePlatformUnavailable:        http.StatusServiceUnavailable,
	CodeCertificateFilePurged:      http.StatusGone,
	CodePlatformBadSignature:       http.StatusUnauthorized,

	CodeMessageNotFound:             http.StatusNotFound,
	CodeSecurityMessagesRequired:    http.StatusUnprocessableEntity,
	CodeSubscriptionTemplateUnknown: http.StatusUnprocessableEntity,

	CodeTransferOwnCentre:       http.StatusUnprocessableEntity,
	CodeTransferUnknownCentre:   http.StatusUnprocessableEntity,
	CodeTransferInFlight:        http.StatusConflict,
	CodeTransferAccountUnknown:  http.StatusUnprocessableEntity,
	CodeTransferNotTransferable: http.StatusUnprocessableEntity,
	CodeTransferLocalAccount:    http.StatusUnprocessableEntity,
	CodeTransferNotCancellable:  http.StatusConflict,
	CodeCallbackBadSignature:    http.StatusUnauthorized,

	CodeStandingKindNotAllowed:      http.StatusUnprocessableEntity,
	CodeStandingExists:              http.StatusConflict,
	CodeStandingNotFound:            http.StatusNotFound,
	CodeStandingStopped:             http.StatusConflict,
	CodeStandingReconfirm:           http.StatusConflict,
	CodeLoanNone:                    http.StatusUnprocessableEntity,
	CodeLoanPrepaymentBelowMinimum:  http.StatusUnprocessableEntity,
	CodeLoanPrepaymentAboveOwed:     http.StatusUnprocessableEntity,
	CodeLoanPrepaymentTooSoon:       http.StatusUnprocessableEntity,
	CodeLoanPrepaymentAfterCutoff:   http.StatusUnprocessableEntity,
	CodeLoanPrepaymentSourceRefused: http.StatusUnprocessableEntity,
	CodeLoanInArrears:               http.StatusUnprocessableEntity,
	CodeLoanPrepaymentInFlight:      http.StatusConflict,
	CodeLoanAccountNotOwned:         http.StatusUnprocessableEntity,
	CodeLoanNoArrears:               http.StatusUnprocessableEntity,
	CodeLoanNotSettled:              http.StatusConflict,

	CodeCentreStaffExists:        http.StatusConflict,
	CodeCSRF:                     http.StatusForbidden,
	CodeShareNotFound:            http.StatusNotFound,
	CodeSharePartyUnknown:        http.StatusUnprocessableEntity,
	CodeSharePredicateNotAllowed: http.StatusUnprocessableEntity,
	CodeShareCodeInvalid:         http.StatusNotFound,
	CodeShareExpired:             http.StatusGone,
	CodeShareUsedUp:              http.StatusGone,
	CodeShareRevoked:             http.StatusGone,
	CodeShareRequestNotFound:     http.StatusNotFound,
	CodeShareRequestClosed:       http.StatusConflict,
	CodeShareRequestPending:      http.StatusConflict,
}

// Codes lists every known code, for the locale completeness test and docs.
func Codes() []Code {
	out := make([]Code, 0, len(statusOf))
	for c := range statusOf {
		out = append(out, c)
	}
	return out
}

// Status is the HTTP status for a code; unknown codes are internal errors.
func (c Code) Status() int {
	if s, ok := statusOf[c]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// Text is a message localized where the answer is written: a locale key
// and its params. A Text in Error.Params (or in a Text's params) is
// rendered as its localized text, a []Text as the texts joined into a list.
type Text struct {
	Key    string
	Params map[string]any
}

// FieldError names one invalid input field. Code is one of the Field* codes;
// Params fill the localized message (e.g. min, max, allowed values).
type FieldError struct {
	Field  string
	Code   string
	Params map[string]any
}

// Error is the one error type that crosses layers. Code and Params are for the
// client (rendered in its language); Cause is for the log only, never sent.
type Error struct {
	Code       Code
	Params     map[string]any
	Fields     []FieldError
	RetryAfter time.Duration // set for 429 and maintenance windows
	Cause      error
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%s: %v", e.Code, e.Cause)
	}
	return string(e.Code)
}

func (e *Error) Unwrap() error { return e.Cause }

// Errorf builds an Error with a code and a cause for the log.
//
// An internal error never hides an outage beneath it: when code is
// CodeInternal and the cause holds an Error answered with 503 (a dependency
// down, try again), the result keeps that code and its Retry-After, so a
// client is told to retry rather than that something is broken.
func Errorf(code Code, format string, args ...any) *Error {
	cause := fmt.Errorf(format, args...)
	var inner *Error
	if code == CodeInternal && errors.As(cause, &inner) && statusOf[inner.Code] == http.StatusServiceUnavailable {
		return &Error{Code: inner.Code, Params: inner.Params, RetryAfter: inner.RetryAfter, Cause: cause}
	}
	return &Error{Code: code, Cause: cause}
}

// E builds an Error with only a code.
func E(code Code) *Error { return &Error{Code: code} }

// Invalid builds a request.invalid error from field errors.
func Invalid(fields ...FieldError) *Error {
	return &Error{Code: CodeInvalid, Fields: fields}
}

// ErrorCode returns the code of err, or CodeInternal when err is not an *Error.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// AsError returns err as an *Error, wrapping unknown errors as internal.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: CodeInternal, Cause: err}
}
