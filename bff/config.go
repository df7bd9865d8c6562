package bff

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
	"go.opentelemetry.io/otel/trace"
	"gopkg.in/yaml.v3"

	"handheld/bff/middleware"
	"handheld/services/catalogue"
	"handheld/services/core"
	"handheld/services/ecard"
	employers "handheld/services/employer"
	"handheld/services/hours"
	"handheld/services/identity"
	"handheld/services/kv"
	"handheld/services/mask"
	"handheld/services/material"
	"handheld/services/notify"
	"handheld/services/printing"
	"handheld/services/ratelimit"
	"handheld/services/reminder"
	"handheld/services/report"
	"handheld/services/retention"
	"handheld/services/share"
	"handheld/services/staff"
	"handheld/services/standing"
	"handheld/services/store"
	"handheld/services/suite"
	"handheld/services/supervision"
	"handheld/services/tracing"
	"handheld/services/transfer"
	"handheld/services/withdrawal"
	"handheld/templates"
)

// Profiles.
const (
	ProfileEmbedded   = "embedded"
	ProfileProduction = "production"
)

// Config is handheld's whole configuration. Values come from Defaults, then
// the optional YAML file named by HANDHELD_CONFIG_FILE, then HANDHELD_*
// environment variables; Validate runs once at start-up. Fields tagged
// secret show only whether they are set in the start-up dump (secret:"url"
// loses its password; secret:"generated" is made by the embedded profile
// when unset).
type Config struct {
	Profile string `env:"HANDHELD_PROFILE" yaml:"profile"`
	Addr    string `env:"HANDHELD_ADDR" yaml:"addr"`
	DataDir string `env:"HANDHELD_DATA_DIR" yaml:"data_dir"`

	// DatabaseURL is postgres://… in production; empty means SQLite under DataDir.
	DatabaseURL string `env:"HANDHELD_DATABASE_URL" yaml:"database_url" secret:"url"`
	// DBMaxConns is each replica's PostgreSQL pool (1–1000): replicas ×
	// this must stay below the server's max_connections.
	DBMaxConns int `env:"HANDHELD_DB_MAX_CONNS" yaml:"db_max_conns"`
	// RedisURL is redis://… (one node), redis+sentinel://… or
	// redis+cluster://… (rediss… for TLS); empty means in-process state.
	RedisURL string `env:"HANDHELD_REDIS_URL" yaml:"redis_url" secret:"url"`

	// CoreURL is the core API base; empty (embedded only) runs the simulator in-process.
	CoreURL     string        `env:"HANDHELD_CORE_URL" yaml:"core_url"`
	CoreKeyID   string        `env:"HANDHELD_CORE_KEY_ID" yaml:"core_key_id"`
	CoreSecret  string        `env:"HANDHELD_CORE_SECRET" yaml:"core_secret" secret:"true"`
	CoreTimeout time.Duration `env:"HANDHELD_CORE_TIMEOUT" yaml:"core_timeout"`

	// SharingURL is the government data-sharing exchange's base (issue 17,
	// docs/sharing-contract.md); empty (embedded only) runs the sharing
	// simulator in-process. SharingKeyID and SharingSecret sign requests
	// (HMAC-SHA256, at least 32 characters); SharingTimeout bounds one
	// question; SharingConsentTTL is how long a lookup's consent may be
	// used by an application.
	SharingURL        string        `env:"HANDHELD_SHARING_URL" yaml:"sharing_url"`
	SharingKeyID      string        `env:"HANDHELD_SHARING_KEY_ID" yaml:"sharing_key_id"`
	SharingSecret     string        `env:"HANDHELD_SHARING_SECRET" yaml:"sharing_secret" secret:"true"`
	SharingTimeout    time.Duration `env:"HANDHELD_SHARING_TIMEOUT" yaml:"sharing_timeout"`
	SharingConsentTTL time.Duration `env:"HANDHELD_SHARING_CONSENT_TTL" yaml:"sharing_consent_ttl"`

	// PlatformURL is the national HPF transfer and information platform's
	// base (issue 18, docs/platform-contract.md); empty (embedded only)
	// runs the platform simulator in-process. PlatformKeyID and
	// PlatformSecret sign requests (HMAC-SHA256, at least 32 characters);
	// PlatformTimeout bounds one call.
	PlatformURL     string        `env:"HANDHELD_PLATFORM_URL" yaml:"platform_url"`
	PlatformKeyID   string        `env:"HANDHELD_PLATFORM_KEY_ID" yaml:"platform_key_id"`
	PlatformSecret  string        `env:"HANDHELD_PLATFORM_SECRET" yaml:"platform_secret" secret:"true"`
	PlatformTimeout time.Duration `env:"HANDHELD_PLATFORM_TIMEOUT" yaml:"platform_timeout"`
	// PlatformInboundKeyID and PlatformInboundSecret are the platform's
	// own key, which signs its calls to handheld (a certificate
	// verification by another centre). Without a secret (outside the
	// embedded profile, which makes one per start) every such call is
	// refused.
	PlatformInboundKeyID  string `env:"HANDHELD_PLATFORM_INBOUND_KEY_ID" yaml:"platform_inbound_key_id"`
	PlatformInboundSecret string `env:"HANDHELD_PLATFORM_INBOUND_SECRET" yaml:"platform_inbound_secret" secret:"true"`

	// Simulator knobs, used by the in-process simulator and `handheld coresim`.
	CoresimFaults      string `env:"HANDHELD_CORESIM_FAULTS" yaml:"coresim_faults"`
	CoresimMaintenance string `env:"HANDHELD_CORESIM_MAINTENANCE" yaml:"coresim_maintenance"`

	// KeysDir holds the signing keys (tokens, e-card, certificates) and the
	// sealing ring (sealing/: personal data at rest). The
	// embedded profile generates them there once; production requires them.
	KeysDir string `env:"HANDHELD_KEYS_DIR" yaml:"keys_dir"`

	// Crypto is the cryptographic suite (services/suite): intl (Ed25519,
	// SHA-256, AES-256-GCM) or sm (SM2, SM3, SM4-GCM). It decides the
	// keys the current ones must be and what is signed, hashed and sealed
	// from now on; what the other suite made still verifies and opens.
	// CryptoRequired, when set, refuses to start under any other suite:
	// a centre that must pass the commercial cryptography assessment sets
	// it to sm.
	Crypto         string `env:"HANDHELD_CRYPTO" yaml:"crypto"`
	CryptoRequired string `env:"HANDHELD_CRYPTO_REQUIRED" yaml:"crypto_required"`

	// WeChatSandbox accepts login codes "sandbox:<openid>" without WeChat.
	WeChatSandbox   bool          `env:"HANDHELD_WECHAT_SANDBOX" yaml:"wechat_sandbox"`
	WeChatAppID     string        `env:"HANDHELD_WECHAT_APP_ID" yaml:"wechat_app_id"`
	WeChatAppSecret string        `env:"HANDHELD_WECHAT_APP_SECRET" yaml:"wechat_app_secret" secret:"true"`
	WeChatAPIBase   string        `env:"HANDHELD_WECHAT_API_BASE" yaml:"wechat_api_base"`
	WeChatTimeout   time.Duration `env:"HANDHELD_WECHAT_TIMEOUT" yaml:"wechat_timeout"`

	// HashSecret keys the HMACs that replace openids, operator ids and kv
	// keys; the embedded profile generates one under DataDir.
	HashSecret   string        `env:"HANDHELD_HASH_SECRET" yaml:"hash_secret" secret:"generated"`
	RedisPrefix  string        `env:"HANDHELD_REDIS_PREFIX" yaml:"redis_prefix"`
	RedisTimeout time.Duration `env:"HANDHELD_REDIS_TIMEOUT" yaml:"redis_timeout"`

	// Sessions (docs/api.md §Authentication).
	Issuer            string        `env:"HANDHELD_TOKEN_ISSUER" yaml:"token_issuer"`
	AccessTTL         time.Duration `env:"HANDHELD_ACCESS_TTL" yaml:"access_ttl"`
	MiniAppSessionTTL time.Duration `env:"HANDHELD_MINIAPP_SESSION_TTL" yaml:"miniapp_session_ttl"`
	AppSessionTTL     time.Duration `env:"HANDHELD_APP_SESSION_TTL" yaml:"app_session_ttl"`
	DeviceTokenTTL    time.Duration `env:"HANDHELD_DEVICE_TOKEN_TTL" yaml:"device_token_ttl"`
	KioskIdle         time.Duration `env:"HANDHELD_KIOSK_IDLE" yaml:"kiosk_idle"`
	KioskAbsolute     time.Duration `env:"HANDHELD_KIOSK_ABSOLUTE" yaml:"kiosk_absolute"`
	// KioskLoginTTL is how long a kiosk's phone-QR sign-in code can be
	// confirmed (docs/api.md § Sign-in at a kiosk by phone QR): long
	// enough to take out a phone and scan, short enough that a code
	// photographed over a shoulder is soon worthless.
	KioskLoginTTL   time.Duration `env:"HANDHELD_KIOSK_LOGIN_TTL" yaml:"kiosk_login_ttl"`
	LockoutFailures int           `env:"HANDHELD_LOCKOUT_FAILURES" yaml:"lockout_failures"`
	LockoutWindow   time.Duration `env:"HANDHELD_LOCKOUT_WINDOW" yaml:"lockout_window"`
	LockoutDuration time.Duration `env:"HANDHELD_LOCKOUT_DURATION" yaml:"lockout_duration"`
	RevocationCache time.Duration `env:"HANDHELD_REVOCATION_CACHE" yaml:"revocation_cache"`

	// LockoutOperatorFailures failures on one operator from all addresses
	// together lock the operator (LockoutFailures counts one address's);
	// after each failure an address waits LockoutDelay, doubling up to
	// LockoutDelayMax, before trying that operator again.
	LockoutOperatorFailures int           `env:"HANDHELD_LOCKOUT_OPERATOR_FAILURES" yaml:"lockout_operator_failures"`
	LockoutDelay            time.Duration `env:"HANDHELD_LOCKOUT_DELAY" yaml:"lockout_delay"`
	LockoutDelayMax         time.Duration `env:"HANDHELD_LOCKOUT_DELAY_MAX" yaml:"lockout_delay_max"`

	// OperatorCredentialTTL is how long the sealed argon2id check of an
	// operator's last accepted password may stand in for the core during
	// its maintenance window or an outage (0 turns the cached check off).
	// It bounds how long a password changed outside handheld could still
	// be accepted at night.
	OperatorCredentialTTL time.Duration `env:"HANDHELD_OPERATOR_CREDENTIAL_TTL" yaml:"operator_credential_ttl"`

	// ECardStatusMaxAge is how old the last known account status may be
	// for an e-card to be shown and verified from it while the core cannot
	// be asked (its maintenance window, an outage); verifiers are told the
	// status's time. At most 168h.
	ECardStatusMaxAge time.Duration `env:"HANDHELD_ECARD_STATUS_MAX_AGE" yaml:"ecard_status_max_age"`
	// ECardFormat is the e-card payload minted: compact (base45 COSE, a
	// small QR code) or jws (the older, longer format). Verification
	// accepts both whichever is set.
	ECardFormat string `env:"HANDHELD_ECARD_FORMAT" yaml:"ecard_format"`

	// TrustedProxies are addresses or CIDR ranges whose X-Forwarded-For is
	// believed; everyone else's is ignored.
	TrustedProxies []string `env:"HANDHELD_TRUSTED_PROXIES" envSeparator:"," yaml:"trusted_proxies"`
	// Replicas is how many BFF replicas share the limits: when Redis fails,
	// each replica enforces its share in process.
	Replicas int `env:"HANDHELD_REPLICAS" yaml:"replicas"`
	// RateLimits replaces the shipped policies (YAML file only).
	RateLimits []ratelimit.Policy `yaml:"rate_limits"`
	// Services switches services off and sets their hours per channel
	// (YAML file only): service → channel ("*" for any) → {off, hours}.
	// Kept for configurations written before the catalogue: it folds into
	// catalogue.switches (Config.catalogue), where new files put it.
	Services hours.Policy `yaml:"services"`
	// Catalogue is the service catalogue (YAML file only; items replace
	// the shipped ones, materials add to or rename theirs): every
	// service, its conditions, materials, time limits, channels, and the
	// service switches and hours.
	Catalogue catalogue.Config `yaml:"catalogue"`

	// HomeDeadline is how long /me/home waits for its slowest part before
	// answering without it (named in "degraded").
	HomeDeadline time.Duration `env:"HANDHELD_HOME_DEADLINE" yaml:"home_deadline"`
	// CoreReads tunes resilient core reads per endpoint group (YAML file
	// only): timeouts, retries, cache and stale windows, breakers.
	CoreReads *core.ReaderConfig `yaml:"core_reads"`
	// Masking overrides the masking policy per field and channel (YAML file
	// only): field → channel → mask | partial | full.
	Masking mask.Policy `yaml:"masking"`

	// CertificateValidity is how long an issued certificate is valid;
	// CertificateLinkTTL how long a download link works.
	CertificateValidity time.Duration `env:"HANDHELD_CERTIFICATE_VALIDITY" yaml:"certificate_validity"`
	CertificateLinkTTL  time.Duration `env:"HANDHELD_CERTIFICATE_LINK_TTL" yaml:"certificate_link_ttl"`

	// Withdrawals are the withdrawal kinds and their policies (YAML file
	// only; the whole section replaces the shipped defaults).
	Withdrawals withdrawal.Policies `yaml:"withdrawals"`
	// StandingWithdrawals are the kinds a person may sign up for a
	// standing (monthly) withdrawal of, and their terms (YAML file only;
	// services/standing): the cap per month, the day of the month the
	// application is made, how often the person confirms it again.
	StandingWithdrawals standing.Policies `yaml:"standing_withdrawals"`
	// WithdrawalPollInterval overrides withdrawals.poll_interval: how often
	// an undecided application's status is asked of the core.
	WithdrawalPollInterval time.Duration `env:"HANDHELD_WITHDRAWAL_POLL_INTERVAL" yaml:"-"`
	// OutboxWorkers is how many deliveries one replica runs at once (0
	// stops this replica's worker: another replica delivers).
	OutboxWorkers int `env:"HANDHELD_OUTBOX_WORKERS" yaml:"outbox_workers"`
	// OutboxLease is how long a claimed delivery is hidden from other
	// replicas: a replica that dies loses its claims to the others after
	// it. A delivery may take two thirds of it.
	OutboxLease time.Duration `env:"HANDHELD_OUTBOX_LEASE" yaml:"outbox_lease"`

	// EmployerJobs bounds the employers' bulk files (YAML file only): rows
	// and bytes per file, unfinished jobs per unit, the runners' lease and
	// how many lines a runner applies at once.
	EmployerJobs employers.JobPolicy `yaml:"employer_jobs"`
	// PrintJobs is the kiosk printing policy (YAML file only): how many
	// documents a person may print a day and how long a print waits for
	// its printer.
	PrintJobs printing.Policy `yaml:"print_jobs"`
	// Transfers is the policy of transfers in from other centres (YAML
	// file only): the centres a transfer may come from, the account
	// statuses there and here, the poller's interval and quiet time.
	Transfers transfer.Policy `yaml:"transfers"`
	// Materials is the upload policy for evidence files (YAML file only):
	// sizes, pixels, PDF pages, retention of unused materials, the sweep's
	// interval and the evidence kinds a file may be uploaded as.
	Materials material.Policy `yaml:"materials"`
	// Retention is how long closed outbox rows, Idempotency-Keys, ended
	// sessions and expired certificates' files are kept, and how often the
	// job that removes them runs (YAML file only; services/retention).
	Retention retention.Policy `yaml:"retention"`
	// MaterialsStore is where the sealed materials are kept: "file" (under
	// MaterialsDir; the embedded default) or "s3" (S3-compatible object
	// storage; the production choice when replicas share no disk).
	MaterialsStore string `env:"HANDHELD_MATERIALS_STORE" yaml:"materials_store"`
	// MaterialsDir is the file store's directory; empty is
	// <data_dir>/materials.
	MaterialsDir string `env:"HANDHELD_MATERIALS_DIR" yaml:"materials_dir"`
	// The S3-compatible store: endpoint host[:port] (no scheme), bucket,
	// region, key prefix, plain HTTP (insecure, a store on the same host
	// only) and path-style addressing. Its keys come from the environment
	// only and are never logged.
	MaterialsS3Endpoint  string `env:"HANDHELD_MATERIALS_S3_ENDPOINT" yaml:"materials_s3_endpoint"`
	MaterialsS3Bucket    string `env:"HANDHELD_MATERIALS_S3_BUCKET" yaml:"materials_s3_bucket"`
	MaterialsS3Region    string `env:"HANDHELD_MATERIALS_S3_REGION" yaml:"materials_s3_region"`
	MaterialsS3Prefix    string `env:"HANDHELD_MATERIALS_S3_PREFIX" yaml:"materials_s3_prefix"`
	MaterialsS3Insecure  bool   `env:"HANDHELD_MATERIALS_S3_INSECURE" yaml:"materials_s3_insecure"`
	MaterialsS3PathStyle bool   `env:"HANDHELD_MATERIALS_S3_PATH_STYLE" yaml:"materials_s3_path_style"`
	MaterialsS3AccessKey string `env:"HANDHELD_MATERIALS_S3_ACCESS_KEY" yaml:"-" secret:"true"`
	MaterialsS3SecretKey string `env:"HANDHELD_MATERIALS_S3_SECRET_KEY" yaml:"-" secret:"true"`
	// JobRunners is 1 to run this replica's bulk file runner, 0 to leave
	// the jobs to other replicas.
	JobRunners int `env:"HANDHELD_JOB_RUNNERS" yaml:"job_runners"`

	// Assurance is how strongly people must be identified (YAML file
	// only): the factors a WeChat binding accepts (bind_factors: face,
	// phone), each service's requirement (services: read, withdrawal,
	// payout_account, certificate → {acr: realname|phone|face, max_age}),
	// how long a face result stays usable and the identity-check attempts
	// allowed per ID number and WeChat user.
	Assurance identity.Assurance `yaml:"assurance"`

	// Verifiers are the e-card verifier credentials (YAML file only):
	// counters, partner banks.
	Verifiers []VerifierCredential `yaml:"verifiers"`

	// Kiosks is the device registry (YAML file only).
	Kiosks []KioskDevice `yaml:"kiosks"`
	// KioskScreenPath is where the kiosk screen is served (issue 16;
	// docs/api.md § Kiosk screen): "/kiosk/" by default, "" or "off"
	// switches it off. It starts and ends with a slash and stays clear of
	// the API's paths.
	KioskScreenPath string `env:"HANDHELD_KIOSK_SCREEN_PATH" yaml:"kiosk_screen_path"`
	// DemoKioskListen is where `handheld serve` runs the demo kiosk's
	// agent in-process on the embedded profile (127.0.0.1:8081), so that a
	// browser there shows the kiosk screen; "" or "off" does not run it.
	// Other profiles never run it: a real kiosk runs `handheld kiosk-agent`.
	DemoKioskListen string `env:"HANDHELD_DEMO_KIOSK_LISTEN" yaml:"demo_kiosk_listen"`

	CentreCode string `env:"HANDHELD_CENTRE_CODE" yaml:"centre_code"`
	CentreName string `env:"HANDHELD_CENTRE_NAME" yaml:"centre_name"`
	// PublicBaseURL is where people reach this server: certificates link
	// and point their QR codes to <PublicBaseURL>/verify/<code>. Empty
	// means the served address (see PublicBase).
	PublicBaseURL string `env:"HANDHELD_PUBLIC_BASE_URL" yaml:"public_base_url"`

	// LoanRateBP is the centre's current first-home loan rate in basis
	// points, the calculator's default.
	LoanRateBP int `env:"HANDHELD_LOAN_RATE_BP" yaml:"loan_rate_bp"`

	RequestTimeout  time.Duration `env:"HANDHELD_REQUEST_TIMEOUT" yaml:"request_timeout"`
	ReadTimeout     time.Duration `env:"HANDHELD_READ_TIMEOUT" yaml:"read_timeout"`
	WriteTimeout    time.Duration `env:"HANDHELD_WRITE_TIMEOUT" yaml:"write_timeout"`
	IdleTimeout     time.Duration `env:"HANDHELD_IDLE_TIMEOUT" yaml:"idle_timeout"`
	ShutdownTimeout time.Duration `env:"HANDHELD_SHUTDOWN_TIMEOUT" yaml:"shutdown_timeout"`
	// DrainDelay is how long /readyz fails before the listener closes at
	// shutdown, so load balancers stop routing here first.
	DrainDelay     time.Duration `env:"HANDHELD_DRAIN_DELAY" yaml:"drain_delay"`
	MaxHeaderBytes int           `env:"HANDHELD_MAX_HEADER_BYTES" yaml:"max_header_bytes"`

	LogLevel string `env:"HANDHELD_LOG_LEVEL" yaml:"log_level"`

	// Version is the build's version, which main sets from its -ldflags
	// value; it is no setting (neither environment nor file sets it) and
	// shows in handheld_build_info and the start-up dump as "version".
	Version string `yaml:"-"`

	// Tracing (docs/operations.md §Tracing), under OpenTelemetry's standard
	// names. Off unless TracesExporter is otlp or console; the OTLP
	// exporter reads OTEL_EXPORTER_OTLP_ENDPOINT and its other
	// OTEL_EXPORTER_OTLP_* variables itself.
	TracesExporter   string `env:"OTEL_TRACES_EXPORTER" yaml:"traces_exporter"`
	TracesSampler    string `env:"OTEL_TRACES_SAMPLER" yaml:"traces_sampler"`
	TracesSamplerArg string `env:"OTEL_TRACES_SAMPLER_ARG" yaml:"traces_sampler_arg"`
	ServiceName      string `env:"OTEL_SERVICE_NAME" yaml:"service_name"`
	// TracerProvider, set in code only (tests and benchmarks record spans
	// with one), replaces the provider the variables above would build;
	// its owner flushes and shuts it down. The start-up dump says whether
	// it is set, as "tracerprovider".
	TracerProvider trace.TracerProvider `yaml:"-"`
	// Clock, set in code only (tests move it), is the message centre's
	// clock: the quiet hours, the deferral of notifications and the outbox
	// worker's due times. nil is the system clock. The start-up dump says
	// whether it is set, as "clock".
	Clock Clock `yaml:"-"`

	// Reminders are the reminder and policy push rules (YAML file only;
	// the whole list replaces the shipped reminder.Defaults()): each a
	// code, category, trigger (when) and its params, period, texts per
	// locale, WeChat template and enabled (docs/configuration.md
	// § reminders). A bad rule stops start-up.
	Reminders reminder.Rules `yaml:"reminders"`

	// Staff is the centre staff's sign-in policy (lockout, session
	// timeouts, TOTP required) and the dashboard's longest range (YAML
	// file only; docs/configuration.md § staff).
	Staff StaffConfig `yaml:"staff"`

	// NotificationTemplates are the centre's own WeChat subscribe
	// templates (YAML file only): per notification (a case status such as
	// approved, or a notice such as sign_in) the template id its
	// mini-program registered and the field mapping, replacing the shipped
	// ones in every locale. Checked at start-up: an unknown notification
	// or a template without its field mapping stops it.
	NotificationTemplates notify.Overrides `yaml:"notification_templates"`

	// DailyReport is the report upward to the national platform (YAML
	// file only; services/report): enabled, the time of day it runs in
	// the centre's time, the centre code reported under (empty:
	// HANDHELD_CENTRE_CODE) and how many days back a run catches up.
	DailyReport report.Policy `yaml:"daily_report"`
	// Parties are the relying parties (YAML file only; issue 20): banks,
	// rental platforms, employers that redeem the yes/no answers people
	// share with them. Each has an id, a name, the predicates it may ask,
	// its secret as a SHA-256 and whether it is enabled. An unknown
	// predicate stops start-up.
	Parties []PartyCredential `yaml:"parties"`
	// Shares is the share policy (YAML file only; services/share): how
	// long a share may last (min_validity, max_validity), max_uses, how
	// long a party's request waits (request_ttl), how many unknown codes
	// a party may try (max_failed_redemptions per
	// failed_redemption_window) and how recent a run of deposits must be
	// to count (recent_months).
	Shares share.Policy `yaml:"shares"`
}

