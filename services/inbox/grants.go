package inbox

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"handheld/services"
	"handheld/services/store"
)

// GrantResult is what wx.requestSubscribeMessage answered for a template.
type GrantResult string

// The answers the mini-program passes on, as WeChat names them.
const (
	// GrantAccept: one more message of the template may be sent.
	GrantAccept GrantResult = "accept"
	// GrantReject: not this time; earlier grants stand.
	GrantReject GrantResult = "reject"
	// GrantBan: the person switched the template off; nothing more is sent
	// until they accept again.
	GrantBan GrantResult = "ban"
)

// MaxGrantsPerCall bounds one request's list: WeChat asks for at most three
// templates at once, so ten leaves room without inviting bulk writes.
const MaxGrantsPerCall = 10

// MaxRemaining caps the one-time grants kept per template, so a client
// looping on accept cannot buy an unbounded number of messages.
const MaxRemaining = 50

// Grant is one template's answer.
type Grant struct {
	TemplateID string
	Result     GrantResult
}

// GrantState is what a person has granted for a template.
type GrantState struct {
	TemplateID string
	Remaining  int
	Banned     bool
}

// RecordGrants records p's answers, all or none: an unknown template, an
// unknown result or a template named twice changes nothing. It returns
// the state of each template named, in the order given.
func (s *Service) RecordGrants(ctx context.Context, p services.Principal, grants []Grant) ([]GrantState, error) {
	if err := p.Depositor(); err != nil {
		return nil, err
	}
	var fields []services.FieldError
	unknown := false
	switch {
	case len(grants) == 0:
		fields = append(fields, services.FieldError{Field: "templates", Code: services.FieldRequired})
	case len(grants) > MaxGrantsPerCall:
		fields = append(fields, services.FieldError{Field: "templates", Code: services.FieldOutOfRange,
			Params: map[string]any{"min": 1, "max": MaxGrantsPerCall}})
	}
	seen := map[string]int{}
	for i, g := range grants {
		at := "templates[" + strconv.Itoa(i) + "]"
		switch {
		case g.TemplateID == "":
			fields = append(fields, services.FieldError{Field: at + ".template_id", Code: services.FieldRequired})
		case !slices.Contains(s.templates, g.TemplateID):
			unknown = true
		}
		if first, dup := seen[g.TemplateID]; dup && g.TemplateID != "" {
			fields = append(fields, services.FieldError{Field: at + ".template_id", Code: services.FieldDuplicate,
				Params: map[string]any{"first": "templates[" + strconv.Itoa(first) + "].template_id"}})
		}
		seen[g.TemplateID] = i
		if g.Result != GrantAccept && g.Result != GrantReject && g.Result != GrantBan {
			fields = append(fields, services.FieldError{Field: at + ".result", Code: services.FieldOneOf,
				Params: map[string]any{"allowed": "accept, reject, ban"}})
		}
	}
	if len(fields) > 0 {
		return nil, services.Invalid(fields...)
	}
	if unknown {
		return nil, services.E(services.CodeSubscriptionTemplateUnknown)
	}
	out := make([]GrantState, 0, len(grants))
	now := store.Timestamp(s.now())
	err := s.store.Tx(ctx, func(tx *store.Tx) error {
		out = out[:0]
		for _, g := range grants {
			// One statement per answer, so that two calls at once each
			// count: neither reads what the other is about to write.
			var update string
			switch g.Result {
			case GrantAccept:
				update = `remaining = CASE WHEN subscription_grants.remaining >= ` + strconv.Itoa(MaxRemaining) + ` THEN ` +
					strconv.Itoa(MaxRemaining) + ` ELSE subscription_grants.remaining + 1 END, banned = FALSE, updated_at = excluded.updated_at`
			case GrantBan:
				update = `remaining = 0, banned = TRUE, updated_at = excluded.updated_at`
			default:
				update = `updated_at = excluded.updated_at`
			}
			first := map[GrantResult]int{GrantAccept: 1}[g.Result]
			if _, err := tx.Exec(ctx, `INSERT INTO subscription_grants (subject, template_id, remaining, banned, updated_at)
				VALUES ($1, $2, $3, $4, $5) ON CONFLICT (subject, template_id) DO UPDATE SET `+update,
				p.Subject, g.TemplateID, first, g.Result == GrantBan, now); err != nil {
				return err
			}
			st := GrantState{TemplateID: g.TemplateID}
			if err := tx.QueryRow(ctx, `SELECT remaining, banned FROM subscription_grants WHERE subject = $1 AND template_id = $2`,
				p.Subject, g.TemplateID).Scan(&st.Remaining, &st.Banned); err != nil {
				return err
			}
			out = append(out, st)
		}
		return nil
	})
	if err != nil {
		err = services.Errorf(services.CodeInternal, "inbox: record grants: %w", err)
	}
	if err := s.record(ctx, p, ActionGrants, "subscriptions", err); err != nil {
		return nil, err
	}
	return out, nil
}

