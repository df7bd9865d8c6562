package withdrawal

import (
	"context"
	"database/sql"
	"hash/fnv"
	"strings"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/core"
	"handheld/services/mask"
	"handheld/services/store"
)

// ActionPayoutAccounts is the audit action of listing a person's payout
// accounts: card and wallet numbers are personal data.
const ActionPayoutAccounts = "read.payout_accounts"

// maxPayoutAccountID bounds an account id before it goes anywhere.
const maxPayoutAccountID = 64

// PayoutAccount is one of the person's own bank cards or e-CNY wallets as
// a screen shows it: the number masked.
type PayoutAccount struct {
	ID           string
	Kind         string // PayoutBankCard or PayoutECNY
	NumberMasked string
	Institution  string // the bank, or the wallet's operator
}

// PayoutAccounts lists the bank cards and e-CNY wallets the core holds
// under p's name, fresh from the core. Audited (read.payout_accounts).
func (s *Service) PayoutAccounts(ctx context.Context, p services.Principal) ([]PayoutAccount, error) {
	if err := p.Depositor(); err != nil {
		return nil, err
	}
	var out []PayoutAccount
	personID, err := s.People.PersonID(ctx, p.Subject)
	if err == nil {
		var list core.PayoutAccountList
		if list, err = s.Core.PayoutAccounts(ctx, personID); err == nil {
			out = make([]PayoutAccount, 0, len(list.Items))
			for _, a := range list.Items {
				out = append(out, PayoutAccount{ID: a.ID, Kind: a.Kind, NumberMasked: s.maskPayout(a.Kind, p.Channel, a.Number),
					Institution: a.Institution})
			}
		}
	}
	rec := audit.Record{Subject: p.Subject, Actor: p.Actor(), Channel: p.Channel, Action: ActionPayoutAccounts, Target: "payout_accounts"}
	if err := audit.Outcome(ctx, s.Audit, s.Logger, rec, err); err != nil {
		return nil, err
	}
	return out, nil
}

// maskPayout masks a card or wallet number for a channel, each by its own
// field of the masking policy.
func (s *Service) maskPayout(kind, channel, number string) string {
	field := mask.BankCard
	if kind == PayoutECNY {
		field = mask.ECNYWallet
	}
	return s.Mask.Apply(field, maskChannel(channel), number)
}

// payoutAccount finds id among the person's payout accounts, asking the
// core now: an account added or removed a moment ago counts as the core
// says. held is false for any id not the person's: another person's,
// unknown or malformed (which never reaches the core).
func (s *Service) payoutAccount(ctx context.Context, personID, id string) (a core.PayoutAccount, held bool, err error) {
	if len(id) > maxPayoutAccountID || strings.IndexFunc(id, notIDRune) >= 0 {
		return core.PayoutAccount{}, false, nil
	}
	list, err := s.Core.PayoutAccounts(ctx, personID)
	if err != nil {
		return core.PayoutAccount{}, false, err
	}
	for _, a := range list.Items {
		if a.ID == id && (a.Kind == PayoutBankCard || a.Kind == PayoutECNY) {
			return a, true, nil
		}
	}
	return core.PayoutAccount{}, false, nil
}

func notIDRune(r rune) bool {
	return !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_')
}

// unknownEvidence asks the core which refs are not the person's records
// of the categories pol's kind needs. A kind that needs no evidence has
// nothing to confirm references against: all of them are unknown.
func (s *Service) unknownEvidence(ctx context.Context, personID string, pol Policy, refs []string) ([]string, error) {
	if len(pol.Evidence) == 0 {
		return refs, nil
	}
	res, err := s.Core.CheckEvidence(ctx, personID, core.EvidenceCheck{Categories: pol.Evidence, Refs: refs})
	if err != nil {
		return nil, err
	}
	return res.Unknown, nil
}

// querier reads rows, in a transaction or outside one.
type querier interface {
	Query(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// lockSubject serializes one person's applications until tx ends, so each
// sees what the previous one reserved. PostgreSQL: a transaction-scoped
// advisory lock on a hash of the subject (two subjects sharing a hash only
// wait for each other). SQLite: write transactions begin IMMEDIATE, one at
// a time, so the transaction itself is the lock.
func lockSubject(ctx context.Context, tx *store.Tx, subject string) error {
	if tx.Dialect() != store.Postgres {
		return nil
	}
	h := fnv.New64a()
	h.Write([]byte("withdrawal\x00" + subject))
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(h.Sum64()))
	return err
}

// insert writes the application's row. The payout account number is
// written here and nowhere else (and read only by scanRow).
func (a row) insert(ctx context.Context, tx *store.Tx, r Request) error {
	account, err := tx.SealText(a.PayoutAccount, sealedPayoutAccount.Place(a.ID))
	if err != nil {
		return err
	}
	refs, err := tx.SealText(a.EvidenceRefs, sealedEvidenceRefs.Place(a.ID))
	if err != nil {
		return err
	}
	evidence := ""
	if plain := encodeEvidence(a.Evidence); plain != "" {
		if evidence, err = tx.SealText(plain, sealedEvidence.Place(a.ID)); err != nil {
			return err
		}
	}
	_, err = tx.Exec(ctx, `INSERT INTO withdrawals (id, case_number, subject, kind, core_kind, amount_fen,
		payout_method, payout_account, payout_account_id, evidence_refs, evidence, closes_account, status, idempotency_key,
		request_hash, locale, channel, created_at, updated_at, due_on)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)`,
		a.ID, a.CaseNumber, a.Subject, a.Kind, a.CoreKind, a.AmountFen, a.PayoutMethod, account, a.PayoutAccountID,
		refs, evidence, a.ClosesAccount, a.Status, r.IdempotencyKey, r.RequestHash, a.Locale, a.Channel,
		a.CreatedAt, a.UpdatedAt, a.DueOn)
	return err
}
