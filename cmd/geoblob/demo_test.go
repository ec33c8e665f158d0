package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/geoblob/geoblob/emulator"
	"github.com/geoblob/geoblob/fault"
)

var summaryLine = regexp.MustCompile(`^reads: (\d+) primary: (\d+) secondary: (\d+) failed: (\d+) failovers: (\d+) failbacks: (\d+) elapsed: \S+$`)

// TestDemoAsNewcomer runs the demo exactly as the README tells a newcomer
// to, from the repository root, and checks the contract of its last line.
func TestDemoAsNewcomer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "run", "./cmd/geoblob", "demo", "--quiet")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go run ./cmd/geoblob demo --quiet: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) != 1 {
		t.Errorf("--quiet printed %d lines, want only the summary:\n%s", len(lines), out)
	}
	m := summaryLine.FindStringSubmatch(lines[len(lines)-1])
	if m == nil {
		t.Fatalf("last line %q does not match the summary contract", lines[len(lines)-1])
	}
	if m[1] != "1000" || m[4] != "0" || m[5] == "0" || m[6] == "0" {
		t.Fatalf("summary %q: want 1000 reads, 0 failed, failovers and failbacks", lines[len(lines)-1])
	}
}

func TestDemoExitStatus(t *testing.T) {
	tests := []struct {
		args []string
		code int
	}{
		{[]string{"demo", "--outages", "bogus"}, 2},
		{[]string{"demo", "--retry-threshold", "0"}, 2},
		{[]string{"demo", "--quiet", "--connection-string", "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:1/devstoreaccount1"}, 2},
	}
	for _, tc := range tests {
		cmd := exec.Command(geoblobBinary(t), tc.args...)
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		if code != tc.code {
			t.Errorf("%v: exit %d, want %d\n%s", tc.args, code, tc.code, out)
		}
		if lines := strings.Split(strings.TrimSpace(string(out)), "\n"); len(lines) != 1 || !strings.HasPrefix(lines[0], "geoblob: ") {
			t.Errorf("%v: want a one-line error, got:\n%s", tc.args, out)
		}
	}
}

// demoEnv is the test's environment without any account settings, so the
// demo's own choice of account is what the test controls.
func demoEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "AZURE_STORAGE_CONNECTION_STRING", "accountname", "accountkey", "NO_COLOR":
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

func startEmulator(t *testing.T) *emulator.Emulator {
	t.Helper()
	emu, err := emulator.Start(context.Background(), emulator.Options{Lag: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emu.Close() })
	return emu
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// TestDemoFailedReadsExitOne: when both locations fail during the outage
// the summary counts the failed reads and the exit status is 1.
func TestDemoFailedReadsExitOne(t *testing.T) {
	emu := startEmulator(t)
	if _, err := emu.Faults().Add(fault.Rule{
		Endpoint: fault.Secondary,
		Match:    fault.Match{Methods: []string{http.MethodGet}, Blob: "HelloWorld.png"},
		Action:   fault.Action{Status: http.StatusServiceUnavailable},
	}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(geoblobBinary(t), "demo", "--quiet", "--reads", "60", "--outages", "10-40", "--connection-string", emu.ConnectionString())
	cmd.Env = demoEnv()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if code := exitCode(err); code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", code, out, stderr.String())
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	m := summaryLine.FindStringSubmatch(lines[len(lines)-1])
	if len(lines) != 1 || m == nil || m[1] != "60" || m[4] == "0" {
		t.Fatalf("want only a summary with failed reads, got:\n%s", out)
	}
	if e := strings.TrimSpace(stderr.String()); strings.Contains(e, "\n") || !strings.HasPrefix(e, "geoblob: ") {
		t.Fatalf("want a one-line error on stderr, got:\n%s", e)
	}
}

// startInteractiveDemo runs `geoblob demo --interactive` against emu. Its
// standard input stays open and is never written, so the demo waits at the
// first pause, read 200, until the test signals it.
func startInteractiveDemo(t *testing.T, emu *emulator.Emulator) (*exec.Cmd, io.ReadCloser) {
	t.Helper()
	cmd := exec.Command(geoblobBinary(t), "demo", "--interactive", "--connection-string", emu.ConnectionString())
	cmd.Env = demoEnv()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close() })
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, stdout
}

// TestDemoInterrupted stops the demo with SIGINT and SIGTERM while it waits
// at the first interactive pause: exit 130, the summary is still the last
// line, and the container is gone.
func TestDemoInterrupted(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			emu := startEmulator(t)
			cmd, stdout := startInteractiveDemo(t, emu)
			var out strings.Builder
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				out.WriteString(sc.Text() + "\n")
				if strings.HasPrefix(sc.Text(), "Paused at read 200.") {
					_ = cmd.Process.Signal(sig)
				}
			}
			code := exitCode(cmd.Wait())
			lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
			last := lines[len(lines)-1]
			if code != 130 || summaryLine.FindStringSubmatch(last) == nil || !strings.HasPrefix(last, "reads: 200 ") {
				t.Fatalf("exit %d, last line %q; want 130 after 200 reads\n%s", code, last, out.String())
			}
			if !strings.Contains(out.String(), "Deleted container democontainer") {
				t.Fatalf("container not deleted:\n%s", out.String())
			}
		})
	}
}

// TestDemoAccountPrecedence: --connection-string wins over
// AZURE_STORAGE_CONNECTION_STRING, which wins over accountname/accountkey.
func TestDemoAccountPrecedence(t *testing.T) {
	flagEmu, envEmu := startEmulator(t), startEmulator(t)
	bogus := []string{"accountname=nosuchaccount", "accountkey=a2V5"}
	tests := []struct {
		name string
		args []string
		env  []string
		want *emulator.Emulator
	}{
		{"flag over everything", []string{"--connection-string", flagEmu.ConnectionString()}, append([]string{"AZURE_STORAGE_CONNECTION_STRING=" + envEmu.ConnectionString()}, bogus...), flagEmu},
		{"environment connection string over accountname", nil, append([]string{"AZURE_STORAGE_CONNECTION_STRING=" + envEmu.ConnectionString()}, bogus...), envEmu},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(geoblobBinary(t), append([]string{"demo", "--reads", "1", "--outages", "none"}, tc.args...)...)
			cmd.Env = demoEnv(tc.env...)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if want := "Using the storage account at " + tc.want.PrimaryURL() + " "; !strings.Contains(string(out), want) {
				t.Fatalf("output lacks %q:\n%s", want, out)
			}
		})
	}
}

// TestDemoSecondInterruptExits: the first Ctrl-C starts a clean stop, whose
// container delete may hang on a sick endpoint; a second Ctrl-C must end
// the process at once instead of waiting for the delete to time out.
func TestDemoSecondInterruptExits(t *testing.T) {
	emu := startEmulator(t)
	cmd, stdout := startInteractiveDemo(t, emu)
	defer func() { _ = cmd.Process.Kill() }()
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "Paused at read 200.") {
			break
		}
	}
	// From now on the container delete hangs.
	if _, err := emu.Faults().Add(fault.Rule{Endpoint: fault.Primary, Match: fault.Match{Methods: []string{http.MethodDelete}}, Action: fault.Action{Hang: true}}); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Process.Signal(syscall.SIGINT)
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	time.Sleep(200 * time.Millisecond) // let the first interrupt reach the delete
	_ = cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("a second interrupt did not end the demo")
	}
}
