package main

import (
	"context"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
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
