// Package platformsim simulates the national HPF transfer and information
// platform (services/platform's contract, docs/platform-contract.md) and
// the other centres behind it, for the embedded profile, the contract
// tests and the end-to-end tests. It behaves like the real platform where
// handheld can tell: it checks each request's key, signature window and
// nonce (each nonce once), refuses a requesting centre it does not know,
// answers a person's accounts at every centre but the requesting one,
// carries transfers between centres (transfers.go), and obeys behaviour
// switches (Behaviour) that tests set in process or over HTTP
// (AdminHandler's /_sim endpoints): the whole platform down or slow, a
// centre not answering, refusing transfers or taking days to decide.
//
// Its holders are seeded so that some of the core simulator's demo
// personas (services/coresim/personas.go) have accounts elsewhere: 吴敏 a
// sealed account in Beijing, 欧阳晓峰 a normal one in Shanghai, 周强 a frozen
// one in Chengdu; everyone else none. The README says so too.
package platformsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"sync"
	"time"

	"handheld/services/core"
	"handheld/services/platform"
)

// Config configures a simulator.
type Config struct {
	// Keys are the accepted key ids and their HMAC secrets.
	Keys map[string][]byte
	// Now is the clock for signature windows and the seed's months; nil
	// means time.Now.
	Now func() time.Time
	// PlatformKeyID and PlatformSecret are the platform's own key, which
	// signs its calls to centres (a forwarded certificate verification);
	// HTTPClient carries them (nil: http.DefaultClient).
	PlatformKeyID  string
	PlatformSecret []byte
	HTTPClient     *http.Client
	// CallbackKeyID and CallbackSecret are the platform's own key, which
	// signs its callbacks to the requesting centre (callbacks.go); no
	// secret, no callbacks. CallbackClient carries them; nil means
	// http.DefaultClient.
	CallbackKeyID  string
	CallbackSecret []byte
	CallbackClient *http.Client
}

// Sim is a running simulator; Handler serves the platform's API,
// AdminHandler that and the /_sim switches.
type Sim struct {
	cfg     Config
	centres []platform.Centre

	mu        sync.Mutex
	holders   map[string]holder // by ID number
	behaviour Behaviour
	nonces    *core.NonceStore
	calls     map[string]int64
	queries   int64
	// transfers by platform ref; byTransferRef maps the requesting
	// centre's to_centre/transfer_ref to it.
	transfers     map[string]*transfer
	byTransferRef map[string]string
	transferN     int64
	// endpoints are the base URLs of centres the platform calls (by code).
	endpoints map[string]string
	// sending counts callbacks on their way (Flush).
	sending sync.WaitGroup
	// reports are the daily reports received, by centre, day and
	// version (reports.go), in the order first received.
	reports     map[string]*storedReport
	reportOrder []string
}

// New builds a simulator seeded with the demo holders.
func New(cfg Config) *Sim {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Sim{cfg: cfg, centres: centres(), holders: seed(), nonces: core.NewNonceStore(0), calls: map[string]int64{}}
}

// The call counters of Calls and GET /_sim/calls.
const (
	CallAccounts = "accounts" // account queries answered or refused after the signature check
	CallCentres  = "centres"
	CallRefused  = "refused" // requests refused at the signature check
)

// Calls counts calls of one kind, so tests can show that a request did
// or did not reach the platform.
func (s *Sim) Calls(kind string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[kind]
}

func (s *Sim) count(kind string) {
	s.mu.Lock()
	s.calls[kind]++
	s.mu.Unlock()
}

// SetOutage switches the whole platform off (503 unavailable) or on again.
func (s *Sim) SetOutage(on bool) {
	s.mu.Lock()
	s.behaviour.Outage = on
	s.mu.Unlock()
}

