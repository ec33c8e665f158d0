package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
)

var (
	buildOnce sync.Once
	binPath   string
	binDir    string // removed by TestMain
	buildErr  error
)

// TestMain removes the binary the tests built, whatever their outcome.
func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// geoblobBinary builds the command once per test run and returns its path;
// TestMain removes it after the run.
func geoblobBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "geoblob-bin")
		if err != nil {
			buildErr = err
			return
		}
		binDir = dir
		binPath = filepath.Join(dir, "geoblob")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = err
			binPath = string(out)
		}
	})
	if buildErr != nil {
		t.Fatalf("go build: %v\n%s", buildErr, binPath)
	}
	return binPath
}

// served is a running `geoblob serve` process.
type served struct {
	cmd              *exec.Cmd
	URL              string // base URL of the primary listener
	ConnectionString string
	stdout           *strings.Builder
	mu               *sync.Mutex
	done             chan error
}

// startServe runs `geoblob serve --port 0 ARGS...` and waits until it
// prints its connection string. The process is interrupted at cleanup.
func startServe(t *testing.T, args ...string) *served {
	t.Helper()
	cmd := exec.Command(geoblobBinary(t), append([]string{"serve", "--port", "0"}, args...)...)
	cmd.Env = ctlTestEnv()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &served{cmd: cmd, stdout: &strings.Builder{}, mu: &sync.Mutex{}, done: make(chan error, 1)}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		signalled := false
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.stdout.WriteString(line + "\n")
			if v, ok := strings.CutPrefix(line, "connection string: "); ok {
				s.ConnectionString = v
			}
			if v, ok := strings.CutPrefix(line, "control API: "); ok {
				s.URL = strings.TrimSuffix(v, "/_geoblob/")
			}
			s.mu.Unlock()
			if strings.HasPrefix(line, "ready") && !signalled {
				signalled = true
				close(ready)
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		s.done <- cmd.Wait()
	}()
	select {
	case <-ready:
	case err := <-s.done:
		t.Fatalf("geoblob serve exited early: %v\n%s", err, s.output())
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("geoblob serve did not start:\n%s", s.output())
	}
	t.Cleanup(func() { _ = s.stop() })
	return s
}

func (s *served) output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stdout.String()
}

// stop sends SIGINT and waits for a clean exit.
func (s *served) stop() error {
	if s.cmd.ProcessState != nil {
		return nil
	}
	_ = s.cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-s.done:
		return err
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		return <-s.done
	}
}

