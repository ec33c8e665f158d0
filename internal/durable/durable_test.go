package durable

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/geoblob/geoblob/internal/clock"
	"github.com/geoblob/geoblob/internal/store"
)

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// TestReplicationResumesAfterRestart: changes committed on the primary
// and not yet applied survive a restart in the pending log; after it each
// is applied exactly once, nothing is lost, and LastSyncTime does not go
// backwards.
func TestReplicationResumesAfterRestart(t *testing.T) {
	dir := t.TempDir()
	clk := clock.NewManual(t0)
	p := openPair(t, dir, clk, 10*time.Second)
	if _, err := p.primary.CreateContainer("acct", "c", map[string]string{"k": "v"}, ""); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, err := p.primary.PutBlob("acct", "c", fmt.Sprint("b", i), content(t, p.primary, fmt.Sprint("v1-", i)), store.HTTPHeaders{}, nil, store.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(11 * time.Second)
	p.waitIdle(t)
	applied1 := p.repl.State()
	// A second round: b0..b2 applied before the "crash", b3, b4 and the
	// deletion of b4 still pending.
	for i := range 5 {
		if i == 3 {
			clk.Advance(11 * time.Second)
			p.waitIdle(t)
		}
		if _, err := p.primary.PutBlob("acct", "c", fmt.Sprint("b", i), content(t, p.primary, fmt.Sprint("v2-", i)), store.HTTPHeaders{}, nil, store.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.primary.DeleteBlob("acct", "c", "b4", store.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(5 * time.Second)
	before := p.repl.State()
	p.close()

	p2 := openPair(t, dir, clk, 10*time.Second)
	st := p2.repl.State()
	if st.LastSyncTime.Before(before.LastSyncTime) {
		t.Fatalf("LastSyncTime went back: %v -> %v", before.LastSyncTime, st.LastSyncTime)
	}
	if want := 6 - 3; st.Pending != want {
		t.Fatalf("pending after restart %d, want %d (applied before: %d, %d)", st.Pending, want, applied1.Applied, before.Applied)
	}
	for i := range 3 {
		if got, err := read(t, p2.secondary, "acct", "c", fmt.Sprint("b", i)); err != nil || got != fmt.Sprint("v2-", i) {
			t.Fatalf("secondary b%d after restart: %q %v", i, got, err)
		}
	}
	if got, _ := read(t, p2.secondary, "acct", "c", "b3"); got != "v1-3" {
		t.Fatalf("secondary b3 before its lag: %q", got)
	}
	clk.Advance(11 * time.Second)
	p2.waitIdle(t)
	if st := p2.repl.State(); st.Applied != 3 || st.Pending != 0 {
		t.Fatalf("after resume: %+v", st)
	}
	for i := range 4 {
		if got, err := read(t, p2.secondary, "acct", "c", fmt.Sprint("b", i)); err != nil || got != fmt.Sprint("v2-", i) {
			t.Fatalf("secondary b%d after resume: %q %v", i, got, err)
		}
	}
	if _, err := read(t, p2.secondary, "acct", "c", "b4"); !errors.Is(err, store.ErrBlobNotFound) {
		t.Fatalf("deleted b4 on the secondary: %v", err)
	}
	// New commits continue the sequence and the commit times.
	b, err := p2.primary.PutBlob("acct", "c", "new", content(t, p2.primary, "n"), store.HTTPHeaders{}, nil, store.WriteOptions{})
	if err != nil || !b.LastModified.After(before.LastSyncTime) {
		t.Fatalf("new write after restart: %v %v", b, err)
	}
	if p2.primary.Seq() != 13 {
		t.Fatalf("primary seq %d after restart, want 13", p2.primary.Seq())
	}
}

// TestStateSurvivesRestart: staged blocks, leases, service properties and
// container ACLs come back after a close and reopen.
func TestStateSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	clk := clock.NewManual(t0)
	p := openPair(t, dir, clk, 0)
	s := p.primary
	if _, err := s.CreateContainer("acct", "c", nil, "blob"); err != nil {
		t.Fatal(err)
	}
	acl := []store.SignedIdentifier{{ID: "id1", Start: t0, Expiry: t0.Add(time.Hour), Permission: "rl"}}
	if _, err := s.SetContainerACL("acct", "c", "container", acl, store.Conditions{}); err != nil {
		t.Fatal(err)
	}
	s.SetServiceProperties("acct", []byte("<StorageServiceProperties/>"))
	for i, id := range []string{"YQ==", "Yg==", "Yw==", "YQ=="} { // a, b, c, then a replaced
		if err := s.StageBlock("acct", "c", "staged", id, content(t, s, fmt.Sprint("block", i)), ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.StageBlock("acct", "c", "committed", "YQ==", content(t, s, "x"), ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CommitBlockList("acct", "c", "committed", []store.BlockRef{{ID: "YQ==", Mode: store.BlockLatest}}, store.HTTPHeaders{ContentType: "text/x"}, map[string]string{"m": "1"}, store.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	res, err := s.LeaseBlob("acct", "c", "committed", store.LeaseRequest{Action: store.LeaseAcquire, Duration: -1, ProposedID: "11111111-2222-3333-4444-555555555555"}, store.Conditions{})
	if err != nil {
		t.Fatal(err)
	}
	p.close()

	p2 := openPair(t, dir, clk, 0)
	s2 := p2.primary
	c, err := s2.Container("acct", "c")
	if err != nil || c.PublicAccess != "container" || len(c.ACL) != 1 || !c.ACL[0].Expiry.Equal(acl[0].Expiry) {
		t.Fatalf("container: %+v %v", c, err)
	}
	if got := s2.ServiceProperties("acct"); string(got) != "<StorageServiceProperties/>" {
		t.Fatalf("service properties %q", got)
	}
	bl, err := s2.BlockList("acct", "c", "staged", store.ReadOptions{})
	if err != nil || len(bl.Uncommitted) != 3 {
		t.Fatalf("staged: %+v %v", bl, err)
	}
	var ids []string
	for _, b := range bl.Uncommitted {
		ids = append(ids, b.ID)
	}
	if strings.Join(ids, ",") != "YQ==,Yg==,Yw==" {
		t.Fatalf("staged order %v", ids)
	}
	var buf bytes.Buffer
	if _, err := bl.Uncommitted[0].Content.WriteTo(&buf); err != nil || buf.String() != "block3" {
		t.Fatalf("replaced block: %q %v", buf.String(), err)
	}
	b, err := s2.Blob("acct", "c", "committed", store.ReadOptions{LeaseID: res.ID})
	if err != nil || b.Lease.State != store.LeaseLeased || b.Lease.ID != res.ID || b.Headers.ContentType != "text/x" || b.Metadata["m"] != "1" || len(b.Blocks) != 1 {
		t.Fatalf("blob: %+v %v", b, err)
	}
	if _, err := s2.Blob("acct", "c", "committed", store.ReadOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s2.DeleteBlob("acct", "c", "committed", store.WriteOptions{}); !errors.Is(err, store.ErrLeaseIDMissing) {
		t.Fatalf("delete of a leased blob after restart: %v", err)
	}
	// The committed block list dropped "committed"'s staged blocks for good.
	if bl, err := s2.BlockList("acct", "c", "committed", store.ReadOptions{}); err != nil || len(bl.Uncommitted) != 0 {
		t.Fatalf("committed blob's staged blocks: %+v %v", bl, err)
	}
	// Deleting the container removes everything under it on disk too.
	if err := s2.DeleteContainer("acct", "c", store.Conditions{}); err != nil {
		t.Fatal(err)
	}
	p2.close()
	p3 := openPair(t, dir, clk, 0)
	if _, err := p3.primary.Container("acct", "c"); !errors.Is(err, store.ErrContainerNotFound) {
		t.Fatalf("deleted container after restart: %v", err)
	}
	if _, err := p3.primary.BlockList("acct", "c", "staged", store.ReadOptions{}); !errors.Is(err, store.ErrContainerNotFound) {
		t.Fatalf("staged blocks of a deleted container: %v", err)
	}
}

func writeStamp(t *testing.T, dir, text string) {
	t.Helper()
	writeIn(t, dir, formatFile, []byte(text))
}

// TestOpenRefuses: directories this build must not open are refused with a
// one-line error naming what to do, and left untouched.
func TestOpenRefuses(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, dir string)
		want    error
		says    string
	}{
		{"newer format", func(t *testing.T, dir string) { writeStamp(t, dir, "geoblob data directory\nformat 2\n") }, ErrFormat, "run a newer geoblob"},
		{"garbage stamp", func(t *testing.T, dir string) { writeStamp(t, dir, "hello\n") }, ErrFormat, "not a geoblob format stamp"},
		{"format zero", func(t *testing.T, dir string) { writeStamp(t, dir, "geoblob data directory\nformat 0\n") }, ErrFormat, "unknown format"},
		{"not empty, no stamp", func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, "photo.jpg"), []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, ErrFormat, "not a geoblob data directory"},
		{"garbage metadata", func(t *testing.T, dir string) {
			writeStamp(t, dir, "geoblob data directory\nformat 1\n")
			if err := os.WriteFile(filepath.Join(dir, metaFile), bytes.Repeat([]byte("garbage!"), 4096), 0o644); err != nil {
				t.Fatal(err)
			}
		}, ErrCorrupt, "restore it from a backup"},
		{"truncated metadata", func(t *testing.T, dir string) {
			p := openPair(t, dir, clock.NewManual(t0), 0)
			for i := range 200 {
				if _, err := p.primary.CreateContainer("acct", fmt.Sprint("c", i), map[string]string{"pad": strings.Repeat("x", 500)}, ""); err != nil {
					t.Fatal(err)
				}
			}
			p.close()
			path := filepath.Join(dir, metaFile)
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(path, fi.Size()/3); err != nil {
				t.Fatal(err)
			}
		}, ErrCorrupt, "restore it from a backup"},
		// A stamped directory whose metadata is gone is damaged, not new:
		// starting empty would hide every blob and collect its content.
		{"empty metadata", func(t *testing.T, dir string) {
			writeStamp(t, dir, "geoblob data directory\nformat 1\n")
			if err := os.WriteFile(filepath.Join(dir, metaFile), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}, ErrCorrupt, "meta.db is empty"},
		{"metadata emptied, content kept", func(t *testing.T, dir string) {
			seedContent(t, dir)
			if err := os.Truncate(filepath.Join(dir, metaFile), 0); err != nil {
				t.Fatal(err)
			}
		}, ErrCorrupt, "restore meta.db from a backup"},
		{"metadata missing, content kept", func(t *testing.T, dir string) {
			seedContent(t, dir)
			if err := os.Remove(filepath.Join(dir, metaFile)); err != nil {
				t.Fatal(err)
			}
		}, ErrCorrupt, "meta.db is missing"},
		{"metadata and stamp missing, content kept", func(t *testing.T, dir string) {
			seedContent(t, dir)
			for _, f := range []string{metaFile, formatFile} {
				if err := os.Remove(filepath.Join(dir, f)); err != nil {
					t.Fatal(err)
				}
			}
		}, ErrFormat, "not a geoblob data directory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.prepare(t, dir)
			before := listContent(t, dir)
			err := openAndLoad(dir)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("open: %v", err)
				}
				return
			}
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.says) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("open: %v\nwant %v saying %q on one line", err, tc.want, tc.says)
			}
			if after := listContent(t, dir); !slices.Equal(after, before) {
				t.Fatalf("content files before the refused open %v, after %v", before, after)
			}
		})
	}
}

// openAndLoad opens dir and loads both stores, as a server start does.
func openAndLoad(dir string) error {
	db, err := Open(dir, Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	roles, err := db.Roles()
	if err != nil {
		return err
	}
	for _, id := range []string{roles.Primary, roles.Secondary} {
		if _, err := db.Load(id, store.New(store.Options{Journal: db.Journal(id, ""), Files: db.Files()})); err != nil {
			return err
		}
	}
	_, err = db.PendingLog(LogName(roles.Primary), 0)
	return err
}

// TestLock: a directory open in one DB is refused to a second until the
// first closes it.
func TestLock(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, Options{}); !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "in use by another geoblob serve") {
		t.Fatalf("second open: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db2, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("open after close: %v", err)
	}
	db2.Close()
}

// TestDamagedContent: a content file that is missing, truncated or has
// its bytes changed gives ErrCorruptContent on read, never the wrong bytes
// in full; other blobs stay readable.
func TestDamagedContent(t *testing.T) {
	tests := []struct {
		name   string
		damage func(path string) error
		check  bool // Content.Check sees it (length); else only a whole read does
	}{
		{"missing", os.Remove, true},
		{"truncated", func(p string) error { return os.Truncate(p, 10) }, true},
		{"bytes changed", func(p string) error {
			f, err := os.OpenFile(p, os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = f.WriteAt([]byte("X"), 5)
			return err
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			clk := clock.NewManual(t0)
			p := openPair(t, dir, clk, 0)
			if _, err := p.primary.CreateContainer("acct", "c", nil, ""); err != nil {
				t.Fatal(err)
			}
			data := strings.Repeat("0123456789", 100000)
			if _, err := p.primary.PutBlob("acct", "c", "victim", content(t, p.primary, data), store.HTTPHeaders{}, nil, store.WriteOptions{}); err != nil {
				t.Fatal(err)
			}
			if _, err := p.primary.PutBlob("acct", "c", "other", content(t, p.primary, "fine"), store.HTTPHeaders{}, nil, store.WriteOptions{}); err != nil {
				t.Fatal(err)
			}
			b, _ := p.primary.Blob("acct", "c", "victim", store.ReadOptions{})
			var file string
			enc, _ := b.Content.MarshalJSON()
			file = strings.Split(strings.Split(string(enc), `"gbfile":"`)[1], `"`)[0]
			p.close()
			if err := tc.damage(filepath.Join(dir, blobsDir, file)); err != nil {
				t.Fatal(err)
			}
			p2 := openPair(t, dir, clk, 0)
			b, err := p2.primary.Blob("acct", "c", "victim", store.ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if err := b.Content.Check(); (err != nil) != tc.check || err != nil && !errors.Is(err, store.ErrCorruptContent) {
				t.Fatalf("Check: %v", err)
			}
			var buf bytes.Buffer
			n, err := b.Content.WriteTo(&buf)
			if !errors.Is(err, store.ErrCorruptContent) {
				t.Fatalf("read of damaged content: %d bytes, %v", n, err)
			}
			if n >= int64(len(data)) {
				t.Fatalf("damaged content delivered whole (%d bytes)", n)
			}
			if got, err := read(t, p2.primary, "acct", "c", "other"); err != nil || got != "fine" {
				t.Fatalf("other blob: %q %v", got, err)
			}
		})
	}
}

// TestWriteFailureFailsClosed: once the disk fails, the store refuses
// writes instead of acknowledging them.
func TestWriteFailureFailsClosed(t *testing.T) {
	dir := t.TempDir()
	p := openPair(t, dir, clock.NewManual(t0), 0)
	if _, err := p.primary.CreateContainer("acct", "c", nil, ""); err != nil {
		t.Fatal(err)
	}
	// Close the metadata file under the writer: its next commit fails.
	if err := p.db.bolt.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.primary.CreateContainer("acct", "d", nil, ""); !errors.Is(err, store.ErrStoreFailed) {
		t.Fatalf("write on a failed disk: %v", err)
	}
	if _, err := p.primary.CreateContainer("acct", "e", nil, ""); !errors.Is(err, store.ErrStoreFailed) {
		t.Fatalf("write after the failure: %v", err)
	}
	if _, err := p.primary.Container("acct", "c"); err != nil {
		t.Fatalf("reads go on: %v", err)
	}
}

// TestSecondaryAppliesShareCommits: a backlog is applied to a durable
// secondary in batches that share one transaction, not one fsync each.
func TestSecondaryAppliesShareCommits(t *testing.T) {
	clk := clock.NewManual(t0)
	p := openPair(t, t.TempDir(), clk, time.Minute)
	if _, err := p.primary.CreateContainer("acct", "c", nil, ""); err != nil {
		t.Fatal(err)
	}
	const n = 300
	for i := range n {
		p.primary.SetServiceProperties("acct", []byte(fmt.Sprint("doc", i)))
	}
	before := p.db.Stats()
	clk.Advance(2 * time.Minute)
	p.waitIdle(t)
	after := p.db.Stats()
	if got := after.Records - before.Records; got != n+1 {
		t.Fatalf("%d records applied, want %d", got, n+1)
	}
	// One transaction per change would be n+1; batches of up to 256
	// applies share theirs (the writer may split a batch as it arrives).
	if commits := after.Commits - before.Commits; commits > n/2 {
		t.Fatalf("%d transactions for %d applies", commits, n+1)
	}
	if got := p.secondary.ServiceProperties("acct"); string(got) != fmt.Sprint("doc", n-1) {
		t.Fatalf("secondary service properties %q", got)
	}
}

// TestApplyToMissingContainer: a blob change applied to a secondary that
// lacks its container is dropped on disk as in memory, so the directory
// still loads.
func TestApplyToMissingContainer(t *testing.T) {
	dir := t.TempDir()
	p := openPair(t, dir, clock.NewManual(t0), 0)
	b := &store.Blob{Name: "b", Content: store.Bytes([]byte("x")), LastModified: t0}
	p.secondary.Apply(store.Change{Seq: 1, Time: t0, Kind: store.PutBlob, Account: "acct", Container: "nope", BlobName: "b", Blob: b})
	if err := p.secondary.Failed(); err != nil {
		t.Fatal(err)
	}
	p.close()
	if err := openAndLoad(dir); err != nil {
		t.Fatalf("load after an apply to a missing container: %v", err)
	}
}

// seedContent writes a data directory holding one blob's content file and
// closes it.
func seedContent(t *testing.T, dir string) {
	t.Helper()
	p := openPair(t, dir, clock.NewManual(t0), 0)
	if _, err := p.primary.CreateContainer("acct", "c", nil, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := p.primary.PutBlob("acct", "c", "b", content(t, p.primary, strings.Repeat("content ", 1000)), store.HTTPHeaders{}, nil, store.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	p.close()
	if len(listContent(t, dir)) == 0 {
		t.Fatal("the seeded directory has no content file")
	}
}

// listContent lists the content files of dir's blobs directory.
func listContent(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, blobsDir))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range entries {
		ids = append(ids, e.Name())
	}
	return ids
}
