package core

import (
	"context"
	"net/http"

	"handheld/services"
)

// TransferIn credits a person's account with the funds another centre
// moved through the national platform (a transfer in, 转移接续). TransferID
// is handheld's id of the transfer and the idempotency key: the same
// transfer sent again credits nothing twice.
type TransferIn struct {
	TransferID string `json:"transfer_id"`
	PersonID   string `json:"person_id"`
	AmountFen  int64  `json:"amount_fen"`
	// FromCentre is the old centre's code; PlatformRef the platform's
	// reference of the transfer, for the core's records.
	FromCentre  string `json:"from_centre"`
	PlatformRef string `json:"platform_ref"`
}

// TransferInCredited is the only status of a transfer in at the core: the
// amount is on the account.
const TransferInCredited = "credited"

// TransferInStatus is the core's answer: the transfer credited, the
// ledger entry's date and the balance after it.
type TransferInStatus struct {
	TransferID      string `json:"transfer_id"`
	Status          string `json:"status"`
	AmountFen       int64  `json:"amount_fen"`
	BalanceAfterFen int64  `json:"balance_after_fen"`
	PostedOn        string `json:"posted_on"`
}

const endpointTransferIn = "transfer_in"

// CreditTransferIn credits the funds of a transfer in. It is idempotent
// on TransferID, so the outbox may deliver it again after any failure: the
// same transfer answers its credit again, other content under the same id
// is core.rejected (conflict).
func (c *Client) CreditTransferIn(ctx context.Context, t TransferIn) (TransferInStatus, error) {
	p, err := expand(PathTransferIn, "{transfer_id}", "transfer id", t.TransferID)
	if err != nil {
		return TransferInStatus{}, err
	}
	return send[TransferInStatus](ctx, c, request{endpoint: endpointTransferIn, method: http.MethodPut, path: p,
		body: t, notFound: services.CodePersonNotFound})
}
