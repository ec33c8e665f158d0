package emulator_test

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/geoblob/geoblob/emulator"
)

// snapshotsOf lists the snapshots of blob name in container cont.
func snapshotsOf(t *testing.T, c *azblob.Client, cont, name string) []string {
	t.Helper()
	var out []string
	pager := c.ServiceClient().NewContainerClient(cont).NewListBlobsFlatPager(&container.ListBlobsFlatOptions{
		Prefix: to.Ptr(name), Include: container.ListBlobsInclude{Snapshots: true},
	})
	for pager.More() {
		page, err := pager.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Segment.BlobItems {
			if *it.Name == name && it.Snapshot != nil && *it.Snapshot != "" {
				out = append(out, *it.Snapshot)
			}
		}
	}
	return out
}

// readSnapshot downloads snapshot snap of cont/name.
func readSnapshot(ctx context.Context, t *testing.T, c *azblob.Client, cont, name, snap string) string {
	t.Helper()
	bc, err := c.ServiceClient().NewContainerClient(cont).NewBlobClient(name).WithSnapshot(snap)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := bc.DownloadStream(ctx, &blob.DownloadStreamOptions{})
	if err != nil {
		t.Fatalf("snapshot %s of %s/%s: %v", snap, cont, name, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestDataDirDeletedContainerKeepsSnapshots: a soft-deleted container keeps
// its blobs' snapshots on disk with it. The emulator restarts with such a
// container kept (it used to refuse its data directory as corrupt: the
// snapshot records stayed under the live container's name), a new
// container of the same name does not inherit them, and a restore brings
// them back on both copies, after a restart too.
func TestDataDirDeletedContainerKeepsSnapshots(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clk := emulator.NewManualClock(time.Now().Add(-time.Hour).Truncate(time.Second))
	emu := startDir(t, dir, clk, 0)
	prim, _ := clients(t, emu, emu.ServiceURL(emulator.SecondaryPathStyle, ""))
	enableContainerSoftDelete(t, emu, 1)
	if _, err := prim.CreateContainer(ctx, "snaps", nil); err != nil {
		t.Fatal(err)
	}
	first := randomBytes(t, 1<<20+5) // large enough for a content file
	if _, err := prim.UploadBuffer(ctx, "snaps", "b", first, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := prim.ServiceClient().NewContainerClient("snaps").NewBlobClient("b").CreateSnapshot(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := prim.UploadBuffer(ctx, "snaps", "b", []byte("second"), nil); err != nil {
		t.Fatal(err)
	}
	snaps := snapshotsOf(t, prim, "snaps", "b")
	if len(snaps) != 1 {
		t.Fatalf("snapshots before the delete: %v", snaps)
	}
	if _, err := prim.DeleteContainer(ctx, "snaps", nil); err != nil {
		t.Fatal(err)
	}
	waitReplicated(t, emu)
	if err := emu.Close(); err != nil {
		t.Fatal(err)
	}

	emu = startDir(t, dir, clk, 0)
	prim, _ = clients(t, emu, emu.ServiceURL(emulator.SecondaryPathStyle, ""))
	// A new container of the same name starts without snapshots, and
	// stays so across a restart.
	if _, err := prim.CreateContainer(ctx, "snaps", nil); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second) // the changes resumed after a restart run on the clock
	waitReplicated(t, emu)
	if err := emu.Close(); err != nil {
		t.Fatal(err)
	}
	emu = startDir(t, dir, clk, 0)
	prim, sec := clients(t, emu, emu.ServiceURL(emulator.SecondaryPathStyle, ""))
	collect(t, emu) // the kept snapshot's content is not garbage
	if got := snapshotsOf(t, prim, "snaps", "b"); len(got) != 0 {
		t.Fatalf("new container of the same name has snapshots %v", got)
	}
	v := deletedVersions(t, prim, "snaps")
	if len(v) != 1 {
		t.Fatalf("deleted versions after restart: %v", v)
	}
	if _, err := prim.DeleteContainer(ctx, "snaps", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := prim.ServiceClient().RestoreContainer(ctx, "snaps", v[0], nil); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	waitReplicated(t, emu)
	for _, c := range []*azblob.Client{prim, sec} {
		if got := snapshotsOf(t, c, "snaps", "b"); len(got) != 1 || got[0] != snaps[0] {
			t.Fatalf("restored container's snapshots %v, want %v", got, snaps)
		}
		if got := readSnapshot(ctx, t, c, "snaps", "b", snaps[0]); got != string(first) {
			t.Fatalf("restored snapshot reads %d bytes", len(got))
		}
	}
	if err := emu.Close(); err != nil {
		t.Fatal(err)
	}
	emu = startDir(t, dir, clk, 0)
	prim, sec = clients(t, emu, emu.ServiceURL(emulator.SecondaryPathStyle, ""))
	collect(t, emu)
	for _, c := range []*azblob.Client{prim, sec} {
		if got := readSnapshot(ctx, t, c, "snaps", "b", snaps[0]); got != string(first) {
			t.Fatalf("restored snapshot after restart reads %d bytes", len(got))
		}
		if got, err := download(ctx, c, "snaps", "b"); err != nil || got != "second" {
			t.Fatalf("restored blob after restart: %q %v", got, err)
		}
	}
}

// TestEnableCopiesDeletedContainerSnapshots: a secondary seeded by Enable
// gets the snapshots of a deleted container's blobs too, so that after a
// restore the secondary serves them as the primary does.
func TestEnableCopiesDeletedContainerSnapshots(t *testing.T) {
	ctx := context.Background()
	emu := start(t, emulator.Options{BootstrapDuration: -1})
	prim, sec := clients(t, emu, emu.SecondaryURL())
	enableContainerSoftDelete(t, emu, 7)
	if _, err := prim.CreateContainer(ctx, "seedsnap", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := prim.UploadBuffer(ctx, "seedsnap", "b", []byte("first"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := prim.ServiceClient().NewContainerClient("seedsnap").NewBlobClient("b").CreateSnapshot(ctx, nil); err != nil {
		t.Fatal(err)
	}
	snaps := snapshotsOf(t, prim, "seedsnap", "b")
	if len(snaps) != 1 {
		t.Fatalf("snapshots: %v", snaps)
	}
	if _, err := prim.DeleteContainer(ctx, "seedsnap", nil); err != nil {
		t.Fatal(err)
	}
	waitReplicated(t, emu)
	if _, err := emu.Failover(ctx, emulator.Unplanned); err != nil {
		t.Fatal(err)
	}
	if err := emu.Replication().Enable(ctx); err != nil {
		t.Fatal(err)
	}
	if err := emu.Replication().WaitLive(ctx); err != nil {
		t.Fatal(err)
	}
	v := deletedVersions(t, prim, "seedsnap")
	if len(v) != 1 {
		t.Fatalf("deleted versions: %v", v)
	}
	if _, err := prim.ServiceClient().RestoreContainer(ctx, "seedsnap", v[0], nil); err != nil {
		t.Fatal(err)
	}
	waitReplicated(t, emu)
	for _, c := range []*azblob.Client{prim, sec} {
		if got := snapshotsOf(t, c, "seedsnap", "b"); len(got) != 1 || got[0] != snaps[0] {
			t.Fatalf("restored snapshots %v, want %v", got, snaps)
		}
	}
}

// TestFailoverWithPendingRestore: within the lag, a container is deleted,
// a new one of its name written and deleted, and the first restored. A
// planned failover then lets the secondary catch up before it becomes
// the primary: it serves the restored container, keeps the other deleted
// version, and the old primary, now the secondary, refuses a restore.
func TestFailoverWithPendingRestore(t *testing.T) {
	const lag = 10 * time.Second
	ctx := context.Background()
	clk, emu, prim, sec := laggedSoftDelete(t, lag)
	if _, err := prim.CreateContainer(ctx, "fover", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := prim.UploadBuffer(ctx, "fover", "x", []byte("old"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := prim.DeleteContainer(ctx, "fover", nil); err != nil {
		t.Fatal(err)
	}
	v1 := deletedVersions(t, prim, "fover")
	if _, err := prim.CreateContainer(ctx, "fover", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := prim.UploadBuffer(ctx, "fover", "x", []byte("new"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := prim.DeleteContainer(ctx, "fover", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := prim.ServiceClient().RestoreContainer(ctx, "fover", v1[0], nil); err != nil {
		t.Fatal(err)
	}
	if _, err := prim.UploadBuffer(ctx, "fover", "y", []byte("after"), nil); err != nil {
		t.Fatal(err)
	}
	left := deletedVersions(t, prim, "fover")
	if len(left) != 1 || left[0] == v1[0] {
		t.Fatalf("deleted versions before the failover: %v", left)
	}
	if _, err := emu.Failover(ctx, emulator.Planned); err != nil {
		t.Fatal(err)
	}
	// The clients keep their URLs: the primary URL now serves the former
	// secondary's copy.
	for name, want := range map[string]string{"x": "old", "y": "after"} {
		if got, err := download(ctx, prim, "fover", name); err != nil || got != want {
			t.Fatalf("%s after the failover: %q %v", name, got, err)
		}
	}
	if got := deletedVersions(t, prim, "fover"); len(got) != 1 || got[0] != left[0] {
		t.Fatalf("deleted versions after the failover: %v, want %v", got, left)
	}
	_, err := sec.ServiceClient().RestoreContainer(ctx, "fover", left[0], nil)
	wantStatus(t, err, 403)
	clk.Advance(lag)
	waitReplicated(t, emu)
	if got, err := download(ctx, sec, "fover", "x"); err != nil || got != "old" {
		t.Fatalf("new secondary: %q %v", got, err)
	}
}

// TestUnplannedFailoverLosesPendingSoftDelete: a soft delete and what
// followed it within the lag are lost by an unplanned failover, listed as
// such; the promoted copy serves the container as it stood, with no
// deleted version to restore.
func TestUnplannedFailoverLosesPendingSoftDelete(t *testing.T) {
	const lag = 10 * time.Second
	ctx := context.Background()
	clk, emu, prim, _ := laggedSoftDelete(t, lag)
	if _, err := prim.CreateContainer(ctx, "lostdel", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := prim.UploadBuffer(ctx, "lostdel", "x", []byte("kept"), nil); err != nil {
		t.Fatal(err)
	}
	clk.Advance(lag)
	waitReplicated(t, emu)
	if _, err := prim.DeleteContainer(ctx, "lostdel", nil); err != nil {
		t.Fatal(err)
	}
	v := deletedVersions(t, prim, "lostdel")
	if _, err := prim.CreateContainer(ctx, "lostdel", nil); err != nil {
		t.Fatal(err)
	}
	rep, err := emu.Failover(ctx, emulator.Unplanned)
	if err != nil {
		t.Fatal(err)
	}
	var ops []string
	for _, l := range rep.Lost {
		if l.Container == "lostdel" {
			ops = append(ops, l.Op)
		}
	}
	if len(ops) != 2 || ops[0] != "soft-delete-container" || ops[1] != "put-container" {
		t.Fatalf("lost writes %v", ops)
	}
	if got, err := download(ctx, prim, "lostdel", "x"); err != nil || got != "kept" {
		t.Fatalf("promoted copy: %q %v", got, err)
	}
	if got := deletedVersions(t, prim, "lostdel"); len(got) != 0 {
		t.Fatalf("promoted copy lists deleted %v", got)
	}
	_, err = prim.ServiceClient().RestoreContainer(ctx, "lostdel", v[0], nil)
	wantStatus(t, err, 409) // the container is live there
}
