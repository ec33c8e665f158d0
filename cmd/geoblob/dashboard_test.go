package main

import (
	"bufio"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

// TestDemoDashboard runs `geoblob demo --dashboard`: it prints the page's
// URL, the page answers while the demo runs and lingers, and Ctrl-C ends
// the demo normally, with the summary last and exit status 0.
func TestDemoDashboard(t *testing.T) {
	cmd := exec.Command(geoblobBinary(t), "demo", "--dashboard", "--reads", "60", "--outages", "10-30", "--pace", "0s", "--lag", "10ms")
	cmd.Env = demoEnv()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()
	var out strings.Builder
	var page string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		out.WriteString(line + "\n")
		if u, ok := strings.CutPrefix(line, "Dashboard: "); ok {
			page = u
		}
		if line == "Reads done; the dashboard stays up until Ctrl-C." {
			if page == "" {
				t.Fatalf("no dashboard URL before the reads ended:\n%s", out.String())
			}
			resp, err := http.Get(page)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
				t.Errorf("dashboard: status %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			_ = cmd.Process.Signal(syscall.SIGINT)
		}
	}
	code := exitCode(cmd.Wait())
	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	last := lines[len(lines)-1]
	if code != 0 || !strings.HasPrefix(last, "reads: 60 ") || summaryLine.FindStringSubmatch(last) == nil {
		t.Fatalf("exit %d, last line %q; want 0 and the summary of 60 reads\n%s", code, last, out.String())
	}
	if !strings.HasPrefix(page, "http://127.0.0.1:") || !strings.HasSuffix(page, "/_geoblob/ui/") {
		t.Errorf("dashboard URL %q", page)
	}
}

func TestDemoDashboardNeedsTheEmulator(t *testing.T) {
	cmd := exec.Command(geoblobBinary(t), "demo", "--dashboard", "--connection-string",
		"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:1/devstoreaccount1")
	cmd.Env = demoEnv()
	out, err := cmd.CombinedOutput()
	if code := exitCode(err); code != 2 || !strings.HasPrefix(string(out), "geoblob: ") || !strings.Contains(string(out), "--dashboard") {
		t.Errorf("exit %d, output %q; want 2 and a one-line error naming --dashboard", code, out)
	}
}
