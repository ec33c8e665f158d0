package crashtest

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"

	"github.com/geoblob/geoblob/internal/chaos"
)

// The data directory layout these tests damage (see internal/durable).
const (
	metaFile   = "meta.db"
	formatFile = "FORMAT"
	blobsDir   = "blobs"
)

// seeded is a data directory a clean server wrote and shut down, and the
// blobs in it.
type seeded struct {
	dir   string
	blobs map[string][]byte
}

// seedDir starts a server on a new data directory, uploads blobs of every
// kind, lets them replicate and stops the server cleanly.
func seedDir(t *testing.T) seeded {
	t.Helper()
	dir := t.TempDir()
	srv := mustStart(t, "--data-dir", dir, "--lag", "0s")
	ep := connect(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := ep.primary.CreateContainer(ctx, containerName, nil); err != nil {
		t.Fatal(err)
	}
	s := seeded{dir: dir, blobs: map[string][]byte{}}
	for i, u := range []struct {
		size int
		m    chaos.Method
	}{
		{40, chaos.PutBlob}, {3000, chaos.PutBlob}, {200 << 10, chaos.PutBlob},
		{5*chaos.BlockSize + 77, chaos.Blocks}, {1<<20 + 300<<10, chaos.Stream},
	} {
		name := "seed/" + u.m.String() + "-" + string(rune('a'+i))
		data := chaos.Payload(name, uint64(i+1), u.size)
		if err := chaos.Upload(ctx, ep.primary, containerName, name, uint64(i+1), data, u.m); err != nil {
			t.Fatalf("upload %s: %v", name, err)
		}
		s.blobs[name] = data
	}
	ep.waitReplicated(ctx, t)
	if err := srv.stop(ctx); err != nil {
		t.Fatalf("stop: %v\n%s", err, srv.output())
	}
	return s
}

// contentFiles lists the content files of a data directory, sorted.
func contentFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(filepath.Join(dir, blobsDir), func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	return files
}

func damage(t *testing.T, path string, f func([]byte) []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, f(b), 0o600); err != nil {
		t.Fatal(err)
	}
}

func garbage(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*131 + 7)
	}
	return b
}

