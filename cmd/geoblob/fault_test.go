package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
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
		{name: "loopback without the token", args: []string{"fault", "list"}, env: []string{"GEOBLOB_CONTROL_TOKEN="}, code: 1, stderr: "control token required"},
		{name: "wrong token from env", args: []string{"fault", "list"}, env: []string{"GEOBLOB_CONTROL_TOKEN=wrong"}, code: 1, stderr: "403"},
		{name: "right token from env", args: []string{"fault", "list"}, env: []string{"GEOBLOB_CONTROL_TOKEN=right"}, stdout: []string{"refuse"}},
		{name: "wrong token flag", args: []string{"fault", "clear", "--control-token", "wrong"}, code: 1, stderr: "invalid control token"},
		{name: "clear", args: []string{"fault", "clear"}, stdout: []string{"cleared 2 faults"}},
		{name: "clear empty", args: []string{"fault", "clear"}, stdout: []string{"cleared 0 faults"}},
		{name: "replication status", args: []string{"replication", "status"}, stdout: []string{"status live, running, last sync ", "lag model constant:1s"}},
		{name: "pause", args: []string{"replication", "pause"}, stdout: []string{"replication paused: status live, paused"}},
		{name: "set status", args: []string{"replication", "set-status", "bootstrap"}, stdout: []string{"replication status set: status bootstrap, paused"}},
		{name: "set bad status", args: []string{"replication", "set-status", "sideways"}, code: 1, stderr: "live, bootstrap or unavailable"},
		{name: "set status needs an argument", args: []string{"replication", "set-status"}, code: 1, stderr: "accepts 1 arg"},
		{name: "resume", args: []string{"replication", "resume"}, stdout: []string{"replication resumed: status bootstrap, running"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := tt.env
			if env == nil {
				// A server with a token requires it from loopback clients too.
				env = []string{"GEOBLOB_CONTROL_TOKEN=right"}
			}
			res := ctlTestRun(t, bin, env, append(tt.args, srv...)...)
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

// cliProbe is the outcome of one plain HTTP request to the server.
type cliProbe struct {
	status int
	code   string // x-ms-error-code
	body   string
	err    error // transport or body error
}

func probe(t *testing.T, method, url string, body string, timeout time.Duration) cliProbe {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return cliProbe{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return cliProbe{status: resp.StatusCode, code: resp.Header.Get("x-ms-error-code"), body: string(b), err: err}
}

// TestFaultCLIEveryFlag adds a rule with each flag of geoblob fault add
// against a real geoblob serve and checks its effect on the wire.
func TestFaultCLIEveryFlag(t *testing.T) {
	bin := geoblobBinary(t)
	server := startServe(t).URL
	// The server given without a scheme, as people type it.
	srv := []string{"--server", strings.TrimPrefix(server, "http://")}
	blob := server + "/devstoreaccount1/cont/HelloWorld.png"
	other := server + "/devstoreaccount1/other/notes.txt"
	secondary := server + "/devstoreaccount1-secondary/cont/HelloWorld.png"
	const wait = 10 * time.Second

	faulted := func(status int, code string) func(cliProbe) bool {
		return func(p cliProbe) bool { return p.err == nil && p.status == status && p.code == code }
	}
	untouched := func(p cliProbe) bool { return p.err == nil && p.status != 503 && p.status != 500 && p.status != 429 }
	broken := func(p cliProbe) bool { return p.err != nil && !errors.Is(p.err, context.DeadlineExceeded) }

	type req struct {
		method, url, body string
		timeout           time.Duration
		want              func(cliProbe) bool
	}
	tests := []struct {
		name   string
		args   []string
		stdout string
		reqs   []req
	}{
		{"status with code and message", []string{"--status", "500", "--code", "OperationTimedOut", "--message", "slow down"}, "primary * -> 500 OperationTimedOut",
			[]req{{"GET", blob, "", wait, func(p cliProbe) bool {
				return faulted(500, "OperationTimedOut")(p) && strings.Contains(p.body, "slow down")
			}}, {"GET", secondary, "", wait, untouched}}},
		{"429 on the secondary", []string{"--endpoint", "secondary", "--status", "429"}, "secondary * -> 429 ServerBusy",
			[]req{{"GET", secondary, "", wait, faulted(429, "ServerBusy")}, {"GET", blob, "", wait, untouched}}},
		{"both endpoints", []string{"--endpoint", "both", "--status", "503"}, "both * -> 503 ServerBusy",
			[]req{{"GET", secondary, "", wait, faulted(503, "ServerBusy")}, {"GET", blob, "", wait, faulted(503, "ServerBusy")}}},
		{"match container and account", []string{"--status", "503", "--match-container", "cont", "--match-account", "devstoreaccount1"}, "account=devstoreaccount1 container=cont",
			[]req{{"GET", blob, "", wait, faulted(503, "ServerBusy")}, {"GET", other, "", wait, untouched}}},
		{"match another account", []string{"--status", "503", "--match-account", "someoneelse"}, "account=someoneelse",
			[]req{{"GET", blob, "", wait, untouched}}},
		{"glob", []string{"--status", "503", "--match-blob", "*.txt"}, "blob~*.txt",
			[]req{{"GET", other, "", wait, faulted(503, "ServerBusy")}, {"GET", blob, "", wait, untouched}}},
		{"methods", []string{"--status", "503", "--method", "put,delete"}, "PUT,DELETE",
			[]req{{"DELETE", blob, "", wait, faulted(503, "ServerBusy")}, {"GET", blob, "", wait, untouched}}},
		{"writes", []string{"--status", "503", "--op", "write"}, "writes",
			[]req{{"PUT", blob, "data", wait, faulted(503, "ServerBusy")}, {"HEAD", blob, "", wait, untouched}}},
		{"count", []string{"--status", "503", "--count", "1"}, "[count=1]",
			[]req{{"GET", blob, "", wait, faulted(503, "ServerBusy")}, {"GET", blob, "", wait, untouched}}},
		{"probability 0", []string{"--status", "503", "--probability", "0"}, "[p=0]",
			[]req{{"GET", blob, "", wait, untouched}}},
		{"for", []string{"--status", "503", "--for", "1h"}, "[for=1h0m0s]",
			[]req{{"GET", blob, "", wait, faulted(503, "ServerBusy")}}},
		{"after", []string{"--status", "503", "--after", "1h"}, "[after=1h0m0s]",
			[]req{{"GET", blob, "", wait, untouched}}},
		{"latency", []string{"--latency", "1h", "--jitter", "1s"}, "latency 1h0m0s+1s",
			[]req{{"GET", blob, "", 100 * time.Millisecond, func(p cliProbe) bool { return errors.Is(p.err, context.DeadlineExceeded) }}}},
		{"latency then status", []string{"--latency", "1ms", "--status", "503"}, "latency 1ms then 503 ServerBusy",
			[]req{{"GET", blob, "", wait, faulted(503, "ServerBusy")}}},
		{"reset", []string{"--reset"}, "primary * -> reset",
			[]req{{"GET", blob, "", wait, broken}, {"GET", secondary, "", wait, untouched}}},
		{"refuse", []string{"--refuse"}, "primary * -> refuse",
			[]req{{"GET", blob, "", wait, broken}}},
		{"hang", []string{"--hang"}, "primary * -> hang",
			[]req{{"GET", blob, "", 100 * time.Millisecond, func(p cliProbe) bool { return errors.Is(p.err, context.DeadlineExceeded) }}}},
		{"truncated answer", []string{"--reset-after-bytes", "10"}, "reset after 10 response bytes",
			[]req{{"GET", blob, "", wait, func(p cliProbe) bool { return p.status != 0 && len(p.body) == 10 && p.err != nil }}}},
		{"cut upload", []string{"--reset-after-request-bytes", "10"}, "reset after 10 request bytes",
			[]req{{"PUT", blob, strings.Repeat("u", 5000), wait, broken}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if res := ctlTestRun(t, bin, nil, append([]string{"fault", "clear"}, srv...)...); res.code != 0 {
				t.Fatalf("clear: %+v", res)
			}
			res := ctlTestRun(t, bin, nil, append(append([]string{"fault", "add"}, tt.args...), srv...)...)
			if res.code != 0 || !strings.Contains(res.stdout, tt.stdout) {
				t.Fatalf("add: exit %d, stdout %q, stderr %q; want %q", res.code, res.stdout, res.stderr, tt.stdout)
			}
			for i, r := range tt.reqs {
				if p := probe(t, r.method, r.url, r.body, r.timeout); !r.want(p) {
					t.Errorf("request %d (%s %s): %+v", i, r.method, r.url, p)
				}
			}
		})
	}
}

// TestFaultCLIBadUsage: mistakes give one line on stderr and exit 1, or 2
// for a flag that does not parse.
func TestFaultCLIBadUsage(t *testing.T) {
	bin := geoblobBinary(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := l.Addr().String()
	l.Close()
	tests := []struct {
		args   []string
		stderr string
		code   int // 1 when zero
	}{
		{[]string{"fault", "list", "--server", "http://" + down}, "cannot reach the geoblob server at http://" + down, 0},
		{[]string{"replication", "pause", "--server", down}, "cannot reach the geoblob server at http://" + down, 0},
		{[]string{"fault", "list", "--server", "ftp://" + down}, "want http://HOST:PORT", 0},
		{[]string{"fault", "add", "--status", "503", "--hang", "--server", down}, "--status and --hang cannot be combined", 0},
		{[]string{"fault", "add", "--reset", "--refuse", "--server", down}, "--reset and --refuse cannot be combined", 0},
		{[]string{"fault", "add", "--reset", "--reset-after-bytes", "3", "--server", down}, "--reset and --reset-after-bytes cannot be combined", 0},
		{[]string{"fault", "add", "--latency", "1s", "--hang", "--server", down}, "--latency cannot be combined with --hang", 0},
		{[]string{"fault", "add", "--server", down}, "give an action", 0},
		{[]string{"fault", "add", "--status", "503", "--probability", "1.5", "--server", down}, "probability 1.5 is outside 0..1", 0},
		{[]string{"fault", "add", "--status", "503", "--count", "-1", "--server", down}, "limits.count -1", 0},
		{[]string{"fault", "add", "--status", "503", "--endpoint", "tertiary", "--server", down}, `endpoint "tertiary"`, 0},
		{[]string{"fault", "add", "--status", "503", "--for", "soon", "--server", down}, `invalid argument "soon" for "--for"`, 2},
		{[]string{"fault", "add", "--status", "503", "extra", "--server", down}, "unknown command", 0},
	}
	for _, tt := range tests {
		res := ctlTestRun(t, bin, nil, tt.args...)
		lines := strings.Split(strings.TrimSpace(res.stderr), "\n")
		want := tt.code
		if want == 0 {
			want = 1
		}
		if res.code != want || len(lines) != 1 || !strings.HasPrefix(lines[0], "geoblob: ") || !strings.Contains(lines[0], tt.stderr) || res.stdout != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want one line mentioning %q", tt.args, res.code, res.stdout, res.stderr, tt.stderr)
		}
	}
}
