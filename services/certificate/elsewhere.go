package certificate

import (
	"context"
	"regexp"

	"handheld/services"
	"handheld/services/audit"
)

// ChannelPlatform is a verification by another centre through the national
// platform (docs/platform-contract.md § Verifying a certificate for a loan
// elsewhere): the one channel that knows who verified.
const ChannelPlatform = "platform"

// ActionVerifyPlatform is the audit action of a verification through the
// platform; the actor is "platform:<centre code>".
const ActionVerifyPlatform = "certificate.verify_platform"

// platformCentreShape is a centre code on the platform: the city's
// six-digit administrative division code.
var platformCentreShape = regexp.MustCompile(`^[0-9]{6}$`)

// lending is the centre a loan_elsewhere certificate is addressed to.
type lending struct{ code, name string }

// lendingCentre names the lending centre code, which must be a centre the
// platform lists other than this one (request.invalid on to_centre
// otherwise). The platform being away is platform.unavailable: nothing is
// issued to a centre no one can name.
func (s *Service) lendingCentre(ctx context.Context, code string) (lending, error) {
	if s.Centres == nil {
		return lending{}, services.Errorf(services.CodePlatformUnavailable, "certificate: no platform to name the lending centre")
	}
	name, ok, err := s.Centres.CentreName(ctx, code)
	switch {
	case err != nil:
		return lending{}, err
	case !ok:
		return lending{}, services.Invalid(services.FieldError{Field: "to_centre", Code: services.FieldOneOf,
			Params: map[string]any{"allowed": "a centre on the national platform other than this one"}})
	}
	return lending{code: code, name: name}, nil
}

// VerifyThroughPlatform answers a verify code for another centre that asks
// through the national platform, as the public page answers it, and
// records the verification under the holder with the verifying centre's
// code and name. The signature of the platform's request is the caller's
// to check, before this is called. A malformed code is
// certificate.bad_code, a code matching no certificate not_found (404:
// the platform's own answer for "no such thing"), and a verifying centre
// the platform does not list (or this centre) request.invalid: in all
// three nothing is recorded.
func (s *Service) VerifyThroughPlatform(ctx context.Context, code, centre string) (VerifyView, error) {
	if !platformCentreShape.MatchString(centre) {
		return VerifyView{}, services.Invalid(services.FieldError{Field: "verifying_centre", Code: services.FieldFormat,
			Params: map[string]any{"format": "6 digits"}})
	}
	canonical, err := NormalizeCode(code)
	if err != nil {
		return VerifyView{}, err
	}
	if s.Centres == nil {
		return VerifyView{}, services.Errorf(services.CodePlatformUnavailable, "certificate: no platform")
	}
	name, ok, err := s.Centres.CentreName(ctx, centre)
	switch {
	case err != nil:
		return VerifyView{}, err
	case !ok:
		return VerifyView{}, services.Invalid(services.FieldError{Field: "verifying_centre", Code: services.FieldOneOf,
			Params: map[string]any{"allowed": "a centre on the national platform other than this one"}})
	}
	r, err := s.byCode(ctx, canonical)
	if err != nil {
		return VerifyView{}, err
	}
	rec := audit.Record{Subject: r.Subject, Actor: "platform:" + centre, Channel: publicChannel,
		Action: ActionVerifyPlatform, Target: "certificate:" + r.ID}
	return s.recordVerification(ctx, r, ChannelPlatform, centre, name, rec)
}