// PartyCredential is one registered relying party. The secret is given
// only as its SHA-256 (hex): `printf %s "$SECRET" | sha256sum`.
type PartyCredential struct {
	ID           string   `yaml:"id"`
	Name         string   `yaml:"name"`
	Predicates   []string `yaml:"predicates"`
	SecretSHA256 string   `yaml:"secret_sha256"`
	Enabled      bool     `yaml:"enabled"`
}

// tracing is the tracing part of the configuration.
func (c Config) tracing() tracing.Config {
	return tracing.Config{Exporter: c.TracesExporter, Sampler: c.TracesSampler, SamplerArg: c.TracesSamplerArg, ServiceName: c.ServiceName}
}

// KioskDevice is one registered self-service kiosk.
type KioskDevice struct {
	ID        string `yaml:"id"`
	Location  string `yaml:"location"`
	PublicKey string `yaml:"public_key"` // base64 of the 32-byte Ed25519 public key
	Enabled   bool   `yaml:"enabled"`
}

// VerifierCredential is one registered verifier. The secret is given only
// as its SHA-256 (hex): `printf %s "$SECRET" | sha256sum`.
type VerifierCredential struct {
	ID           string   `yaml:"id"`
	Name         string   `yaml:"name"`
	Scopes       []string `yaml:"scopes"`
	SecretSHA256 string   `yaml:"secret_sha256"`
	Enabled      bool     `yaml:"enabled"`
}

