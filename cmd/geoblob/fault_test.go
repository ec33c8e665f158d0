package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func ctlTestEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GEOBLOB_CONTROL_TOKEN=") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

type ctlTestResult struct {
	stdout, stderr string
	code           int
}

// ctlTestRun runs the binary with args and the given extra environment.
func ctlTestRun(t *testing.T, bin string, env []string, args ...string) ctlTestResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = ctlTestEnv(env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	res := ctlTestResult{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		res.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("%v: %v", args, err)
	}
	return res
}

func TestFaultCLI(t *testing.T) {
	bin := geoblobBinary(t)
	server := startServe(t, "--control-token", "right").URL
	srv := []string{"--server", server}

	tests := []struct {
		name    string
		args    []string
		env     []string
		code    int
		stdout  []string // substrings of stdout
		stderr  string   // substring of the one stderr line
		request func(t *testing.T)
	}{
		{name: "empty list", args: []string{"fault", "list"}, stdout: []string{"no faults"}},
		{name: "add 503", args: []string{"fault", "add", "--endpoint", "primary", "--status", "503", "--match-blob", "HelloWorld", "--method", "GET", "--count", "2"},
			stdout: []string{"added fault 1: primary GET blob~HelloWorld -> 503 ServerBusy [count=2]"},
			request: func(t *testing.T) {
				resp, err := http.Get(server + "/devstoreaccount1/democontainer/HelloWorld.png")
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != 503 || resp.Header.Get("x-ms-error-code") != "ServerBusy" {
					t.Errorf("faulted GET: %d %q", resp.StatusCode, resp.Header.Get("x-ms-error-code"))
				}
			}},
		{name: "add latency", args: []string{"fault", "add", "--endpoint", "both", "--latency", "200ms", "--jitter", "50ms", "--op", "read", "--probability", "0.5", "--for", "1h", "--after", "1s"},
			stdout: []string{"added fault 2: both reads -> latency 200ms+50ms [p=0.5 after=1s for=1h0m0s]"}},
		{name: "list", args: []string{"fault", "list"}, stdout: []string{"ID", "FIRED", "STATE", "503 ServerBusy", "count=2", "1      active", "latency 200ms+50ms", "pending"}},
		{name: "invalid status", args: []string{"fault", "add", "--status", "200"}, code: 1, stderr: "geoblob: fault: invalid rule: action.status 200"},
		{name: "two actions", args: []string{"fault", "add", "--status", "503", "--hang"}, code: 1, stderr: "cannot be combined"},
		{name: "rule json with unknown field", args: []string{"fault", "add", "--rule", `{"endpoint":"primary","action":{"hang":true},"bogus":1}`}, code: 1, stderr: `unknown field "bogus"`},
		{name: "rule json with a flag", args: []string{"fault", "add", "--rule", `{"endpoint":"primary","action":{"hang":true}}`, "--status", "503"}, code: 1, stderr: "--rule cannot be combined with --status"},
		{name: "rule json", args: []string{"fault", "add", "--rule", `{"endpoint":"secondary","action":{"refuse":true}}`}, stdout: []string{"added fault 3: secondary * -> refuse"}},
		{name: "remove", args: []string{"fault", "remove", "1"}, stdout: []string{"removed fault 1"}},
		{name: "remove again", args: []string{"fault", "remove", "1"}, code: 1, stderr: "geoblob: no fault 1"},
		{name: "wrong token from env", args: []string{"fault", "list"}, env: []string{"GEOBLOB_CONTROL_TOKEN=wrong"}, code: 1, stderr: "403"},
		{name: "right token from env", args: []string{"fault", "list"}, env: []string{"GEOBLOB_CONTROL_TOKEN=right"}, stdout: []string{"refuse"}},
		{name: "wrong token flag", args: []string{"fault", "clear", "--control-token", "wrong"}, code: 1, stderr: "invalid control token"},
		{name: "clear", args: []string{"fault", "clear"}, stdout: []string{"cleared 2 faults"}},
		{name: "clear empty", args: []string{"fault", "clear"}, stdout: []string{"cleared 0 faults"}},
		{name: "replication status", args: []string{"replication", "status"}, stdout: []string{"status live, running, last sync ", "lag 1s"}},
		{name: "pause", args: []string{"replication", "pause"}, stdout: []string{"replication paused: status live, paused"}},
		{name: "set status", args: []string{"replication", "set-status", "bootstrap"}, stdout: []string{"replication status set: status bootstrap, paused"}},
		{name: "set bad status", args: []string{"replication", "set-status", "sideways"}, code: 1, stderr: "live, bootstrap or unavailable"},
		{name: "set status needs an argument", args: []string{"replication", "set-status"}, code: 1, stderr: "accepts 1 arg"},
		{name: "resume", args: []string{"replication", "resume"}, stdout: []string{"replication resumed: status bootstrap, running"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := ctlTestRun(t, bin, tt.env, append(tt.args, srv...)...)
			if res.code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", res.code, tt.code, res.stdout, res.stderr)
			}
			for _, s := range tt.stdout {
				if !strings.Contains(res.stdout, s) {
					t.Errorf("stdout lacks %q:\n%s", s, res.stdout)
				}
			}
			if tt.code != 0 {
				if lines := strings.Split(strings.TrimSpace(res.stderr), "\n"); len(lines) != 1 || !strings.Contains(lines[0], tt.stderr) {
					t.Errorf("stderr %q, want one line mentioning %q", res.stderr, tt.stderr)
				}
				if res.stdout != "" {
					t.Errorf("stdout on failure: %q", res.stdout)
				}
			}
			if tt.request != nil {
				tt.request(t)
			}
		})
	}
}

func TestFaultCLIServerDown(t *testing.T) {
	bin := geoblobBinary(t)
	// Port 1 on loopback is reserved and unused: nothing listens there.
	res := ctlTestRun(t, bin, nil, "fault", "list", "--server", "http://127.0.0.1:1")
	if res.code != 1 || !strings.HasPrefix(res.stderr, "geoblob: ") || strings.Count(strings.TrimSpace(res.stderr), "\n") != 0 {
		t.Errorf("exit %d, stderr %q; want 1 and one line", res.code, res.stderr)
	}
}
