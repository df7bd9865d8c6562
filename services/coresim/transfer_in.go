package coresim

import (
	"context"
	"database/sql"
	"net/http"
	"regexp"

	"handheld/services/core"
)

var centreCode = regexp.MustCompile(`^[0-9]{6}$`)

// creditTransferIn posts the funds of a transfer in from another centre
// to the person's account, once per transfer id: 201 the first time, 200
// with the same credit for the same content, 409 for other content under
// the same id, or for a frozen or closed account.
func (s *Sim) creditTransferIn(ctx context.Context, c call) (int, any, error) {
	id := c.r.PathValue("transfer_id")
	var in core.TransferIn
	if err := decodeJSON(c.body, &in); err != nil {
		return 0, nil, err
	}
	switch {
	case in.TransferID != id:
		return 0, nil, badRequest("transfer_id differs from the path")
	case in.PersonID == "":
		return 0, nil, badRequest("person_id is required")
	case in.AmountFen <= 0:
		return 0, nil, badRequest("amount_fen must be positive")
	case !centreCode.MatchString(in.FromCentre):
		return 0, nil, badRequest("from_centre: want a 6-digit centre code")
	case in.PlatformRef == "":
		return 0, nil, badRequest("platform_ref is required")
	}
	status := http.StatusCreated
	var out core.TransferInStatus
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var old core.TransferIn
		err := tx.QueryRowContext(ctx, `SELECT person_id, amount_fen, from_centre, platform_ref, balance_after_fen, posted_on
			FROM transfers_in WHERE transfer_id = ?`, id).Scan(&old.PersonID, &old.AmountFen, &old.FromCentre, &old.PlatformRef,
			&out.BalanceAfterFen, &out.PostedOn)
		if err == nil {
			old.TransferID = id
			if old != in {
				return &apiError{status: http.StatusConflict, code: core.ErrConflict, msg: "transfer id already used for another transfer"}
			}
			status = http.StatusOK
			out.TransferID, out.Status, out.AmountFen = id, core.TransferInCredited, in.AmountFen
			return nil
		}
		if err != sql.ErrNoRows {
			return err
		}
		var balance int64
		var accountStatus string
		var seq int
		err = tx.QueryRowContext(ctx, `SELECT a.balance_fen, a.status, coalesce((SELECT max(seq) FROM deposits d WHERE d.person_id = a.person_id), 0)
			FROM accounts a WHERE a.person_id = ?`, in.PersonID).Scan(&balance, &accountStatus, &seq)
		switch {
		case err == sql.ErrNoRows:
			return notFound("no account for this person")
		case err != nil:
			return err
		case accountStatus == core.StatusFrozen || accountStatus == core.StatusClosedMerge ||
			accountStatus == core.StatusClosedTransfer || accountStatus == core.StatusClosedWithdrawal:
			return &apiError{status: http.StatusConflict, code: core.ErrConflict, msg: "the account is frozen or closed"}
		}
		balance += in.AmountFen
		posted := date(c.now)
		if _, err := tx.ExecContext(ctx, `INSERT INTO deposits (person_id, seq, month, posted_on, kind, withdrawal_kind,
				amount_fen, balance_after_fen, application_id) VALUES (?, ?, ?, ?, ?, '', ?, ?, ?)`, in.PersonID, seq+1,
			monthOf(c.now).String(), posted, core.KindTransfer, in.AmountFen, balance, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET balance_fen = ? WHERE person_id = ?`, balance, in.PersonID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO transfers_in (transfer_id, person_id, amount_fen, from_centre, platform_ref,
				balance_after_fen, posted_on) VALUES (?, ?, ?, ?, ?, ?, ?)`, id, in.PersonID, in.AmountFen, in.FromCentre,
			in.PlatformRef, balance, posted); err != nil {
			return err
		}
		out = core.TransferInStatus{TransferID: id, Status: core.TransferInCredited, AmountFen: in.AmountFen,
			BalanceAfterFen: balance, PostedOn: posted}
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	return status, out, nil
}

// TransferInCredits is how many ledger entries credit a transfer in: 0 or
// 1, whatever the number of deliveries, if the idempotency contract holds.
func (s *Sim) TransferInCredits(transferID string) int {
	return s.count("SELECT count(*) FROM deposits WHERE application_id = ? AND kind = ?", transferID, core.KindTransfer)
}

// BalanceOf is the balance of the account of the person with the ID
// number, for tests that follow money; -1 when it cannot be read.
func (s *Sim) BalanceOf(idNumber string) int64 {
	var b int64
	err := s.rdb.QueryRowContext(context.Background(), `SELECT a.balance_fen FROM accounts a JOIN persons p ON p.person_id = a.person_id
		WHERE p.id_number = ?`, idNumber).Scan(&b)
	if err != nil {
		return -1
	}
	return b
}