// BodyLimit is the largest request body accepted (docs/api.md §Conventions: over 64 KiB → 413),
// but for the upload routes, each bounded by its own policy (uploads).
const BodyLimit = 64 << 10

// The stores materials can be kept in (HANDHELD_MATERIALS_STORE).
const (
	MaterialsFile = "file"
	MaterialsS3   = "s3"
)

// uploads are the POST routes whose multipart body may pass BodyLimit,
// each bounded by its own policy's largest file plus BodyLimit for the
// multipart framing and the other fields: an employer's bulk file
// (employer_jobs.max_file_bytes) and a person's evidence file
// (materials.max_bytes). A new upload route is one line here.
func (c Config) uploads() map[string]int {
	return map[string]int{
		"/api/v1/employer/jobs": int(c.EmployerJobs.MaxFileBytes) + BodyLimit,
		"/api/v1/me/materials":  int(c.Materials.MaxBytes) + BodyLimit,
	}
}

// uploadLimit is the largest body the server reads at all: the largest
// of the upload routes' bounds.
func (c Config) uploadLimit() int {
	limit := BodyLimit
	for _, n := range c.uploads() {
		limit = max(limit, n)
	}
	return limit
}

// Defaults is the embedded profile: everything runs from one process on a
// fresh machine.
func Defaults() Config {
	return Config{
		Profile:              ProfileEmbedded,
		Addr:                 "127.0.0.1:8080",
		DataDir:              "var",
		CoreKeyID:            "handheld",
		CoreTimeout:          2 * time.Second,
		SharingKeyID:         "handheld",
		SharingTimeout:       3 * time.Second,
		SharingConsentTTL:    24 * time.Hour,
		PlatformKeyID:        "handheld",
		PlatformInboundKeyID: "platform",
		PlatformTimeout:      3 * time.Second,
		WeChatSandbox:        true,
		WeChatAPIBase:        "https://api.weixin.qq.com",
		WeChatTimeout:        5 * time.Second,
		RedisPrefix:          "hh:",
		RedisTimeout:         20 * time.Millisecond,
		Issuer:               "handheld",
		AccessTTL:            15 * time.Minute,
		MiniAppSessionTTL:    30 * 24 * time.Hour,
		AppSessionTTL:        12 * time.Hour,
		DeviceTokenTTL:       time.Hour,
		KioskIdle:            3 * time.Minute,
		KioskAbsolute:        15 * time.Minute,
		KioskLoginTTL:        identity.DefaultKioskLoginTTL,
		LockoutFailures:      5,
		LockoutWindow:        15 * time.Minute,
		LockoutDuration:      15 * time.Minute,
		RevocationCache:      2 * time.Second,
		Replicas:             1,
		HomeDeadline:         800 * time.Millisecond,
		CertificateValidity:  30 * 24 * time.Hour,
		CertificateLinkTTL:   10 * time.Minute,
		RateLimits:           ratelimit.DefaultPolicies(),
		Withdrawals:          withdrawal.DefaultPolicies(),
		StandingWithdrawals:  standing.DefaultPolicies(),
		Catalogue:            catalogue.Default(),
		Assurance:            identity.DefaultAssurance(),
		OutboxWorkers:        64,
		OutboxLease:          30 * time.Second,
		EmployerJobs:         employers.DefaultJobPolicy(),
		Staff:                StaffConfig{Policy: staff.DefaultPolicy(), DashboardMaxDays: supervision.DefaultMaxDays},
		PrintJobs:            printing.DefaultPolicy(),
		Materials:            material.DefaultPolicy(),
		Shares:               share.DefaultPolicy(),
		MaterialsStore:       MaterialsFile,
		MaterialsS3Prefix:    "materials/",
		JobRunners:           1,
		CentreCode:           "330100",
		CentreName:           "示范市住房公积金管理中心",
		LoanRateBP:           285,
		KioskScreenPath:      "/kiosk/",
		DemoKioskListen:      "127.0.0.1:8081",
		RequestTimeout:       5 * time.Second,
		ReadTimeout:          10 * time.Second,
		WriteTimeout:         15 * time.Second,
		IdleTimeout:          60 * time.Second,
		ShutdownTimeout:      15 * time.Second,
		MaxHeaderBytes:       8 << 10,
		LogLevel:             "info",
		Retention:            retention.DefaultPolicy(),
		DBMaxConns:           store.DefaultMaxConns,
		Transfers:            transfer.DefaultPolicy(),
		Reminders:            reminder.Defaults(),
		DailyReport:          report.DefaultPolicy(),

		LockoutOperatorFailures: 20,
		LockoutDelay:            time.Second,
		LockoutDelayMax:         30 * time.Second,
		OperatorCredentialTTL:   identity.DefaultOperatorCredentialTTL,
		ECardStatusMaxAge:       ecard.DefaultStatusMaxAge,
		ECardFormat:             ecard.FormatCompact,
	}
}

