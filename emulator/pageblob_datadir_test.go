package emulator_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/pageblob"

	"github.com/geoblob/geoblob/emulator"
)

// pageState reads a page blob's content, written ranges and sequence
// number.
func pageState(t *testing.T, c *azblob.Client, cont, name string) (content []byte, ranges [][2]int64, seq int64) {
	t.Helper()
	ctx := context.Background()
	pb := c.ServiceClient().NewContainerClient(cont).NewPageBlobClient(name)
	got, err := download(ctx, c, cont, name)
	if err != nil {
		t.Fatalf("download %s: %v", name, err)
	}
	pager := pb.NewGetPageRangesPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.PageRange {
			ranges = append(ranges, [2]int64{*r.Start, *r.End})
		}
	}
	p, err := pb.GetProperties(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if *p.BlobType != blob.BlobTypePageBlob {
		t.Fatalf("%s is a %s", name, *p.BlobType)
	}
	return []byte(got), ranges, *p.BlobSequenceNumber
}

// TestDataDirPageBlobSurvivesRestart: a page blob's written pages (small
// ones and ones large enough for content files), its cleared pages, its
// length and sequence number survive a restart on the same directory, on
// the primary and on the secondary, and a page write pending replication
// across the restart reaches the secondary afterwards.
func TestDataDirPageBlobSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clk := emulator.NewManualClock(time.Now().Add(-time.Hour).Truncate(time.Second))
	emu := startDir(t, dir, clk, 10*time.Second)
	prim, _ := clients(t, emu, emu.ServiceURL(emulator.SecondaryPathStyle, ""))
	if _, err := prim.CreateContainer(ctx, "ppp", nil); err != nil {
		t.Fatal(err)
	}
	pb := prim.ServiceClient().NewContainerClient("ppp").NewPageBlobClient("disk")
	const size = 8 << 20
	if _, err := pb.Create(ctx, size, &pageblob.CreateOptions{SequenceNumber: to.Ptr[int64](3)}); err != nil {
		t.Fatal(err)
	}
	want := make([]byte, size)
	write := func(pb *pageblob.Client, off int64, data []byte) {
		t.Helper()
		if _, err := pb.UploadPages(ctx, streaming(string(data)), blob.HTTPRange{Offset: off, Count: int64(len(data))}, nil); err != nil {
			t.Fatal(err)
		}
		copy(want[off:], data)
	}
	write(pb, 0, randomBytes(t, 1024))
	write(pb, 1<<20, randomBytes(t, 3<<20)) // large enough for a content file
	write(pb, 2<<20, randomBytes(t, 4096))  // overwrites the middle of it
	if _, err := pb.ClearPages(ctx, blob.HTTPRange{Offset: 3 << 20, Count: 512 << 10}, nil); err != nil {
		t.Fatal(err)
	}
	copy(want[3<<20:], make([]byte, 512<<10))
	if _, err := pb.UpdateSequenceNumber(ctx, &pageblob.UpdateSequenceNumberOptions{ActionType: to.Ptr(pageblob.SequenceNumberActionTypeIncrement)}); err != nil {
		t.Fatal(err)
	}
	wantRanges := [][2]int64{{0, 1023}, {1 << 20, 3<<20 - 1}, {3<<20 + 512<<10, 4<<20 - 1}}
	clk.Advance(11 * time.Second)
	waitReplicated(t, emu)
	// Written while replication is paused: pending across the restart.
	emu.Replication().Pause()
	write(pb, 6<<20, []byte(string(bytes.Repeat([]byte("late"), 128))))
	if err := emu.Close(); err != nil {
		t.Fatal(err)
	}

	emu2 := startDir(t, dir, clk, 10*time.Second)
	prim2, sec2 := clients(t, emu2, emu2.ServiceURL(emulator.SecondaryPathStyle, ""))
	got, ranges, seq := pageState(t, prim2, "ppp", "disk")
	fullRanges := append(append([][2]int64(nil), wantRanges...), [2]int64{6 << 20, 6<<20 + 511})
	if !bytes.Equal(got, want) || !equalPageRanges(ranges, fullRanges) || seq != 4 {
		t.Fatalf("primary after restart: equal %v, ranges %v, seq %d", bytes.Equal(got, want), ranges, seq)
	}
	// The secondary kept what it had applied: everything but the late page.
	beforeLate := append([]byte(nil), want...)
	copy(beforeLate[6<<20:], make([]byte, 512))
	got, ranges, seq = pageState(t, sec2, "ppp", "disk")
	if !bytes.Equal(got, beforeLate) || !equalPageRanges(ranges, wantRanges) || seq != 4 {
		t.Fatalf("secondary after restart: equal %v, ranges %v, seq %d", bytes.Equal(got, beforeLate), ranges, seq)
	}
	clk.Advance(11 * time.Second)
	waitReplicated(t, emu2)
	if got, ranges, _ = pageState(t, sec2, "ppp", "disk"); !bytes.Equal(got, want) || !equalPageRanges(ranges, fullRanges) {
		t.Fatalf("secondary after resume: equal %v, ranges %v", bytes.Equal(got, want), ranges)
	}
	// The restored blob takes writes and resizes.
	pb2 := prim2.ServiceClient().NewContainerClient("ppp").NewPageBlobClient("disk")
	if _, err := pb2.Resize(ctx, 1<<20, nil); err != nil {
		t.Fatal(err)
	}
	if got, ranges, _ = pageState(t, prim2, "ppp", "disk"); !bytes.Equal(got, want[:1<<20]) || !equalPageRanges(ranges, [][2]int64{{0, 1023}}) {
		t.Fatalf("after resize: %d bytes, ranges %v", len(got), ranges)
	}
}

func equalPageRanges(a, b [][2]int64) bool {
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
