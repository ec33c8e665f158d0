package emulator_test

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/lease"

	"github.com/geoblob/geoblob/emulator"
)

// TestTagsAndTiersReplicateWithLag: Set Blob Tags and Set Blob Tier reach
// the secondary only once the lag has passed on the manual clock, in commit
// order with the writes around them; the rehydration delay
// (Options.RehydrateDelay) runs on the same clock, and the secondary
// refuses both writes.
func TestTagsAndTiersReplicateWithLag(t *testing.T) {
	const (
		lag       = 10 * time.Second
		rehydrate = 5 * time.Minute
	)
	clk := emulator.NewManualClock(time.Now().Add(-time.Hour).Truncate(time.Second))
	emu := start(t, emulator.Options{Lag: lag, Clock: clk, RehydrateDelay: rehydrate})
	ctx := context.Background()
	prim, sec := clients(t, emu, emu.SecondaryURL())
	if _, err := prim.CreateContainer(ctx, "ttr", nil); err != nil {
		t.Fatal(err)
	}
	pb := prim.ServiceClient().NewContainerClient("ttr").NewBlockBlobClient("b")
	sb := sec.ServiceClient().NewContainerClient("ttr").NewBlobClient("b")
	if _, err := pb.Upload(ctx, streaming("v1"), &blockblob.UploadOptions{Tags: map[string]string{"gen": "1"}, Tier: to.Ptr(blob.AccessTierCool)}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(lag)
	waitReplicated(t, emu)

	tagsOn := func(c interface {
		GetTags(context.Context, *blob.GetTagsOptions) (blob.GetTagsResponse, error)
	}) map[string]string {
		t.Helper()
		r, err := c.GetTags(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, tg := range r.BlobTagSet {
			m[*tg.Key] = *tg.Value
		}
		return m
	}
	tierOn := func(c *blob.Client) (string, string) {
		t.Helper()
		p, err := c.GetProperties(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		as := ""
		if p.ArchiveStatus != nil {
			as = *p.ArchiveStatus
		}
		return *p.AccessTier, as
	}
	if got := tagsOn(sb); !maps.Equal(got, map[string]string{"gen": "1"}) {
		t.Fatalf("secondary tags after the lag: %v", got)
	}
	if tier, _ := tierOn(sb); tier != "Cool" {
		t.Fatalf("secondary tier %s", tier)
	}

	// New tags and the Archive tier, then a rehydration.
	if _, err := pb.SetTags(ctx, map[string]string{"gen": "2"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := pb.SetTier(ctx, blob.AccessTierArchive, nil); err != nil {
		t.Fatal(err)
	}
	clk.Advance(lag - time.Nanosecond)
	if got := tagsOn(sb); !maps.Equal(got, map[string]string{"gen": "1"}) {
		t.Fatalf("secondary tags before the lag: %v", got)
	}
	if tier, _ := tierOn(sb); tier != "Cool" {
		t.Fatalf("secondary tier before the lag: %s", tier)
	}
	clk.Advance(time.Nanosecond)
	waitReplicated(t, emu)
	if got := tagsOn(sb); !maps.Equal(got, map[string]string{"gen": "2"}) {
		t.Fatalf("secondary tags after the lag: %v", got)
	}
	if tier, _ := tierOn(sb); tier != "Archive" {
		t.Fatalf("secondary tier after the lag: %s", tier)
	}
	if _, err := download(ctx, sec, "ttr", "b"); !bloberror.HasCode(err, bloberror.BlobArchived) {
		t.Fatalf("secondary read of an archived blob: %v", err)
	}

	if _, err := pb.SetTier(ctx, blob.AccessTierHot, nil); err != nil {
		t.Fatal(err)
	}
	if tier, as := tierOn(pb.BlobClient()); tier != "Archive" || as != "rehydrate-pending-to-hot" {
		t.Fatalf("primary while rehydrating: %s %s", tier, as)
	}
	clk.Advance(lag)
	waitReplicated(t, emu)
	if tier, as := tierOn(sb); tier != "Archive" || as != "rehydrate-pending-to-hot" {
		t.Fatalf("secondary while rehydrating: %s %s", tier, as)
	}
	clk.Advance(rehydrate - lag)
	for _, c := range []*blob.Client{pb.BlobClient(), sb} {
		if tier, as := tierOn(c); tier != "Hot" || as != "" {
			t.Fatalf("after the rehydration delay: %s %q", tier, as)
		}
	}
	if got, err := download(ctx, sec, "ttr", "b"); err != nil || got != "v1" {
		t.Fatalf("secondary read after rehydration: %q %v", got, err)
	}

	// The secondary refuses both writes.
	_, err := sb.SetTags(ctx, map[string]string{"gen": "3"}, nil)
	if !bloberror.HasCode(err, "InsufficientAccountPermissions") {
		t.Fatalf("Set Blob Tags on the secondary: %v", err)
	}
	_, err = sb.SetTier(ctx, blob.AccessTierCool, nil)
	if !bloberror.HasCode(err, "InsufficientAccountPermissions") {
		t.Fatalf("Set Blob Tier on the secondary: %v", err)
	}
}

// TestContainerLeaseReplicatesWithLag: a container lease reaches the
// secondary once the lag has passed; the secondary refuses lease actions.
func TestContainerLeaseReplicatesWithLag(t *testing.T) {
	const lag = 10 * time.Second
	clk := emulator.NewManualClock(time.Now().Add(-time.Hour).Truncate(time.Second))
	emu := start(t, emulator.Options{Lag: lag, Clock: clk})
	ctx := context.Background()
	prim, sec := clients(t, emu, emu.SecondaryURL())
	if _, err := prim.CreateContainer(ctx, "clr", nil); err != nil {
		t.Fatal(err)
	}
	clk.Advance(lag)
	waitReplicated(t, emu)
	pc := prim.ServiceClient().NewContainerClient("clr")
	sc := sec.ServiceClient().NewContainerClient("clr")
	lc, err := lease.NewContainerClient(pc, &lease.ContainerClientOptions{LeaseID: to.Ptr("11111111-1111-1111-1111-111111111111")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lc.AcquireLease(ctx, -1, nil); err != nil {
		t.Fatal(err)
	}
	state := func() string {
		t.Helper()
		p, err := sc.GetProperties(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		return string(*p.LeaseState)
	}
	clk.Advance(lag - time.Nanosecond)
	if s := state(); s != "available" {
		t.Fatalf("secondary lease before the lag: %s", s)
	}
	clk.Advance(time.Nanosecond)
	waitReplicated(t, emu)
	if s := state(); s != "leased" {
		t.Fatalf("secondary lease after the lag: %s", s)
	}
	sl, err := lease.NewContainerClient(sc, &lease.ContainerClientOptions{LeaseID: to.Ptr("11111111-1111-1111-1111-111111111111")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sl.ReleaseLease(ctx, nil); !bloberror.HasCode(err, "InsufficientAccountPermissions") {
		t.Fatalf("Lease Container on the secondary: %v", err)
	}
	if _, err := prim.DeleteContainer(ctx, "clr", nil); !bloberror.HasCode(err, bloberror.LeaseIDMissing) {
		t.Fatalf("delete of a leased container: %v", err)
	}
}
