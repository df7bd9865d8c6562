package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// StartServer runs a private redis-server for the test, on a free port of
// 127.0.0.1, keeping nothing on disk, and returns its address with two
// functions: stop kills it, as a crash or an outage would, and start brings
// it back on the same address, empty. Both wait until the change is done,
// do nothing when it already is, and must be called from the test's
// goroutine. The server is stopped when the test ends.
//
// It is for tests of what happens when Redis goes away (fallbacks, circuit
// breakers, reconnection); tests that only need a Redis use Client. The test
// fails, with one line naming the Debian package, when redis-server is not
// installed.
func StartServer(t testing.TB) (addr string, stop func(), start func()) {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatal("redis-server is not installed (install Debian package redis-server)")
	}
	srv := &server{t: t, bin: bin, dir: t.TempDir()}
	srv.launchOnFreePort(freePort)
	return srv.addr(), srv.stop, srv.start
}

// launchOnFreePort starts the server on a port from pick and stops it when
// the test ends. A free port can be taken between the probe and
// redis-server's bind, so it tries a few before giving up.
func (s *server) launchOnFreePort(pick func(testing.TB) int) {
	s.t.Helper()
	for try := 0; ; try++ {
		s.port = pick(s.t)
		err := s.launch()
		if err == nil {
			break
		}
		if try == 2 {
			s.t.Fatalf("redistest: %v", err)
		}
	}
	s.t.Cleanup(s.stop)
}

// server is one private redis-server process, restartable on its port.
type server struct {
	t    testing.TB
	bin  string
	dir  string
	port int

	extra []string // more redis-server arguments (cluster mode)

	mu     sync.Mutex
	cmd    *exec.Cmd  // nil while stopped
	exited chan error // receives cmd's exit once it is reaped
}

func (s *server) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

func (s *server) start() {
	s.t.Helper()
	if err := s.launch(); err != nil {
		s.t.Fatalf("redistest: %v", err)
	}
}

// stop kills the server and waits until it is gone, so that the port no
// longer answers when stop returns.
func (s *server) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
	s.cmd, s.exited = nil, nil
}

// launch starts redis-server and waits until it answers PING.
func (s *server) launch() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return nil
	}
	logFile := filepath.Join(s.dir, "redis.log")
	args := []string{
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--daemonize", "no",
		"--dir", s.dir,
		"--logfile", logFile,
	}
	cmd := exec.Command(s.bin, append(args, s.extra...)...)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	client := redis.NewClient(&redis.Options{Addr: s.addr(), DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	defer client.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := client.Ping(ctx).Err()
		cancel()
		if err == nil {
			s.cmd, s.exited = cmd, exited
			return nil
		}
		select {
		case werr := <-exited:
			log, _ := os.ReadFile(logFile)
			return fmt.Errorf("redis-server on %s exited (%v): %s", s.addr(), werr, lastLine(string(log)))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-exited
			return fmt.Errorf("redis-server on %s did not answer within 10 s: %v", s.addr(), err)
		}
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// freePort returns a port of 127.0.0.1 that was free a moment ago.
func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("redistest: find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
