package coresim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"handheld/services/core"
)

func TestCallsAreCountedPerGroup(t *testing.T) {
	h := newHarness(t)
	id := h.personID("张伟") // person +1
	var x any
	h.get(path(core.PathAccount, id), &x)
	h.get(path(core.PathLoan, id), &x)
	h.get(path(core.PathLoanSchedule, id), &x)
	h.get(core.PathHealth, &x)
	want := map[string]int64{GroupPerson: 1, GroupAccount: 1, GroupLoan: 2, GroupHealth: 1, GroupDeposits: 0, GroupAll: 5}
	for g, n := range want {
		if got := h.sim.Calls(g); got != n {
			t.Errorf("Calls(%s) = %d, want %d", g, got, n)
		}
	}
	var counts map[string]int64
	resp, err := h.http.Get(h.srv.URL + "/_sim/calls")
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&counts)
	resp.Body.Close()
	if counts[GroupLoan] != 2 || counts[GroupAll] != 5 {
		t.Errorf("/_sim/calls = %v", counts)
	}
}

func TestReopenKeepsDataAndDoesNotReseed(t *testing.T) {
	cfgPath := ""
	h := newHarness(t, withFile(t), func(c *Config) { cfgPath = c.Path })
	id := h.personID("李娜")
	resp, b := h.request(http.MethodPut, path(core.PathWithdrawal, "app-reopen"), core.Withdrawal{
		ApplicationID: "app-reopen", PersonID: id, Kind: "07", AmountFen: 150000, PayoutMethod: "bank_card", PayoutAccount: "6222"}, signing{})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("submit: %d %s", resp.StatusCode, b)
	}
	persons := h.sim.count("SELECT count(*) FROM persons")

	sim2, err := Open(context.Background(), Config{Path: cfgPath, Keys: map[string][]byte{"k": []byte("s")}, Now: h.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer sim2.Close()
	if got := sim2.count("SELECT count(*) FROM persons"); got != persons || persons != len(demoPeople())+seededStaff(false) {
		t.Errorf("persons after reopen: %d, before %d, seed %d", got, persons, len(demoPeople()))
	}
	if sim2.WithdrawalCount("app-reopen") != 1 || sim2.Withdrawals() != 1 {
		t.Errorf("the withdrawal did not survive a reopen")
	}
}

// TestLogsCarryNoPersonalData drives every kind of call, failures
// included, with debug logging on and looks for any personal value.
func TestLogsCarryNoPersonalData(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := newHarness(t, func(c *Config) { c.Logger = logger; c.Faults = "loan=error:1" })
	var secrets []string
	for _, p := range h.sim.Personas() {
		secrets = append(secrets, p.Name, p.IDNumber, p.FaceToken, p.Password)
		if p.Role == "employer" {
			h.request(http.MethodPost, core.PathOperatorAuth, core.OperatorLogin{UnitCode: p.UnitCode, OperatorID: p.OperatorID, Password: p.Password}, signing{})
			h.request(http.MethodPost, core.PathOperatorAuth, core.OperatorLogin{UnitCode: p.UnitCode, OperatorID: p.OperatorID, Password: "wrong"}, signing{})
			continue
		}
		h.request(http.MethodPost, core.PathFaceVerify, core.FaceCheck{Name: p.Name, IDNumber: p.IDNumber, FaceToken: p.FaceToken}, signing{})
		id := h.personID(p.Name)
		var person core.Person
		h.get(path(core.PathPerson, id), &person)
		secrets = append(secrets, id, person.Phone, person.BankCard)
		for _, q := range []string{core.PathAccount, core.PathDeposits, core.PathLoan, core.PathCertificateFacts} {
			h.request(http.MethodGet, path(q, id), nil, signing{})
		}
		h.request(http.MethodPut, path(core.PathWithdrawal, "log-"+id), core.Withdrawal{PersonID: id, Kind: "07", AmountFen: 100, PayoutMethod: "bank_card", PayoutAccount: person.BankCard}, signing{})
		h.request(http.MethodPost, core.PathPersonVerify, core.RealNameCheck{Name: p.Name, IDNumber: p.IDNumber}, signing{secret: "wrong"})
	}
	put(t, h, "/_sim/faults", "person=latency:1ms", http.StatusNoContent)

	logs := buf.String()
	if !strings.Contains(logs, `"msg":"coresim call"`) || !strings.Contains(logs, `"status":401`) {
		t.Fatalf("the calls were not logged; the check below would prove nothing:\n%.500s", logs)
	}
	for _, s := range append(secrets, testSecret) {
		if s != "" && strings.Contains(logs, s) {
			t.Errorf("the log contains personal or secret data %q", s)
		}
	}
}

func TestOpenValidatesItsConfig(t *testing.T) {
	ctx := context.Background()
	bad := []Config{
		{Faults: "loan=sometimes"},
		{Maintenance: "at night"},
		{Path: "coresim.db?mode=ro"},
		{Keys: map[string][]byte{"": []byte("s")}},
		{Keys: map[string][]byte{"k": nil}},
	}
	for _, cfg := range bad {
		if sim, err := Open(ctx, cfg); err == nil {
			sim.Close()
			t.Errorf("Open(%+v) succeeded", cfg)
		}
	}

	// No keys is allowed (tools that only list personas), and refuses calls.
	sim, err := Open(ctx, Config{Now: func() time.Time { return testNow }, BcryptCost: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	if len(sim.Personas()) == 0 {
		t.Error("no personas")
	}
	rec := httptest.NewRecorder()
	sim.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, core.PathHealth, nil))
	if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), core.ErrBadSignature) {
		t.Errorf("unsigned call without keys: %d %s", rec.Code, rec.Body)
	}
}

// TestConcurrentCallsOnAFile mixes reads and writes from many goroutines on
// a WAL database: no call may fail with a busy or locked database.
func TestConcurrentCallsOnAFile(t *testing.T) {
	h := newHarness(t, withFile(t), func(c *Config) { c.ReviewDelay = time.Millisecond; c.PayoutDelay = time.Millisecond })
	ids := []string{h.personID("张伟"), h.personID("李娜"), h.personID("周强")}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 25 {
				id := ids[(g+i)%len(ids)]
				var resp *http.Response
				var b []byte
				switch i % 3 {
				case 0:
					resp, b = h.request(http.MethodPut, path(core.PathWithdrawal, fmt.Sprintf("c-%d-%d", g, i)),
						core.Withdrawal{PersonID: id, Kind: "01", AmountFen: 100, PayoutMethod: "ecny", PayoutAccount: "1"}, signing{})
				case 1:
					resp, b = h.request(http.MethodGet, path(core.PathAccount, id), nil, signing{})
				default:
					resp, b = h.request(http.MethodGet, path(core.PathDeposits, id)+"?limit=5", nil, signing{})
				}
				if resp.StatusCode >= 300 {
					t.Errorf("call %d/%d: %d %s", g, i, resp.StatusCode, b)
				}
				h.clock.Advance(time.Millisecond)
			}
		})
	}
	wg.Wait()
	if n := h.sim.Withdrawals(); n != 8*9 {
		t.Errorf("%d withdrawals stored, want %d", n, 8*9)
	}
	for _, id := range ids {
		var a core.Account
		h.get(path(core.PathAccount, id), &a)
		checkLedger(t, allDeposits(t, h, id, ""), a)
	}
}
