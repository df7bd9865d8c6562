package coresim

import (
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"handheld/services/core"
)

// Endpoint groups: faults are set and calls counted per group.
const (
	GroupPerson      = "person"      // real-name and face checks, person records
	GroupAccount     = "account"     // account summary
	GroupDeposits    = "deposits"    // deposit history
	GroupLoan        = "loan"        // loan summary and schedule
	GroupEmployer    = "employer"    // operator login, unit, staff
	GroupWithdrawal  = "withdrawal"  // submit, poll, cancel
	GroupCertificate = "certificate" // certificate facts
	GroupHealth      = "health"      // health: counted, faulted only through "all"
	// GroupCollection is not a call group: its faults act on the unit's
	// bank collecting a declared bill (latency delays it, error:<rate>
	// fails it with that probability, down fails every one).
	GroupCollection = "collection"
	GroupAll        = "all" // in a fault spec: every call; in Calls: the total
)

// callGroups lists the groups a call can belong to.
func callGroups() []string {
	return []string{GroupPerson, GroupAccount, GroupDeposits, GroupLoan, GroupEmployer, GroupWithdrawal, GroupCertificate, GroupHealth}
}

// FaultKind names what a fault does to a call.
type FaultKind string

// The fault kinds.
const (
	FaultLatency FaultKind = "latency" // sleep Latency before answering
	FaultError   FaultKind = "error"   // answer 500 or 502 unavailable with probability Rate
	FaultDown    FaultKind = "down"    // drop the connection without an answer
)

// Fault is one injected misbehaviour.
type Fault struct {
	Kind    FaultKind
	Latency time.Duration // FaultLatency
	Rate    float64       // FaultError, 0..1
}

func (f Fault) String() string {
	switch f.Kind {
	case FaultLatency:
		return "latency:" + f.Latency.String()
	case FaultError:
		return "error:" + strconv.FormatFloat(f.Rate, 'f', -1, 64)
	default:
		return string(f.Kind)
	}
}

// Faults maps an endpoint group (or "all") to the faults applied, in order,
// to each of its calls.
type Faults map[string][]Fault

// ParseFaults reads a fault spec, the syntax of HANDHELD_CORESIM_FAULTS:
// "group=fault[,fault...][;group=...]", e.g.
// "account=latency:50ms,error:0.2;loan=error:1.0;withdrawal=down". Groups are
// person, account, deposits, loan, employer, withdrawal, certificate, collection (the bank collecting declared bills) and
// all; faults are latency:<Go duration>, error:<rate 0..1> and down. A group
// named twice gets both lists. "" means no faults.
func ParseFaults(spec string) (Faults, error) {
	out := Faults{}
	for part := range strings.SplitSeq(spec, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		group, list, ok := strings.Cut(part, "=")
		group = strings.TrimSpace(group)
		if !ok {
			return nil, fmt.Errorf("%q: want group=fault[,fault]", part)
		}
		if group != GroupAll && group != GroupCollection && (group == GroupHealth || !slices.Contains(callGroups(), group)) {
			return nil, fmt.Errorf("%q: unknown group %q (want person, account, deposits, loan, employer, withdrawal, certificate, collection or all)", part, group)
		}
		for item := range strings.SplitSeq(list, ",") {
			f, err := parseFault(strings.TrimSpace(item))
			if err != nil {
				return nil, fmt.Errorf("%q: %w", part, err)
			}
			out[group] = append(out[group], f)
		}
	}
	return out, nil
}

func parseFault(s string) (Fault, error) {
	name, arg, hasArg := strings.Cut(s, ":")
	switch FaultKind(name) {
	case FaultDown:
		if hasArg {
			return Fault{}, fmt.Errorf("fault %q: down takes no argument", s)
		}
		return Fault{Kind: FaultDown}, nil
	case FaultLatency:
		d, err := time.ParseDuration(arg)
		if err != nil || d < 0 || d > 10*time.Minute {
			return Fault{}, fmt.Errorf("fault %q: want latency:<duration between 0 and 10m>, e.g. latency:50ms", s)
		}
		return Fault{Kind: FaultLatency, Latency: d}, nil
	case FaultError:
		r, err := strconv.ParseFloat(arg, 64)
		if err != nil || !(r >= 0 && r <= 1) {
			return Fault{}, fmt.Errorf("fault %q: want error:<rate from 0 to 1>, e.g. error:0.2", s)
		}
		return Fault{Kind: FaultError, Rate: r}, nil
	default:
		return Fault{}, fmt.Errorf("fault %q: unknown (want latency:<duration>, error:<rate> or down)", s)
	}
}

// String renders the spec back in ParseFaults syntax, groups in a fixed
// order, so GET /_sim/faults shows what is in force.
func (f Faults) String() string {
	var parts []string
	for _, g := range append([]string{GroupAll}, append(callGroups(), GroupCollection)...) {
		if len(f[g]) == 0 {
			continue
		}
		items := make([]string, len(f[g]))
		for i, x := range f[g] {
			items[i] = x.String()
		}
		parts = append(parts, g+"="+strings.Join(items, ","))
	}
	return strings.Join(parts, ";")
}

// SetFaults replaces the faults in force; safe while serving. An invalid
// spec changes nothing.
func (s *Sim) SetFaults(spec string) error {
	f, err := ParseFaults(spec)
	if err != nil {
		return err
	}
	s.faults.Store(&f)
	return nil
}

// CurrentFaults returns the faults in force.
func (s *Sim) CurrentFaults() Faults { return *s.faults.Load() }

// injectFaults applies the faults for a call's group, then "all". It
// reports whether it answered (or dropped) the call itself.
func (s *Sim) injectFaults(w http.ResponseWriter, r *http.Request, group string) bool {
	f := *s.faults.Load()
	for _, fault := range append(slices.Clip(f[GroupAll]), f[group]...) {
		switch fault.Kind {
		case FaultLatency:
			t := time.NewTimer(fault.Latency)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return true // the caller is gone; nobody reads an answer
			}
		case FaultError:
			if x := s.roll(); x < fault.Rate {
				status := http.StatusInternalServerError
				if x < fault.Rate/2 {
					status = http.StatusBadGateway
				}
				writeError(w, &apiError{status: status, code: core.ErrUnavailable, msg: "injected fault"})
				return true
			}
		case FaultDown:
			dropConnection(w)
			return true
		}
	}
	return false
}

// dropConnection makes the call look like a dead server: the connection is
// reset without an answer. An in-process transport cannot be hijacked, so
// the handler aborts instead (net/http's way to drop a response).
func dropConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0) // close with RST rather than FIN
	}
	conn.Close()
}
