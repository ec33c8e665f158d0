package emulator_test

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"

	"github.com/geoblob/geoblob/emulator"
)

// TestHistoryContentSurvivesGC: the content a snapshot, a previous version
// and a soft-deleted blob share with a base blob that was overwritten or
// deleted is kept by garbage collection, before and after a restart on
// the same data directory.
func TestHistoryContentSurvivesGC(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clk := emulator.NewManualClock(time.Now().Add(-time.Hour).Truncate(time.Second))
	emu := startDir(t, dir, clk, 10*time.Second)
	prim, _ := clients(t, emu, emu.ServiceURL(emulator.SecondaryPathStyle, ""))
	if _, err := prim.CreateContainer(ctx, "gcx", nil); err != nil {
		t.Fatal(err)
	}
	body := func(s string) []byte { return []byte(strings.Repeat(s, 64<<10)) }
	cc := prim.ServiceClient().NewContainerClient("gcx")
	// A snapshot of an overwritten blob.
	if _, err := prim.UploadBuffer(ctx, "gcx", "snap", body("a"), nil); err != nil {
		t.Fatal(err)
	}
	sr, err := cc.NewBlobClient("snap").CreateSnapshot(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := prim.UploadBuffer(ctx, "gcx", "snap", body("b"), nil); err != nil {
		t.Fatal(err)
	}
	// A previous version of a deleted blob.
	emu.SetVersioning(true)
	vr, err := prim.UploadBuffer(ctx, "gcx", "ver", body("c"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := prim.DeleteBlob(ctx, "gcx", "ver", nil); err != nil {
		t.Fatal(err)
	}
	emu.SetVersioning(false)
	// A soft-deleted blob.
	if _, err := prim.ServiceClient().SetProperties(ctx, &service.SetPropertiesOptions{DeleteRetentionPolicy: &service.RetentionPolicy{Enabled: to.Ptr(true), Days: to.Ptr[int32](2)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := prim.UploadBuffer(ctx, "gcx", "soft", body("d"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := prim.DeleteBlob(ctx, "gcx", "soft", nil); err != nil {
		t.Fatal(err)
	}
	check := func(t *testing.T, emu *emulator.Emulator) {
		t.Helper()
		if _, err := emu.CollectGarbage(); err != nil {
			t.Fatal(err)
		}
		prim, _ := clients(t, emu, emu.ServiceURL(emulator.SecondaryPathStyle, ""))
		cc := prim.ServiceClient().NewContainerClient("gcx")
		sc, _ := cc.NewBlobClient("snap").WithSnapshot(*sr.Snapshot)
		vc, _ := cc.NewBlobClient("ver").WithVersionID(*vr.VersionID)
		for _, r := range []struct {
			name string
			read func() ([]byte, error)
			want string
		}{
			{"snapshot", func() ([]byte, error) { return readBlob(ctx, sc.DownloadStream) }, "a"},
			{"version", func() ([]byte, error) { return readBlob(ctx, vc.DownloadStream) }, "c"},
			{"soft-deleted", func() ([]byte, error) {
				if _, err := cc.NewBlobClient("soft").Undelete(ctx, nil); err != nil {
					return nil, err
				}
				b, err := readBlob(ctx, cc.NewBlobClient("soft").DownloadStream)
				if _, derr := cc.NewBlobClient("soft").Delete(ctx, nil); derr != nil && err == nil {
					err = derr
				}
				return b, err
			}, "d"},
		} {
			got, err := r.read()
			if err != nil || string(got) != string(body(r.want)) {
				t.Fatalf("%s after GC: %d bytes, %v", r.name, len(got), err)
			}
		}
	}
	check(t, emu)
	clk.Advance(11 * time.Second)
	waitReplicated(t, emu)
	if err := emu.Close(); err != nil {
		t.Fatal(err)
	}
	check(t, startDir(t, dir, clk, 10*time.Second))
}

func readBlob(ctx context.Context, get func(context.Context, *blob.DownloadStreamOptions) (blob.DownloadStreamResponse, error)) ([]byte, error) {
	resp, err := get(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}
