package main

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestBadFlagsExit2: an unknown flag or a flag value that does not parse is
// a usage error, exit status 2 with a one-line message, on every command.
func TestBadFlagsExit2(t *testing.T) {
	bin := geoblobBinary(t)
	tests := [][]string{
		{"--bogus"},
		{"serve", "--bogus"},
		{"serve", "--lag", "soon"},
		{"serve", "--port", "ten"},
		{"fault", "list", "--bogus"},
		{"fault", "add", "--status", "five-oh-three"},
		{"replication", "status", "--bogus"},
		{"demo", "--retry-threshold", "many"},
		{"demo", "--bogus"},
	}
	for _, args := range tests {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			cmd := exec.Command(bin, args...)
			cmd.Env = append(os.Environ(), "GEOBLOB_CONTROL_TOKEN=")
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 2 {
				t.Fatalf("got %v, want exit status 2\n%s", err, out)
			}
			if lines := strings.Split(strings.TrimSpace(string(out)), "\n"); len(lines) != 1 || !strings.HasPrefix(lines[0], "geoblob: ") {
				t.Errorf("want one line starting with geoblob:, got:\n%s", out)
			}
		})
	}
}