// LoadConfig builds the configuration from defaults, the optional file and
// the environment (a map, Environ() outside tests), and validates it.
func LoadConfig(environ map[string]string) (Config, error) {
	cfg := Defaults()
	if path := environ["HANDHELD_CONFIG_FILE"]; path != "" {
		raw, err := os.ReadFile(path)
		if err != nil {
			return cfg, fmt.Errorf("HANDHELD_CONFIG_FILE: %w", err)
		}
		dec := yaml.NewDecoder(strings.NewReader(string(raw)))
		dec.KnownFields(true)
		if err := dec.Decode(&cfg); err != nil {
			return cfg, fmt.Errorf("HANDHELD_CONFIG_FILE %s: %w", path, err)
		}
	}
	if err := env.ParseWithOptions(&cfg, env.Options{Environment: environ}); err != nil {
		return cfg, namedParseErrors(err)
	}
	// The conventional names are accepted too, as docs/configuration.md lists them.
	for key, dst := range map[string]*string{"DATABASE_URL": &cfg.DatabaseURL, "REDIS_URL": &cfg.RedisURL, "CORE_URL": &cfg.CoreURL} {
		if *dst == "" && environ[key] != "" {
			*dst = environ[key]
		}
	}
	return cfg, cfg.Validate()
}

// namedParseErrors rewrites the env library's errors, which name Go fields,
// to name the environment variable an operator has to fix.
func namedParseErrors(err error) error {
	var agg env.AggregateError
	if !errors.As(err, &agg) {
		return fmt.Errorf("config: %w", err)
	}
	t := reflect.TypeFor[Config]()
	var out []error
	for _, e := range agg.Errors {
		var pe env.ParseError
		if errors.As(e, &pe) {
			if f, ok := t.FieldByName(pe.Name); ok {
				out = append(out, fmt.Errorf("%s: %w", f.Tag.Get("env"), pe.Err))
				continue
			}
		}
		out = append(out, e)
	}
	return errors.Join(out...)
}

