package platformsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"time"

	"handheld/services/platform"
)

// Duration is a time.Duration written as Go writes it ("2s", "72h") in
// the /_sim JSON.
type Duration time.Duration

// MarshalText writes the duration as Go does.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText reads a Go duration, not negative.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil || v < 0 {
		return fmt.Errorf("duration %q: want a Go duration such as 2s, not negative", b)
	}
	*d = Duration(v)
	return nil
}

// Behaviour is how the platform and the centres behind it behave now.
type Behaviour struct {
	// Outage: every call but the /_sim switches answers 503 unavailable
	// with Retry-After.
	Outage bool `json:"outage"`
	// Latency is added to every signed call (a slow platform; longer than
	// the client's deadline is a timeout).
	Latency Duration `json:"latency"`
	// Centres are the switches of single centres, by code.
	Centres map[string]CentreBehaviour `json:"centres,omitempty"`
	// DropCallbacks: transfer callbacks are lost on the way (the
	// requesting centre must poll). DuplicateCallbacks: each is sent twice.
	DropCallbacks      bool `json:"drop_callbacks,omitempty"`
	DuplicateCallbacks bool `json:"duplicate_callbacks,omitempty"`
	// AnswerAfterCallback: a transfer request is answered only once its
	// first callback (sent) has reached the requesting centre, whatever
	// DropCallbacks says of it, so the centre hears of the transfer
	// before it has recorded the answer (a fast platform behind a slow
	// network).
	AnswerAfterCallback bool `json:"answer_after_callback,omitempty"`
	// LoseReportAnswers: the next so many daily reports are kept, and
	// then answered 503 as if the answer were lost on the way (the centre
	// delivers them again).
	LoseReportAnswers int `json:"lose_report_answers,omitempty"`
}

// CentreBehaviour is one centre's switches.
type CentreBehaviour struct {
	// Down: the centre does not answer. Account queries list it in
	// unanswered and leave its accounts out.
	Down bool `json:"down,omitempty"`
	// Refuse is the reason (one of platform.Refusals) the centre gives
	// for refusing a transfer out asked for while it is set; "" lets the
	// account decide.
	Refuse string `json:"refuse,omitempty"`
	// AcceptAfter is how long after a transfer is asked for the centre
	// decides it (days, at a real centre); zero decides at once.
	AcceptAfter Duration `json:"accept_after,omitempty"`
}

func (b Behaviour) clone() Behaviour {
	b.Centres = maps.Clone(b.Centres)
	return b
}

// Behaviour is the behaviour in force.
func (s *Sim) Behaviour() Behaviour {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.behaviour.clone()
}

// SetBehaviour replaces the behaviour; a centre or a refusal reason the
// platform does not know is refused, so a test's typo fails loudly.
func (s *Sim) SetBehaviour(b Behaviour) error {
	if b.LoseReportAnswers < 0 {
		return fmt.Errorf("lose_report_answers: not negative")
	}
	for code, cb := range b.Centres {
		if !s.known(code) {
			return fmt.Errorf("centres[%s]: unknown centre", code)
		}
		if cb.Refuse != "" && !slices.Contains(platform.Refusals(), cb.Refuse) {
			return fmt.Errorf("centres[%s].refuse: %q, want one of %v", code, cb.Refuse, platform.Refusals())
		}
	}
	s.mu.Lock()
	s.behaviour = b.clone()
	s.mu.Unlock()
	return nil
}

// Holding is an account a test gives a person over /_sim/holders.
type Holding struct {
	Centre          string `json:"centre"`
	AccountRef      string `json:"account_ref"`
	Status          string `json:"status"`
	BalanceFen      int64  `json:"balance_fen"`
	MonthsSinceLast int    `json:"months_since_last"`
	UnitName        string `json:"unit_name"`
	OpenedOn        string `json:"opened_on"`
}

// SetHolder replaces the accounts the platform knows under an ID number
// and name (none: the person has no account elsewhere).
func (s *Sim) SetHolder(idNumberValue, name string, accounts []Holding) error {
	if !idNumber.MatchString(idNumberValue) || name == "" {
		return fmt.Errorf("holder: a valid ID number and a name are required")
	}
	h := holder{name: name}
	for i, a := range accounts {
		if !s.known(a.Centre) || !slices.Contains(platform.Statuses(), a.Status) || a.AccountRef == "" || a.BalanceFen < 0 || a.MonthsSinceLast < 0 {
			return fmt.Errorf("holder: accounts[%d]: a known centre, a status of %v, a reference and no negative figures", i, platform.Statuses())
		}
		h.accounts = append(h.accounts, account{centre: a.Centre, ref: a.AccountRef, status: a.Status, balanceFen: a.BalanceFen,
			lastAgo: a.MonthsSinceLast, unit: a.UnitName, openedOn: a.OpenedOn})
	}
	s.mu.Lock()
	s.holders[idNumberValue] = h
	s.mu.Unlock()
	return nil
}

// AdminHandler is Handler plus the simulator's switches, for tests and a
// standalone simulator only (the BFF never exposes it); the switches are
// not signed:
//
//	GET  /_sim/behaviour   the behaviour in force (JSON Behaviour)
//	PUT  /_sim/behaviour   replace it; 204, 400 naming what is wrong
//	PUT  /_sim/holders     {"id_number","name","accounts":[Holding…]}: replace a person's accounts; 204
//	GET  /_sim/calls       calls by kind (accounts, centres, transfers, refused, reports, ...)
//	GET  /_sim/reports     the daily reports received (?centre=&day=), every version, with deliveries
func (s *Sim) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_sim/behaviour", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.Behaviour())
	})
	mux.HandleFunc("PUT /_sim/behaviour", func(w http.ResponseWriter, r *http.Request) {
		var b Behaviour
		if err := decodeStrict(w, r, &b); err != nil {
			adminError(w, err)
			return
		}
		if err := s.SetBehaviour(b); err != nil {
			adminError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("PUT /_sim/holders", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			IDNumber string    `json:"id_number"`
			Name     string    `json:"name"`
			Accounts []Holding `json:"accounts"`
		}
		if err := decodeStrict(w, r, &body); err != nil {
			adminError(w, err)
			return
		}
		if err := s.SetHolder(body.IDNumber, body.Name, body.Accounts); err != nil {
			adminError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /_sim/calls", func(w http.ResponseWriter, _ *http.Request) {
		out := map[string]int64{}
		for _, k := range []string{CallAccounts, CallCentres, CallTransfers, CallVerifications, CallRefused, CallCallbacks, CallCallbacksFailed, CallCallbacksDrop,
			CallReports, CallReportConflicts} {
			out[k] = s.Calls(k)
		}
		writeJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("GET /_sim/reports", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string][]ReceivedReport{"items": reportsOf(s.Reports(), r.URL.Query().Get("centre"), r.URL.Query().Get("day"))})
	})
	mux.HandleFunc("POST /_sim/certificate-verifications", s.simVerify)
	mux.Handle("/", s.Handler())
	return mux
}

// decodeStrict reads a small JSON body, refusing unknown fields.
func decodeStrict(w http.ResponseWriter, r *http.Request, v any) error {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 16<<10))
	if err != nil {
		return fmt.Errorf("body over 16 KiB")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func adminError(w http.ResponseWriter, err error) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(platform.Problem{Code: platform.ProblemInvalid, Detail: err.Error()})
}
