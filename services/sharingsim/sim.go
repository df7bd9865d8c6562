// Package sharingsim simulates the government data-sharing exchange
// (services/sharing's contract, docs/sharing-contract.md) for the embedded
// profile, the contract tests and the end-to-end tests. It behaves like the
// real exchange where handheld can tell: it checks each request's signature
// and nonce, refuses a question without a consent reference, answers 404
// person_not_found for an ID number no source knows, answers a deed whose
// owner is someone else with owner_matches false, takes its time (Latency)
// and can be switched off (SetOutage) to answer 503 with Retry-After.
//
// Its records are seeded so that the core simulator's demo personas
// (services/coresim/personas.go) have matching facts: 李娜's purchase is
// satisfied by her deed, 吴敏 has no critical-illness settlement (her
// application needs an upload), 赵建国 is retired, 周强's household has
// moved out of the city, 欧阳晓峰's deed number names another owner, and
// 陈静 is unknown to every source. The README personas table says so too.
package sharingsim

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"handheld/services/core"
	"handheld/services/sharing"
)

// Config configures a simulator.
type Config struct {
	// Keys are the accepted key ids and their HMAC secrets.
	Keys map[string][]byte
	// Latency is added to every answer (the real exchange answers in
	// hundreds of milliseconds).
	Latency time.Duration
	// Now is the clock for signature windows; nil means time.Now.
	Now func() time.Time
}

// Sim is a running simulator; its Handler serves the exchange's API.
type Sim struct {
	cfg    Config
	people map[string]person // by ID number
	outage atomic.Bool
	asked  atomic.Int64

	mu     sync.Mutex
	nonces *core.NonceStore
}

// New builds a simulator seeded with the demo records.
func New(cfg Config) *Sim {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Sim{cfg: cfg, people: seed(), nonces: core.NewNonceStore(0)}
}

// SetOutage switches every source off (503 unavailable) or on again.
func (s *Sim) SetOutage(on bool) { s.outage.Store(on) }

// Asked counts the questions answered or refused after the signature check,
// so tests can show that a read did not ask the sources.
func (s *Sim) Asked() int64 { return s.asked.Load() }

// Handler serves the exchange's API.
func (s *Sim) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+sharing.PathHealth, func(w http.ResponseWriter, r *http.Request) {
		if s.outage.Load() {
			problem(w, http.StatusServiceUnavailable, sharing.ProblemUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"ok"}`)
	})
	mux.HandleFunc("POST "+sharing.PathQuery, s.query)
	return mux
}

// problem writes the exchange's error body.
func problem(w http.ResponseWriter, status int, code string) {
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "60")
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(sharing.Problem{Code: code})
}

func (s *Sim) query(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 16<<10))
	if err != nil {
		problem(w, http.StatusBadRequest, sharing.ProblemInvalid)
		return
	}
	if !s.verify(r, body) {
		problem(w, http.StatusUnauthorized, sharing.ProblemBadSignature)
		return
	}
	s.asked.Add(1)
	if s.cfg.Latency > 0 {
		select {
		case <-time.After(s.cfg.Latency):
		case <-r.Context().Done():
			return
		}
	}
	if s.outage.Load() {
		problem(w, http.StatusServiceUnavailable, sharing.ProblemUnavailable)
		return
	}
	var q sharing.Query
	dec := json.NewDecoder(bytesReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&q); err != nil || q.Subject.IDNumber == "" || q.Subject.Name == "" || q.Purpose == "" {
		problem(w, http.StatusBadRequest, sharing.ProblemInvalid)
		return
	}
	if src, ok := sharing.FactSource(q.Fact); !ok || src != q.Source {
		problem(w, http.StatusBadRequest, sharing.ProblemInvalid)
		return
	}
	if q.ConsentRef == "" {
		problem(w, http.StatusForbidden, sharing.ProblemConsentRequired)
		return
	}
	p, ok := s.people[q.Subject.IDNumber]
	if !ok {
		problem(w, http.StatusNotFound, sharing.ProblemPersonNotFound)
		return
	}
	a := p.answer(q)
	a.Source, a.Fact = q.Source, q.Fact
	a.Reference = reference(q.Source, s.asked.Load(), s.cfg.Now())
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(a)
}

// verify checks the key, the signature window and the nonce (each once).
func (s *Sim) verify(r *http.Request, body []byte) bool {
	return core.VerifyRequest(r, body, core.SignHeaders{KeyID: sharing.HeaderKeyID, Timestamp: sharing.HeaderTimestamp,
		Nonce: sharing.HeaderNonce, Signature: sharing.HeaderSignature}, s.cfg.Keys, s.nonces, s.cfg.Now())
}

// reference is the source's id of the question, as the real sources log it.
func reference(source string, n int64, now time.Time) string {
	return "GX-" + source + "-" + now.UTC().Format("20060102") + "-" + strconv.FormatInt(100000+n, 10)
}