// Environ returns the process environment as a map for LoadConfig.
func Environ() map[string]string {
	return env.ToMap(os.Environ())
}

// withdrawalPolicies are the policies in force: the file's, with the
// environment's poll interval.
func (c Config) withdrawalPolicies() withdrawal.Policies {
	p := c.Withdrawals
	if c.WithdrawalPollInterval > 0 {
		p.PollInterval = c.WithdrawalPollInterval
	}
	return p
}

// catalogue is the service catalogue in force: the file's (or the shipped
// one) with the older services: switches folded in, checked against the
// withdrawal policies. Its errors name the setting (catalogue.… or
// services.…).
func (c Config) catalogue() (*catalogue.Catalogue, error) {
	cfg, err := c.Catalogue.WithLegacySwitches(c.Services)
	if err != nil {
		return nil, err
	}
	return catalogue.New(cfg, c.withdrawalPolicies())
}

// Validate checks every setting and names the ones that are wrong.
func (c Config) Validate() error {
	var errs []error
	bad := func(setting, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{setting}, args...)...))
	}
	switch c.Profile {
	case ProfileEmbedded, ProfileProduction:
	default:
		bad("HANDHELD_PROFILE", "must be %q or %q, not %q", ProfileEmbedded, ProfileProduction, c.Profile)
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		bad("HANDHELD_ADDR", "must be host:port (%v)", err)
	}
	if c.DBMaxConns < 1 || c.DBMaxConns > 1000 {
		bad("HANDHELD_DB_MAX_CONNS", "must be 1..1000, not %d", c.DBMaxConns)
	}
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") && !strings.HasPrefix(c.DatabaseURL, "sqlite:") {
		bad("HANDHELD_DATABASE_URL", "must start with postgres://, postgresql:// or sqlite:")
	}
	if strings.ContainsAny(c.RedisPrefix, "{}") {
		bad("HANDHELD_REDIS_PREFIX", "must not contain { or }: a hash tag would put every key on one Redis Cluster shard")
	} else if c.RedisURL != "" {
		if rdb, _, err := kv.Connect(c.RedisURL, c.RedisPrefix); err != nil {
			bad("HANDHELD_REDIS_URL", "%v", err)
		} else {
			_ = rdb.Close() // only parsed: it connects on first use
		}
	}
	if c.CoreURL != "" {
		if u, err := url.Parse(c.CoreURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("HANDHELD_CORE_URL", "must be an http(s) URL")
		}
	}
	if c.SharingURL != "" {
		if u, err := url.Parse(c.SharingURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" {
			bad("HANDHELD_SHARING_URL", "must be an http(s) URL without credentials or a query")
		}
		if len(c.SharingSecret) < 32 {
			bad("HANDHELD_SHARING_SECRET", "the data-sharing exchange needs a signing secret of at least 32 characters")
		}
	}
	if c.SharingKeyID == "" {
		bad("HANDHELD_SHARING_KEY_ID", "must name the signing key at the data-sharing exchange")
	}
	if c.SharingConsentTTL < time.Minute || c.SharingConsentTTL > 30*24*time.Hour {
		bad("HANDHELD_SHARING_CONSENT_TTL", "must be between 1m and 720h, not %s", c.SharingConsentTTL)
	}
	if c.PlatformURL != "" {
		if u, err := url.Parse(c.PlatformURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" {
			bad("HANDHELD_PLATFORM_URL", "must be an http(s) URL without credentials or a query")
		}
		if len(c.PlatformSecret) < 32 {
			bad("HANDHELD_PLATFORM_SECRET", "the national platform needs a signing secret of at least 32 characters")
		}
	}
	if c.PlatformKeyID == "" {
		bad("HANDHELD_PLATFORM_KEY_ID", "must name the signing key at the national platform")
	}
	if c.PlatformInboundSecret != "" && len(c.PlatformInboundSecret) < 32 {
		bad("HANDHELD_PLATFORM_INBOUND_SECRET", "the national platform's key must be at least 32 characters")
	}
	if c.PlatformInboundKeyID == "" {
		bad("HANDHELD_PLATFORM_INBOUND_KEY_ID", "must name the national platform's own signing key")
	}
	if u, err := url.Parse(c.PublicBaseURL); c.PublicBaseURL != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "") {
		bad("HANDHELD_PUBLIC_BASE_URL", "must be an http(s) URL without a query, or empty for the served address")
	}
	if c.LoanRateBP < 0 || c.LoanRateBP > 2000 {
		bad("HANDHELD_LOAN_RATE_BP", "must be 0..2000 basis points, not %d", c.LoanRateBP)
	}
	for name, d := range map[string]time.Duration{
		"HANDHELD_CORE_TIMEOUT": c.CoreTimeout, "HANDHELD_REQUEST_TIMEOUT": c.RequestTimeout,
		"HANDHELD_SHARING_TIMEOUT": c.SharingTimeout, "HANDHELD_PLATFORM_TIMEOUT": c.PlatformTimeout,
		"HANDHELD_READ_TIMEOUT": c.ReadTimeout, "HANDHELD_WRITE_TIMEOUT": c.WriteTimeout,
		"HANDHELD_IDLE_TIMEOUT": c.IdleTimeout, "HANDHELD_SHUTDOWN_TIMEOUT": c.ShutdownTimeout,
	} {
		if d <= 0 || d > 10*time.Minute {
			bad(name, "must be between 0 and 10m, not %s", d)
		}
	}
	for name, d := range map[string]time.Duration{
		"HANDHELD_WECHAT_TIMEOUT": c.WeChatTimeout, "HANDHELD_REDIS_TIMEOUT": c.RedisTimeout,
		"HANDHELD_LOCKOUT_WINDOW": c.LockoutWindow, "HANDHELD_LOCKOUT_DURATION": c.LockoutDuration,
		"HANDHELD_KIOSK_IDLE": c.KioskIdle,
	} {
		if d <= 0 || d > 24*time.Hour {
			bad(name, "must be between 0 and 24h, not %s", d)
		}
	}
	if c.DrainDelay < 0 || c.DrainDelay > time.Minute {
		bad("HANDHELD_DRAIN_DELAY", "must be between 0 and 1m, not %s", c.DrainDelay)
	}
	if c.DeviceTokenTTL <= 0 || c.DeviceTokenTTL > time.Hour {
		bad("HANDHELD_DEVICE_TOKEN_TTL", "must be between 0 and 1h, not %s", c.DeviceTokenTTL)
	}
	if c.AccessTTL <= 0 || c.AccessTTL > 15*time.Minute {
		bad("HANDHELD_ACCESS_TTL", "must be between 0 and 15m (docs/api.md §Authentication), not %s", c.AccessTTL)
	}
	if c.KioskLoginTTL < identity.MinKioskLoginTTL || c.KioskLoginTTL > identity.MaxKioskLoginTTL {
		bad("HANDHELD_KIOSK_LOGIN_TTL", "must be between %s and %s, not %s", identity.MinKioskLoginTTL, identity.MaxKioskLoginTTL, c.KioskLoginTTL)
	}
	if c.KioskAbsolute < c.KioskIdle || c.KioskAbsolute > time.Hour {
		bad("HANDHELD_KIOSK_ABSOLUTE", "must be at least HANDHELD_KIOSK_IDLE and at most 1h, not %s", c.KioskAbsolute)
	}
	for name, d := range map[string]time.Duration{"HANDHELD_MINIAPP_SESSION_TTL": c.MiniAppSessionTTL, "HANDHELD_APP_SESSION_TTL": c.AppSessionTTL} {
		if d < c.AccessTTL || d > 90*24*time.Hour {
			bad(name, "must be between HANDHELD_ACCESS_TTL and 90 days, not %s", d)
		}
	}
	if c.RevocationCache < 0 || c.RevocationCache > time.Minute {
		bad("HANDHELD_REVOCATION_CACHE", "must be between 0 and 1m, not %s", c.RevocationCache)
	}
	if c.LockoutFailures < 1 || c.LockoutFailures > 100 {
		bad("HANDHELD_LOCKOUT_FAILURES", "must be 1..100, not %d", c.LockoutFailures)
	}
	if c.LockoutOperatorFailures <= c.LockoutFailures || c.LockoutOperatorFailures > 10_000 {
		bad("HANDHELD_LOCKOUT_OPERATOR_FAILURES", "must be above HANDHELD_LOCKOUT_FAILURES and at most 10000, not %d", c.LockoutOperatorFailures)
	}
	if c.LockoutDelay < 0 || c.LockoutDelay > time.Minute {
		bad("HANDHELD_LOCKOUT_DELAY", "must be between 0 and 1m, not %s", c.LockoutDelay)
	}
	if c.LockoutDelayMax < c.LockoutDelay || c.LockoutDelayMax > c.LockoutDuration {
		bad("HANDHELD_LOCKOUT_DELAY_MAX", "must be between HANDHELD_LOCKOUT_DELAY and HANDHELD_LOCKOUT_DURATION, not %s", c.LockoutDelayMax)
	}
	if c.OperatorCredentialTTL < 0 || c.OperatorCredentialTTL > 30*24*time.Hour {
		bad("HANDHELD_OPERATOR_CREDENTIAL_TTL", "must be between 0 (off) and 720h, not %s", c.OperatorCredentialTTL)
	}
	if c.ECardStatusMaxAge <= 0 || c.ECardStatusMaxAge > 7*24*time.Hour {
		bad("HANDHELD_ECARD_STATUS_MAX_AGE", "must be above 0 and at most 168h, not %s", c.ECardStatusMaxAge)
	}
	if c.ECardFormat != ecard.FormatCompact && c.ECardFormat != ecard.FormatJWS {
		bad("HANDHELD_ECARD_FORMAT", "must be %s or %s, not %q", ecard.FormatCompact, ecard.FormatJWS, c.ECardFormat)
	}
	if u, err := url.Parse(c.WeChatAPIBase); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("HANDHELD_WECHAT_API_BASE", "must be an http(s) URL")
	}
	if c.HashSecret != "" && len(c.HashSecret) < 32 {
		bad("HANDHELD_HASH_SECRET", "must be at least 32 characters")
	}
	if c.HomeDeadline <= 0 || c.HomeDeadline >= c.RequestTimeout {
		bad("HANDHELD_HOME_DEADLINE", "must be positive and below HANDHELD_REQUEST_TIMEOUT, not %s", c.HomeDeadline)
	}
	if c.CertificateValidity < 24*time.Hour || c.CertificateValidity > 366*24*time.Hour {
		bad("HANDHELD_CERTIFICATE_VALIDITY", "must be between 24h and 366 days, not %s", c.CertificateValidity)
	}
	if c.CertificateLinkTTL < time.Minute || c.CertificateLinkTTL > 24*time.Hour {
		bad("HANDHELD_CERTIFICATE_LINK_TTL", "must be between 1m and 24h, not %s", c.CertificateLinkTTL)
	}
	if err := c.Masking.Validate(); err != nil {
		bad("masking", "%v", err)
	}
	if err := c.Assurance.Validate(); err != nil {
		bad("assurance", "%v", err)
	}
	if err := c.withdrawalPolicies().Validate(); err != nil {
		bad("withdrawals", "%v", err)
	} else if err := c.StandingWithdrawals.Validate(c.withdrawalPolicies()); err != nil {
		bad("standing_withdrawals", "%v", err)
	}
	if err := c.Reminders.Validate(); err != nil {
		bad("reminders", "%v", err)
	}
	if c.OutboxLease < 3*time.Second || c.OutboxLease > 10*time.Minute {
		bad("HANDHELD_OUTBOX_LEASE", "must be between 3s and 10m, not %s", c.OutboxLease)
	}
	if c.OutboxWorkers < 0 || c.OutboxWorkers > 256 {
		bad("HANDHELD_OUTBOX_WORKERS", "must be 0..256, not %d", c.OutboxWorkers)
	}
	if err := c.EmployerJobs.Validate(); err != nil {
		bad("employer_jobs", "%v", err)
	}
	if err := c.Staff.Validate(); err != nil {
		bad("staff", "%v", err)
	}
	if err := c.PrintJobs.Validate(); err != nil {
		bad("print_jobs", "%v", err)
	}
	if err := c.Transfers.Validate(); err != nil {
		bad("transfers", "%v", err)
	}
	if err := c.Materials.Validate(); err != nil {
		bad("materials", "%v", err)
	}
	if err := c.Retention.Validate(); err != nil {
		bad("retention", "%v", err)
	}
	if err := c.DailyReport.Validate(); err != nil {
		bad("daily_report", "%v", err)
	}
	if err := c.Shares.Validate(); err != nil {
		bad("shares", "%v", err)
	}
	_, registry := parties(c)
	if err := share.ValidateParties(registry); err != nil {
		bad("parties", "%v", err)
	}
	for i, p := range c.Parties {
		if b, err := hex.DecodeString(p.SecretSHA256); err != nil || len(b) != sha256.Size {
			bad("parties", "entry %d (%s): secret_sha256 must be the hex SHA-256 of the secret", i, p.ID)
		}
	}
	switch c.MaterialsStore {
	case MaterialsFile:
	case MaterialsS3:
		if c.MaterialsS3Endpoint == "" || c.MaterialsS3Bucket == "" {
			bad("HANDHELD_MATERIALS_S3_ENDPOINT", "and HANDHELD_MATERIALS_S3_BUCKET are required with HANDHELD_MATERIALS_STORE=s3")
		}
		if strings.Contains(c.MaterialsS3Endpoint, "://") {
			bad("HANDHELD_MATERIALS_S3_ENDPOINT", "is host[:port] without a scheme, not %q", c.MaterialsS3Endpoint)
		}
		if c.MaterialsS3AccessKey == "" || c.MaterialsS3SecretKey == "" {
			bad("HANDHELD_MATERIALS_S3_ACCESS_KEY", "and HANDHELD_MATERIALS_S3_SECRET_KEY are required with HANDHELD_MATERIALS_STORE=s3")
		}
	default:
		bad("HANDHELD_MATERIALS_STORE", "must be %s or %s, not %q", MaterialsFile, MaterialsS3, c.MaterialsStore)
	}
	if c.JobRunners < 0 || c.JobRunners > 1 {
		bad("HANDHELD_JOB_RUNNERS", "must be 0 or 1, not %d", c.JobRunners)
	}
	if c.Replicas < 1 || c.Replicas > 1000 {
		bad("HANDHELD_REPLICAS", "must be 1..1000, not %d", c.Replicas)
	}
	if _, err := middleware.ParseProxies(c.TrustedProxies); err != nil {
		bad("HANDHELD_TRUSTED_PROXIES", "%v", err)
	}
	for i, p := range c.RateLimits {
		if err := p.Validate(); err != nil {
			bad("rate_limits", "entry %d (%s): %v", i, p.Name, err)
		}
	}
	if _, err := hours.New(c.Services, time.Now); err != nil {
		bad("services", "%v", err)
	} else if _, err := c.catalogue(); err != nil {
		errs = append(errs, err)
	}
	seen := map[string]bool{}
	for i, k := range c.Kiosks {
		if k.ID == "" || seen[k.ID] {
			bad("kiosks", "entry %d: id missing or repeated", i)
		}
		seen[k.ID] = true
		if pk, err := base64.StdEncoding.DecodeString(k.PublicKey); err != nil || len(pk) != 32 {
			bad("kiosks", "entry %d (%s): public_key must be base64 of 32 bytes", i, k.ID)
		}
	}
	if p := c.ScreenPath(); p != "" && (!screenPath.MatchString(p) || strings.HasPrefix(p, "/api/") ||
		strings.HasPrefix(p, "/verify/") || strings.HasPrefix(p, "/.well-known/")) {
		bad("HANDHELD_KIOSK_SCREEN_PATH", "must be like /kiosk/ (lower-case segments, a slash at each end, not under /api/, /verify/ or /.well-known/), or off; not %q", c.KioskScreenPath)
	}
	if l := c.DemoKioskAddr(); l != "" {
		if _, port, err := net.SplitHostPort(l); err != nil {
			bad("HANDHELD_DEMO_KIOSK_LISTEN", "must be host:port or off (%v)", err)
		} else if l == c.Addr && port != "0" {
			bad("HANDHELD_DEMO_KIOSK_LISTEN", "must differ from HANDHELD_ADDR")
		}
	}
	if c.MaxHeaderBytes < 1024 || c.MaxHeaderBytes > 1<<20 {
		bad("HANDHELD_MAX_HEADER_BYTES", "must be 1024..1048576, not %d", c.MaxHeaderBytes)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("HANDHELD_LOG_LEVEL", "must be debug, info, warn or error")
	}
	if err := c.tracing().Validate(); err != nil {
		errs = append(errs, err)
	}
	if _, err := c.notificationTemplates(); err != nil {
		errs = append(errs, err)
	}
	if s, err := suite.Parse(c.Crypto); err != nil {
		bad("HANDHELD_CRYPTO", "must be %q or %q, not %q", suite.Intl, suite.SM, c.Crypto)
	} else if c.CryptoRequired != "" && s.String() != c.CryptoRequired {
		bad("HANDHELD_CRYPTO", "is %s, but HANDHELD_CRYPTO_REQUIRED says %q", s, c.CryptoRequired)
	}
	if c.Profile == ProfileProduction {
		if !strings.HasPrefix(c.DatabaseURL, "postgres") {
			bad("HANDHELD_DATABASE_URL", "production needs PostgreSQL (postgres://…)")
		}
		if c.RedisURL == "" {
			bad("HANDHELD_REDIS_URL", "production needs Redis")
		}
		if c.CoreURL == "" {
			bad("HANDHELD_CORE_URL", "production needs the core API; the simulator is for the embedded profile")
		}
		if len(c.CoreSecret) < 32 {
			bad("HANDHELD_CORE_SECRET", "production needs a core signing secret of at least 32 characters")
		}
		if c.KeysDir == "" {
			bad("HANDHELD_KEYS_DIR", "production needs supplied signing and sealing keys")
		}
		if c.WeChatSandbox {
			bad("HANDHELD_WECHAT_SANDBOX", "sandbox features are refused in production")
		}
		if c.WeChatAppID == "" || c.WeChatAppSecret == "" {
			bad("HANDHELD_WECHAT_APP_ID", "production needs the mini-program's app id and secret")
		}
		if c.HashSecret == "" {
			bad("HANDHELD_HASH_SECRET", "production needs a hash secret of at least 32 characters")
		}
		if c.CoresimFaults != "" || c.CoresimMaintenance != "" {
			bad("HANDHELD_CORESIM_FAULTS", "simulator knobs are refused in production")
		}
		if !strings.HasPrefix(c.PublicBaseURL, "https://") {
			bad("HANDHELD_PUBLIC_BASE_URL", "production needs the https address people reach, for the links and QR codes on certificates")
		}
	}
	return errors.Join(errs...)
}

