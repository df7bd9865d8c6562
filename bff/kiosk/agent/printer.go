package agent

// printer.go: the agent prints what the citizens at the kiosk ask for.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Sink is where a print goes: a directory on the demo, a printer in
// production. Print must not return before the document is handed over:
// the server gives each PDF out once, so a Sink that loses one loses the
// print (the citizen asks again).
type Sink interface {
	Print(ctx context.Context, jobID string, pdf []byte) error
}

// DefaultPrintInterval is how often the queue is polled when Interval is 0.
const DefaultPrintInterval = 2 * time.Second

// maxPDF bounds what is read of one document (the server's are far smaller).
const maxPDF = 10 << 20

// Printer polls the device's print queue and hands each document to the
// Sink, once. It authenticates with the device token Token gives (the
// agent keeps it fresh); the PDFs never touch the kiosk's browser.
type Printer struct {
	// Base is handheld's address, e.g. https://hpf.example.cn.
	Base string
	// HTTP is the client for handheld; http.DefaultClient when nil.
	HTTP *http.Client
	// Token gives the current device token.
	Token func(ctx context.Context) (string, error)
	Sink  Sink
	// Interval is the pause between polls; DefaultPrintInterval when 0.
	Interval time.Duration
	Logger   *slog.Logger
}

// Run polls until ctx ends; a failed poll is logged and tried again at
// the next tick, so a restarting server or a jammed printer does not stop
// the loop. It returns ctx's error.
func (p *Printer) Run(ctx context.Context) error {
	if p.Sink == nil || p.Token == nil || p.Base == "" {
		return errors.New("printer: base URL, token and sink are required")
	}
	every := p.Interval
	if every <= 0 {
		every = DefaultPrintInterval
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := p.Poll(ctx); err != nil && ctx.Err() == nil {
			p.logger().Warn("print queue", "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

func (p *Printer) logger() *slog.Logger {
	if p.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return p.Logger
}

func (p *Printer) client() *http.Client {
	if p.HTTP == nil {
		return http.DefaultClient
	}
	return p.HTTP
}

// jobIDShape is what a print job id looks like; anything else from the
// queue is skipped, never put into a path or a file name.
var jobIDShape = regexp.MustCompile(`^[0-9a-f]{32}$`)

// Poll takes the queue once and prints every job in it, in order. A job
// that fails is logged and left (the server expires it); the others go on.
func (p *Printer) Poll(ctx context.Context) error {
	var queue struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	body, err := p.get(ctx, "/api/v1/kiosk/print-queue", "application/json")
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, &queue); err != nil {
		return fmt.Errorf("printer: queue: %w", err)
	}
	for _, j := range queue.Items {
		if !jobIDShape.MatchString(j.ID) {
			p.logger().Warn("print queue: skipped a malformed job id")
			continue
		}
		pdf, err := p.get(ctx, "/api/v1/kiosk/print-jobs/"+j.ID+"/document", "application/pdf")
		if err != nil {
			p.logger().Warn("print job not fetched", "job", j.ID, "err", err)
			continue
		}
		if err := p.Sink.Print(ctx, j.ID, pdf); err != nil {
			p.logger().Error("print job not printed", "job", j.ID, "err", err)
			continue
		}
		p.logger().Info("printed", "job", j.ID, "bytes", len(pdf))
	}
	return nil
}

// get fetches path with the device token and checks the answer's type.
func (p *Printer) get(ctx context.Context, path, want string) ([]byte, error) {
	tok, err := p.Token(ctx)
	if err != nil {
		return nil, fmt.Errorf("printer: device token: %w", err)
	}
	u, err := url.JoinPath(p.Base, path)
	if err != nil {
		return nil, fmt.Errorf("printer: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("printer: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Accept", want)
	resp, err := p.client().Do(req)
	if err != nil {
		return nil, fmt.Errorf("printer: %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPDF+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("printer: %s: %w", path, err)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("printer: %s: status %d", path, resp.StatusCode)
	case len(body) > maxPDF:
		return nil, fmt.Errorf("printer: %s: answer over %d bytes", path, maxPDF)
	case !strings.HasPrefix(resp.Header.Get("Content-Type"), want):
		return nil, fmt.Errorf("printer: %s: content type %q, want %s", path, resp.Header.Get("Content-Type"), want)
	}
	return body, nil
}

// DirSink writes each print to <Dir>/<job id>.pdf: the demo kiosk's
// printer, and a spool directory for a printer service that watches one.
// The file is written under a temporary name and renamed, so a watcher
// never sees half a PDF.
type DirSink struct{ Dir string }

// Print writes the PDF.
func (d DirSink) Print(_ context.Context, jobID string, pdf []byte) error {
	if !jobIDShape.MatchString(jobID) {
		return fmt.Errorf("printer: malformed job id")
	}
	if err := os.MkdirAll(d.Dir, 0o750); err != nil {
		return fmt.Errorf("printer: %w", err)
	}
	final := filepath.Join(d.Dir, jobID+".pdf")
	tmp := final + ".part"
	if err := os.WriteFile(tmp, pdf, 0o640); err != nil {
		return fmt.Errorf("printer: %w", err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return fmt.Errorf("printer: %w", err)
	}
	return nil
}

// CommandSink runs a command with the PDF on its standard input, e.g.
// {"lp", "-d", "KIOSK1"} for CUPS. The command is run directly (no shell),
// with the job id in HANDHELD_PRINT_JOB for a script that wants it.
type CommandSink struct {
	Command []string
	// Timeout bounds one print; 1 minute when 0.
	Timeout time.Duration
}

// Print runs the command and waits for it.
func (c CommandSink) Print(ctx context.Context, jobID string, pdf []byte) error {
	if len(c.Command) == 0 {
		return errors.New("printer: no print command")
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.Command[0], c.Command[1:]...)
	cmd.Stdin = bytes.NewReader(pdf)
	cmd.Env = append(os.Environ(), "HANDHELD_PRINT_JOB="+jobID)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("printer: %s: %w: %s", c.Command[0], err, strings.TrimSpace(stderr.String()))
	}
	return nil
}
