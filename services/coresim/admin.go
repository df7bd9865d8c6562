package coresim

import (
	"io"
	"net/http"

	"handheld/services/core"
)

// AdminHandler is Handler plus the simulator's knobs, for the standalone
// server only (the BFF never exposes it); the knobs are not signed:
//
//	GET  /_sim/faults       the fault spec in force (text)
//	PUT  /_sim/faults       replace it (body: a spec, see ParseFaults); 204, 400 on a syntax error
//	GET  /_sim/maintenance  the window in force (text, "" for none)
//	PUT  /_sim/maintenance  replace it (body: "23:00-01:00" or empty); 204, 400 on a syntax error
//	GET  /_sim/calls        calls per endpoint group (JSON), for e2e and load runs
func (s *Sim) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_sim/faults", func(w http.ResponseWriter, r *http.Request) {
		writeText(w, s.CurrentFaults().String())
	})
	mux.HandleFunc("PUT /_sim/faults", func(w http.ResponseWriter, r *http.Request) {
		s.putKnob(w, r, s.SetFaults)
	})
	mux.HandleFunc("GET /_sim/maintenance", func(w http.ResponseWriter, r *http.Request) {
		writeText(w, s.Maintenance())
	})
	mux.HandleFunc("PUT /_sim/maintenance", func(w http.ResponseWriter, r *http.Request) {
		s.putKnob(w, r, s.SetMaintenance)
	})
	mux.HandleFunc("GET /_sim/calls", func(w http.ResponseWriter, r *http.Request) {
		counts := map[string]int64{GroupAll: s.Calls(GroupAll)}
		for _, g := range callGroups() {
			counts[g] = s.Calls(g)
		}
		writeJSON(w, http.StatusOK, counts)
	})
	mux.Handle("/", s.handler)
	return mux
}

// putKnob reads a small text body and applies it with set.
func (s *Sim) putKnob(w http.ResponseWriter, r *http.Request, set func(string) error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 4096))
	if err != nil {
		writeError(w, &apiError{status: http.StatusRequestEntityTooLarge, code: core.ErrBadRequest, msg: "spec over 4 KiB"})
		return
	}
	if err := set(string(body)); err != nil {
		writeError(w, badRequest(err.Error()))
		return
	}
	s.log.Info("coresim: knob changed", "path", r.URL.Path)
	w.WriteHeader(http.StatusNoContent)
}

func writeText(w http.ResponseWriter, s string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, s+"\n")
}