// Suite is the cryptographic suite Crypto names (Validate has checked it).
func (c Config) Suite() suite.Suite {
	s, _ := suite.Parse(c.Crypto)
	return s
}

// screenPath is the shape of a kiosk screen path: /kiosk/, /self-service/kiosk/.
var screenPath = regexp.MustCompile(`^/([a-z0-9][a-z0-9-]*/)+$`)

// ScreenPath is where the kiosk screen is served, "" when it is off.
func (c Config) ScreenPath() string {
	if c.KioskScreenPath == "off" {
		return ""
	}
	return c.KioskScreenPath
}

// DemoKioskAddr is where the embedded profile runs the demo kiosk's agent,
// "" when it does not (switched off, or another profile).
func (c Config) DemoKioskAddr() string {
	if c.Profile != ProfileEmbedded || c.DemoKioskListen == "off" || c.ScreenPath() == "" {
		return ""
	}
	return c.DemoKioskListen
}

// PublicBase is the base of the links printed on certificates:
// PublicBaseURL when it is set, otherwise http:// and the listen address,
// with a wildcard host (0.0.0.0, ::, none) read as 127.0.0.1, so that a
// server moved off port 8080 does not print links to 8080.
func (c Config) PublicBase() string {
	if c.PublicBaseURL != "" {
		return c.PublicBaseURL
	}
	host, port, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return "http://" + c.Addr // Validate refuses it first
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// StoreDSN is the store to open: DatabaseURL, or SQLite under DataDir.
func (c Config) StoreDSN() string {
	if c.DatabaseURL != "" {
		return c.DatabaseURL
	}
	return "sqlite:" + filepath.Join(c.DataDir, "handheld.db")
}

// Redacted returns every setting as key/value pairs safe to log, under its
// environment variable or, for file-only settings, its YAML key. Secrets
// show only whether they are set ("set", "unset", or "generated" where the
// embedded profile makes one), URLs lose their passwords, lists show their
// names and the other policies their values in one line.
func (c Config) Redacted() map[string]string {
	out := map[string]string{}
	v := reflect.ValueOf(c)
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := f.Tag.Get("env")
		if name == "" {
			name, _, _ = strings.Cut(f.Tag.Get("yaml"), ",")
		}
		if name == "-" { // set by the program, not by a setting
			name = strings.ToLower(f.Name)
		}
		fv := v.Field(i)
		if fv.Kind() == reflect.Interface { // set in code only: whether it is
			out[name] = map[bool]string{true: "unset", false: "set"}[fv.IsNil()]
			continue
		}
		val := fmt.Sprint(fv.Interface())
		switch {
		case f.Name == "PublicBaseURL" && val == "":
			val = c.PublicBase() + " (from HANDHELD_ADDR)"
		case f.Tag.Get("secret") == "url":
			if u, err := url.Parse(val); err == nil && u.User != nil {
				if _, has := u.User.Password(); has {
					u.User = url.UserPassword(u.User.Username(), "xxxxx")
				}
				val = u.String()
			} else if err != nil && val != "" {
				val = "[unparseable]"
			}
		case f.Tag.Get("secret") != "":
			switch {
			case val != "":
				val = "set"
			case f.Tag.Get("secret") == "generated" && c.Profile == ProfileEmbedded:
				val = "generated"
			default:
				val = "unset"
			}
		case f.Tag.Get("env") == "":
			val = summary(fv)
		}
		out[name] = val
	}
	return out
}

