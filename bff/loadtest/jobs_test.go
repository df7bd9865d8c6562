package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"handheld/bff"
	"handheld/services"
	"handheld/services/coresim"
	"handheld/services/employer"
	"handheld/services/store/storetest"
)

// joinRows is the figure's file size: the policy's largest.
const joinRows = 10_000

// BenchmarkJoinFileVsSingleCalls is the figure of issue 15's bulk files:
// a 10,000-line join file uploaded, checked and applied by the runner
// (POST /api/v1/employer/jobs, then polled until done) against the same
// number of joins of other people sent as single calls
// (POST /api/v1/employer/staff, 202 each) from as many clients as the
// runner applies lines at once, on PostgreSQL with the core simulator over
// HTTP, in the same run. Both sides end at the same point: every change
// stored with its outbox row (the outbox worker is off, so that delivery
// to the core does not share the CPU with either side). It reports each
// side's lines per second and their ratio. Run it once:
// -benchtime 1x.
func BenchmarkJoinFileVsSingleCalls(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	secret := strings.Repeat("j", 32)
	sim, err := coresim.Open(ctx, coresim.Config{Path: filepath.Join(dir, "coresim.db"),
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
	policy := employer.DefaultJobPolicy()
	base, stop, err := benchApp(ctx, func(c *bff.Config) {
		c.CoreURL, c.CoreSecret, c.CoreKeyID = "http://"+ln.Addr().String(), secret, "handheld"
		c.CoreTimeout = 10 * time.Second
		c.DatabaseURL = storetest.PostgresDSN(b)
		c.RateLimits = roomy()
		c.OutboxWorkers = 0
		c.EmployerJobs = policy
	})
	if err != nil {
		b.Fatal(err)
	}
	defer stop()
	_, bearer, err := employerBearer(base, sim, "shop01")
	if err != nil {
		b.Fatal(err)
	}
	month := time.Now().In(services.CentreTime).Format("2006-01")

	var fileTime, uploadTime, singleTime time.Duration
	round := 0
	b.ResetTimer()
	for b.Loop() {
		// Two sets of people nobody has joined yet: one for the file, one
		// for the single calls.
		file := joinFile(ids(round*2*joinRows, joinRows), month)
		singles := ids((round*2+1)*joinRows, joinRows)
		round++

		t0 := time.Now()
		accepted, err := uploadAndWait(base, bearer, fmt.Sprintf("bench-%d", round), file)
		if err != nil {
			b.Fatal(err)
		}
		fileTime += time.Since(t0)
		uploadTime += accepted

		t1 := time.Now()
		if err := joinEach(base, bearer, singles, month, policy.Parallel); err != nil {
			b.Fatal(err)
		}
		singleTime += time.Since(t1)
	}
	rate := func(d time.Duration) float64 { return float64(joinRows*b.N) / d.Seconds() }
	b.ReportMetric(rate(fileTime), "file_lines/s")
	b.ReportMetric(rate(singleTime), "single_lines/s")
	b.ReportMetric(rate(fileTime)/rate(singleTime), "file/single")
	b.ReportMetric(uploadTime.Seconds()/float64(b.N), "upload_s")
}

// ids are n valid ID numbers, distinct for distinct from: birth dates
// from 1970 on, a thousand people a day.
func ids(from, n int) []string {
	out := make([]string, n)
	for i := range out {
		k := from + i
		day := time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, k/1000)
		first17 := fmt.Sprintf("330106%s%03d", day.Format("20060102"), k%1000)
		c, _ := services.IDCheckDigit(first17)
		out[i] = first17 + string(c)
	}
	return out
}

func joinFile(people []string, month string) []byte {
	var b bytes.Buffer
	b.WriteString("name,id_number,base_fen,start_month\n")
	for i, id := range people {
		fmt.Fprintf(&b, "员工%d,%s,500000,%s\n", i, id, month)
	}
	return b.Bytes()
}

// uploadAndWait uploads a join file and polls its job until done, every
// line applied; accepted is how long the upload took to answer 202.
func uploadAndWait(base string, bearer http.Header, key string, file []byte) (accepted time.Duration, err error) {
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	_ = w.WriteField("kind", "join")
	part, _ := w.CreateFormFile("file", "joins.csv")
	_, _ = part.Write(file)
	_ = w.Close()
	req, _ := http.NewRequest("POST", base+"/api/v1/employer/jobs", &body)
	req.Header = bearer.Clone()
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Idempotency-Key", key)
	var job struct {
		ID                       string
		Status                   string
		Total, Processed, Failed int
	}
	t0 := time.Now()
	if err := doJSON(req, 202, &job); err != nil {
		return 0, fmt.Errorf("upload: %w", err)
	}
	accepted = time.Since(t0)
	for job.Status != "done" {
		time.Sleep(20 * time.Millisecond)
		req, _ := http.NewRequest("GET", base+"/api/v1/employer/jobs/"+job.ID, nil)
		req.Header = bearer.Clone()
		if err := doJSON(req, 200, &job); err != nil {
			return 0, fmt.Errorf("poll: %w", err)
		}
	}
	if job.Total != joinRows || job.Failed != 0 {
		return 0, fmt.Errorf("job: %d lines, %d failed", job.Total, job.Failed)
	}
	return accepted, nil
}

// joinEach sends one join per person from c clients.
func joinEach(base string, bearer http.Header, people []string, month string, c int) error {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: c, MaxConnsPerHost: c}, Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, c)
	for range c {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(people) {
					return
				}
				body, _ := json.Marshal(map[string]any{"name": fmt.Sprintf("员工%d", i), "id_number": people[i], "base_fen": 500000, "start_month": month})
				req, _ := http.NewRequest("POST", base+"/api/v1/employer/staff", bytes.NewReader(body))
				req.Header = bearer.Clone()
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Idempotency-Key", "single-"+people[i])
				resp, err := client.Do(req)
				if err != nil {
					errs <- err
					return
				}
				msg, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 202 {
					errs <- fmt.Errorf("join %d: %d %.200s", i, resp.StatusCode, msg)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func doJSON(req *http.Request, status int, v any) error {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		return fmt.Errorf("%d %.300s", resp.StatusCode, body)
	}
	return json.Unmarshal(body, v)
}
