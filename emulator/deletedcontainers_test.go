package emulator_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	azstreaming "github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"

	"github.com/geoblob/geoblob/emulator"
)

// retentionPolicy adds the emulator's ContainerDeleteRetentionPolicy
// element to the body of Set Blob Service Properties, which azblob has no
// field for (Azure sets it through the management plane).
type retentionPolicy struct{ days int }

func (p retentionPolicy) Do(req *policy.Request) (*http.Response, error) {
	r := req.Raw()
	if r.Method == http.MethodPut && r.URL.Query().Get("comp") == "properties" && req.Body() != nil {
		body, err := io.ReadAll(req.Body())
		if err != nil {
			return nil, err
		}
		el := fmt.Sprintf("<ContainerDeleteRetentionPolicy><Enabled>true</Enabled><Days>%d</Days></ContainerDeleteRetentionPolicy>", p.days)
		body = bytes.Replace(body, []byte("</StorageServiceProperties>"), []byte(el+"</StorageServiceProperties>"), 1)
		if err := req.SetBody(azstreaming.NopCloser(bytes.NewReader(body)), "application/xml"); err != nil {
			return nil, err
		}
	}
	return req.Next()
}

// laggedSoftDelete starts an emulator on a manual clock with the given
// replication lag and container soft delete kept for 2 days, and returns
// the clock, the emulator and clients of its primary and secondary.
func laggedSoftDelete(t *testing.T, lag time.Duration) (*emulator.ManualClock, *emulator.Emulator, *azblob.Client, *azblob.Client) {
	t.Helper()
	clk := emulator.NewManualClock(time.Now().Add(-time.Hour).Truncate(time.Second))
	emu := start(t, emulator.Options{Lag: lag, Clock: clk})
	prim, sec := clients(t, emu, emu.SecondaryURL())
	enableContainerSoftDelete(t, emu, 2)
	return clk, emu, prim, sec
}

