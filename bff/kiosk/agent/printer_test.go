package agent

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

const (
	jobA = "0123456789abcdef0123456789abcdef"
	jobB = "fedcba9876543210fedcba9876543210"
)

// fakeServer is handheld's print routes: a queue, and each PDF given out
// once to the bearer of the device token.
type fakeServer struct {
	mu      sync.Mutex
	queue   []string
	printed map[string]int
	auth    []string
}

func (f *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.auth = append(f.auth, r.Header.Get("Authorization"))
	if r.Header.Get("Authorization") != "Bearer device-token" {
		http.Error(w, "no", http.StatusUnauthorized)
		return
	}
	switch {
	case r.URL.Path == "/api/v1/kiosk/print-queue":
		w.Header().Set("Content-Type", "application/json")
		var b bytes.Buffer
		b.WriteString(`{"items":[`)
		for i, id := range f.queue {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString(`{"id":"` + id + `","document":"deposit_statement","pages":1}`)
		}
		b.WriteString(`]}`)
		w.Write(b.Bytes())
	default:
		for i, id := range f.queue {
			if r.URL.Path == "/api/v1/kiosk/print-jobs/"+id+"/document" {
				f.queue = append(f.queue[:i], f.queue[i+1:]...)
				f.printed[id]++
				w.Header().Set("Content-Type", "application/pdf")
				w.Write([]byte("%PDF-1.7 " + id))
				return
			}
		}
		http.Error(w, "gone", http.StatusConflict)
	}
}

type memSink struct {
	mu   sync.Mutex
	got  map[string][]byte
	fail string
}

func (m *memSink) Print(_ context.Context, id string, pdf []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if id == m.fail {
		return errors.New("paper jam")
	}
	m.got[id] = pdf
	return nil
}

func newPrinter(url string, sink Sink) *Printer {
	return &Printer{Base: url, Sink: sink, Interval: 10 * time.Millisecond,
		Token: func(context.Context) (string, error) { return "device-token", nil }}
}

// TestPrinterPrintsEachJobOnce: every queued job is fetched with the
// device token and printed once; a job that fails at the sink does not
// stop the others.
func TestPrinterPrintsEachJobOnce(t *testing.T) {
	f := &fakeServer{queue: []string{jobA, "../../etc/passwd", jobB}, printed: map[string]int{}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	sink := &memSink{got: map[string][]byte{}}
	p := newPrinter(srv.URL, sink)
	for range 3 {
		if err := p.Poll(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if string(sink.got[jobA]) != "%PDF-1.7 "+jobA || string(sink.got[jobB]) != "%PDF-1.7 "+jobB || len(sink.got) != 2 {
		t.Fatalf("printed %v", sink.got)
	}
	if f.printed[jobA] != 1 || f.printed[jobB] != 1 {
		t.Fatalf("fetched %v, want each once", f.printed)
	}
	for _, a := range f.auth {
		if a != "Bearer device-token" {
			t.Fatalf("request without the device token: %q", a)
		}
	}

	// A sink failure is logged and the next job still prints.
	f.queue = []string{jobA, jobB}
	sink = &memSink{got: map[string][]byte{}, fail: jobA}
	if err := newPrinter(srv.URL, sink).Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, ok := sink.got[jobB]; !ok || len(sink.got) != 1 {
		t.Fatalf("after a failed job: %v", sink.got)
	}
}

// TestPrinterRunUntilCancelled: Run keeps polling, survives a failing
// token and returns when its context ends.
func TestPrinterRunUntilCancelled(t *testing.T) {
	f := &fakeServer{queue: []string{jobA}, printed: map[string]int{}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	dir := t.TempDir()
	calls := 0
	p := newPrinter(srv.URL, DirSink{Dir: dir})
	p.Token = func(context.Context) (string, error) {
		if calls++; calls == 1 {
			return "", errors.New("token not ready")
		}
		return "device-token", nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	file := filepath.Join(dir, jobA+".pdf")
	for {
		if b, err := os.ReadFile(file); err == nil {
			if string(b) != "%PDF-1.7 "+jobA {
				t.Fatalf("file holds %q", b)
			}
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("the job was never written")
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v", err)
	}
	if _, err := os.Stat(file + ".part"); !os.IsNotExist(err) {
		t.Fatalf("temporary file left behind: %v", err)
	}
}

// TestPrinterRefusesWrongAnswers: a document that is not a PDF, or an
// error status, is not printed.
func TestPrinterRefusesWrongAnswers(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/kiosk/print-queue" {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"items":[{"id":"` + jobA + `"}]}`))
			return
		}
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<html>login</html>"))
	}))
	defer srv.Close()
	sink := &memSink{got: map[string][]byte{}}
	if err := newPrinter(srv.URL, sink).Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(sink.got) != 0 {
		t.Fatalf("printed a non-PDF: %v", sink.got)
	}
	if err := (&Printer{}).Run(context.Background()); err == nil {
		t.Fatal("Run without base, token and sink should fail")
	}
}

// TestCommandSink: the PDF reaches the command's standard input; a failing
// command is an error.
func TestCommandSink(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	out := filepath.Join(t.TempDir(), "out.pdf")
	s := CommandSink{Command: []string{"sh", "-c", `cat > "$0"; test "$HANDHELD_PRINT_JOB" = ` + jobA, out}}
	if err := s.Print(context.Background(), jobA, []byte("%PDF-1.7 x")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(out); string(b) != "%PDF-1.7 x" {
		t.Fatalf("command got %q", b)
	}
	if err := (CommandSink{Command: []string{"sh", "-c", "exit 3"}}).Print(context.Background(), jobA, nil); err == nil {
		t.Fatal("a failing command should be an error")
	}
	if err := (DirSink{Dir: t.TempDir()}).Print(context.Background(), "../x", nil); err == nil {
		t.Fatal("DirSink wrote a file named by a malformed id")
	}
}
