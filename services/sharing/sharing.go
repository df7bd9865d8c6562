package sharing

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/core"
	"handheld/services/store"
	"handheld/services/withdrawal"
)

// The audit actions of this package. The trail names the subject, the
// consent and the sources asked, never a fact or the person.
const (
	ActionLookup  = "sharing.lookup"
	ActionRead    = "read.shared_facts"
	ActionUse     = "sharing.consent_use"
	DefaultTTL    = 24 * time.Hour
	maxTTL        = 30 * 24 * time.Hour
	consentPrefix = "cns_"
)

// The minimal facts of a consent are personal data: sealed at rest,
// bound to the consent's row.
var sealedFacts = store.SealedColumn{Table: "consents", Key: []string{"id"}, Column: "facts", Text: true}

// SealedColumns are this package's sealed columns, for the sealing step
// and `handheld keys reseal`.
func SealedColumns() []store.SealedColumn { return []store.SealedColumn{sealedFacts} }

// The collaborators, declared by what this package needs of them.
type (
	// asker puts one question to the exchange (*Client).
	asker interface {
		Ask(ctx context.Context, q Query) (Answer, error)
	}
	// people maps the token's subject to the core's person id
	// (*identity.Service).
	people interface {
		PersonID(ctx context.Context, subject string) (string, error)
	}
	// persons reads the person's ID number and name from the core
	// (*core.Reader): never from the client.
	persons interface {
		Person(ctx context.Context, personID string) (core.Person, core.Freshness, error)
	}
	auditor interface {
		Enqueue(ctx context.Context, r audit.Record) error
	}
)

// Deps are a Service's collaborators, built once in bff/app.go.
type Deps struct {
	Store    *store.Store
	Exchange asker
	People   people
	Persons  persons
	Policies withdrawal.Policies
	Audit    auditor
	// TTL is how long a consent may be used by an application after the
	// lookup; zero means DefaultTTL.
	TTL    time.Duration
	Now    func() time.Time
	Rand   io.Reader
	Logger *slog.Logger
}

// Service looks up evidence in shared data with the person's consent and
// keeps the minimal facts.
type Service struct{ Deps }

