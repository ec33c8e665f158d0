package emulator_test

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"

	"github.com/geoblob/geoblob/emulator"
)

// snapshotNames lists cont with snapshots and returns name or
// name@snapshot per entry.
func snapshotNames(t *testing.T, c *azblob.Client, cont string) []string {
	t.Helper()
	var out []string
	pager := c.ServiceClient().NewContainerClient(cont).NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Include: container.ListBlobsInclude{Snapshots: true}})
	for pager.More() {
		page, err := pager.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Segment.BlobItems {
			s := *it.Name
			if it.Snapshot != nil && *it.Snapshot != "" {
				s += "@" + *it.Snapshot
			}
			out = append(out, s)
		}
	}
	return out
}

func sameList(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestSnapshotsReplicateAndSurviveRestart: snapshots reach the secondary
// only once the lag has passed on the manual clock, in commit order with
// the writes around them; they survive a restart on the same data
// directory on both copies, and a snapshot delete pending replication
// across the restart reaches the secondary afterwards.
func TestSnapshotsReplicateAndSurviveRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clk := emulator.NewManualClock(time.Now().Add(-time.Hour).Truncate(time.Second))
	emu := startDir(t, dir, clk, 10*time.Second)
	prim, sec := clients(t, emu, emu.ServiceURL(emulator.SecondaryPathStyle, ""))
	if _, err := prim.CreateContainer(ctx, "hist", nil); err != nil {
		t.Fatal(err)
	}
	bc := prim.ServiceClient().NewContainerClient("hist").NewBlobClient("b")
	if _, err := prim.UploadBuffer(ctx, "hist", "b", []byte("v1"), nil); err != nil {
		t.Fatal(err)
	}
	s1, err := bc.CreateSnapshot(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	big := randomBytes(t, 3<<20) // large enough for a content file
	if _, err := prim.UploadBuffer(ctx, "hist", "b", big, nil); err != nil {
		t.Fatal(err)
	}
	s2, err := bc.CreateSnapshot(ctx, &blob.CreateSnapshotOptions{Metadata: map[string]*string{"m": to.Ptr("2")}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := prim.UploadBuffer(ctx, "hist", "b", []byte("v3"), nil); err != nil {
		t.Fatal(err)
	}
	// The overwritten body lives on in the second snapshot only: a
	// collection must keep its content file.
	if _, err := emu.CollectGarbage(); err != nil {
		t.Fatal(err)
	}
	want := []string{"b@" + *s1.Snapshot, "b@" + *s2.Snapshot, "b"}
	if got := snapshotNames(t, prim, "hist"); !sameList(got, want) {
		t.Fatalf("primary listing %v, want %v", got, want)
	}
	// Within the lag the secondary has none of it.
	secBlob := sec.ServiceClient().NewContainerClient("hist").NewBlobClient("b")
	secS1, _ := secBlob.WithSnapshot(*s1.Snapshot)
	if _, err := secS1.GetProperties(ctx, nil); err == nil {
		t.Fatal("the secondary serves a snapshot before the lag has passed")
	}
	clk.Advance(11 * time.Second)
	waitReplicated(t, emu)
	if got := snapshotNames(t, sec, "hist"); !sameList(got, want) {
		t.Fatalf("secondary listing %v, want %v", got, want)
	}
	// Pending across the restart: deleting the first snapshot and taking
	// a third.
	emu.Replication().Pause()
	ps1, _ := bc.WithSnapshot(*s1.Snapshot)
	if _, err := ps1.Delete(ctx, nil); err != nil {
		t.Fatal(err)
	}
	s3, err := bc.CreateSnapshot(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := emu.Close(); err != nil {
		t.Fatal(err)
	}

	emu2 := startDir(t, dir, clk, 10*time.Second)
	prim2, sec2 := clients(t, emu2, emu2.ServiceURL(emulator.SecondaryPathStyle, ""))
	after := []string{"b@" + *s2.Snapshot, "b@" + *s3.Snapshot, "b"}
	if got := snapshotNames(t, prim2, "hist"); !sameList(got, after) {
		t.Fatalf("primary listing after restart %v, want %v", got, after)
	}
	if got := snapshotNames(t, sec2, "hist"); !sameList(got, want) {
		t.Fatalf("secondary listing after restart %v, want %v (the delete is pending)", got, want)
	}
	b2, _ := prim2.ServiceClient().NewContainerClient("hist").NewBlobClient("b").WithSnapshot(*s2.Snapshot)
	resp, err := b2.DownloadStream(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || string(got) != string(big) || resp.Metadata == nil {
		t.Fatalf("restored snapshot: %d bytes (want %d), err %v, metadata %v", len(got), len(big), err, resp.Metadata)
	}
	clk.Advance(11 * time.Second)
	waitReplicated(t, emu2)
	if got := snapshotNames(t, sec2, "hist"); !sameList(got, after) {
		t.Fatalf("secondary listing after resume %v, want %v", got, after)
	}
	// A blob with snapshots is not deleted without x-ms-delete-snapshots.
	_, err = prim2.ServiceClient().NewContainerClient("hist").NewBlobClient("b").Delete(ctx, nil)
	if !bloberror.HasCode(err, bloberror.SnapshotsPresent) {
		t.Fatalf("delete of a blob with snapshots: %v", err)
	}
}

// TestVersionsReplicateAndSurviveRestart: with Options.Versioning, blob
// versions reach the secondary once the lag has passed on the manual
// clock, survive a restart on the same data directory, and the setting
// changes while running through SetVersioning.
func TestVersionsReplicateAndSurviveRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clk := emulator.NewManualClock(time.Now().Add(-time.Hour).Truncate(time.Second))
	opts := emulator.Options{DataDir: dir, Clock: clk, Lag: 10 * time.Second, NoSecondaryListener: true, Versioning: true}
	emu := start(t, opts)
	prim, sec := clients(t, emu, emu.ServiceURL(emulator.SecondaryPathStyle, ""))
	if _, err := prim.CreateContainer(ctx, "vers", nil); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, body := range []string{"v1", "v2"} {
		r, err := prim.UploadBuffer(ctx, "vers", "b", []byte(body), nil)
		if err != nil {
			t.Fatal(err)
		}
		if r.VersionID == nil {
			t.Fatal("no version id with Options.Versioning")
		}
		ids = append(ids, *r.VersionID)
	}
	readVersion := func(c *azblob.Client, id string) (string, error) {
		vc, err := c.ServiceClient().NewContainerClient("vers").NewBlobClient("b").WithVersionID(id)
		if err != nil {
			return "", err
		}
		resp, err := vc.DownloadStream(ctx, nil)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	if _, err := readVersion(sec, ids[0]); err == nil {
		t.Fatal("the secondary serves a version before the lag has passed")
	}
	clk.Advance(11 * time.Second)
	waitReplicated(t, emu)
	if got, err := readVersion(sec, ids[0]); err != nil || got != "v1" {
		t.Fatalf("secondary version: %q, %v", got, err)
	}
	emu.SetVersioning(false)
	if r, err := prim.UploadBuffer(ctx, "vers", "c", []byte("x"), nil); err != nil || r.VersionID != nil {
		t.Fatalf("upload with versioning off: %v, %v", r.VersionID, err)
	}
	if err := emu.Close(); err != nil {
		t.Fatal(err)
	}

	emu2 := start(t, opts)
	prim2, sec2 := clients(t, emu2, emu2.ServiceURL(emulator.SecondaryPathStyle, ""))
	if !emu2.Versioning() {
		t.Fatal("a restart does not take Options.Versioning again")
	}
	for _, c := range []*azblob.Client{prim2, sec2} {
		if got, err := readVersion(c, ids[0]); err != nil || got != "v1" {
			t.Fatalf("version after restart: %q, %v", got, err)
		}
		p, err := c.ServiceClient().NewContainerClient("vers").NewBlobClient("b").GetProperties(ctx, nil)
		if err != nil || p.VersionID == nil || *p.VersionID != ids[1] || p.IsCurrentVersion == nil || !*p.IsCurrentVersion {
			t.Fatalf("current version after restart: %+v, %v", p.VersionID, err)
		}
	}
}

// TestSoftDeletedBlobSurvivesRestart: a soft-deleted blob is listed with
// include=deleted on both copies after a restart on the same data
// directory and is restored by Undelete Blob; its retention keeps running
// on the clock across the restart.
func TestSoftDeletedBlobSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clk := emulator.NewManualClock(time.Now().Add(-time.Hour).Truncate(time.Second))
	emu := startDir(t, dir, clk, 10*time.Second)
	prim, _ := clients(t, emu, emu.ServiceURL(emulator.SecondaryPathStyle, ""))
	if _, err := prim.ServiceClient().SetProperties(ctx, &service.SetPropertiesOptions{DeleteRetentionPolicy: &service.RetentionPolicy{Enabled: to.Ptr(true), Days: to.Ptr[int32](1)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := prim.CreateContainer(ctx, "soft", nil); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"keep", "expire"} {
		if _, err := prim.UploadBuffer(ctx, "soft", n, []byte(n), nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := prim.DeleteBlob(ctx, "soft", "expire", nil); err != nil {
		t.Fatal(err)
	}
	clk.Advance(12 * time.Hour)
	if _, err := prim.DeleteBlob(ctx, "soft", "keep", nil); err != nil {
		t.Fatal(err)
	}
	clk.Advance(11 * time.Second)
	waitReplicated(t, emu)
	if err := emu.Close(); err != nil {
		t.Fatal(err)
	}
	clk.Advance(12 * time.Hour) // "expire" is past its day, "keep" is not

	emu2 := startDir(t, dir, clk, 10*time.Second)
	prim2, sec2 := clients(t, emu2, emu2.ServiceURL(emulator.SecondaryPathStyle, ""))
	deleted := func(c *azblob.Client) []string {
		var out []string
		pager := c.NewListBlobsFlatPager("soft", &azblob.ListBlobsFlatOptions{Include: container.ListBlobsInclude{Deleted: true}})
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range page.Segment.BlobItems {
				if it.Deleted != nil && *it.Deleted {
					out = append(out, *it.Name)
				}
			}
		}
		return out
	}
	for _, c := range []*azblob.Client{prim2, sec2} {
		if got := deleted(c); !sameList(got, []string{"keep"}) {
			t.Fatalf("deleted blobs after restart: %v", got)
		}
	}
	if _, err := prim2.ServiceClient().NewContainerClient("soft").NewBlobClient("keep").Undelete(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if got, err := download(ctx, prim2, "soft", "keep"); err != nil || got != "keep" {
		t.Fatalf("undeleted after restart: %q, %v", got, err)
	}
}

// TestFailoverKeepsHistory: after an unplanned failover the promoted copy
// keeps snapshots, versions and soft-deleted blobs and goes on
// versioning, and the secondary that Enable builds from it holds them all.
func TestFailoverKeepsHistory(t *testing.T) {
	emu := start(t, emulator.Options{BootstrapDuration: -1, Versioning: true})
	ctx := context.Background()
	prim, _ := clients(t, emu, emu.ServiceURL(emulator.SecondaryPathStyle, ""))
	if _, err := prim.ServiceClient().SetProperties(ctx, &service.SetPropertiesOptions{DeleteRetentionPolicy: &service.RetentionPolicy{Enabled: to.Ptr(true), Days: to.Ptr[int32](3)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := prim.CreateContainer(ctx, "hst", nil); err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{"v1", "v2"} {
		if _, err := prim.UploadBuffer(ctx, "hst", "b", []byte(body), nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := prim.ServiceClient().NewContainerClient("hst").NewBlobClient("b").CreateSnapshot(ctx, nil); err != nil {
		t.Fatal(err)
	}
	// Soft-deleting a version keeps it for the retention.
	pager := prim.NewListBlobsFlatPager("hst", &azblob.ListBlobsFlatOptions{Include: container.ListBlobsInclude{Versions: true}})
	page, err := pager.NextPage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	first := *page.Segment.BlobItems[0].VersionID
	vc, _ := prim.ServiceClient().NewContainerClient("hst").NewBlobClient("b").WithVersionID(first)
	if _, err := vc.Delete(ctx, nil); err != nil {
		t.Fatal(err)
	}
	all := func(c *azblob.Client) []string {
		var out []string
		p := c.NewListBlobsFlatPager("hst", &azblob.ListBlobsFlatOptions{Include: container.ListBlobsInclude{Versions: true, Snapshots: true, Deleted: true}})
		for p.More() {
			pg, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range pg.Segment.BlobItems {
				s := *it.Name
				switch {
				case it.Snapshot != nil && *it.Snapshot != "":
					s += "@snap"
				case it.IsCurrentVersion != nil && !*it.IsCurrentVersion:
					s += "@old"
				}
				if it.Deleted != nil && *it.Deleted {
					s += "!del"
				}
				out = append(out, s)
			}
		}
		return out
	}
	want := []string{"b@snap", "b@old!del", "b"}
	if got := all(prim); !sameList(got, want) {
		t.Fatalf("primary %v, want %v", got, want)
	}
	waitReplicated(t, emu)
	if _, err := emu.Failover(ctx, emulator.Unplanned); err != nil {
		t.Fatal(err)
	}
	if got := all(prim); !sameList(got, want) {
		t.Fatalf("promoted copy %v, want %v", got, want)
	}
	if r, err := prim.UploadBuffer(ctx, "hst", "c", []byte("x"), nil); err != nil || r.VersionID == nil {
		t.Fatalf("the promoted copy does not version: %v, %v", r.VersionID, err)
	}
	if err := emu.Replication().Enable(ctx); err != nil {
		t.Fatal(err)
	}
	if err := emu.Replication().WaitLive(ctx); err != nil {
		t.Fatal(err)
	}
	waitReplicated(t, emu)
	_, sec := clients(t, emu, emu.ServiceURL(emulator.SecondaryPathStyle, ""))
	if got, w := all(sec), append(append([]string(nil), want...), "c"); !sameList(got, w) {
		t.Fatalf("new secondary %v, want %v", got, w)
	}
}
