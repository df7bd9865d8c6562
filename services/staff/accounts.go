package staff

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pquerna/otp/totp"
	"golang.org/x/crypto/argon2"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/store"
)

// argon2id parameters (OWASP's recommended minimum, 19 MiB and 2 passes):
// a stolen table is not a password list, and a sign-in stays quick.
const (
	hashTime    = 2
	hashMemory  = 19 * 1024
	hashThreads = 1
	hashKeyLen  = 32
)

// Account is a staff account as the CLI lists it; never the hash or the
// TOTP secret.
type Account struct {
	StaffID   string
	Name      string
	Status    string
	TOTP      bool
	CreatedAt time.Time
	UpdatedAt time.Time
	// PasswordChangedAt is when the password was last set: a session
	// signed in before it has ended.
	PasswordChangedAt time.Time
}

// Issued is what `handheld staff add` and `reset` print once: the new
// password, and when TOTP was enrolled the otpauth:// URL for an
// authenticator app.
type Issued struct {
	Account  Account
	Password string
	TOTPURL  string
}

// sealedTOTP is the TOTP secret column, sealed at rest and bound to its
// staff id.
var sealedTOTP = store.SealedColumn{Table: "staff_accounts", Key: []string{"staff_id"}, Column: "totp_secret", Text: true}

// SealedColumns are this package's sealed columns, for the sealing step
// and `handheld keys reseal`.
func SealedColumns() []store.SealedColumn { return []store.SealedColumn{sealedTOTP} }

func (s *Service) rand() io.Reader {
	if s.Rand != nil {
		return s.Rand
	}
	return rand.Reader
}