// Handler serves the platform's API.
func (s *Sim) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+platform.PathHealth, func(w http.ResponseWriter, r *http.Request) {
		if s.Behaviour().Outage {
			problem(w, http.StatusServiceUnavailable, platform.ProblemUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"ok"}`)
	})
	mux.HandleFunc("GET "+platform.PathCentres, s.signed(CallCentres, func(w http.ResponseWriter, _ *http.Request, _ []byte) {
		writeJSON(w, http.StatusOK, platform.Centres{Items: s.centres})
	}))
	mux.HandleFunc("POST "+platform.PathAccounts, s.signed(CallAccounts, s.accounts))
	mux.HandleFunc("POST "+platform.PathTransfers, s.signed(CallTransfers, s.requestTransfer))
	mux.HandleFunc("GET "+platform.PathTransfers+"/{ref}", s.signed(CallTransfers, s.transferStatus))
	mux.HandleFunc("POST "+platform.PathTransfers+"/{ref}/cancel", s.signed(CallTransfers, s.cancelTransfer))
	mux.HandleFunc("POST "+platform.PathCertificateVerifications, s.signed(CallVerifications, s.verifyCertificate))
	mux.HandleFunc("POST "+platform.PathDailyReports, s.signed(CallReports, s.dailyReport))
	return mux
}

// problem writes the platform's error body.
func problem(w http.ResponseWriter, status int, code string) {
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "60")
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(platform.Problem{Code: code})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// maxBody caps a request body: a daily report of every service of a
// catalogue fits in a few tens of kilobytes.
const maxBody = 64 << 10

// signed wraps an API handler: the body read (bounded), the signature and
// nonce checked, the call counted, the platform's latency and outage
// applied, in that order.
func (s *Sim) signed(kind string, h func(w http.ResponseWriter, r *http.Request, body []byte)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
		if err != nil || len(body) > maxBody {
			problem(w, http.StatusBadRequest, platform.ProblemInvalid)
			return
		}
		if !s.verify(r, body) {
			s.count(CallRefused)
			problem(w, http.StatusUnauthorized, platform.ProblemBadSignature)
			return
		}
		s.count(kind)
		b := s.Behaviour()
		if b.Latency > 0 {
			select {
			case <-time.After(time.Duration(b.Latency)):
			case <-r.Context().Done():
				return
			}
		}
		if b.Outage {
			problem(w, http.StatusServiceUnavailable, platform.ProblemUnavailable)
			return
		}
		h(w, r, body)
	}
}

var idNumber = regexp.MustCompile(`^[0-9]{17}[0-9X]$`)

func (s *Sim) accounts(w http.ResponseWriter, _ *http.Request, body []byte) {
	var q platform.AccountQuery
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&q); err != nil || !idNumber.MatchString(q.Subject.IDNumber) || q.Subject.Name == "" ||
		len([]rune(q.Subject.Name)) > 64 || !slices.Contains([]string{platform.PurposeAccountsElsewhere, "transfer", "certificate"}, q.Purpose) {
		problem(w, http.StatusBadRequest, platform.ProblemInvalid)
		return
	}
	if !s.known(q.RequestingCentre) {
		problem(w, http.StatusBadRequest, platform.ProblemUnknownCentre)
		return
	}
	now := s.cfg.Now()
	s.mu.Lock()
	s.queries++
	n := s.queries
	h, ok := s.holders[q.Subject.IDNumber]
	b := s.behaviour.clone()
	s.mu.Unlock()
	answer := platform.AccountsAnswer{Reference: fmt.Sprintf("PQ-%s-%06d", now.UTC().Format("20060102"), n),
		Accounts: []platform.Account{}, Unanswered: []string{}}
	for _, c := range s.centres {
		if c.Code != q.RequestingCentre && b.Centres[c.Code].Down {
			answer.Unanswered = append(answer.Unanswered, c.Code)
		}
	}
	// The platform matches a person by ID number and name, as the
	// centres register them: the right number with another name is no
	// one it knows.
	if ok && h.name == q.Subject.Name {
		for _, a := range h.accounts {
			if a.centre == q.RequestingCentre || b.Centres[a.centre].Down {
				continue
			}
			answer.Accounts = append(answer.Accounts, s.view(a, now))
		}
	}
	writeJSON(w, http.StatusOK, answer)
}

// view is an account as the platform answers it.
func (s *Sim) view(a account, now time.Time) platform.Account {
	c := s.centre(a.centre)
	out := platform.Account{Centre: a.centre, CentreName: c.Name, AccountRef: a.ref, Status: a.status,
		BalanceShared: c.BalanceShared, LastDepositMonth: month(now, a.lastAgo), UnitName: a.unit, OpenedOn: a.openedOn}
	if c.BalanceShared {
		b := a.balanceFen
		out.BalanceFen = &b
	}
	return out
}

func (s *Sim) centre(code string) platform.Centre {
	for _, c := range s.centres {
		if c.Code == code {
			return c
		}
	}
	return platform.Centre{Code: code}
}

func (s *Sim) known(code string) bool { return s.centre(code).Name != "" }

// verify checks the key, the signature window and the nonce (each once).
func (s *Sim) verify(r *http.Request, body []byte) bool {
	return core.VerifyRequest(r, body, core.SignHeaders{KeyID: platform.HeaderKeyID, Timestamp: platform.HeaderTimestamp,
		Nonce: platform.HeaderNonce, Signature: platform.HeaderSignature}, s.cfg.Keys, s.nonces, s.cfg.Now())
}
