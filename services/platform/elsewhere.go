package platform

import (
	"context"
	"errors"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"time"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/core"
	"handheld/services/mask"
)

// ActionAccountsElsewhere is the audit action of a read of the person's
// accounts at other centres. The trail names the subject and how many
// accounts the platform answered, never an account or the person.
const ActionAccountsElsewhere = "read.accounts_elsewhere"

// The collaborators, declared by what this package needs of them.
type (
	// accounts asks the platform (*Client).
	accounts interface {
		Accounts(ctx context.Context, q AccountQuery) (AccountsAnswer, error)
		Centres(ctx context.Context) (Centres, error)
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
	Platform accounts
	People   people
	Persons  persons
	Audit    auditor
	// Mask is the centre's masking policy; account references are masked
	// as account numbers. Nil means mask.DefaultPolicy.
	Mask mask.Policy
	// CentreCode is this centre's code on the platform
	// (HANDHELD_CENTRE_CODE): the requesting centre of every query.
	CentreCode string
	Now        func() time.Time
	Logger     *slog.Logger
}

// Service reads through the platform on the person's behalf.
type Service struct {
	Deps
	centres centreCache
}

var centreCode = regexp.MustCompile(`^[0-9]{6}$`)

// New checks the dependencies.
func New(d Deps) (*Service, error) {
	switch {
	case d.Platform == nil || d.People == nil || d.Persons == nil || d.Audit == nil:
		return nil, errors.New("platform: missing dependency (platform, people, persons or audit)")
	case !centreCode.MatchString(d.CentreCode):
		return nil, errors.New("platform: the centre code must be 6 digits (HANDHELD_CENTRE_CODE)")
	}
	if err := d.Mask.Validate(); err != nil {
		return nil, err
	}
	if d.Mask == nil {
		d.Mask = mask.DefaultPolicy()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{Deps: d}, nil
}

// AccountElsewhere is one account at another centre as the person sees
// it: the reference masked, the balance only where the centre shares it.
type AccountElsewhere struct {
	Centre           string
	CentreName       string
	AccountRefMasked string
	Status           string
	BalanceShared    bool
	BalanceFen       *int64
	LastDepositMonth string
	UnitName         string
	OpenedOn         string
}

// ElsewhereView is the person's accounts at other centres. Unanswered
// names the centres that did not answer: the list may be incomplete.
type ElsewhereView struct {
	Items      []AccountElsewhere
	Unanswered []string
	Reference  string
	AsOf       time.Time
}

// AccountsElsewhere asks the platform which accounts the person p is
// holds at other centres. The ID number and name go to the platform from
// the core's person record (through the identity binding), never from the
// client. Audited as a read of personal data; a read that cannot be
// audited is not answered.
func (s *Service) AccountsElsewhere(ctx context.Context, p services.Principal) (ElsewhereView, error) {
	if err := p.Depositor(); err != nil {
		return ElsewhereView{}, err
	}
	v, err := s.accountsElsewhere(ctx, p)
	target := "self"
	if err == nil {
		target = "self accounts:" + strconv.Itoa(len(v.Items))
		if len(v.Unanswered) > 0 {
			target += " unanswered:" + strconv.Itoa(len(v.Unanswered))
		}
	}
	if aerr := audit.Outcome(ctx, s.Audit, s.Logger, audit.Record{At: s.Now(), Subject: p.Subject, Actor: p.Actor(),
		Channel: p.Channel, Action: ActionAccountsElsewhere, Target: target}, err); aerr != nil {
		return ElsewhereView{}, aerr
	}
	return v, nil
}

func (s *Service) accountsElsewhere(ctx context.Context, p services.Principal) (ElsewhereView, error) {
	personID, err := s.People.PersonID(ctx, p.Subject)
	if err != nil {
		return ElsewhereView{}, err
	}
	person, _, err := s.Persons.Person(ctx, personID)
	if err != nil {
		return ElsewhereView{}, err
	}
	a, err := s.Platform.Accounts(ctx, AccountQuery{RequestingCentre: s.CentreCode, Purpose: PurposeAccountsElsewhere,
		Subject: Subject{IDNumber: person.IDNumber, Name: person.Name}})
	if err != nil {
		return ElsewhereView{}, err
	}
	v := ElsewhereView{Items: make([]AccountElsewhere, 0, len(a.Accounts)), Unanswered: a.Unanswered,
		Reference: a.Reference, AsOf: s.Now()}
	for _, acc := range a.Accounts {
		if acc.Centre == s.CentreCode || !slices.Contains(Statuses(), acc.Status) {
			// Our own accounts are the account screen's; a status the
			// contract does not know is left out rather than guessed at.
			s.Logger.WarnContext(ctx, "platform: account left out", "centre", acc.Centre, "status", acc.Status)
			continue
		}
		item := AccountElsewhere{Centre: acc.Centre, CentreName: acc.CentreName, Status: acc.Status,
			AccountRefMasked: s.Mask.Apply(mask.AccountNumber, p.Channel, acc.AccountRef),
			BalanceShared:    acc.BalanceShared && acc.BalanceFen != nil, LastDepositMonth: acc.LastDepositMonth,
			UnitName: acc.UnitName, OpenedOn: acc.OpenedOn}
		if item.BalanceShared {
			b := *acc.BalanceFen
			item.BalanceFen = &b
		}
		v.Items = append(v.Items, item)
	}
	slices.SortStableFunc(v.Items, func(x, y AccountElsewhere) int {
		switch {
		case x.Centre < y.Centre:
			return -1
		case x.Centre > y.Centre:
			return 1
		}
		return 0
	})
	if v.Unanswered == nil {
		v.Unanswered = []string{}
	}
	return v, nil
}
