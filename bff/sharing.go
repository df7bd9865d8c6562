package bff

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"time"

	"handheld/services"
	"handheld/services/core"
	"handheld/services/material"
	"handheld/services/sharing"
	"handheld/services/sharingsim"
	"handheld/services/store"
	"handheld/services/withdrawal"
)

// openSharing is the data-sharing exchange's client (issue 17): over
// HTTP when a sharing URL is set, otherwise to the sharing simulator run
// in-process (returned too), like the core's. Calls still go through the
// real client, its signatures, deadline and breaker, only without a socket.
func (a *App) openSharing() (*sharing.Client, *sharingsim.Sim, error) {
	cc := sharing.ClientConfig{BaseURL: a.cfg.SharingURL, KeyID: a.cfg.SharingKeyID, Secret: []byte(a.cfg.SharingSecret),
		Timeout: a.cfg.SharingTimeout, Observe: a.metrics.observeSharing}
	var sim *sharingsim.Sim
	if a.cfg.SharingURL == "" && a.cfg.Profile != ProfileEmbedded {
		// A centre not yet connected to the exchange: evidence lookups
		// answer sharing.unavailable, eligibility lists every evidence as
		// missing, and people upload instead.
		return nil, nil, nil
	}
	if a.cfg.SharingURL == "" {
		// A random secret per start, known only to this process.
		var b [32]byte
		_, _ = rand.Read(b[:])
		cc.Secret = []byte(hex.EncodeToString(b[:]))
		sim = sharingsim.New(sharingsim.Config{Keys: map[string][]byte{cc.KeyID: cc.Secret}})
		cc.BaseURL = "http://sharingsim.internal"
		cc.HTTPClient = &http.Client{Transport: handlerTransport{sim.Handler()}}
	}
	c, err := sharing.NewClient(cc)
	if err != nil {
		return nil, nil, fmt.Errorf("sharing: %w", err)
	}
	return c, sim, nil
}

// exchangeOff is the exchange of a deployment without HANDHELD_SHARING_URL
// outside the embedded profile: every question is sharing.unavailable.
type exchangeOff struct{}

// Ask refuses: no exchange is configured.
func (exchangeOff) Ask(context.Context, sharing.Query) (sharing.Answer, error) {
	e := services.Errorf(services.CodeSharingUnavailable, "sharing: HANDHELD_SHARING_URL is not set")
	e.RetryAfter = time.Hour
	return sharing.Answer{}, e
}

// withdrawalConsents lends an application the facts of a shared-data
// consent in the core's terms (what the core receives: evidence, source,
// fact, the exchange's reference; never the summary).
type withdrawalConsents struct{ s *sharing.Service }

func (c withdrawalConsents) ConsentFacts(ctx context.Context, p services.Principal, id, kind, applicationID string) ([]core.SharedEvidence, error) {
	facts, err := c.s.ConsentFacts(ctx, p, id, kind, applicationID)
	if err != nil {
		return nil, err
	}
	out := make([]core.SharedEvidence, 0, len(facts))
	for _, f := range facts {
		out = append(out, core.SharedEvidence{Evidence: f.Evidence, Source: f.Answer.Source, Fact: f.Answer.Fact,
			Reference: f.Answer.Reference, ConsentRef: id})
	}
	return out, nil
}

func (c withdrawalConsents) UseConsentTx(ctx context.Context, tx *store.Tx, p services.Principal, id, applicationID string) error {
	return c.s.UseConsentTx(ctx, tx, p, id, applicationID)
}

// withdrawalMaterials lends an application the person's uploads.
type withdrawalMaterials struct{ s *material.Service }

func (m withdrawalMaterials) Materials(ctx context.Context, p services.Principal, ids []string, applicationID string) ([]core.MaterialRef, error) {
	ms, err := m.s.Usable(ctx, p, ids, applicationID)
	if err != nil {
		return nil, err
	}
	out := make([]core.MaterialRef, 0, len(ms))
	for _, x := range ms {
		out = append(out, core.MaterialRef{ID: x.ID, Kind: x.Kind, MediaType: x.MediaType, Size: x.Size, SHA256: x.SHA256})
	}
	return out, nil
}

func (m withdrawalMaterials) ClaimTx(ctx context.Context, tx *store.Tx, p services.Principal, ids []string, applicationID string) error {
	return m.s.ClaimTx(ctx, tx, p, ids, applicationID)
}

func (m withdrawalMaterials) ReleaseTx(ctx context.Context, tx *store.Tx, applicationID string) error {
	return m.s.ReleaseTx(ctx, tx, applicationID)
}

func (m withdrawalMaterials) Open(ctx context.Context, id string) ([]byte, error) {
	return m.s.Open(ctx, id)
}

// checkEvidenceMaterials refuses withdrawal policies whose uploads name a
// kind the materials policy does not take: nobody could upload it.
func checkEvidenceMaterials(ps withdrawal.Policies, kinds []string) error {
	for _, p := range ps.Kinds {
		for _, n := range p.Needs() {
			for _, k := range n.MaterialKinds() {
				if !slices.Contains(kinds, k) {
					return fmt.Errorf("withdrawals.kinds[%s].evidence_sources[%s]: upload kind %q is not in materials.kinds %v",
						p.Kind, n.Evidence, k, kinds)
				}
			}
		}
	}
	return nil
}
