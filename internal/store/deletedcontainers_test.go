package store

import (
	"fmt"
	"testing"
	"time"
)

func keepFor(d time.Duration) RetentionFunc { return func([]byte) time.Duration { return d } }

// TestPurgeIsBounded: expired deleted containers are purged at most
// MaxPurgePerWrite per container delete or restore, oldest first, each as
// a change of its own that a secondary applies.
func TestPurgeIsBounded(t *testing.T) {
	s, clk, changes := newTestStore(t)
	const n = 20
	for i := range n {
		name := fmt.Sprintf("d%02d", i)
		if _, err := s.CreateContainer("acct", name, nil, ""); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteContainerRetained("acct", name, "", Conditions{}, keepFor(24*time.Hour)); err != nil {
			t.Fatal(err)
		}
		clk.t = clk.t.Add(time.Second)
	}
	if got := s.DeletedContainersPending("acct"); got != n {
		t.Fatalf("%d kept, want %d", got, n)
	}
	clk.t = clk.t.Add(25 * time.Hour)
	if page := s.ListContainersWithDeleted("acct", ListOptions{Prefix: "d"}); len(page.Containers) != 0 {
		t.Fatalf("expired containers listed: %d", len(page.Containers))
	}
	purges := func() (names []string) {
		for _, c := range *changes {
			if c.Kind == PurgeDeletedContainer {
				names = append(names, c.Container)
			}
		}
		return names
	}
	for round, want := range []int{n - MaxPurgePerWrite + 1, n - 2*MaxPurgePerWrite + 2, 3} {
		name := fmt.Sprintf("trigger%d", round)
		if _, err := s.CreateContainer("acct", name, nil, ""); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteContainerRetained("acct", name, "", Conditions{}, keepFor(24*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if got := s.DeletedContainersPending("acct"); got != want {
			t.Fatalf("round %d: %d kept, want %d", round, got, want)
		}
	}
	p := purges()
	if len(p) != n || p[0] != "d00" || p[n-1] != "d19" {
		t.Fatalf("purge changes %v", p)
	}
	// A secondary fed the same changes ends with the same deleted set.
	sec := New(Options{Now: clk.now})
	for _, c := range *changes {
		sec.Apply(c)
	}
	if got := sec.DeletedContainersPending("acct"); got != 3 {
		t.Fatalf("secondary keeps %d, want 3", got)
	}
}

// TestDeletedVersionsUnique: deletes within one tick of a standing clock
// still get distinct, increasing versions.
func TestDeletedVersionsUnique(t *testing.T) {
	s, _, _ := newTestStore(t)
	var last string
	for i := range 5 {
		if _, err := s.CreateContainer("acct", "same", nil, ""); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteContainerRetained("acct", "same", "", Conditions{}, keepFor(time.Hour)); err != nil {
			t.Fatal(err)
		}
		page := s.ListContainersWithDeleted("acct", ListOptions{Prefix: "same"})
		if len(page.Containers) != i+1 {
			t.Fatalf("%d listed, want %d", len(page.Containers), i+1)
		}
		v := page.Containers[i].Deleted.Version
		if v <= last {
			t.Fatalf("version %s after %s", v, last)
		}
		last = v
	}
}