// New checks the dependencies and that every source the policies name is
// one the contract knows.
func New(d Deps) (*Service, error) {
	if d.Store == nil || d.Exchange == nil || d.People == nil || d.Persons == nil || d.Audit == nil {
		return nil, errors.New("sharing: missing dependency")
	}
	if d.TTL == 0 {
		d.TTL = DefaultTTL
	}
	if d.TTL < time.Minute || d.TTL > maxTTL {
		return nil, fmt.Errorf("sharing: consent ttl %s must be between 1m and %s", d.TTL, maxTTL)
	}
	for _, p := range d.Policies.Kinds {
		for _, e := range p.Needs() {
			for _, sf := range e.Sources {
				src, fact, _ := strings.Cut(sf, ".")
				if s, ok := FactSource(fact); !ok || s != src {
					return nil, fmt.Errorf("withdrawals.kinds[%s].evidence_sources: %q is not a source.fact of the sharing contract", p.Kind, sf)
				}
			}
		}
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Rand == nil {
		d.Rand = rand.Reader
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{Deps: d}, nil
}

// Consent is what the person agreed to on the screen: Given is their
// explicit yes for this lookup, for one application of the kind.
type Consent struct{ Given bool }

// Fact is one piece of evidence as a source answered it: what it is
// evidence of, which source and fact, whether it satisfies the evidence,
// and the minimal fact itself (Answer, with the source's reference).
type Fact struct {
	Evidence  string `json:"evidence"`
	Satisfied bool   `json:"satisfied"`
	Answer    Answer `json:"answer"`
}

// Result is a lookup's outcome, or the facts of a consent: the facts
// asked for, and the required evidence shared data did not satisfy.
type Result struct {
	ConsentID string
	Kind      string
	Facts     []Fact
	Missing   []string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedBy    string
	// finished: the lookup kept its facts (a consent whose lookup failed
	// half-way has none and is never used).
	finished bool
}

// checkKind returns the kind's shared evidence, or a field error naming
// the kind when it is unknown.
func (s *Service) checkKind(kind string) ([]withdrawal.EvidenceSource, error) {
	pol, ok := s.Policies.Policy(kind)
	if !ok {
		return nil, services.Invalid(services.FieldError{Field: "kind", Code: services.FieldOneOf,
			Params: map[string]any{"values": strings.Join(s.Policies.KindNames(), ", ")}})
	}
	return pol.Needs(), nil
}

// Lookup asks the sources the kind's policy names about the person p is,
// with a new consent for one application of the kind, and keeps the
// minimal facts. The person's ID number and name come from the core's
// person record (through the identity binding), never from the client.
// A source that does not know the person is an absent fact; a source that
// cannot answer fails the lookup with sharing.unavailable and nothing is
// kept. Audited with the sources asked and the outcome.
func (s *Service) Lookup(ctx context.Context, p services.Principal, kind string, c Consent) (Result, error) {
	if err := p.Depositor(); err != nil {
		return Result{}, err
	}
	needs, err := s.checkKind(kind)
	if err != nil {
		return Result{}, err
	}
	if !c.Given {
		return Result{}, services.E(services.CodeSharingConsentRequired)
	}
	var scope []string
	for _, n := range needs {
		scope = append(scope, n.Sources...)
	}
	res, err := s.lookup(ctx, p, kind, needs, scope)
	target := "consent:" + res.ConsentID + " sources:" + strings.Join(scope, ",")
	if err == nil {
		target += fmt.Sprintf(" found:%d missing:%d", len(res.Facts)-countUnsatisfied(res.Facts), len(res.Missing))
	}
	if aerr := audit.Outcome(ctx, s.Audit, s.Logger, audit.Record{At: s.Now(), Subject: p.Subject, Actor: p.Actor(),
		Channel: p.Channel, Action: ActionLookup, Target: target}, err); aerr != nil {
		return Result{}, aerr
	}
	return res, nil
}

func countUnsatisfied(fs []Fact) int {
	n := 0
	for _, f := range fs {
		if !f.Satisfied {
			n++
		}
	}
	return n
}

func (s *Service) lookup(ctx context.Context, p services.Principal, kind string, needs []withdrawal.EvidenceSource, scope []string) (Result, error) {
	personID, err := s.People.PersonID(ctx, p.Subject)
	if err != nil {
		return Result{}, err
	}
	person, _, err := s.Persons.Person(ctx, personID)
	if err != nil {
		return Result{}, err
	}
	id, err := s.newID()
	if err != nil {
		return Result{}, err
	}
	now := store.Timestamp(s.Now())
	res := Result{ConsentID: id, Kind: kind, CreatedAt: now, ExpiresAt: now.Add(s.TTL)}
	// The consent exists before the question: its id is the reference
	// every source logs with the question.
	if _, err := s.Store.Exec(ctx, `INSERT INTO consents (id, subject, purpose, scope, facts, created_at, expires_at)
		VALUES ($1, $2, $3, $4, '', $5, $6)`, id, p.Subject, kind, strings.Join(scope, ","), now, res.ExpiresAt); err != nil {
		return Result{}, services.Errorf(services.CodeInternal, "sharing: insert consent: %w", err)
	}
	facts, err := s.ask(ctx, person, kind, id, needs)
	if err != nil {
		// Nothing is kept of a lookup that could not finish.
		_, _ = s.Store.Exec(context.WithoutCancel(ctx), `DELETE FROM consents WHERE id = $1`, id)
		return Result{ConsentID: id}, err
	}
	raw, _ := json.Marshal(facts)
	sealed, err := s.Store.SealText(string(raw), sealedFacts.Place(id))
	if err == nil {
		_, err = s.Store.Exec(ctx, `UPDATE consents SET facts = $1 WHERE id = $2`, sealed, id)
	}
	if err != nil {
		_, _ = s.Store.Exec(context.WithoutCancel(ctx), `DELETE FROM consents WHERE id = $1`, id)
		return Result{ConsentID: id}, services.Errorf(services.CodeInternal, "sharing: keep facts: %w", err)
	}
	res.Facts, res.Missing = facts, missing(needs, facts)
	return res, nil
}

// ask puts every question at once and collects the answers in the
// policy's order.
func (s *Service) ask(ctx context.Context, person core.Person, kind, consentID string, needs []withdrawal.EvidenceSource) ([]Fact, error) {
	type slot struct {
		evidence string
		q        Query
		a        Answer
		err      error
	}
	var slots []*slot
	for _, n := range needs {
		for _, sf := range n.Sources {
			src, fact, _ := strings.Cut(sf, ".")
			slots = append(slots, &slot{evidence: n.Evidence, q: Query{Source: src, Fact: fact, Purpose: kind, ConsentRef: consentID,
				Subject: Subject{IDNumber: person.IDNumber, Name: person.Name}}})
		}
	}
	var wg sync.WaitGroup
	for _, sl := range slots {
		wg.Go(func() {
			sl.a, sl.err = s.Exchange.Ask(ctx, sl.q)
		})
	}
	wg.Wait()
	facts := make([]Fact, 0, len(slots))
	for _, sl := range slots {
		switch {
		case errors.Is(sl.err, ErrPersonUnknown):
			sl.a = Answer{Source: sl.q.Source, Fact: sl.q.Fact}
		case sl.err != nil:
			return nil, sl.err
		}
		facts = append(facts, Fact{Evidence: sl.evidence, Satisfied: sl.a.Satisfies(), Answer: sl.a})
	}
	return facts, nil
}

// missing lists the required evidence no fact satisfies, in policy order.
func missing(needs []withdrawal.EvidenceSource, facts []Fact) []string {
	out := []string{}
	for _, n := range needs {
		if n.Optional {
			continue
		}
		if !slices.ContainsFunc(facts, func(f Fact) bool { return f.Evidence == n.Evidence && f.Satisfied }) {
			out = append(out, n.Evidence)
		}
	}
	return out
}

// Evidence is what eligibility shows: the facts of the person's latest
// unused, unexpired consent for kind, and the evidence still missing,
// without asking any source. With no such consent every required
// evidence is missing and ConsentID is empty.
func (s *Service) Evidence(ctx context.Context, p services.Principal, kind string) (Result, error) {
	if err := p.Depositor(); err != nil {
		return Result{}, err
	}
	needs, err := s.checkKind(kind)
	if err != nil {
		return Result{}, err
	}
	now := store.Timestamp(s.Now())
	var id string
	err = s.Store.QueryRow(ctx, `SELECT id FROM consents WHERE subject = $1 AND purpose = $2 AND used_by IS NULL
		AND expires_at > $3 AND facts <> '' ORDER BY created_at DESC, id DESC LIMIT 1`, p.Subject, kind, now).Scan(&id)
	if errors.Is(err, store.ErrNotFound) {
		return Result{Kind: kind, Facts: []Fact{}, Missing: missing(needs, nil)}, nil
	}
	if err != nil {
		return Result{}, services.Errorf(services.CodeInternal, "sharing: latest consent: %w", err)
	}
	res, err := s.load(ctx, s.Store, p.Subject, id)
	if err == nil {
		res.Missing = missing(needs, res.Facts)
	}
	return res, s.audited(ctx, p, ActionRead, id, err)
}

// rowQuerier reads one row: the store, or an application's transaction.
type rowQuerier interface {
	QueryRow(ctx context.Context, query string, args ...any) *store.Row
}

// load reads one consent of subject with its facts opened.
func (s *Service) load(ctx context.Context, q rowQuerier, subject, id string) (Result, error) {
	res := Result{ConsentID: id}
	var sealed string
	var usedBy *string
	err := q.QueryRow(ctx, `SELECT purpose, facts, created_at, expires_at, used_by FROM consents WHERE id = $1 AND subject = $2`,
		id, subject).Scan(&res.Kind, &sealed, &res.CreatedAt, &res.ExpiresAt, &usedBy)
	if errors.Is(err, store.ErrNotFound) {
		return Result{}, services.E(services.CodeSharingConsentNotFound)
	}
	if err != nil {
		return Result{}, services.Errorf(services.CodeInternal, "sharing: read consent: %w", err)
	}
	if usedBy != nil {
		res.UsedBy = *usedBy
	}
	res.Facts = []Fact{}
	if sealed == "" {
		return res, nil
	}
	res.finished = true
	plain, err := s.Store.OpenText(sealed, sealedFacts.Place(id))
	if err != nil {
		return Result{}, services.Errorf(services.CodeInternal, "sharing: open facts of %s: %w", id, err)
	}
	if err := json.Unmarshal([]byte(plain), &res.Facts); err != nil {
		return Result{}, services.Errorf(services.CodeInternal, "sharing: facts of %s: %w", id, err)
	}
	return res, nil
}

// UseConsent marks the consent as used by one application and returns its
// facts. The same application may ask again (a retried submission);
// another application is refused with sharing.consent_used, another
// person's or an expired consent with sharing.consent_not_found.
// Audited. UseConsentTx does the same inside an application's
// transaction.
func (s *Service) UseConsent(ctx context.Context, p services.Principal, consentID, applicationID string) (Result, error) {
	if err := p.Depositor(); err != nil {
		return Result{}, err
	}
	var res Result
	err := s.Store.Tx(ctx, func(tx *store.Tx) error {
		var err error
		res, err = s.useConsent(ctx, tx, p, consentID, applicationID)
		return err
	})
	return res, s.audited(ctx, p, ActionUse, consentID, err)
}

// UseConsentTx is UseConsent in the caller's transaction, so that an
// application and the use of its consent commit together: of two
// applications racing for one consent, exactly one commits.
func (s *Service) UseConsentTx(ctx context.Context, tx *store.Tx, p services.Principal, consentID, applicationID string) error {
	if err := p.Depositor(); err != nil {
		return err
	}
	_, err := s.useConsent(ctx, tx, p, consentID, applicationID)
	return s.audited(ctx, p, ActionUse, consentID, err)
}

// ConsentFacts are the facts of p's consent that an application of kind
// may rest on: the consent must be for kind, finished, unexpired, and
// unused (or used by applicationID: a retry). Nothing is written; the
// application's transaction calls UseConsentTx. Audited as a read of the
// shared facts.
func (s *Service) ConsentFacts(ctx context.Context, p services.Principal, consentID, kind, applicationID string) ([]Fact, error) {
	if err := p.Depositor(); err != nil {
		return nil, err
	}
	facts, err := s.consentFacts(ctx, p, consentID, kind, applicationID)
	return facts, s.audited(ctx, p, ActionRead, consentID, err)
}

func (s *Service) consentFacts(ctx context.Context, p services.Principal, consentID, kind, applicationID string) ([]Fact, error) {
	if !validConsentID(consentID) {
		return nil, services.E(services.CodeSharingConsentNotFound)
	}
	res, err := s.load(ctx, s.Store, p.Subject, consentID)
	switch {
	case err != nil:
		return nil, err
	case res.Kind != kind || !res.ExpiresAt.After(s.Now()) || !res.finished:
		return nil, services.E(services.CodeSharingConsentNotFound)
	case res.UsedBy != "" && res.UsedBy != applicationID:
		return nil, services.E(services.CodeSharingConsentUsed)
	}
	out := []Fact{}
	for _, f := range res.Facts {
		if f.Satisfied {
			out = append(out, f)
		}
	}
	return out, nil
}

func validConsentID(id string) bool {
	return strings.HasPrefix(id, consentPrefix) && len(id) == len(consentPrefix)+32 && isHex(id[len(consentPrefix):])
}

func isHex(s string) bool {
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func (s *Service) useConsent(ctx context.Context, tx *store.Tx, p services.Principal, consentID, applicationID string) (Result, error) {
	if !validConsentID(consentID) || applicationID == "" {
		return Result{}, services.E(services.CodeSharingConsentNotFound)
	}
	now := store.Timestamp(s.Now())
	r, err := tx.Exec(ctx, `UPDATE consents SET used_by = $1, used_at = $2 WHERE id = $3 AND subject = $4
		AND used_by IS NULL AND expires_at > $2 AND facts <> ''`, applicationID, now, consentID, p.Subject)
	if err != nil {
		// The application uses another consent already (used_by is
		// unique).
		if errors.Is(err, store.ErrConflict) {
			return Result{}, services.E(services.CodeSharingConsentUsed)
		}
		return Result{}, services.Errorf(services.CodeInternal, "sharing: use consent: %w", err)
	}
	res, lerr := s.load(ctx, tx, p.Subject, consentID)
	if lerr != nil {
		return Result{}, lerr
	}
	if n, _ := r.RowsAffected(); n == 1 {
		res.UsedBy = applicationID
		return res, nil
	}
	switch {
	case res.UsedBy == applicationID:
		return res, nil
	case res.UsedBy != "":
		return Result{}, services.E(services.CodeSharingConsentUsed)
	default:
		return Result{}, services.E(services.CodeSharingConsentNotFound) // expired or unfinished
	}
}

func (s *Service) audited(ctx context.Context, p services.Principal, action, consentID string, opErr error) error {
	target := "self"
	if consentID != "" {
		target = "consent:" + consentID
	}
	return audit.Outcome(ctx, s.Audit, s.Logger, audit.Record{At: s.Now(), Subject: p.Subject, Actor: p.Actor(),
		Channel: p.Channel, Action: action, Target: target}, opErr)
}

func (s *Service) newID() (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(s.Rand, b[:]); err != nil {
		return "", services.Errorf(services.CodeInternal, "sharing: id: %w", err)
	}
	return consentPrefix + hex.EncodeToString(b[:]), nil
}
