//go:build linux

package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// This file runs handheld as real processes (the simulator, BFF replicas),
// for the tests that kill them: what SIGKILL does to a process cannot be
// played in-process. Linux only, for the parent-death signal that takes the
// children down with a test binary that dies without running its cleanups
// (a -timeout panic).

// buildHandheld builds bff/cmd/handheld, without -race, into a directory
// of the test's own and returns the binary's path.
func buildHandheld(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil || len(bytes.TrimSpace(out)) == 0 {
		t.Fatalf("go env GOMOD: %v %s", err, out)
	}
	root := filepath.Dir(string(bytes.TrimSpace(out)))
	bin := filepath.Join(t.TempDir(), "handheld")
	t0 := time.Now()
	cmd := exec.Command("go", "build", "-o", bin, "./bff/cmd/handheld")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./bff/cmd/handheld: %v\n%s", err, out)
	}
	t.Logf("built handheld in %s", time.Since(t0).Round(time.Millisecond))
	return bin
}

// freeAddr is a loopback address with a port nobody listened on a moment
// ago, for a process that must come back on the same port after a kill.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// proc is one child process that a test starts, kills and starts again
// with the same arguments and environment (change args between runs to
// start it differently). Its output, every run's, goes to a log file; the
// last tailBytes are kept for the failure report.
type proc struct {
	name string
	bin  string
	args []string
	env  []string // the whole environment: nothing is inherited but PATH and HOME

	log *os.File

	mu     sync.Mutex
	tail   []byte       // the last tailBytes of output
	stdout bytes.Buffer // this run's standard output
	cmd    *exec.Cmd
	exited chan struct{} // closed when this run's process has been reaped
	runs   int
}

const tailBytes = 16 << 10

// newProc prepares a process; start runs it. At the end of the test every
// run still alive is killed, and on failure the output's tail is logged.
// The whole output of every run goes to <name>.log in a temporary
// directory, or in HANDHELD_TEST_PROC_LOGS when it names one (to keep it).
func newProc(t *testing.T, name, bin string, env []string, args ...string) *proc {
	t.Helper()
	dir := os.Getenv("HANDHELD_TEST_PROC_LOGS")
	if dir == "" {
		dir = t.TempDir()
	}
	f, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{name: name, bin: bin, args: args, log: f,
		env: append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)}
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("--- %s, last output:\n%s", p.name, p.Tail())
		}
		_ = f.Close()
	})
	return p
}

// start runs the process once more; an error means it could not be
// started at all (readiness is the caller's to wait for).
func (p *proc) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.exited != nil {
		select {
		case <-p.exited:
		default:
			return fmt.Errorf("%s: already running", p.name)
		}
	}
	p.runs++
	p.stdout.Reset()
	p.record([]byte(fmt.Sprintf("=== %s run %d: %s\n", p.name, p.runs, strings.Join(p.args, " "))), false)
	cmd := exec.Command(p.bin, p.args...)
	cmd.Env = p.env
	cmd.Stdout = outputWriter{p, true}
	cmd.Stderr = outputWriter{p, false}
	// Its own process group, so that a kill takes whatever it started
	// too; and killed with the test binary, whatever kills that.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%s: %w", p.name, err)
	}
	exited, run := make(chan struct{}), p.runs
	p.cmd, p.exited = cmd, exited
	go func() {
		err := cmd.Wait()
		_, _ = outputWriter{p, false}.Write([]byte(fmt.Sprintf("=== %s run %d exited: %v\n", p.name, run, err)))
		close(exited)
	}()
	return nil
}

// kill sends SIGKILL to the process group and waits until the process is
// reaped, so that its port is free again. A process that already ended is
// left as it is.
func (p *proc) kill() { p.signal(syscall.SIGKILL, 0) }

// terminate asks the process to stop (SIGTERM) and kills it if it has not
// stopped within grace.
func (p *proc) terminate(grace time.Duration) { p.signal(syscall.SIGTERM, grace) }

func (p *proc) signal(sig syscall.Signal, grace time.Duration) {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	select {
	case <-exited:
		return
	default:
	}
	_ = syscall.Kill(-cmd.Process.Pid, sig)
	if sig != syscall.SIGKILL {
		select {
		case <-exited:
			return
		case <-time.After(grace):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	}
	<-exited
}

// waitFor polls ready until it reports true, failing when the process
// exits or timeout passes first.
func (p *proc) waitFor(what string, timeout time.Duration, ready func() bool) error {
	p.mu.Lock()
	exited := p.exited
	p.mu.Unlock()
	deadline := time.Now().Add(timeout)
	for !ready() {
		select {
		case <-exited:
			return fmt.Errorf("%s exited before %s", p.name, what)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not %s after %s", p.name, what, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

// waitOutput waits for this run to print s on its standard output.
func (p *proc) waitOutput(s string, timeout time.Duration) error {
	return p.waitFor("printing "+s, timeout, func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return strings.Contains(p.stdout.String(), s)
	})
}

// waitReady waits for GET url to answer 200 (a BFF's /readyz).
func (p *proc) waitReady(url string, timeout time.Duration) error {
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	return p.waitFor("ready at "+url, timeout, func() bool {
		resp, err := client.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// Tail is the last output of all runs.
func (p *proc) Tail() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return string(p.tail)
}

// outputWriter takes a run's standard output or error.
type outputWriter struct {
	p      *proc
	stdout bool
}

func (w outputWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	return w.p.record(b, w.stdout)
}

// record keeps output: in the log file, the tail, and (stdout) the run's
// standard output. The caller holds mu.
func (p *proc) record(b []byte, stdout bool) (int, error) {
	if stdout {
		p.stdout.Write(b)
	}
	p.tail = append(p.tail, b...)
	if over := len(p.tail) - tailBytes; over > 0 {
		p.tail = append(p.tail[:0], p.tail[over:]...)
	}
	if _, err := p.log.Write(b); err != nil && !errors.Is(err, os.ErrClosed) {
		return 0, err
	}
	return len(b), nil
}
