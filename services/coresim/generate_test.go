package coresim

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"handheld/services"
	"handheld/services/core"
)

// digest hashes every row of every table in key order.
func digest(t *testing.T, s *Sim) string {
	return digestOf(t, s,
		"SELECT * FROM units ORDER BY unit_code",
		"SELECT * FROM operators ORDER BY unit_code, operator_id",
		"SELECT * FROM persons ORDER BY person_id",
		"SELECT * FROM accounts ORDER BY person_id",
		"SELECT * FROM deposits ORDER BY person_id, seq",
		"SELECT * FROM loans ORDER BY person_id")
}

// digestOf hashes every row the queries answer, in their order; password
// hashes count as one value, since bcrypt salts differ run to run.
func digestOf(t *testing.T, s *Sim, queries ...string) string {
	t.Helper()
	h := sha256.New()
	for _, q := range queries {
		rows, err := s.rdb.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				if strings.HasSuffix(cols[i], "password_hash") {
					v = "hash"
				}
				fmt.Fprintf(h, "%v|", v)
			}
			h.Write([]byte{'\n'})
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

func TestGenerateIsDeterministicAndResumable(t *testing.T) {
	ctx := context.Background()
	gen := func(steps ...int) (*harness, string) {
		h := newHarness(t)
		for _, n := range steps {
			if err := h.sim.Generate(ctx, n, 42); err != nil {
				t.Fatalf("Generate(%d): %v", n, err)
			}
		}
		return h, digest(t, h.sim)
	}
	// n people span two birth-date blocks of 500 (the ID numbers' day
	// changes at person 500) and end in a part-filled unit; the resumed run
	// stops mid-unit (410 = 8 units and 10 staff) and crosses that block
	// boundary after resuming. Those are the edges a resume can get wrong;
	// a larger n only repeats them.
	const n, resumeAt = 520, 410
	h, first := gen(n)
	_, second := gen(n)
	if first != second {
		t.Errorf("two runs of Generate(%d) differ: %s, %s", n, first, second)
	}
	resumedH, resumed := gen(resumeAt, n, n, 10)
	if resumed != first {
		t.Errorf("Generate(%d) then Generate(%d) differs from Generate(%d): %s, %s", resumeAt, n, n, resumed, first)
	}
	// The digest must see a one-fen change, or the checks above prove nothing.
	if _, err := resumedH.sim.wdb.Exec("UPDATE deposits SET amount_fen = amount_fen + 1 WHERE person_id = ? AND seq = 3", fmt.Sprintf("P2%09d", n-1)); err != nil {
		t.Fatal(err)
	}
	if digest(t, resumedH.sim) == first {
		t.Error("the digest did not change with the data")
	}
	if err := h.sim.Generate(ctx, 10, 43); err == nil {
		t.Error("a second seed in one database was accepted")
	}

	counts := map[string]int{
		"SELECT count(*) FROM persons":                                                          len(demoPeople()) + seededStaff(false) + n,
		"SELECT count(*) FROM accounts":                                                         len(demoPeople()) - 1 + seededStaff(false) + n,
		"SELECT count(*) FROM units":                                                            len(demoUnits()) + seededUnitCount(false) + 11, // 10 full, one of 20
		"SELECT count(*) FROM operators":                                                        len(demoUnits()) + seededUnitCount(false) + len(seededClerks()) + 11,
		"SELECT count(DISTINCT id_number) FROM persons":                                         len(demoPeople()) + seededStaff(false) + n,
		"SELECT count(*) FROM accounts WHERE person_id LIKE 'P2%' AND unit_code = ?":            GeneratedStaffPerUnit,
		"SELECT min(n) FROM (SELECT count(*) AS n FROM deposits GROUP BY person_id)":            2,
		"SELECT count(*) FROM deposits WHERE person_id = 'P2000000000' AND kind = 'remittance'": generatedMonths,
	}
	for q, want := range counts {
		var args []any
		if strings.Contains(q, "?") {
			args = append(args, GeneratedUnitCode(7, 42))
		}
		if got := h.sim.count(q, args...); got != want {
			t.Errorf("%s = %d, want %d", q, got, want)
		}
	}
}

func TestGeneratedPeopleCanSignIn(t *testing.T) {
	h := newHarness(t)
	if err := h.sim.Generate(context.Background(), 120, 9); err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 1, 49, 50, 119} {
		p := GeneratedPersona(i, 9)
		if p.IDNumber != GeneratedIDNumber(i, 9) {
			t.Fatalf("GeneratedIDNumber(%d) disagrees with GeneratedPersona", i)
		}
		resp, b := h.request(http.MethodPost, core.PathFaceVerify, core.FaceCheck{Name: p.Name, IDNumber: p.IDNumber, FaceToken: p.FaceToken}, signing{})
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"match":true`) {
			t.Fatalf("person %d: %d %s", i, resp.StatusCode, b)
		}
		resp, b = h.request(http.MethodPost, core.PathPersonVerify, core.RealNameCheck{Name: p.Name, IDNumber: p.IDNumber}, signing{})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("real-name check of person %d: %d %s", i, resp.StatusCode, b)
		}
	}
	// Every generated ledger must add up, sealed and frozen ones included.
	rows, err := h.sim.rdb.Query("SELECT person_id FROM accounts WHERE person_id LIKE 'P2%' ORDER BY person_id LIMIT 60")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for rows.Next() {
		var id string
		rows.Scan(&id)
		ids = append(ids, id)
	}
	rows.Close()
	for _, id := range ids {
		var a core.Account
		h.get(path(core.PathAccount, id), &a)
		checkLedger(t, allDeposits(t, h, id, ""), a)
	}
	u := GeneratedUnitCode(2, 9)
	resp, b := h.request(http.MethodPost, core.PathOperatorAuth, core.OperatorLogin{UnitCode: u, OperatorID: GeneratedOperatorID, Password: GeneratedOperatorPassword}, signing{})
	if resp.StatusCode != http.StatusOK {
		t.Errorf("generated operator: %d %s", resp.StatusCode, b)
	}
}

func TestGeneratedIdentifiersAreValidAndUnique(t *testing.T) {
	const n = 200_000
	seen := make(map[string]int, n)
	for _, p := range demoPeople() {
		seen[withIDCheck(p.id17)] = -1
	}
	for i := range n {
		id := GeneratedIDNumber(i, 42)
		if j, dup := seen[id]; dup {
			t.Fatalf("person %d has the ID number of %d", i, j)
		}
		seen[id] = i
		if i%997 == 0 {
			if err := services.ValidateIDNumber(id, testNow); err != nil {
				t.Fatalf("person %d: %v", i, err)
			}
			_, male, _ := birthAndSex(id)
			if male != (i%2 == 1) {
				t.Fatalf("person %d: sex digit disagrees with the index", i)
			}
		}
	}
	for u := range n / GeneratedStaffPerUnit {
		if err := services.ValidateUnitCode(GeneratedUnitCode(u, 42)); err != nil {
			t.Fatalf("unit %d: %v", u, err)
		}
	}
}

func TestGenerateRefusesTooMany(t *testing.T) {
	h := newHarness(t)
	if err := h.sim.Generate(context.Background(), MaxGenerated+1, 1); err == nil {
		t.Error("Generate above MaxGenerated was accepted")
	}
}

// TestGenerateLarge measures the generator at load-test scale, on a file as
// the standalone server uses it. It runs only when asked:
//
//	CORESIM_GENERATE_N=100000 go test -run GenerateLarge -v ./services/coresim/
func TestGenerateLarge(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("CORESIM_GENERATE_N"))
	if n == 0 {
		t.Skip("set CORESIM_GENERATE_N to run")
	}
	h := newHarness(t, withFile(t))
	start := time.Now()
	if err := h.sim.Generate(context.Background(), n, 1); err != nil {
		t.Fatal(err)
	}
	t.Logf("Generate(%d): %v, %d deposit rows", n, time.Since(start), h.sim.count("SELECT count(*) FROM deposits"))
	p := GeneratedPersona(n-1, 1)
	resp, b := h.request(http.MethodPost, core.PathPersonVerify, core.RealNameCheck{Name: p.Name, IDNumber: p.IDNumber}, signing{})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the last generated person: %d %s", resp.StatusCode, b)
	}
}
