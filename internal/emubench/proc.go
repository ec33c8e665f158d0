package emubench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat. It
// is 100 on every Linux architecture Go supports.
const clockTicks = 100

// ErrServerStart is wrapped by the error of a server that exited or never
// answered during start-up.
var ErrServerStart = errors.New("emubench: server did not start")

// procStat is what /proc/PID/stat tells of a process's work so far.
type procStat struct {
	cpu time.Duration // user plus system CPU time
	// minflt counts the minor page faults: first touches of memory the
	// process mapped or got back from the OS, which on some virtual
	// machines cost as much CPU as serving a small request.
	minflt int64
}

// readStat reads the process's CPU time and minor page faults.
func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, fmt.Errorf("stat of %d: %w", pid, err)
	}
	// The command name in field 2 may hold spaces; the fields after its
	// closing parenthesis start at field 3 (state), so field N is f[N-3].
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("stat of %d: malformed", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return procStat{}, fmt.Errorf("stat of %d: malformed", pid)
	}
	flt, err1 := strconv.ParseInt(f[7], 10, 64) // field 10, minflt
	ut, err2 := strconv.ParseInt(f[11], 10, 64) // field 14, utime
	st, err3 := strconv.ParseInt(f[12], 10, 64) // field 15, stime
	if err := errors.Join(err1, err2, err3); err != nil {
		return procStat{}, fmt.Errorf("stat of %d: %w", pid, err)
	}
	return procStat{cpu: time.Duration(ut+st) * time.Second / clockTicks, minflt: flt}, nil
}

// readMem returns VmRSS and VmHWM of the process in bytes.
func readMem(pid int) (rss, hwm int64, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0, fmt.Errorf("memory of %d: %w", pid, err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("memory of %d: %s: %w", pid, k, err)
		}
		if k == "VmRSS" {
			rss = kb << 10
		} else {
			hwm = kb << 10
		}
	}
	return rss, hwm, nil
}

// freePort returns a loopback port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tailBuffer keeps the last bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

const tailMax = 16 << 10

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > tailMax {
		t.buf = append(t.buf[:0:0], t.buf[len(t.buf)-tailMax:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// server is one server process under measurement.
type server struct {
	name    string
	cmd     *exec.Cmd
	base    string // account URL, http://127.0.0.1:PORT/ACCOUNT
	client  *azblob.Client
	http    *http.Client
	cred    *azblob.SharedKeyCredential
	output  *tailBuffer
	done    chan struct{}
	startup time.Duration
	cleanup []func()

	peak    atomic.Int64 // highest VmRSS seen since the last resetPeak
	stopSmp chan struct{}
	smpDone chan struct{}
}

// pid is the process id of the server.
func (s *server) pid() int { return s.cmd.Process.Pid }

// newHTTPClient returns a client with enough idle connections for the
// highest concurrency of the workload.
func newHTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 512, 512
	tr.WriteBufferSize, tr.ReadBufferSize = 256<<10, 256<<10
	tr.Proxy = nil
	return &http.Client{Transport: tr}
}

// startServer runs cmd, whose server answers at base, and waits for the
// first successful request, which it times from just before the exec.
func startServer(ctx context.Context, name string, cmd *exec.Cmd, base string, cred *azblob.SharedKeyCredential, timeout time.Duration) (*server, error) {
	hc := newHTTPClient()
	client, err := azblob.NewClientWithSharedKeyCredential(base+"/", cred, &azblob.ClientOptions{ClientOptions: azcore.ClientOptions{
		Retry:     policy.RetryOptions{MaxRetries: -1},
		Transport: hc,
	}})
	if err != nil {
		return nil, fmt.Errorf("%s: client: %w", name, err)
	}
	out := &tailBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	// The server dies with the harness, however the harness ends. It leads
	// a process group of its own, so that stop reaches the processes a
	// wrapper started too (a shell that runs the real server in the
	// background), not only the wrapper.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	// A process the server started (a wrapper's child) may hold its output
	// open after it exits: stop waiting for that output after a while.
	cmd.WaitDelay = 5 * time.Second
	s := &server{name: name, cmd: cmd, base: base, client: client, http: hc, cred: cred, output: out, done: make(chan struct{})}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrServerStart, name, err)
	}
	go func() {
		_ = cmd.Wait()
		close(s.done)
	}()
	deadline := time.Now().Add(timeout)
	for {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		_, err := client.ServiceClient().GetProperties(pctx, &service.GetPropertiesOptions{})
		cancel()
		if err == nil {
			s.startup = time.Since(t0)
			break
		}
		select {
		case <-s.done:
			return nil, fmt.Errorf("%w: %s exited: %s", ErrServerStart, name, strings.TrimSpace(out.String()))
		case <-ctx.Done():
			s.stop()
			return nil, ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("%w: %s gave no answer in %v: last error: %w; output: %s", ErrServerStart, name, timeout, err, strings.TrimSpace(out.String()))
		}
	}
	s.stopSmp, s.smpDone = make(chan struct{}), make(chan struct{})
	go s.sample()
	return s, nil
}

// sample records the highest VmRSS until stopped.
func (s *server) sample() {
	defer close(s.smpDone)
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		if rss, _, err := readMem(s.pid()); err == nil {
			for {
				p := s.peak.Load()
				if rss <= p || s.peak.CompareAndSwap(p, rss) {
					break
				}
			}
		}
		select {
		case <-s.stopSmp:
			return
		case <-t.C:
		}
	}
}

// resetPeak starts a new peak window at the current RSS.
func (s *server) resetPeak() {
	rss, _, _ := readMem(s.pid())
	s.peak.Store(rss)
}

// stop ends the server and every process in its group: SIGTERM, then
// SIGKILL after 10 s.
func (s *server) stop() {
	if s.stopSmp != nil {
		close(s.stopSmp)
		<-s.smpDone
		s.stopSmp = nil
	}
	if t, ok := s.http.Transport.(*http.Transport); ok {
		t.CloseIdleConnections()
	}
	_ = syscall.Kill(-s.pid(), syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-s.pid(), syscall.SIGKILL)
		<-s.done
	}
	for _, f := range s.cleanup {
		f()
	}
	s.cleanup = nil
}
