package bff

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"handheld/services/account"
	"handheld/services/cases"
	"handheld/services/core"
	"handheld/services/mask"
	"handheld/services/notify"
	"handheld/services/outbox"
	"handheld/services/wechat"
	"handheld/services/withdrawal"
	"handheld/templates"
)

// openWithdrawals builds withdrawals, cases and ratings, the notifier, and
// the outbox worker that carries applications to the core and
// notifications to WeChat. The worker starts with Serve.
func (a *App) openWithdrawals(reader *core.Reader, wx *wechat.Client) error {
	tmpl, err := notify.LoadTemplates(templates.FS)
	if err != nil {
		return fmt.Errorf("notification templates: %w", err)
	}
	notifier, err := notify.New(notify.Deps{Recipients: a.identity, Sender: wx, Templates: tmpl,
		Logger: a.log.With("component", "notify"), Now: time.Now})
	if err != nil {
		return err
	}
	var wake func()
	a.withdrawals, err = withdrawal.New(withdrawal.Deps{
		Store: a.store, Reader: reader, Core: a.core, People: a.identity, Audit: a.audit,
		Policies: a.cfg.withdrawalPolicies(), Mask: mask.DefaultPolicy().Overlay(a.cfg.Masking),
		Wake: func() { wake() }, Now: time.Now, Logger: a.log.With("component", "withdrawal"),
	})
	if err != nil {
		return fmt.Errorf("withdrawals: %w", err)
	}
	a.cases = cases.New(cases.Deps{Store: a.store, Audit: a.audit, Logger: a.log.With("component", "cases"), Now: time.Now})
	a.metrics.registry.MustRegister(satisfactionGauge(a.cases))
	a.outbox, err = outbox.New(outbox.Config{
		Store:    a.store,
		Enqueued: withdrawal.Topics(),
		Topics: []outbox.Topic{
			{Name: withdrawal.TopicSubmit, Handle: a.withdrawals.Submit},
			{Name: withdrawal.TopicPoll, Handle: a.withdrawals.Poll},
			{Name: notify.Topic, AtMostOnce: true, Handle: func(ctx context.Context, m outbox.Message) error {
				err := notifier.Deliver(ctx, m.Payload)
				if errors.Is(err, notify.ErrUndeliverable) {
					return outbox.Permanent(err)
				}
				return err
			}},
		},
		Concurrency: max(a.cfg.OutboxWorkers, 1),
		Batch:       64,
		Lease:       a.cfg.OutboxLease,
		// Well inside the lease, so that a slow delivery never loses its
		// row to another replica and goes twice.
		HandlerTimeout: a.cfg.OutboxLease * 2 / 3,
		Now:            time.Now,
		Logger:         a.log.With("component", "outbox"),
		Observe:        a.metrics.outboxDelivery,
	})
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	wake = a.outbox.Wake
	return nil
}

// homeApplications feeds the home screen's in-flight list from the
// withdrawal applications.
type homeApplications struct{ w *withdrawal.Service }

func (h homeApplications) InFlight(ctx context.Context, subject string) ([]account.Application, error) {
	apps, err := h.w.InFlight(ctx, subject)
	if err != nil {
		return nil, err
	}
	out := make([]account.Application, 0, len(apps))
	for _, x := range apps {
		out = append(out, account.Application{ID: x.ID, Kind: "withdrawal", Type: x.Kind, CaseNumber: x.CaseNumber,
			Status: x.Status, SubmittedAt: x.CreatedAt, DueOn: x.DueOn})
	}
	return out, nil
}

// satisfactionGauge is the centre's 满意率: ratings at "basically
// satisfied" or better over all ratings, read from the store (shared by
// every replica) at most every 10 seconds.
func satisfactionGauge(c *cases.Service) prometheus.Collector {
	var (
		mu    sync.Mutex // scrapes may run at once
		last  time.Time
		value float64
	)
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "handheld_case_satisfaction_ratio",
		Help: "Rated cases at level 3 (basically satisfied) or above, over all rated cases; 1 when none is rated.",
	}, func() float64 {
		mu.Lock()
		defer mu.Unlock()
		if time.Since(last) < 10*time.Second {
			return value
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		rated, satisfied, err := c.Satisfaction(ctx)
		if err != nil {
			return value
		}
		last, value = time.Now(), 1
		if rated > 0 {
			value = float64(satisfied) / float64(rated)
		}
		return value
	})
}
