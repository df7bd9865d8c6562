package certificate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"handheld/services"
	"handheld/services/audit"
	"handheld/services/notify"
	"handheld/services/outbox"
	"handheld/services/store"
)

// TopicIssue is the outbox topic of a certificate asked for while the core
// was away: its payload is the request's id; the delivery issues it when
// the core answers again (Service.IssuePending).
const TopicIssue outbox.TopicName = "certificate.issue"

// Topics are the outbox topics this package enqueues on, for the wiring.
func Topics() []outbox.TopicName { return []outbox.TopicName{TopicIssue, notify.Topic} }

// The states of a certificate request accepted during the core's window.
const (
	RequestPending = "pending"
	RequestIssued  = "issued"
	RequestFailed  = "failed"
)

// requestPrefix marks a request's id, so it never collides with a
// certificate's (hex) and the case list can tell them apart.
const requestPrefix = "cr_"

// coreAway reports whether err is the core's maintenance window or an
// outage: the answers a certificate is accepted as pending for.
func coreAway(err error) bool {
	c := services.ErrorCode(err)
	return c == services.CodeCoreMaintenance || c == services.CodeCoreUnavailable
}

// acceptPending records a depositor's certificate request that the core
// could not answer and queues its issue for when the core returns, in one
// transaction. The request stays bound to p's subject: the delivery issues
// it for that subject only.
func (s *Service) acceptPending(ctx context.Context, p services.Principal, typ, purpose, lang string) (Issued, error) {
	hexID, err := newID(s.Rand)
	if err != nil {
		return Issued{}, services.AsError(err)
	}
	id := requestPrefix + hexID[:24]
	now := store.Timestamp(s.Now())
	err = s.Store.Tx(ctx, func(tx *store.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO certificate_requests (id, subject, type, purpose, lang, status, requested_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`, id, p.Subject, typ, purpose, lang, RequestPending, now); err != nil {
			return err
		}
		_, err := outbox.Enqueue(ctx, tx, outbox.Message{ID: string(TopicIssue) + ":" + id, Topic: TopicIssue, Payload: []byte(id)}, now)
		return err
	})
	if err != nil {
		return Issued{}, services.Errorf(services.CodeInternal, "certificate: pending request: %w", err)
	}
	return Issued{ID: id, Type: typ, Pending: true, IssuedAt: now}, nil
}

// IssuePending is the outbox handler of TopicIssue: it issues a request
// accepted during the core's window, for the subject that asked, once the
// core answers. While the core is still away the outbox tries again with
// backoff; an answer that rules the certificate out (no account) marks the
// request failed. A repeated delivery of a request no longer pending is a
// no-op.
func (s *Service) IssuePending(ctx context.Context, m outbox.Message) error {
	id := string(m.Payload)
	var subject, typ, purpose, lang, status string
	err := s.Store.QueryRow(ctx, `SELECT subject, type, purpose, lang, status FROM certificate_requests WHERE id = $1`, id).
		Scan(&subject, &typ, &purpose, &lang, &status)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return outbox.Permanent(fmt.Errorf("certificate: no request %s", id))
	case err != nil:
		return err
	case status != RequestPending:
		return nil
	}
	p := services.Principal{Subject: subject, Role: services.RoleDepositor}
	sc, err := scopeOf(p)
	if err != nil {
		return outbox.Permanent(err)
	}
	out, certID, err := s.issue(ctx, p, sc, typ, purpose, lang, lending{})
	if err != nil {
		if coreAway(err) || services.ErrorCode(err) == services.CodeInternal {
			return err // the core is not back yet: again, with backoff
		}
		code := string(services.ErrorCode(err))
		if uerr := s.settle(ctx, id, subject, typ, lang, RequestFailed, "", code, ""); uerr != nil {
			return uerr
		}
		s.Logger.WarnContext(ctx, "pending certificate failed", "request", id, "code", string(services.ErrorCode(err)))
		return nil
	}
	if err := s.settle(ctx, id, subject, typ, lang, RequestIssued, certID, "", out.Number); err != nil {
		return err
	}
	// Issued by the system on the holder's behalf, once the core was back:
	// no request, no channel of the person's.
	rec := audit.Record{Subject: subject, Actor: "system", Channel: "system", Action: ActionIssue, Target: "certificate:" + certID}
	if err := s.audited(ctx, rec, nil); err != nil {
		s.Logger.ErrorContext(ctx, "audit record lost", "action", ActionIssue, "err", err)
	}
	return nil
}

// RequestView is a pending certificate request as its holder sees it.
type RequestView struct {
	ID            string
	Type          string
	Status        string // pending, issued, failed
	CertificateID string // once issued
	Reason        string // the code that failed it
	RequestedAt   time.Time
	UpdatedAt     time.Time
}

// Request is one of p's certificate requests; another person's id is
// not_found, exactly like one that does not exist.
func (s *Service) Request(ctx context.Context, p services.Principal, id string) (RequestView, error) {
	if err := p.Depositor(); err != nil {
		return RequestView{}, err
	}
	v := RequestView{ID: id}
	var req, upd time.Time
	err := s.Store.QueryRow(ctx, `SELECT type, status, certificate_id, reason, requested_at, updated_at FROM certificate_requests
		WHERE id = $1 AND subject = $2`, id, p.Subject).Scan(&v.Type, &v.Status, &v.CertificateID, &v.Reason, &req, &upd)
	if errors.Is(err, store.ErrNotFound) {
		return RequestView{}, services.E(services.CodeNotFound)
	}
	if err != nil {
		return RequestView{}, services.Errorf(services.CodeInternal, "certificate: request: %w", err)
	}
	v.RequestedAt, v.UpdatedAt = req, upd
	return v, nil
}

// settle moves a pending request to status and, in the same transaction,
// queues the holder's notification (notify.Topic): the certificate asked
// for at night is issued, or could not be. Only the first settle of a
// request notifies.
func (s *Service) settle(ctx context.Context, id, subject, typ, lang, status, certID, reason, number string) error {
	now := store.Timestamp(s.Now())
	if number == "" {
		number = id // what the person's case list shows for a request never issued
	}
	return s.Store.Tx(ctx, func(tx *store.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE certificate_requests SET status = $1, certificate_id = $2, reason = $3, updated_at = $4
			WHERE id = $5 AND status = $6`, status, certID, reason, now, id, RequestPending)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		ev, err := json.Marshal(notify.Event{Subject: subject, ApplicationID: id, CaseNumber: number, Kind: typ,
			Status: "certificate_" + status, Reason: reason, Locale: lang, At: now})
		if err != nil {
			return err
		}
		_, err = outbox.Enqueue(ctx, tx, outbox.Message{ID: string(notify.Topic) + ":" + id + ":" + status, Topic: notify.Topic, Payload: ev}, now)
		return err
	})
}
