package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/geoblob/geoblob/internal/emubench"
)

// TestBenchEmulatorSmoke runs `geoblob bench emulator --smoke` from the
// built binary, so that the real `geoblob serve` and the hidden floor-server
// subcommand are the servers, and checks the output's shape, never speed.
func TestBenchEmulatorSmoke(t *testing.T) {
	bin := geoblobBinary(t)
	out := t.TempDir()
	cmd := exec.CommandContext(t.Context(), bin, "bench", "emulator", "--smoke", "--json", "-q", "--out", out)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("bench emulator --smoke: %v\nstderr: %s", err, stderr.String())
	}
	var rep emubench.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("stdout is not the JSON report: %v\n%s", err, stdout.String())
	}
	var servers []string
	for _, s := range rep.Servers {
		servers = append(servers, s.Name)
	}
	if want := []string{emubench.Geoblob, emubench.Floor}; !slices.Equal(servers, want) {
		t.Errorf("servers %v, want %v", servers, want)
	}
	if len(rep.Phases) == 0 || len(rep.Rows) == 0 || len(rep.Verdicts) == 0 {
		t.Fatalf("empty report: %d phases, %d rows, %d verdicts", len(rep.Phases), len(rep.Rows), len(rep.Verdicts))
	}
	for _, p := range rep.Phases {
		if p.Errors > 0 || p.Ops == 0 {
			t.Errorf("%s on %s: %d ops, %d errors: %s", p.Phase, p.Server, p.Ops, p.Errors, p.FirstError)
		}
	}
	if !strings.HasPrefix(rep.Command, "geoblob bench emulator --") || !strings.Contains(rep.Command, "--smoke=true") {
		t.Errorf("command %q", rep.Command)
	}
	for _, name := range []string{"emulator.md", "emulator.json", "emulator.svg"} {
		b, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		if len(b) == 0 {
			t.Errorf("%s is empty", name)
		}
	}
}

func TestParseInts(t *testing.T) {
	tests := []struct {
		in      string
		want    []int
		wantErr bool
	}{
		{"1,16,64", []int{1, 16, 64}, false},
		{" 1000 , 10000 ", []int{1000, 10000}, false},
		{"", nil, false},
		{"none", nil, false},
		{"1,x", nil, true},
	}
	for _, tt := range tests {
		got, err := parseInts(tt.in)
		if (err != nil) != tt.wantErr || !slices.Equal(got, tt.want) {
			t.Errorf("parseInts(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}
