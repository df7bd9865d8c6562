package employer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"handheld/services/audit"
	"handheld/services/core"
	"handheld/services/notify"
	"handheld/services/outbox"
	"handheld/services/platform"
	"handheld/services/store"
)

// TopicTransferOffer is the outbox topic of a join done at the core: its
// delivery asks the national platform whether the person holds a sealed
// account at another centre and, if so, offers them the transfer in by a
// message. The employer's join never waits for it, learns nothing of it
// and moves no money by it: only the person can ask for a transfer.
const TopicTransferOffer outbox.TopicName = "staff.transfer_offer"

// ActionTransferOffer is the audit action of the offer: in the person's
// trail (their subject, actor "system"), naming how many sealed accounts
// elsewhere were found, never which.
const ActionTransferOffer = "transfer.offer"

// The collaborators of the transfer offer.
type (
	// elsewhere asks the platform about a person (*platform.Client).
	elsewhere interface {
		Accounts(ctx context.Context, q platform.AccountQuery) (platform.AccountsAnswer, error)
	}
	// subjects maps a core person id to the person's subject, if they
	// ever signed in (*identity.Service).
	subjects interface {
		SubjectOf(ctx context.Context, personID string) (subject string, ok bool, err error)
	}
)

// TransferOfferDeps are the offer's collaborators.
type TransferOfferDeps struct {
	Changes *StaffChanges
	// Platform is the national platform; nil for a centre not connected
	// to it, where a join offers nothing (rather than retrying forever).
	Platform elsewhere
	Subjects subjects
	Audit    auditor
	// CentreCode is this centre's code on the platform: the requesting
	// centre, whose own accounts are never offered.
	CentreCode string
	Now        func() time.Time
	Logger     *slog.Logger
}

// TransferOffers delivers TopicTransferOffer.
type TransferOffers struct{ TransferOfferDeps }

// NewTransferOffers checks the dependencies.
func NewTransferOffers(d TransferOfferDeps) (*TransferOffers, error) {
	if d.Changes == nil || d.Subjects == nil || d.Audit == nil || d.CentreCode == "" {
		return nil, errors.New("employer: transfer offers need staff changes, subjects, audit and the centre code")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	return &TransferOffers{d}, nil
}

// Deliver is the outbox handler of TopicTransferOffer. The platform away
// (platform.unavailable, or any failure to get its answer) is returned, so
// the outbox retries it with backoff: the join stays done meanwhile. A
// person without a sealed account elsewhere, or who never signed in (no
// one to tell), is the end of it. The message is queued once per join
// (its outbox id names the change), on notify.Topic.
func (o *TransferOffers) Deliver(ctx context.Context, m outbox.Message) error {
	r, _, err := o.Changes.load(ctx, `id = $1`, string(m.Payload))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return outbox.Permanent(fmt.Errorf("employer: no staff change %s", m.Payload))
	case err != nil:
		return err
	case r.Kind != core.ChangeJoin || r.Status != ChangeDone || r.PersonID == "" || o.Platform == nil:
		return nil
	}
	var a applicantOf
	if err := json.Unmarshal([]byte(r.Applicant), &a); err != nil {
		return outbox.Permanent(fmt.Errorf("employer: staff change %s: applicant: %w", r.ID, err))
	}
	subject, ok, err := o.Subjects.SubjectOf(ctx, r.PersonID)
	if err != nil {
		return err
	}
	if !ok {
		o.Logger.InfoContext(ctx, "transfer offer: the person never signed in, no one to tell", "staff_change", r.ID)
		return nil
	}
	answer, err := o.Platform.Accounts(ctx, platform.AccountQuery{RequestingCentre: o.CentreCode, Purpose: platform.PurposeTransfer,
		Subject: platform.Subject{IDNumber: a.IDNumber, Name: a.Name}})
	if err != nil {
		return fmt.Errorf("employer: transfer offer for %s: %w", r.ID, err)
	}
	sealed := 0
	for _, acc := range answer.Accounts {
		if acc.Centre != o.CentreCode && acc.Status == platform.StatusSealed {
			sealed++
		}
	}
	rec := audit.Record{At: o.Now(), Subject: subject, Actor: "system", Channel: "system", Action: ActionTransferOffer,
		Target: "self sealed_elsewhere:" + strconv.Itoa(sealed)}
	if err := audit.Outcome(ctx, o.Audit, o.Logger, rec, nil); err != nil {
		return err
	}
	if sealed == 0 {
		return nil
	}
	offer := "to_" + r.ID[len("sc_"):len("sc_")+24]
	payload, _ := json.Marshal(notify.Event{Subject: subject, ApplicationID: offer, CaseNumber: offer, Kind: "transfer_in",
		Status: "transfer_offered", Locale: "zh-CN", At: o.Now()})
	now := store.Timestamp(o.Now())
	return o.Changes.Store.Tx(ctx, func(tx *store.Tx) error {
		_, err := outbox.Enqueue(ctx, tx, outbox.Message{ID: string(notify.Topic) + ":" + offer, Topic: notify.Topic, Payload: payload}, now)
		return err
	})
}