// hashPassword is the PHC string of an argon2id hash of pw with a fresh salt.
func hashPassword(r io.Reader, pw string) (string, error) {
	salt := make([]byte, 16)
	if _, err := io.ReadFull(r, salt); err != nil {
		return "", fmt.Errorf("staff: salt: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, hashTime, hashMemory, hashThreads, hashKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, hashMemory, hashTime, hashThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// dummyHash is what an unknown staff id's password is checked against, so
// that the check takes as long as a real one: a PHC string with today's
// parameters, whose salt and key are zeros. Its key is never compared
// for a sign-in (an unknown id fails whatever the outcome), so no
// password of its own is needed, nor a hash computed at every start.
var dummyHash = fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, hashMemory, hashTime, hashThreads,
	base64.RawStdEncoding.EncodeToString(make([]byte, 16)), base64.RawStdEncoding.EncodeToString(make([]byte, hashKeyLen)))

// checkPassword reports whether pw matches a PHC argon2id string, with the
// parameters the string names (so stronger ones can be rolled out later).
func checkPassword(phc, pw string) bool {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var v int
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || m > 1<<20 || t == 0 || t > 10 || p == 0 {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// Password alphabet: no look-alikes (0/O, 1/l/I); four groups of four,
// about 88 bits, meeting the password policy itself.
const (
	pwLower  = "abcdefghijkmnpqrstuvwxyz"
	pwUpper  = "ABCDEFGHJKLMNPQRSTUVWXYZ"
	pwDigits = "23456789"
)

// GeneratePassword is a new random password with every character class.
func (s *Service) GeneratePassword() (string, error) {
	alphabet := pwLower + pwUpper + pwDigits
	for range 100 {
		buf := make([]byte, 16)
		if _, err := io.ReadFull(s.rand(), buf); err != nil {
			return "", fmt.Errorf("staff: password: %w", err)
		}
		var b strings.Builder
		for i, c := range buf {
			if i > 0 && i%4 == 0 {
				b.WriteByte('-')
			}
			b.WriteByte(alphabet[int(c)%len(alphabet)])
		}
		pw := b.String()
		if strings.ContainsAny(pw, pwLower) && strings.ContainsAny(pw, pwUpper) && strings.ContainsAny(pw, pwDigits) {
			return pw, nil
		}
	}
	return "", errors.New("staff: no password with every class")
}

// NewAccount is what Add needs. An empty Password has one generated; a
// given one must meet the policy.
type NewAccount struct {
	StaffID  string
	Name     string
	Password string
	TOTP     bool
}

// Add creates an active staff account. A staff id taken before, even by a
// disabled account, is a conflict.
func (s *Service) Add(ctx context.Context, n NewAccount) (Issued, error) {
	var fields []services.FieldError
	if !ValidID(n.StaffID) {
		fields = append(fields, services.FieldError{Field: "staff_id", Code: services.FieldFormat})
	}
	if name := strings.TrimSpace(n.Name); name == "" || utf8.RuneCountInString(name) > 64 {
		fields = append(fields, services.FieldError{Field: "name", Code: services.FieldFormat})
	}
	if len(fields) > 0 {
		return Issued{}, services.Invalid(fields...)
	}
	pw, hash, err := s.newPassword(n.StaffID, n.Password, "")
	if err != nil {
		return Issued{}, err
	}
	now := store.Timestamp(s.Now())
	out := Issued{Password: pw, Account: Account{StaffID: n.StaffID, Name: strings.TrimSpace(n.Name), Status: StatusActive,
		CreatedAt: now, UpdatedAt: now}}
	secret := ""
	if n.TOTP {
		if secret, out.TOTPURL, err = s.newTOTP(n.StaffID); err != nil {
			return Issued{}, err
		}
		out.Account.TOTP = true
	}
	_, err = s.Store.Exec(ctx, `INSERT INTO staff_accounts (staff_id, name, password_hash, totp_secret, status, created_at, updated_at, password_changed_at)
		VALUES ($1, $2, $3, $4, $5, $6, $6, $6)`, n.StaffID, out.Account.Name, hash, secret, StatusActive, now)
	switch {
	case errors.Is(err, store.ErrConflict):
		return Issued{}, services.Errorf(services.CodeCentreStaffExists, "staff: %s exists", n.StaffID)
	case err != nil:
		return Issued{}, services.Errorf(services.CodeInternal, "staff: add: %w", err)
	}
	return out, s.record(ctx, audit.Record{Actor: "system", Channel: "system", Action: ActionAdd, Target: Actor(n.StaffID), Result: "ok"})
}

// newPassword checks a chosen password, or generates one, and hashes it.
func (s *Service) newPassword(staffID, chosen, current string) (pw, hash string, err error) {
	pw = chosen
	if pw == "" {
		if pw, err = s.GeneratePassword(); err != nil {
			return "", "", services.Errorf(services.CodeInternal, "%w", err)
		}
	} else if fe := s.Policy.Password.Check("password", pw, staffID, current); len(fe) > 0 {
		return "", "", services.Invalid(fe...)
	}
	if hash, err = hashPassword(s.rand(), pw); err != nil {
		return "", "", services.Errorf(services.CodeInternal, "%w", err)
	}
	return pw, hash, nil
}

// newTOTP makes a TOTP secret for staffID: the sealed value to store and
// the enrolment URL to show once.
func (s *Service) newTOTP(staffID string) (sealed, url string, err error) {
	key, err := totp.Generate(totp.GenerateOpts{Issuer: s.Issuer, AccountName: staffID, Rand: s.rand()})
	if err != nil {
		return "", "", services.Errorf(services.CodeInternal, "staff: totp: %w", err)
	}
	if sealed, err = s.Store.SealText(key.Secret(), sealedTOTP.Place(staffID)); err != nil {
		return "", "", services.Errorf(services.CodeInternal, "staff: seal totp: %w", err)
	}
	return sealed, key.URL(), nil
}

// SetStatus disables or enables an account. A disabled account's sessions
// end at their next request (sessions check the account each time).
func (s *Service) SetStatus(ctx context.Context, staffID, status string) error {
	if status != StatusActive && status != StatusDisabled {
		return services.Errorf(services.CodeInvalid, "staff: status %q", status)
	}
	res, err := s.Store.Exec(ctx, `UPDATE staff_accounts SET status = $1, updated_at = $2 WHERE staff_id = $3`,
		status, store.Timestamp(s.Now()), staffID)
	if err != nil {
		return services.Errorf(services.CodeInternal, "staff: set status: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return services.Errorf(services.CodeNotFound, "staff: no account %s", staffID)
	}
	action := ActionDisable
	if status == StatusActive {
		action = ActionEnable
	}
	return s.record(ctx, audit.Record{Actor: "system", Channel: "system", Action: action, Target: Actor(staffID), Result: "ok"})
}

// Reset gives an account a new password (generated when chosen is ""),
// and a new TOTP secret when totp is set; sessions signed in before end at
// their next request.
func (s *Service) Reset(ctx context.Context, staffID, chosen string, withTOTP bool) (Issued, error) {
	acc, hash, secret, err := s.account(ctx, staffID)
	if err != nil {
		return Issued{}, err
	}
	pw, newHash, err := s.newPassword(staffID, chosen, "")
	if err != nil {
		return Issued{}, err
	}
	if chosen != "" && checkPassword(hash, chosen) {
		return Issued{}, services.Invalid(services.FieldError{Field: "password", Code: services.FieldReused})
	}
	out := Issued{Account: acc, Password: pw}
	if withTOTP {
		if secret, out.TOTPURL, err = s.newTOTP(staffID); err != nil {
			return Issued{}, err
		}
		out.Account.TOTP = true
	}
	now := store.Timestamp(s.Now())
	if _, err := s.Store.Exec(ctx, `UPDATE staff_accounts SET password_hash = $1, totp_secret = $2, updated_at = $3,
		password_changed_at = $3 WHERE staff_id = $4`, newHash, secret, now, staffID); err != nil {
		return Issued{}, services.Errorf(services.CodeInternal, "staff: reset: %w", err)
	}
	out.Account.UpdatedAt = now
	return out, s.record(ctx, audit.Record{Actor: "system", Channel: "system", Action: ActionReset, Target: Actor(staffID), Result: "ok"})
}

// List is every account, by staff id.
func (s *Service) List(ctx context.Context) ([]Account, error) {
	rows, err := s.Store.Query(ctx, `SELECT staff_id, name, status, totp_secret <> '', created_at, updated_at
		FROM staff_accounts ORDER BY staff_id`)
	if err != nil {
		return nil, services.Errorf(services.CodeInternal, "staff: list: %w", err)
	}
	defer rows.Close()
	var out []Account
	for rows.Next() {
		var a Account
		if err := rows.Scan(&a.StaffID, &a.Name, &a.Status, &a.TOTP, store.ScanTime(&a.CreatedAt), store.ScanTime(&a.UpdatedAt)); err != nil {
			return nil, services.Errorf(services.CodeInternal, "staff: list: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// EnsureDemo creates the embedded profile's demo account with a known
// password, unless it exists. Production never calls it.
func (s *Service) EnsureDemo(ctx context.Context, staffID, name, password string) error {
	if _, _, _, err := s.account(ctx, staffID); err == nil {
		return nil
	} else if services.ErrorCode(err) != services.CodeNotFound {
		return err
	}
	_, err := s.Add(ctx, NewAccount{StaffID: staffID, Name: name, Password: password})
	if services.ErrorCode(err) == services.CodeCentreStaffExists {
		return nil // another replica made it first
	}
	return err
}

// account reads one account with its hash and sealed TOTP secret.
func (s *Service) account(ctx context.Context, staffID string) (a Account, hash, totpSecret string, err error) {
	err = s.Store.QueryRow(ctx, `SELECT staff_id, name, status, password_hash, totp_secret, created_at, password_changed_at
		FROM staff_accounts WHERE staff_id = $1`, staffID).Scan(&a.StaffID, &a.Name, &a.Status, &hash, &totpSecret,
		store.ScanTime(&a.CreatedAt), store.ScanTime(&a.PasswordChangedAt))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Account{}, "", "", services.Errorf(services.CodeNotFound, "staff: no account %s", staffID)
	case err != nil:
		return Account{}, "", "", services.Errorf(services.CodeInternal, "staff: read account: %w", err)
	}
	a.TOTP = totpSecret != ""
	return a, hash, totpSecret, nil
}