// summary is a file-only setting in one line: a list by its entries' names
// or ids (never a credential's other fields), anything else as flow YAML.
func summary(v reflect.Value) string {
	switch {
	case v.Kind() == reflect.Pointer && v.IsNil():
		return "default"
	case v.Kind() == reflect.Slice:
		if v.Len() == 0 {
			return "none"
		}
		names := make([]string, 0, v.Len())
		for i := range v.Len() {
			e := v.Index(i)
			for _, field := range []string{"Name", "ID"} {
				if e.Kind() == reflect.Struct {
					if n := e.FieldByName(field); n.IsValid() && n.Kind() == reflect.String {
						names = append(names, n.String())
						break
					}
				}
			}
		}
		if len(names) == v.Len() {
			return fmt.Sprintf("%d: %s", v.Len(), strings.Join(names, ", "))
		}
		return fmt.Sprintf("%d entries", v.Len())
	}
	var n yaml.Node
	if err := n.Encode(v.Interface()); err != nil {
		return "[unprintable]"
	}
	var flow func(*yaml.Node)
	flow = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode {
			n.Style = yaml.FlowStyle
		}
		for _, c := range n.Content {
			flow(c)
		}
	}
	flow(&n)
	b, err := yaml.Marshal(&n)
	if err != nil {
		return "[unprintable]"
	}
	return strings.Join(strings.Fields(string(b)), " ")
}

