//go:build unix

package durable

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/geoblob/geoblob/internal/clock"
	"github.com/geoblob/geoblob/internal/store"
)

// killChildEnv tells a re-executed test binary to run the child of
// TestCompactKilled: "DIR STEP".
const killChildEnv = "GEOBLOB_DURABLE_COMPACT_KILL"

// TestCompactKilled kills a process with SIGKILL at each step of a
// compaction (and leaves a torn copy behind), then opens the directory
// again: every acknowledged record is there, on both copies, the deleted
// container is gone, no copy is left over, and the directory takes and
// keeps new writes.
func TestCompactKilled(t *testing.T) {
	if v := os.Getenv(killChildEnv); v != "" {
		dir, step, _ := strings.Cut(v, " ")
		compactKillChild(t, dir, step)
		return
	}
	const keep = 30
	tests := []struct {
		step  string
		small bool // meta.db is the compacted copy after the kill
	}{
		{"copied", false},
		{"closed", false},
		{"renamed", true},
		{"reopened", true},
	}
	for _, tc := range tests {
		t.Run("killed after "+tc.step, func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(os.Args[0], "-test.run=^TestCompactKilled$", "-test.count=1")
			cmd.Env = append(os.Environ(), killChildEnv+"="+dir+" "+tc.step)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || !exit.Sys().(syscall.WaitStatus).Signaled() || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("child was not killed at step %q: %v\n%s", tc.step, err, out)
			}
			if !strings.Contains(string(out), "killing at "+tc.step) {
				t.Fatalf("child output:\n%s", out)
			}
			_, statErr := os.Stat(filepath.Join(dir, compactFile))
			copyLeft := statErr == nil
			size := metaSize(t, dir)
			if small := size < 1<<20; small != tc.small {
				t.Fatalf("meta.db is %d bytes after a kill at %q; compacted copy expected: %v", size, tc.step, tc.small)
			}
			if copyLeft == tc.small {
				t.Fatalf("after a kill at %q, %s left: %v", tc.step, compactFile, copyLeft)
			}
			checkRecovered(t, dir, keep)
		})
	}
	t.Run("torn copy left", func(t *testing.T) {
		dir := t.TempDir()
		p := openPair(t, dir, clock.NewManual(t0), 0)
		fillContainer(t, p, "keep", keep)
		p.waitIdle(t)
		p.close()
		if err := os.WriteFile(filepath.Join(dir, compactFile), []byte("torn bbolt page"), 0o644); err != nil {
			t.Fatal(err)
		}
		checkRecovered(t, dir, keep)
	})
}

// checkRecovered opens dir after a crash and checks what
// compactKillChild wrote.
func checkRecovered(t *testing.T, dir string, keep int) {
	t.Helper()
	// Later clocks for each start: a restart resumes commit times from
	// the last one on disk, and lag 0 applies a change once the clock
	// reaches its time.
	p := openPair(t, dir, clock.NewManual(t0.Add(time.Hour)), 0)
	if _, err := os.Stat(filepath.Join(dir, compactFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%s still there after Open: %v", compactFile, err)
	}
	checkBlobs(t, p, "keep", keep)
	for _, s := range []*store.Store{p.primary, p.secondary} {
		if _, err := s.Blob("acct", "big", "b000000", store.ReadOptions{}); err != nil && !errors.Is(err, store.ErrContainerNotFound) {
			t.Fatalf("deleted container: %v", err)
		} else if err == nil {
			t.Fatal("the deleted container is back")
		}
	}
	if _, err := p.primary.PutBlob("acct", "keep", "after", content(t, p.primary, "after"), store.HTTPHeaders{}, nil, store.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	p.waitIdle(t)
	p.close()
	p = openPair(t, dir, clock.NewManual(t0.Add(2*time.Hour)), 0)
	checkBlobs(t, p, "keep", keep)
	for _, s := range []*store.Store{p.primary, p.secondary} {
		if got, err := read(t, s, "acct", "keep", "after"); got != "after" || err != nil {
			t.Fatalf("write after recovery, after a restart: %q, %v", got, err)
		}
	}
}

// compactKillChild fills dir, deletes most of it and kills its own
// process at step of the compaction that follows. Everything it wrote
// before was acknowledged. It returns (and so the child exits 0) only if
// the step never came.
func compactKillChild(t *testing.T, dir, step string) {
	lowCompactThresholds(t)
	setCompactHook(t, func(s string) {
		if s == step {
			fmt.Println("killing at", s)
			_ = os.Stdout.Sync()
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {} // the signal is on its way
		}
	})
	p := openPair(t, dir, clock.NewManual(t0), 0)
	fillContainer(t, p, "keep", 30)
	deleteBig(t, p)
	if err := p.db.Sync(); err != nil {
		t.Fatal(err)
	}
	t.Errorf("no compaction reached step %q", step)
}