// TestDamagedDataDir damages a data directory a clean server left behind,
// one way per case, and starts a server on it. The server must either refuse
// to start with a one-line error (and no panic), or start and then, for
// every blob on either endpoint, answer the right bytes or an error: never
// wrong bytes as if they were right, and never crash.
func TestDamagedDataDir(t *testing.T) {
	tests := []struct {
		name       string
		damage     func(t *testing.T, dir string)
		mustRefuse bool // the damage is in what start-up reads
	}{
		{"metadata truncated to half", func(t *testing.T, dir string) {
			damage(t, filepath.Join(dir, metaFile), func(b []byte) []byte { return b[:len(b)/2] })
		}, false},
		// A stamped directory without its metadata is damaged, not new:
		// starting empty would hide every blob, and its content files
		// would then be collected as garbage.
		{"metadata emptied", func(t *testing.T, dir string) {
			damage(t, filepath.Join(dir, metaFile), func([]byte) []byte { return nil })
		}, true},
		{"metadata all garbage", func(t *testing.T, dir string) {
			damage(t, filepath.Join(dir, metaFile), func(b []byte) []byte { return garbage(len(b)) })
		}, true},
		{"metadata page garbled", func(t *testing.T, dir string) {
			damage(t, filepath.Join(dir, metaFile), func(b []byte) []byte {
				// A page past the two meta pages and the freelist.
				off := min(len(b)/2, 4*4096)
				copy(b[off:], garbage(4096))
				return b
			})
		}, false},
		{"metadata missing", func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, metaFile)); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"format stamp garbage", func(t *testing.T, dir string) {
			damage(t, filepath.Join(dir, formatFile), func([]byte) []byte { return []byte("\x00\xffnot a stamp") })
		}, true},
		{"format from the future", func(t *testing.T, dir string) {
			damage(t, filepath.Join(dir, formatFile), func(b []byte) []byte {
				return []byte(strings.Replace(string(b), "format 1", "format 99", 1))
			})
		}, true},
		{"one content file missing", func(t *testing.T, dir string) {
			files := contentFiles(t, dir)
			if err := os.Remove(files[len(files)/2]); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"every content file missing", func(t *testing.T, dir string) {
			for _, f := range contentFiles(t, dir) {
				if err := os.Remove(f); err != nil {
					t.Fatal(err)
				}
			}
		}, false},
		{"content files truncated", func(t *testing.T, dir string) {
			for _, f := range contentFiles(t, dir) {
				damage(t, f, func(b []byte) []byte { return b[:len(b)/2] })
			}
		}, false},
		{"content files with a byte flipped", func(t *testing.T, dir string) {
			for _, f := range contentFiles(t, dir) {
				damage(t, f, func(b []byte) []byte {
					if len(b) > 0 {
						b[len(b)/2] ^= 0x20
					}
					return b
				})
			}
		}, false},
		{"content files replaced by garbage", func(t *testing.T, dir string) {
			for _, f := range contentFiles(t, dir) {
				damage(t, f, func(b []byte) []byte { return garbage(len(b)) })
			}
		}, false},
	}
	tmpl := seedDir(t)
	if len(contentFiles(t, tmpl.dir)) == 0 {
		t.Fatalf("no content files under %s", filepath.Join(tmpl.dir, blobsDir))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := seeded{dir: t.TempDir(), blobs: tmpl.blobs}
			copyDir(t, tmpl.dir, s.dir)
			tt.damage(t, s.dir)
			before := contentFiles(t, s.dir)
			srv, err := startServer(t, "--data-dir", s.dir, "--lag", "0s")
			if err != nil {
				checkRefusal(t, srv, err)
				return
			}
			if tt.mustRefuse {
				t.Errorf("the server started on a directory it should refuse")
			}
			ep := connect(t, srv)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			served := 0
			for name, want := range s.blobs {
				for _, c := range []struct {
					where  string
					client *azblob.Client
				}{{"primary", ep.primary}, {"secondary", ep.secnd}} {
					served += readNoWrongBytes(ctx, t, c.where, c.client, name, want)
				}
			}
			select {
			case <-srv.exited:
				t.Fatalf("the server exited while serving a damaged directory:\n%s", srv.output())
			default:
			}
			if out := srv.output(); strings.Contains(out, "panic") || strings.Contains(out, "goroutine ") {
				t.Errorf("the server panicked:\n%s", out)
			}
			t.Logf("%d of %d reads served the right bytes; the rest failed", served, 2*2*len(s.blobs))
			// Damage is never made worse: no content file that was there
			// is removed (start-up collects unreferenced ones).
			if after := contentFiles(t, s.dir); len(after) < len(before) {
				t.Errorf("%d of %d content files were removed from the damaged directory", len(before)-len(after), len(before))
			}
		})
	}
}

// checkRefusal checks a failed start: the process exited with a one-line
// error and no panic.
func checkRefusal(t *testing.T, srv *server, err error) {
	t.Helper()
	if srv == nil || !strings.Contains(err.Error(), errExited.Error()) {
		t.Fatalf("start: %v", err)
	}
	out := srv.output()
	if strings.Contains(out, "panic") || strings.Contains(out, "goroutine ") {
		t.Fatalf("the server panicked on start:\n%s", out)
	}
	var errLines []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if strings.HasPrefix(l, "geoblob: ") {
			errLines = append(errLines, l)
		}
	}
	if len(errLines) != 1 {
		t.Fatalf("want one line of error, got:\n%s", out)
	}
	t.Logf("refused: %s", errLines[0])
}

// readNoWrongBytes reads a blob whole and in a range across its middle:
// each read must give the right bytes or fail. It returns how many reads
// gave the right bytes.
func readNoWrongBytes(ctx context.Context, t *testing.T, where string, c *azblob.Client, name string, want []byte) int {
	t.Helper()
	ok := 0
	mid := int64(len(want) / 2)
	ranges := []blob.HTTPRange{{}, {Offset: max(0, mid-512), Count: min(1024, int64(len(want)))}}
	for _, rg := range ranges {
		got, err := download(ctx, c, name, rg)
		if err != nil {
			continue
		}
		exp := want
		if rg.Count > 0 {
			exp = want[rg.Offset : rg.Offset+rg.Count]
		}
		if !bytes.Equal(got, exp) {
			t.Errorf("%s: %s range %+v: %d wrong bytes served as right ones", where, name, rg, len(got))
			continue
		}
		ok++
	}
	return ok
}

func download(ctx context.Context, c *azblob.Client, name string, rg blob.HTTPRange) ([]byte, error) {
	resp, err := c.DownloadStream(ctx, containerName, name, &azblob.DownloadStreamOptions{Range: rg})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

// copyDir copies the regular files of a data directory (not its lock).
func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(dst, 0o700)
		case d.Type().IsRegular() && rel != "LOCK":
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(dst, b, 0o600)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
