package platformsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"time"

	"handheld/services"
	"handheld/services/platform"
)

// transfer is one transfer the platform carries. Its course is decided
// when it is asked for, by the old centre's switches and the account; it
// advances lazily, when it is read, so that a test's clock decides.
type transfer struct {
	t        platform.Transfer
	req      platform.TransferRequest
	decideAt time.Time
	refusal  string // decided: "" accepts
	amount   int64
}

var (
	transferRef = regexp.MustCompile(`^[A-Za-z0-9_-]{8,64}$`)
	accountRef  = regexp.MustCompile(`^[0-9A-Z]{8,32}$`)
)

// CallTransfers counts transfer calls (request, status, cancel) past the
// signature check.
const CallTransfers = "transfers"

// requestTransfer is POST /platform/v1/transfers: 202 with the transfer;
// the same transfer_ref answers the same transfer.
func (s *Sim) requestTransfer(w http.ResponseWriter, _ *http.Request, body []byte) {
	var r platform.TransferRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil || !transferRef.MatchString(r.TransferRef) || !accountRef.MatchString(r.AccountRef) ||
		!accountRef.MatchString(r.ToAccount) || !idNumber.MatchString(r.Subject.IDNumber) || r.Subject.Name == "" || !validURL(r.CallbackURL) {
		problem(w, http.StatusBadRequest, platform.ProblemInvalid)
		return
	}
	if !s.known(r.FromCentre) || !s.known(r.ToCentre) || r.FromCentre == r.ToCentre {
		problem(w, http.StatusBadRequest, platform.ProblemUnknownCentre)
		return
	}
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.transfers == nil {
		s.transfers, s.byTransferRef = map[string]*transfer{}, map[string]string{}
	}
	if ref, ok := s.byTransferRef[r.ToCentre+"/"+r.TransferRef]; ok {
		writeJSON(w, http.StatusAccepted, s.advance(s.transfers[ref], now))
		return
	}
	s.transferN++
	tr := &transfer{req: r, t: platform.Transfer{PlatformRef: fmt.Sprintf("PT%s-%06d", now.UTC().Format("20060102"), s.transferN),
		TransferRef: r.TransferRef, Status: platform.TransferSent, Sequence: 1, UpdatedAt: services.Instant(now)}}
	cb := s.behaviour.Centres[r.FromCentre]
	tr.decideAt = now.Add(time.Duration(cb.AcceptAfter))
	tr.refusal = cb.Refuse
	if tr.refusal == "" {
		tr.refusal, tr.amount = s.judge(r)
	}
	s.transfers[tr.t.PlatformRef] = tr
	s.byTransferRef[r.ToCentre+"/"+r.TransferRef] = tr.t.PlatformRef
	if s.behaviour.AnswerAfterCallback && len(s.cfg.CallbackSecret) > 0 {
		kind := CallCallbacksFailed
		if s.deliver(r.CallbackURL, tr.t) { // the centre's callback handler never calls back here
			kind = CallCallbacks
		}
		s.calls[kind]++
	} else {
		s.emit(tr, tr.t)
	}
	writeJSON(w, http.StatusAccepted, s.advance(tr, now))
}

// judge is the old centre's decision on the account: the reason it
// refuses, or "" and the amount it moves. Called with s.mu held.
func (s *Sim) judge(r platform.TransferRequest) (string, int64) {
	h, ok := s.holders[r.Subject.IDNumber]
	if !ok {
		return platform.RefusalAccountNotFound, 0
	}
	for _, a := range h.accounts {
		if a.centre != r.FromCentre || a.ref != r.AccountRef {
			continue
		}
		switch {
		case h.name != r.Subject.Name:
			return platform.RefusalPersonMismatch, 0
		case a.status == platform.StatusFrozen:
			return platform.RefusalFrozen, 0
		case a.status != platform.StatusSealed:
			return platform.RefusalNotSealed, 0
		}
		return "", a.balanceFen
	}
	return platform.RefusalAccountNotFound, 0
}

// advance moves a transfer on to where the clock has brought it: nothing
// while its old centre is down; at decideAt refused, or accepted and the
// funds moved (the account then gone from the old centre). Called with
// s.mu held.
func (s *Sim) advance(tr *transfer, now time.Time) platform.Transfer {
	if tr.t.Status != platform.TransferSent || now.Before(tr.decideAt) || s.behaviour.Centres[tr.req.FromCentre].Down {
		return tr.t
	}
	tr.t.UpdatedAt = services.Instant(now)
	if tr.refusal != "" {
		tr.t.Status, tr.t.Reason, tr.t.Sequence = platform.TransferRefused, tr.refusal, tr.t.Sequence+1
		s.emit(tr, tr.t)
		return tr.t
	}
	// accepted (sequence 2), then the funds moved (3).
	accepted := tr.t
	accepted.Status, accepted.Sequence = platform.TransferAccepted, tr.t.Sequence+1
	tr.t.Status, tr.t.AmountFen, tr.t.Sequence = platform.TransferFundsMoved, tr.amount, tr.t.Sequence+2
	s.emit(tr, accepted, tr.t)
	h := s.holders[tr.req.Subject.IDNumber]
	kept := h.accounts[:0:0]
	for _, a := range h.accounts {
		if a.centre != tr.req.FromCentre || a.ref != tr.req.AccountRef {
			kept = append(kept, a)
		}
	}
	h.accounts = kept
	s.holders[tr.req.Subject.IDNumber] = h
	return tr.t
}

// transferStatus is GET /platform/v1/transfers/{platform_ref}.
func (s *Sim) transferStatus(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tr, ok := s.transfers[r.PathValue("ref")]
	if !ok {
		problem(w, http.StatusNotFound, platform.ProblemNotFound)
		return
	}
	writeJSON(w, http.StatusOK, s.advance(tr, s.cfg.Now()))
}

// cancelTransfer is POST /platform/v1/transfers/{platform_ref}/cancel:
// before the old centre decides, cancelled; cancelled already, the same;
// after, 409 not_cancelable.
func (s *Sim) cancelTransfer(w http.ResponseWriter, r *http.Request, _ []byte) {
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	tr, ok := s.transfers[r.PathValue("ref")]
	if !ok {
		problem(w, http.StatusNotFound, platform.ProblemNotFound)
		return
	}
	switch s.advance(tr, now).Status {
	case platform.TransferSent:
		tr.t.Status, tr.t.Sequence, tr.t.UpdatedAt = platform.TransferCancelled, tr.t.Sequence+1, services.Instant(now)
		s.emit(tr, tr.t)
	case platform.TransferCancelled:
	default:
		problem(w, http.StatusConflict, platform.ProblemNotCancelable)
		return
	}
	writeJSON(w, http.StatusOK, tr.t)
}

func validURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && len(raw) <= 512 && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