// enableContainerSoftDelete turns container soft delete on for days
// through the SDK's Set Service Properties.
func enableContainerSoftDelete(t *testing.T, emu *emulator.Emulator, days int) {
	t.Helper()
	c, err := azblob.NewClientWithSharedKeyCredential(emu.PrimaryURL(), credential(t, emu), &azblob.ClientOptions{
		ClientOptions: azcore.ClientOptions{PerCallPolicies: []policy.Policy{retentionPolicy{days}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ServiceClient().SetProperties(context.Background(), &service.SetPropertiesOptions{DefaultServiceVersion: to.Ptr("2021-08-06")}); err != nil {
		t.Fatal(err)
	}
}

// deletedVersions lists the deleted versions of container name.
func deletedVersions(t *testing.T, c *azblob.Client, name string) []string {
	t.Helper()
	var out []string
	pager := c.NewListContainersPager(&azblob.ListContainersOptions{Prefix: to.Ptr(name), Include: azblob.ListContainersInclude{Deleted: true}})
	for pager.More() {
		page, err := pager.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.ContainerItems {
			if *it.Name == name && it.Deleted != nil && *it.Deleted {
				out = append(out, *it.Version)
			}
		}
	}
	return out
}

// TestContainerSoftDeleteReplicatesWithLag: a soft delete and a restore
// reach the secondary only once the lag has passed on the manual clock, in
// commit order with the writes around them, and the secondary refuses the
// restore.
func TestContainerSoftDeleteReplicatesWithLag(t *testing.T) {
	const lag = 10 * time.Second
	ctx := context.Background()
	clk, emu, prim, sec := laggedSoftDelete(t, lag)
	if _, err := prim.CreateContainer(ctx, "lagged", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := prim.UploadBuffer(ctx, "lagged", "kept", []byte("kept bytes"), nil); err != nil {
		t.Fatal(err)
	}
	clk.Advance(lag)
	waitReplicated(t, emu)

	// Overwrite, delete, recreate with a blob of the same name: the
	// deleted version keeps the overwritten bytes on both copies.
	if _, err := prim.UploadBuffer(ctx, "lagged", "kept", []byte("second bytes"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := prim.DeleteContainer(ctx, "lagged", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := prim.CreateContainer(ctx, "lagged", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := prim.UploadBuffer(ctx, "lagged", "kept", []byte("new container"), nil); err != nil {
		t.Fatal(err)
	}
	versions := deletedVersions(t, prim, "lagged")
	if len(versions) != 1 {
		t.Fatalf("primary deleted versions %v", versions)
	}
	// Within the lag the secondary still has the old container, live.
	if got, err := download(ctx, sec, "lagged", "kept"); err != nil || got != "kept bytes" {
		t.Fatalf("secondary within the lag: %q %v", got, err)
	}
	if v := deletedVersions(t, sec, "lagged"); len(v) != 0 {
		t.Fatalf("secondary within the lag lists deleted %v", v)
	}
	clk.Advance(lag)
	waitReplicated(t, emu)
	if v := deletedVersions(t, sec, "lagged"); len(v) != 1 || v[0] != versions[0] {
		t.Fatalf("secondary after the lag lists deleted %v, want %v", v, versions)
	}
	if got, err := download(ctx, sec, "lagged", "kept"); err != nil || got != "new container" {
		t.Fatalf("secondary live container: %q %v", got, err)
	}
	_, err := sec.ServiceClient().RestoreContainer(ctx, "lagged", versions[0], nil)
	wantStatus(t, err, http.StatusForbidden)

	// Restore after removing the new container.
	if _, err := prim.DeleteContainer(ctx, "lagged", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := prim.ServiceClient().RestoreContainer(ctx, "lagged", versions[0], nil); err != nil {
		t.Fatal(err)
	}
	if got, err := download(ctx, prim, "lagged", "kept"); err != nil || got != "second bytes" {
		t.Fatalf("restored on the primary: %q %v", got, err)
	}
	if got, err := download(ctx, sec, "lagged", "kept"); err != nil || got != "new container" {
		t.Fatalf("secondary within the lag of the restore: %q %v", got, err)
	}
	clk.Advance(lag)
	waitReplicated(t, emu)
	if got, err := download(ctx, sec, "lagged", "kept"); err != nil || got != "second bytes" {
		t.Fatalf("restored on the secondary: %q %v", got, err)
	}
	if v := deletedVersions(t, sec, "lagged"); len(v) != 1 || v[0] == versions[0] {
		t.Fatalf("secondary keeps %v, want only the new container's deleted version", v)
	}
}

// wantStatus fails unless err is an Azure error with the given status.
func wantStatus(t *testing.T, err error, status int) {
	t.Helper()
	var re *azcore.ResponseError
	if err == nil || !errors.As(err, &re) || re.StatusCode != status {
		t.Fatalf("got %v, want status %d", err, status)
	}
}

// TestDataDirContainerSoftDelete: deleted containers, their blobs and the
// retention survive restarts with --data-dir; their content files are not
// garbage while they are kept, and are once they expire and are purged.
func TestDataDirContainerSoftDelete(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clk := emulator.NewManualClock(time.Now().Add(-time.Hour).Truncate(time.Second))
	emu := startDir(t, dir, clk, 0)
	prim, _ := clients(t, emu, emu.ServiceURL(emulator.SecondaryPathStyle, ""))
	enableContainerSoftDelete(t, emu, 1)
	large := randomBytes(t, 1<<20+3)
	if _, err := prim.CreateContainer(ctx, "durable", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := prim.UploadBuffer(ctx, "durable", "large", large, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := prim.DeleteContainer(ctx, "durable", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := prim.CreateContainer(ctx, "durable", nil); err != nil {
		t.Fatal(err)
	}
	waitReplicated(t, emu)
	collect(t, emu)
	files := countContentFiles(t, dir)
	if files == 0 {
		t.Fatal("no content files")
	}
	if err := emu.Close(); err != nil {
		t.Fatal(err)
	}

	emu = startDir(t, dir, clk, 0)
	prim, sec := clients(t, emu, emu.ServiceURL(emulator.SecondaryPathStyle, ""))
	collect(t, emu)
	if n := countContentFiles(t, dir); n != files {
		t.Fatalf("%d content files after restart and collection, want %d", n, files)
	}
	v := deletedVersions(t, prim, "durable")
	if len(v) != 1 {
		t.Fatalf("deleted versions after restart: %v", v)
	}
	if sv := deletedVersions(t, sec, "durable"); len(sv) != 1 || sv[0] != v[0] {
		t.Fatalf("secondary deleted versions after restart: %v", sv)
	}
	_, err := prim.ServiceClient().RestoreContainer(ctx, "durable", v[0], nil)
	wantStatus(t, err, http.StatusConflict)
	if _, err := prim.DeleteContainer(ctx, "durable", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := prim.ServiceClient().RestoreContainer(ctx, "durable", v[0], nil); err != nil {
		t.Fatal(err)
	}
	if err := emu.Close(); err != nil {
		t.Fatal(err)
	}

	// The restore survives a restart; the empty container deleted after
	// it is still kept until it expires.
	emu = startDir(t, dir, clk, 0)
	prim, sec = clients(t, emu, emu.ServiceURL(emulator.SecondaryPathStyle, ""))
	// The changes pending at the close resume on the clock.
	clk.Advance(time.Second)
	waitReplicated(t, emu)
	for _, c := range []*azblob.Client{prim, sec} {
		if got, err := download(ctx, c, "durable", "large"); err != nil || got != string(large) {
			t.Fatalf("restored blob after restart: %d bytes %v", len(got), err)
		}
	}
	if v2 := deletedVersions(t, prim, "durable"); len(v2) != 1 || v2[0] == v[0] {
		t.Fatalf("deleted versions after the restore: %v", v2)
	}
	// Delete it again, let it expire, and purge it with another delete:
	// its content goes, on disk as in memory, and stays gone.
	if _, err := prim.DeleteContainer(ctx, "durable", nil); err != nil {
		t.Fatal(err)
	}
	clk.Advance(25 * time.Hour)
	if got := deletedVersions(t, prim, "durable"); len(got) != 0 {
		t.Fatalf("expired versions listed: %v", got)
	}
	if _, err := prim.CreateContainer(ctx, "trigger", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := prim.DeleteContainer(ctx, "trigger", nil); err != nil {
		t.Fatal(err)
	}
	waitReplicated(t, emu)
	for range 50 {
		collect(t, emu)
		if countContentFiles(t, dir) == 0 {
			break
		}
	}
	if n := countContentFiles(t, dir); n != 0 {
		t.Fatalf("%d content files after the purge, want 0", n)
	}
	if err := emu.Close(); err != nil {
		t.Fatal(err)
	}
	emu = startDir(t, dir, clk, 0)
	prim, _ = clients(t, emu, emu.ServiceURL(emulator.SecondaryPathStyle, ""))
	if got := deletedVersions(t, prim, "trigger"); len(got) != 1 {
		t.Fatalf("the last delete after restart: %v", got)
	}
	if got := deletedVersions(t, prim, "durable"); len(got) != 0 {
		t.Fatalf("purged versions after restart: %v", got)
	}
	_, err = prim.ServiceClient().RestoreContainer(ctx, "durable", v[0], nil)
	wantStatus(t, err, http.StatusNotFound)
	_, err = prim.DownloadStream(ctx, "durable", "large", nil)
	if !bloberror.HasCode(err, bloberror.ContainerNotFound) {
		t.Fatalf("download after the purge: %v", err)
	}
}

// TestEnableCopiesDeletedContainers: a secondary seeded by Enable (after an
// unplanned failover left the account locally redundant) gets the deleted
// containers with their blobs, beside a live container of the same name,
// so a later restore on the primary replicates whole.
func TestEnableCopiesDeletedContainers(t *testing.T) {
	ctx := context.Background()
	emu := start(t, emulator.Options{BootstrapDuration: -1})
	prim, sec := clients(t, emu, emu.SecondaryURL())
	enableContainerSoftDelete(t, emu, 7)
	if _, err := prim.CreateContainer(ctx, "seeded", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := prim.UploadBuffer(ctx, "seeded", "old", []byte("old bytes"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := prim.DeleteContainer(ctx, "seeded", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := prim.CreateContainer(ctx, "seeded", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := prim.UploadBuffer(ctx, "seeded", "new", []byte("new bytes"), nil); err != nil {
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
	v := deletedVersions(t, prim, "seeded")
	if sv := deletedVersions(t, sec, "seeded"); len(v) != 1 || len(sv) != 1 || sv[0] != v[0] {
		t.Fatalf("deleted versions: primary %v, seeded secondary %v", v, sv)
	}
	if got, err := download(ctx, sec, "seeded", "new"); err != nil || got != "new bytes" {
		t.Fatalf("live container on the seeded secondary: %q %v", got, err)
	}
	if _, err := prim.DeleteContainer(ctx, "seeded", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := prim.ServiceClient().RestoreContainer(ctx, "seeded", v[0], nil); err != nil {
		t.Fatal(err)
	}
	waitReplicated(t, emu)
	if got, err := download(ctx, sec, "seeded", "old"); err != nil || got != "old bytes" {
		t.Fatalf("restored container on the seeded secondary: %q %v", got, err)
	}
}
