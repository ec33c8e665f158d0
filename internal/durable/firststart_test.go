package durable

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/geoblob/geoblob/internal/clock"
)

// firstStart sets up dir with a complete first start and closes it.
func firstStart(t *testing.T, dir string) {
	t.Helper()
	if err := openAndLoad(dir); err != nil {
		t.Fatalf("first start: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, formatFile+".tmp")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("FORMAT.tmp after a first start: %v", err)
	}
}

// unstamp turns a set-up directory back into what a first start killed
// just before its last step (renaming FORMAT.tmp to FORMAT) leaves.
func unstamp(t *testing.T, dir string) {
	t.Helper()
	if err := os.Rename(filepath.Join(dir, formatFile), filepath.Join(dir, formatFile+".tmp")); err != nil {
		t.Fatal(err)
	}
}

func writeIn(t *testing.T, dir, name string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestFirstStartCutShort: a process killed at any point of a new
// directory's first start leaves a directory the next start sets up again,
// while an unstamped directory that has held data is still refused and
// left as it is.
func TestFirstStartCutShort(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, dir string)
		refused bool
	}{
		{"killed while writing FORMAT.tmp", func(t *testing.T, dir string) {
			writeIn(t, dir, formatFile+".tmp", []byte("geoblob data"))
		}, false},
		{"killed while creating meta.db", func(t *testing.T, dir string) {
			writeIn(t, dir, formatFile+".tmp", []byte("geoblob data directory\nformat 1\n"))
			writeIn(t, dir, lockFile, nil)
			writeIn(t, dir, metaFile, nil)
			if err := os.MkdirAll(filepath.Join(dir, blobsDir), 0o755); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"killed before the stamp", func(t *testing.T, dir string) {
			firstStart(t, dir)
			unstamp(t, dir)
		}, false},
		{"stamp lost from a used directory", func(t *testing.T, dir string) {
			p := openPair(t, dir, clock.NewManual(t0), 0)
			if _, err := p.primary.CreateContainer("acct", "c", nil, ""); err != nil {
				t.Fatal(err)
			}
			p.close()
			if err := os.Remove(filepath.Join(dir, formatFile)); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"content beside an unfinished stamp", func(t *testing.T, dir string) {
			seedContent(t, dir)
			unstamp(t, dir)
		}, true},
		{"foreign file beside an unfinished stamp", func(t *testing.T, dir string) {
			writeIn(t, dir, formatFile+".tmp", []byte("geoblob data"))
			writeIn(t, dir, "notes.txt", []byte("mine"))
		}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.prepare(t, dir)
			before := listDir(t, dir)
			err := openAndLoad(dir)
			if tc.refused {
				if !errors.Is(err, ErrFormat) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("open: %v, want a one-line ErrFormat", err)
				}
				if after := listDir(t, dir); after != before {
					t.Fatalf("a refused directory changed:\nbefore %s\nafter  %s", before, after)
				}
				return
			}
			if err != nil {
				t.Fatalf("open after a first start cut short: %v", err)
			}
			data, err := os.ReadFile(filepath.Join(dir, formatFile))
			if err != nil || !strings.Contains(string(data), "format 1") {
				t.Fatalf("FORMAT: %q %v", data, err)
			}
			if _, err := os.Stat(filepath.Join(dir, formatFile+".tmp")); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("FORMAT.tmp left behind: %v", err)
			}
			// And it opens again as an ordinary stamped directory.
			if err := openAndLoad(dir); err != nil {
				t.Fatalf("second open: %v", err)
			}
		})
	}
}

// listDir describes every file under dir with its size, for comparing.
func listDir(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if rel == lockFile {
			return nil // the lock file is created by every open
		}
		b.WriteString(rel)
		if !d.IsDir() {
			fmt.Fprintf(&b, ":%d", info.Size())
		}
		b.WriteString(" ")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}
