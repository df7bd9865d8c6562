package coresim

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"net/http"
	"slices"
	"strconv"

	"handheld/services/core"
)

// A person's holdings are what the core keeps under their name besides the
// HPF account: the bank cards and e-CNY wallets money may be paid to, and
// the records (deeds, diagnoses, leases, ...) that evidence references name.

// Record is one of a person's records an evidence reference may name.
type Record struct {
	Ref      string // what an application carries in evidence_refs
	Category string // one of the core.Evidence* categories
}

// payoutAccountID is the opaque, stable handle of a person's n-th payout
// account (from 1): it reveals neither the number nor the person.
func payoutAccountID(personID string, n int) string {
	sum := sha256.Sum256([]byte("coresim payout account\x00" + personID + "\x00" + strconv.Itoa(n)))
	return "pa_" + hex.EncodeToString(sum[:8])
}

// cardIssuer names a card's bank from its BIN, as the demo data uses them.
func cardIssuer(number string) string {
	switch {
	case len(number) < 6:
	case number[:6] == "622202":
		return "中国工商银行"
	case number[:6] == "621700":
		return "中国建设银行"
	case number[:6] == "622848":
		return "中国农业银行"
	case number[:6] == "621785":
		return "中国银行"
	case number[:6] == "622588":
		return "招商银行"
	}
	return "银行卡"
}

// kindEvidence is the record categories a withdrawal kind's references
// must be of; nil admits any of the person's records.
func kindEvidence(kind string) []string {
	switch kind {
	case "01", "02":
		return []string{core.EvidencePropertyRegistration}
	case "07":
		return []string{core.EvidenceTenancy}
	case "09":
		return []string{core.EvidenceDiagnosis}
	case "99":
		return []string{core.EvidenceClosingCertificate}
	}
	return nil
}

func evidenceCategories() []string {
	return []string{core.EvidencePropertyRegistration, core.EvidenceDiagnosis, core.EvidenceTenancy, core.EvidenceClosingCertificate}
}

// insertHoldings writes a person's payout accounts (numbered from 1 in
// order) and records.
func insertHoldings(ctx context.Context, tx *sql.Tx, personID string, accounts []core.PayoutAccount, records []Record) error {
	for i, a := range accounts {
		if _, err := tx.ExecContext(ctx, `INSERT INTO payout_accounts (person_id, seq, account_id, kind, number, institution)
			VALUES (?, ?, ?, ?, ?, ?)`, personID, i+1, a.ID, a.Kind, a.Number, a.Institution); err != nil {
			return err
		}
	}
	for _, r := range records {
		if _, err := tx.ExecContext(ctx, `INSERT INTO records (ref, person_id, category) VALUES (?, ?, ?)`, r.Ref, personID, r.Category); err != nil {
			return err
		}
	}
	return nil
}

// loadPayoutAccounts reads a person's payout accounts in order.
func loadPayoutAccounts(ctx context.Context, q querier, personID string) ([]core.PayoutAccount, error) {
	rows, err := q.QueryContext(ctx, `SELECT account_id, kind, number, institution FROM payout_accounts
		WHERE person_id = ? ORDER BY seq`, personID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []core.PayoutAccount{}
	for rows.Next() {
		var a core.PayoutAccount
		if err := rows.Scan(&a.ID, &a.Kind, &a.Number, &a.Institution); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// holdsPayoutAccount reports whether the person holds the account id, of
// that kind and number.
func holdsPayoutAccount(ctx context.Context, q querier, personID, id, kind, number string) (bool, error) {
	var held bool
	err := q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM payout_accounts
		WHERE account_id = ? AND person_id = ? AND kind = ? AND number = ?)`, id, personID, kind, number).Scan(&held)
	return held, err
}

// unknownEvidence lists the refs that name no record of the person in one
// of categories (nil: any category), in the order given.
func unknownEvidence(ctx context.Context, q querier, personID string, categories, refs []string) ([]string, error) {
	unknown := []string{}
	for _, ref := range refs {
		var category string
		err := q.QueryRowContext(ctx, `SELECT category FROM records WHERE ref = ? AND person_id = ?`, ref, personID).Scan(&category)
		switch {
		case err == sql.ErrNoRows:
			unknown = append(unknown, ref)
		case err != nil:
			return nil, err
		case categories != nil && !slices.Contains(categories, category):
			unknown = append(unknown, ref)
		}
	}
	return unknown, nil
}

// payoutAccounts lists the person's bank cards and wallets.
func (s *Sim) payoutAccounts(ctx context.Context, c call) (int, any, error) {
	id := c.r.PathValue("person_id")
	if _, err := loadPersonBy(ctx, s.rdb, "p.person_id", id); err != nil {
		return 0, nil, err
	}
	items, err := loadPayoutAccounts(ctx, s.rdb, id)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, core.PayoutAccountList{Items: items}, nil
}

// maxEvidenceRefs bounds one check, as the BFF bounds one application.
const maxEvidenceRefs = 20

// checkEvidence answers which references are not the person's records of
// the categories asked.
func (s *Sim) checkEvidence(ctx context.Context, c call) (int, any, error) {
	id := c.r.PathValue("person_id")
	var in core.EvidenceCheck
	if err := decodeJSON(c.body, &in); err != nil {
		return 0, nil, err
	}
	switch {
	case len(in.Categories) == 0:
		return 0, nil, badRequest("categories: at least one")
	case len(in.Refs) > maxEvidenceRefs:
		return 0, nil, badRequest("refs: too many")
	case slices.Contains(in.Refs, ""):
		return 0, nil, badRequest("refs: empty reference")
	}
	for _, cat := range in.Categories {
		if !slices.Contains(evidenceCategories(), cat) {
			return 0, nil, badRequest("categories: unknown category " + cat)
		}
	}
	if _, err := loadPersonBy(ctx, s.rdb, "p.person_id", id); err != nil {
		return 0, nil, err
	}
	unknown, err := unknownEvidence(ctx, s.rdb, id, in.Categories, in.Refs)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, core.EvidenceResult{Unknown: unknown}, nil
}
