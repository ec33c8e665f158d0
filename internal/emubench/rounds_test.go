//go:build linux

package emubench

import (
	"context"
	"os/exec"
	"slices"
	"testing"
)

// TestPhaseRoundsRotate: each round starts one server further on, every
// server runs once per round, and a server's figures sum its rounds.
func TestPhaseRoundsRotate(t *testing.T) {
	var servers []*server
	for _, name := range []string{"a", "b", "c"} {
		cmd := exec.Command("sleep", "30")
		if err := cmd.Start(); err != nil {
			t.Fatalf("starting a process to stand for a server: %v", err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		servers = append(servers, &server{name: name, cmd: cmd})
	}
	b := &bench{cfg: &Config{}, rep: &Report{}, logf: func(string, ...any) {}}
	var order []string
	calls := map[string]int{}
	b.phaseRounds(context.Background(), servers, "p", "g", 1, false, 3, func(s *server) outcome {
		order = append(order, s.name)
		calls[s.name]++
		return outcome{ops: 10 * calls[s.name]}
	})
	want := []string{"a", "b", "c", "b", "c", "a", "c", "a", "b"}
	if !slices.Equal(order, want) {
		t.Fatalf("order %v, want %v", order, want)
	}
	if len(b.rep.Phases) != 3 {
		t.Fatalf("%d results, want one per server", len(b.rep.Phases))
	}
	for i, p := range b.rep.Phases {
		if p.Server != servers[i].name || p.Ops != 10+20+30 {
			t.Errorf("result %d: %s with %d ops, want %s with 60", i, p.Server, p.Ops, servers[i].name)
		}
	}
}