// GrantWant is one message's need of a grant, for TakeGrants.
type GrantWant struct {
	Subject, TemplateID string
}

// TakeGrants spends a grant for each message that wants one, reporting,
// in the order given, which got one: none is left, or the template is
// banned, and that message is not sent. A message is never sent without
// one. It takes one statement: each (person, template) pair with grants
// enough for all of its messages gives one to each of them. A pair with
// fewer grants than messages (rare: one person's messages in one batch) is
// then served message by message, so that each grant left goes to one.
func (s *Service) TakeGrants(ctx context.Context, wants ...GrantWant) ([]bool, error) {
	took := make([]bool, len(wants))
	if len(wants) == 0 {
		return took, nil
	}
	need := map[GrantWant]int{}
	var pairs []GrantWant
	for _, w := range wants {
		if need[w] == 0 {
			pairs = append(pairs, w)
		}
		need[w]++
	}
	var values strings.Builder
	args := []any{store.Timestamp(s.now())}
	for i, w := range pairs {
		if i > 0 {
			values.WriteString(", ")
		}
		p := 3*i + 2
		fmt.Fprintf(&values, "($%d, $%d, CAST($%d AS INTEGER))", p, p+1, p+2)
		args = append(args, w.Subject, w.TemplateID, need[w])
	}
	// The VALUES list's columns are column1… in PostgreSQL and SQLite alike.
	rows, err := s.store.Query(ctx, `UPDATE subscription_grants SET remaining = remaining - w.column3, updated_at = $1
		FROM (VALUES `+values.String()+`) AS w
		WHERE subscription_grants.subject = w.column1 AND subscription_grants.template_id = w.column2
			AND subscription_grants.remaining >= w.column3 AND NOT subscription_grants.banned
		RETURNING subscription_grants.subject, subscription_grants.template_id`, args...)
	if err != nil {
		return nil, services.Errorf(services.CodeInternal, "inbox: take grants: %w", err)
	}
	granted := map[GrantWant]bool{}
	for rows.Next() {
		var w GrantWant
		if err := rows.Scan(&w.Subject, &w.TemplateID); err != nil {
			rows.Close()
			return nil, services.Errorf(services.CodeInternal, "inbox: take grants: %w", err)
		}
		granted[w] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, services.Errorf(services.CodeInternal, "inbox: take grants: %w", err)
	}
	for i, w := range wants {
		switch {
		case granted[w]:
			took[i] = true
		case need[w] > 1:
			if took[i], err = s.takeOne(ctx, w); err != nil {
				return nil, err
			}
		}
	}
	return took, nil
}

// takeOne spends one of w's grants, if one is left.
func (s *Service) takeOne(ctx context.Context, w GrantWant) (bool, error) {
	res, err := s.store.Exec(ctx, `UPDATE subscription_grants SET remaining = remaining - 1, updated_at = $1
		WHERE subject = $2 AND template_id = $3 AND remaining > 0 AND NOT banned`,
		store.Timestamp(s.now()), w.Subject, w.TemplateID)
	if err != nil {
		return false, services.Errorf(services.CodeInternal, "inbox: take grant: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, services.Errorf(services.CodeInternal, "inbox: take grant: %w", err)
	}
	return n == 1, nil
}

// ReturnGrant gives back a grant TakeGrants spent on a message WeChat did
// not take for a reason that may pass (busy, down), so that the retry has
// it. A ban since then stays a ban.
func (s *Service) ReturnGrant(ctx context.Context, subject, templateID string) error {
	if _, err := s.store.Exec(ctx, `UPDATE subscription_grants SET remaining = remaining + 1, updated_at = $1
		WHERE subject = $2 AND template_id = $3 AND NOT banned AND remaining < $4`,
		store.Timestamp(s.now()), subject, templateID, MaxRemaining); err != nil {
		return services.Errorf(services.CodeInternal, "inbox: return grant: %w", err)
	}
	return nil
}
