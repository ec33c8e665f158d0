package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestBenchFailoverCommand: `geoblob bench failover` is reachable under the
// bench parent, and a bad selection is refused before anything runs.
func TestBenchFailoverCommand(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown scenario", []string{"bench", "failover", "--scenario", "earthquake", "--out", ""}, "unknown scenario"},
		{"unknown client", []string{"bench", "failover", "--client", "curl", "--out", ""}, "unknown client"},
		{"no readers", []string{"bench", "failover", "--readers", "0", "--out", ""}, "readers"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := newRootCmd()
			var out bytes.Buffer
			root.SetOut(&out)
			root.SetErr(&out)
			root.SetArgs(tc.args)
			err := root.ExecuteContext(context.Background())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one naming %q", err, tc.want)
			}
		})
	}
	cmd, _, err := newRootCmd().Find([]string{"bench", "failover"})
	if err != nil || cmd.Name() != "failover" {
		t.Fatalf("bench failover: %v %v", cmd, err)
	}
}
