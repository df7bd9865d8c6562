package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// benchCertificate issues certificates one after another through the full
// stack (core facts over HTTP → PDF → sign → store) and reports the
// latency of POST /me/certificates and the size of the PDF served.
func benchCertificate(ctx context.Context, o Options, w io.Writer) error {
	s, err := startStack(ctx, o, noCache)
	if err != nil {
		return err
	}
	defer s.stop()
	auth, err := s.signIn()
	if err != nil {
		return err
	}
	const n = 60
	var lat []time.Duration
	size := 0
	for i := range n {
		req, _ := http.NewRequestWithContext(ctx, "POST", s.base+"/api/v1/me/certificates", bytes.NewReader([]byte(`{"type":"deposit_use","purpose":"异地购房贷款"}`)))
		req.Header = auth.Clone()
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", "bench-"+strconv.Itoa(i)+"-"+strconv.FormatInt(time.Now().UnixNano(), 36))
		t0 := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		var issued struct {
			DownloadURL string `json:"download_url"`
		}
		err = json.NewDecoder(resp.Body).Decode(&issued)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusCreated {
			return fmt.Errorf("issue %d: status %d: %v", i, resp.StatusCode, err)
		}
		lat = append(lat, time.Since(t0))
		if i == 0 {
			pdf, err := http.Get(s.base + issued.DownloadURL)
			if err != nil {
				return err
			}
			b, _ := io.ReadAll(pdf.Body)
			pdf.Body.Close()
			size = len(b)
		}
	}
	slices.Sort(lat)
	fmt.Fprintf(w, "| issued | p50 | p90 | max | PDF size |\n|---|---|---|---|---|\n| %d | %s | %s | %s | %d bytes |\n",
		n, lat[n/2].Round(100*time.Microsecond), lat[n*9/10].Round(100*time.Microsecond), lat[n-1].Round(100*time.Microsecond), size)
	return nil
}