func TestServe(t *testing.T) {
	s := startServe(t, "--secondary-port", "0", "--lag", "50ms")
	out := s.output()
	for _, want := range []string{"primary:    http://127.0.0.1:", "secondary:  http://127.0.0.1:", "/devstoreaccount1-secondary", "BlobSecondaryEndpoint="} {
		if !strings.Contains(out, want) {
			t.Errorf("serve output lacks %q:\n%s", want, out)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	client, err := azblob.NewClientFromConnectionString(s.ConnectionString, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.CreateContainer(ctx, "served", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := client.UploadBuffer(ctx, "served", "b", []byte("hello"), nil); err != nil {
		t.Fatal(err)
	}
	if err := s.stop(); err != nil {
		t.Fatalf("serve did not exit cleanly on SIGINT: %v", err)
	}
	if !strings.Contains(s.output(), "shutting down") {
		t.Fatalf("no shutdown message:\n%s", s.output())
	}
}

func TestServeBadFlags(t *testing.T) {
	notData := t.TempDir() // not empty and no format stamp: not a data dir
	if err := os.WriteFile(filepath.Join(notData, "notes.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := [][]string{
		{"serve", "--data-dir", notData},
		{"serve", "--account", "nokey"},
		{"serve", "--account", "Bad:a2V5"},
		{"serve", "--lag", "-1s"},
		{"serve", "--port", "99999"},
		{"serve", "--bogus"},
		{"serve", "extra-arg"},
	}
	for _, args := range tests {
		cmd := exec.Command(geoblobBinary(t), args...)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if err == nil || !errors.As(err, &ee) || ee.ExitCode() == 0 {
			t.Errorf("%v: want a non-zero exit, got %v\n%s", args, err, out)
			continue
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if !strings.HasPrefix(lines[0], "geoblob: ") && !strings.HasPrefix(lines[0], "Error: ") {
			t.Errorf("%v: want a one-line error, got:\n%s", args, out)
		}
		if strings.Contains(string(out), "goroutine ") {
			t.Errorf("%v: stack trace in output:\n%s", args, out)
		}
	}
}

func TestServeStopsOnSIGTERM(t *testing.T) {
	s := startServe(t)
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-s.done:
		if err != nil {
			t.Fatalf("serve did not exit cleanly on SIGTERM: %v\n%s", err, s.output())
		}
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		t.Fatal("serve ignored SIGTERM")
	}
	if !strings.Contains(s.output(), "shutting down") {
		t.Fatalf("no shutdown message:\n%s", s.output())
	}
}

func TestServeHelpDocumentsEveryFlag(t *testing.T) {
	out, err := exec.Command(geoblobBinary(t), "serve", "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, flag := range []string{"--host", "--port", "--secondary-port", "--lag", "--account", "--data-dir"} {
		if !strings.Contains(string(out), flag+" ") {
			t.Errorf("--help does not document %s:\n%s", flag, out)
		}
	}
}

// TestServeAccountsAndSecondaryPort: two accounts, each usable only with its
// own key, the secondary on a port of its own, and a connection string for
// the first account that points at that port.
func TestServeAccountsAndSecondaryPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	secPort := l.Addr().(*net.TCPAddr).Port
	l.Close()
	const key1, key2 = "a2V5b25l", "a2V5dHdv"
	s := startServe(t, "--secondary-port", strconv.Itoa(secPort), "--lag", "0s", "--account", "acctone:"+key1, "--account", "accttwo:"+key2)
	secBase := "http://127.0.0.1:" + strconv.Itoa(secPort)
	out := s.output()
	for _, want := range []string{"account acctone", "account accttwo", secBase + "/accttwo", "BlobSecondaryEndpoint=" + secBase + "/acctone;"} {
		if !strings.Contains(out, want) {
			t.Errorf("serve output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(s.ConnectionString, "AccountName=acctone;") {
		t.Fatalf("connection string is not the first account's: %s", s.ConnectionString)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	client := func(base, name, key string) *azblob.Client {
		cred, err := azblob.NewSharedKeyCredential(name, key)
		if err != nil {
			t.Fatal(err)
		}
		c, err := azblob.NewClientWithSharedKeyCredential(base+"/"+name, cred, nil)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	two := client(s.URL, "accttwo", key2)
	if _, err := two.CreateContainer(ctx, "shared", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := client(s.URL, "acctone", key1).CreateContainer(ctx, "shared", nil); err != nil {
		t.Fatalf("accounts are not isolated: %v", err)
	}
	if _, err := client(s.URL, "accttwo", key1).CreateContainer(ctx, "other", nil); !bloberror.HasCode(err, bloberror.AuthenticationFailed) {
		t.Fatalf("acctone's key accepted for accttwo: %v", err)
	}
	sec := client(secBase, "accttwo", key2).ServiceClient().NewContainerClient("shared")
	for i := 0; ; i++ {
		if _, err = sec.GetProperties(ctx, nil); err == nil || i == 100 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("secondary port does not serve accttwo's replica: %v", err)
	}
}

// TestServeSecondaryPortZero: --secondary-port 0 means what
// Options.SecondaryPort 0 means, a distinct secondary listener on a free
// port; without the flag there is no distinct listener.
func TestServeSecondaryPortZero(t *testing.T) {
	distinct := func(out string) []string {
		var urls []string
		for _, line := range strings.Split(out, "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "secondary:  "); ok && !strings.HasSuffix(v, "-secondary") {
				urls = append(urls, v)
			}
		}
		return urls
	}
	s := startServe(t, "--secondary-port", "0", "--lag", "0s")
	urls := distinct(s.output())
	if len(urls) != 1 || !strings.HasPrefix(urls[0], "http://127.0.0.1:") || strings.HasPrefix(urls[0], s.URL+"/") {
		t.Fatalf("--secondary-port 0: distinct secondary %v (primary %s):\n%s", urls, s.URL, s.output())
	}
	if !strings.Contains(s.ConnectionString, "BlobSecondaryEndpoint="+urls[0]+";") {
		t.Errorf("connection string does not use the distinct secondary: %s", s.ConnectionString)
	}
	resp, err := http.Get(urls[0] + "?comp=properties&restype=account")
	if err != nil {
		t.Fatalf("distinct secondary listener not reachable: %v", err)
	}
	resp.Body.Close()
	_ = s.stop()

	s = startServe(t, "--lag", "0s")
	if urls := distinct(s.output()); len(urls) != 0 {
		t.Errorf("without --secondary-port: distinct secondary %v", urls)
	}
	_ = s.stop()
}
