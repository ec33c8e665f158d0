package emulator_test

import (
	"context"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"

	"github.com/geoblob/geoblob/emulator"
)

// TestBlobBatchReplicatesWithLag: the deletes and tier changes of a Blob
// Batch reach the secondary only once the lag has passed on the manual
// clock, and the secondary refuses a batch.
func TestBlobBatchReplicatesWithLag(t *testing.T) {
	const lag = 10 * time.Second
	clk := emulator.NewManualClock(time.Now().Add(-time.Hour).Truncate(time.Second))
	emu := start(t, emulator.Options{Lag: lag, Clock: clk})
	ctx := context.Background()
	prim, sec := clients(t, emu, emu.SecondaryURL())
	if _, err := prim.CreateContainer(ctx, "bat", nil); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a", "b", "c"} {
		if _, err := prim.UploadBuffer(ctx, "bat", n, []byte(n), nil); err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(lag)
	waitReplicated(t, emu)

	exists := func(c *azblob.Client, name string) bool {
		t.Helper()
		_, err := c.ServiceClient().NewContainerClient("bat").NewBlobClient(name).GetProperties(ctx, nil)
		if bloberror.HasCode(err, bloberror.BlobNotFound) {
			return false
		}
		if err != nil {
			t.Fatal(err)
		}
		return true
	}
	tierOf := func(c *azblob.Client, name string) string {
		t.Helper()
		p, err := c.ServiceClient().NewContainerClient("bat").NewBlobClient(name).GetProperties(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		return *p.AccessTier
	}

	bb, err := prim.ServiceClient().NewBatchBuilder()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a", "b"} {
		if err := bb.Delete("bat", n, nil); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := prim.ServiceClient().SubmitBatch(ctx, bb, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range resp.Responses {
		if r.Error != nil {
			t.Fatalf("sub-request %d: %v", i, r.Error)
		}
	}
	cc := prim.ServiceClient().NewContainerClient("bat")
	tb, err := cc.NewBatchBuilder()
	if err != nil {
		t.Fatal(err)
	}
	if err := tb.SetTier("c", blob.AccessTierCool, nil); err != nil {
		t.Fatal(err)
	}
	tresp, err := cc.SubmitBatch(ctx, tb, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tresp.Responses[0].Error != nil {
		t.Fatal(tresp.Responses[0].Error)
	}

	clk.Advance(lag - time.Nanosecond)
	for _, n := range []string{"a", "b"} {
		if exists(prim, n) {
			t.Fatalf("%s still on the primary", n)
		}
		if !exists(sec, n) {
			t.Fatalf("%s gone from the secondary before the lag", n)
		}
	}
	if got := tierOf(sec, "c"); got != "Hot" {
		t.Fatalf("secondary tier before the lag: %s", got)
	}
	clk.Advance(time.Nanosecond)
	waitReplicated(t, emu)
	for _, n := range []string{"a", "b"} {
		if exists(sec, n) {
			t.Fatalf("%s still on the secondary after the lag", n)
		}
	}
	if got := tierOf(sec, "c"); got != "Cool" {
		t.Fatalf("secondary tier after the lag: %s", got)
	}

	// The secondary refuses a batch, whatever its sub-requests.
	sb, err := sec.ServiceClient().NewBatchBuilder()
	if err != nil {
		t.Fatal(err)
	}
	if err := sb.SetTier("bat", "c", blob.AccessTierHot, nil); err != nil {
		t.Fatal(err)
	}
	_, err = sec.ServiceClient().SubmitBatch(ctx, sb, nil)
	if !bloberror.HasCode(err, "InsufficientAccountPermissions") {
		t.Fatalf("Blob Batch on the secondary: %v", err)
	}
	if got := tierOf(prim, "c"); got != "Cool" {
		t.Fatalf("primary tier after a refused batch: %s", got)
	}
}