// Clock tells the time; Config.Clock sets the message centre's.
type Clock interface{ Now() time.Time }

// now is the message centre's clock: Config.Clock, or the system's.
func (c Config) now() func() time.Time {
	if c.Clock != nil {
		return c.Clock.Now
	}
	return time.Now
}

// notificationTemplates are the shipped notification templates with the
// configured ones applied, checked.
func (c Config) notificationTemplates() (*notify.Templates, error) {
	tm, err := notify.LoadTemplates(templates.FS)
	if err != nil {
		return nil, fmt.Errorf("notification templates: %w", err)
	}
	if tm, err = tm.Configure("notification_templates", c.NotificationTemplates); err != nil {
		return nil, err
	}
	return tm.WithReminders("reminders", c.Reminders.Templates())
}

// StaffConfig is the centre staff's sign-in policy and the supervision
// dashboard's longest range.
type StaffConfig struct {
	staff.Policy `yaml:",inline"`
	// DashboardMaxDays bounds a dashboard range, in days (1–366).
	DashboardMaxDays int `yaml:"dashboard_max_days"`
}

// Validate checks the policy and the range bound.
func (s StaffConfig) Validate() error {
	if err := s.Policy.Validate(); err != nil {
		return err
	}
	if s.DashboardMaxDays < 1 || s.DashboardMaxDays > 366 {
		return fmt.Errorf("dashboard_max_days must be 1..366, not %d", s.DashboardMaxDays)
	}
	return nil
}
