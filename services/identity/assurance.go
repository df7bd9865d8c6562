package identity

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"handheld/services"
)

// ServiceName names a depositor service whose assurance the centre sets.
// Routes name them through these constants, and configuration naming an
// unknown one stops start-up.
type ServiceName string

// The services with an assurance requirement.
const (
	// ServiceRead is the floor of every /me route, reads above all: by
	// default the level any binding reaches.
	ServiceRead ServiceName = "read"
	// ServiceWithdrawal is applying for and cancelling a withdrawal.
	ServiceWithdrawal ServiceName = "withdrawal"
	// ServicePayoutAccount is adding or changing where money is paid.
	ServicePayoutAccount ServiceName = "payout_account"
	// ServiceCertificate is issuing a certificate.
	ServiceCertificate ServiceName = "certificate"
	// ServiceKioskLogin is confirming, on the phone, a sign-in at a kiosk
	// by its QR code: it opens a session in the person's name on a screen
	// anyone nearby can see, so by default it needs a recent face check,
	// like money does.
	ServiceKioskLogin ServiceName = "kiosk_login"
)

// ServiceNames lists every service, for validation and docs.
func ServiceNames() []ServiceName {
	return []ServiceName{ServiceRead, ServiceWithdrawal, ServicePayoutAccount, ServiceCertificate, ServiceKioskLogin}
}

// Factor is a strong factor a WeChat binding may rest on, besides the name
// and ID number.
type Factor string

// The factors.
const (
	// FactorFace is WeChat face verification (微信人脸核身) for the name
	// and ID number.
	FactorFace Factor = "face"
	// FactorPhone is the phone number bound to WeChat being the one the
	// centre has on file. Weaker: a SIM can be swapped or a number reused.
	FactorPhone Factor = "phone"
)

// Requirement is what a service needs of a session: at least ACR, and,
// when MaxAge is set, an auth_time no older than MaxAge.
type Requirement struct {
	ACR    services.ACR  `yaml:"acr"`
	MaxAge time.Duration `yaml:"max_age"`
}

// Assurance is the centre's policy on identifying people.
type Assurance struct {
	// BindFactors are the factors a WeChat binding accepts.
	BindFactors []Factor `yaml:"bind_factors"`
	// Services maps every ServiceName to its requirement; none may be
	// missing, so a typo cannot leave a service unprotected.
	Services map[ServiceName]Requirement `yaml:"services"`
	// FaceResultTTL bounds how long a started face check can be used
	// (WeChat's own limit is an hour).
	FaceResultTTL time.Duration `yaml:"face_result_ttl"`
	// Attempts is how many identity checks (binding, kiosk sign-in, face
	// checks, step-ups) one ID number, and one WeChat user, may start in
	// AttemptWindow; a success clears the count.
	Attempts      int           `yaml:"attempts"`
	AttemptWindow time.Duration `yaml:"attempt_window"`
}

// DefaultAssurance is the shipped policy: bind with a face check; reads at
// the binding's level; money and certificates need a face check within
// five minutes, and so does confirming a sign-in at a kiosk by phone QR.
func DefaultAssurance() Assurance {
	fresh := Requirement{ACR: services.ACRFace, MaxAge: 5 * time.Minute}
	return Assurance{
		BindFactors: []Factor{FactorFace},
		Services: map[ServiceName]Requirement{
			ServiceRead:          {ACR: services.ACRRealName},
			ServiceWithdrawal:    fresh,
			ServicePayoutAccount: fresh,
			ServiceCertificate:   fresh,
			ServiceKioskLogin:    fresh,
		},
		FaceResultTTL: 10 * time.Minute,
		Attempts:      10,
		AttemptWindow: time.Hour,
	}
}

// Validate checks the policy, naming what is wrong.
func (a Assurance) Validate() error {
	var errs []error
	if len(a.BindFactors) == 0 {
		errs = append(errs, errors.New("bind_factors: at least one factor is needed"))
	}
	for i, f := range a.BindFactors {
		if f != FactorFace && f != FactorPhone || slices.Index(a.BindFactors, f) != i {
			errs = append(errs, fmt.Errorf("bind_factors: %q is not a factor (face, phone) or is repeated", f))
		}
	}
	for name, r := range a.Services {
		if !slices.Contains(ServiceNames(), name) {
			errs = append(errs, fmt.Errorf("services: %q is not a service (%v)", name, ServiceNames()))
		}
		if r.ACR.Rank() == 0 {
			errs = append(errs, fmt.Errorf("services.%s.acr: %q is not realname, phone or face", name, r.ACR))
		}
		if r.MaxAge < 0 || r.MaxAge > 24*time.Hour {
			errs = append(errs, fmt.Errorf("services.%s.max_age: must be 0 (any) up to 24h, not %s", name, r.MaxAge))
		}
	}
	for _, name := range ServiceNames() {
		if _, ok := a.Services[name]; !ok {
			errs = append(errs, fmt.Errorf("services.%s: missing; every service needs a requirement", name))
		}
	}
	if a.FaceResultTTL < time.Second || a.FaceResultTTL > time.Hour {
		errs = append(errs, fmt.Errorf("face_result_ttl: must be 1s..1h, not %s", a.FaceResultTTL))
	}
	if a.Attempts < 1 || a.Attempts > 1000 {
		errs = append(errs, fmt.Errorf("attempts: must be 1..1000, not %d", a.Attempts))
	}
	if a.AttemptWindow < time.Second || a.AttemptWindow > 24*time.Hour {
		errs = append(errs, fmt.Errorf("attempt_window: must be 1s..24h, not %s", a.AttemptWindow))
	}
	return errors.Join(errs...)
}

// accepts reports whether the policy lets a binding rest on f.
func (a Assurance) accepts(f Factor) bool { return slices.Contains(a.BindFactors, f) }

// RequireAssurance admits p to service when its session's assurance meets
// the service's requirement, and otherwise answers auth.step_up_required
// with what is needed (required_acr, max_age in seconds), so the client can
// run a face check and POST /auth/step-up.
func (s *Service) RequireAssurance(p services.Principal, service ServiceName) error {
	if err := p.Depositor(); err != nil {
		return err
	}
	r, ok := s.Assurance.Services[service]
	if !ok {
		return services.Errorf(services.CodeInternal, "no assurance requirement for service %q", service)
	}
	fresh := r.MaxAge == 0 || (!p.AuthTime.IsZero() && s.Now().Sub(p.AuthTime) <= r.MaxAge)
	if p.ACR.Rank() >= r.ACR.Rank() && fresh {
		return nil
	}
	return &services.Error{Code: services.CodeStepUpRequired,
		Params: map[string]any{"required_acr": string(r.ACR), "max_age": int(r.MaxAge / time.Second)},
		Cause:  fmt.Errorf("service %s needs %s within %s; session has %q from %s", service, r.ACR, r.MaxAge, p.ACR, p.AuthTime)}
}
