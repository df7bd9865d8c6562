package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"handheld/bff"
	"handheld/services"
	"handheld/services/core"
	"handheld/services/coresim"
)

// BenchmarkBillThroughBFF is the figure of issue 15's remittance part: the
// 5,000-person employer's whole bill read through handheld
// (GET /api/v1/employer/remittances/{month}: token, limits, the unit's
// opening month from the cache, the bill from the core over HTTP, masking
// of every name and ID number, the audit record, JSON) against the same
// bill read straight from the simulator with core.Client, alternating in
// the same run. Both sides decode the whole answer. It reports each side's
// milliseconds per bill, their ratio and the size of handheld's answer.
func BenchmarkBillThroughBFF(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	secret := strings.Repeat("b", 32)
	sim, err := coresim.Open(ctx, coresim.Config{Path: filepath.Join(dir, "coresim.db"), LargeUnits: true,
		Keys: map[string][]byte{"handheld": []byte(secret)}, Now: time.Now})
	if err != nil {
		b.Fatal(err)
	}
	defer sim.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	coreURL := "http://" + ln.Addr().String()
	base, stop, err := benchApp(ctx, func(c *bff.Config) {
		c.CoreURL, c.CoreSecret, c.CoreKeyID = coreURL, secret, "handheld"
		c.CoreTimeout = 10 * time.Second
		c.RateLimits = roomy()
	})
	if err != nil {
		b.Fatal(err)
	}
	defer stop()

	op, bearer, err := employerBearer(base, sim, "wanqu01")
	if err != nil {
		b.Fatal(err)
	}
	client, err := core.NewClient(core.ClientConfig{BaseURL: coreURL, KeyID: "handheld", Secret: []byte(secret),
		Timeout: 10 * time.Second, Now: time.Now})
	if err != nil {
		b.Fatal(err)
	}
	month := time.Now().In(services.CentreTime).Format("2006-01")
	billURL := base + "/api/v1/employer/remittances/" + month

	var coreTime, bffTime time.Duration
	var size int
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		direct, err := client.Bill(ctx, op.UnitCode, month)
		coreTime += time.Since(t0)
		if err != nil || direct.Headcount < 4500 {
			b.Fatalf("core: %d lines, %v", direct.Headcount, err)
		}
		t1 := time.Now()
		via, n, err := getBill(billURL, bearer)
		bffTime += time.Since(t1)
		if err != nil || via.Headcount != direct.Headcount || len(via.Lines) != direct.Headcount || via.TotalFen != direct.TotalFen {
			b.Fatalf("through handheld: %d lines, %d fen, %v; the core: %d, %d", len(via.Lines), via.TotalFen, err, direct.Headcount, direct.TotalFen)
		}
		size = n
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) / float64(b.N) }
	b.ReportMetric(ms(coreTime), "core_ms/bill")
	b.ReportMetric(ms(bffTime), "bff_ms/bill")
	b.ReportMetric(float64(bffTime)/float64(coreTime), "bff/core")
	b.ReportMetric(float64(size)/1000, "bff_KB")
}

// billAnswer is as much of handheld's bill as the figure checks.
type billAnswer struct {
	Headcount int   `json:"headcount"`
	TotalFen  int64 `json:"total_fen"`
	Lines     []struct {
		StaffID     string `json:"staff_id"`
		Name        string `json:"name"`
		IDNumber    string `json:"id_number"`
		BaseFen     int64  `json:"base_fen"`
		PersonalFen int64  `json:"personal_fen"`
		UnitFen     int64  `json:"unit_fen"`
	} `json:"lines"`
}

func getBill(url string, bearer http.Header) (billAnswer, int, error) {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return billAnswer{}, 0, err
	}
	req.Header = bearer.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return billAnswer{}, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		return billAnswer{}, 0, fmt.Errorf("%d %.200s %v", resp.StatusCode, body, err)
	}
	var a billAnswer
	return a, len(body), json.Unmarshal(body, &a)
}

// employerBearer signs in, at the handheld at base, the seeded operator of
// sim's units whose operator id is operatorID.
func employerBearer(base string, sim *coresim.Sim, operatorID string) (coresim.Persona, http.Header, error) {
	var p coresim.Persona
	for _, u := range sim.UnitPersonas() {
		if u.OperatorID == operatorID {
			p = u
		}
	}
	if p.OperatorID == "" {
		return p, nil, fmt.Errorf("no seeded operator %q", operatorID)
	}
	body, _ := json.Marshal(map[string]string{"unit_code": p.UnitCode, "operator_id": p.OperatorID, "password": p.Password})
	resp, err := http.Post(base+"/api/v1/auth/employer", "application/json", bytes.NewReader(body))
	if err != nil {
		return p, nil, err
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != 200 {
		return p, nil, fmt.Errorf("employer sign-in: %d %v", resp.StatusCode, err)
	}
	return p, http.Header{"Authorization": {"Bearer " + tok.AccessToken}}, nil
}
