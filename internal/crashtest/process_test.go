package crashtest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binary is the geoblob command TestMain built.
var binary string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "geoblob-crashtest")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "geoblob")
	out, err := exec.Command("go", "build", "-o", binary, "github.com/geoblob/geoblob/cmd/geoblob").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// server is a running `geoblob serve` process.
type server struct {
	cmd *exec.Cmd
	// ConnectionString is the one serve printed: the primary and, as
	// BlobSecondaryEndpoint, the distinct secondary listener.
	ConnectionString string
	// Control is the base URL of the control API.
	Control string

	mu     sync.Mutex
	out    bytes.Buffer // stdout and stderr, bounded
	exited chan struct{}
	err    error // of Wait, once exited is closed
}

// errExited is returned by startServer when the process ended before it was
// ready.
var errExited = errors.New("geoblob serve exited before it was ready")

// maxOutput bounds the output a server's log keeps.
const maxOutput = 1 << 20

// startServer runs `geoblob serve` on loopback ports with args and waits
// until it prints that it is ready. When the process exits first, the error
// wraps errExited and holds its output. The process is killed at cleanup if
// still running.
func startServer(t *testing.T, args ...string) (*server, error) {
	t.Helper()
	all := append([]string{"serve", "--host", "127.0.0.1", "--port", "0", "--secondary-port", "0"}, args...)
	cmd := exec.Command(binary, all...)
	cmd.Env = append(os.Environ(), "GEOBLOB_CONTROL_TOKEN=")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, exited: make(chan struct{})}
	cmd.Stderr = (*lockedWriter)(s)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		once := false
		for sc.Scan() {
			line := sc.Text()
			_, _ = (*lockedWriter)(s).Write([]byte(line + "\n"))
			s.mu.Lock()
			if v, ok := strings.CutPrefix(line, "connection string: "); ok {
				s.ConnectionString = v
			}
			if v, ok := strings.CutPrefix(line, "control API: "); ok {
				s.Control = strings.TrimSuffix(v, "/_geoblob/")
			}
			s.mu.Unlock()
			if strings.HasPrefix(line, "ready") && !once {
				once = true
				close(ready)
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		err := cmd.Wait()
		s.mu.Lock()
		s.err = err
		s.mu.Unlock()
		close(s.exited)
	}()
	t.Cleanup(func() { s.kill() })
	select {
	case <-ready:
		return s, nil
	case <-s.exited:
		return s, fmt.Errorf("%w (%v):\n%s", errExited, s.waitErr(), s.output())
	case <-time.After(time.Minute):
		s.kill()
		return s, fmt.Errorf("geoblob serve not ready after a minute:\n%s", s.output())
	}
}

// mustStart is startServer for a server that must start.
func mustStart(t *testing.T, args ...string) *server {
	t.Helper()
	s, err := startServer(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type lockedWriter server

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.out.Len()+len(p) <= maxOutput {
		w.out.Write(p)
	}
	return len(p), nil
}

func (s *server) output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.String()
}

func (s *server) waitErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// kill sends SIGKILL and waits for the process to be gone.
func (s *server) kill() {
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.exited
}

// stop asks the server to shut down (SIGTERM) and waits for it, up to ctx.
func (s *server) stop(ctx context.Context) error {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
		return s.waitErr()
	case <-ctx.Done():
		s.kill()
		return ctx.Err()
	}
}
