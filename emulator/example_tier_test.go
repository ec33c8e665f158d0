package emulator_test

import (
	"context"
	"fmt"
	"log"
	"strings"
	"time"

	azstreaming "github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"

	"github.com/geoblob/geoblob/emulator"
)

// Archive a tagged blob, find it by its tags, and rehydrate it: the
// rehydration takes Options.RehydrateDelay on the emulator's clock, which a
// test moves by hand.
func ExampleOptions_rehydrateDelay() {
	ctx := context.Background()
	clk := emulator.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	emu, err := emulator.Start(ctx, emulator.Options{Clock: clk, RehydrateDelay: time.Hour})
	if err != nil {
		log.Fatal(err)
	}
	defer emu.Close()
	client, err := azblob.NewClientFromConnectionString(emu.ConnectionString(), nil)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := client.CreateContainer(ctx, "reports", nil); err != nil {
		log.Fatal(err)
	}
	bb := client.ServiceClient().NewContainerClient("reports").NewBlockBlobClient("2025.csv")
	if _, err := bb.Upload(ctx, azstreaming.NopCloser(strings.NewReader("year,total\n2025,42\n")), &blockblob.UploadOptions{
		Tags: map[string]string{"year": "2025"}, Tier: to.Ptr(blob.AccessTierArchive),
	}); err != nil {
		log.Fatal(err)
	}
	found, err := client.ServiceClient().FilterBlobs(ctx, `"year" >= '2025'`, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("found:", *found.Blobs[0].Name)

	_, err = bb.DownloadStream(ctx, nil)
	fmt.Println("archived:", bloberror.HasCode(err, bloberror.BlobArchived))

	if _, err := bb.SetTier(ctx, blob.AccessTierHot, nil); err != nil {
		log.Fatal(err)
	}
	props, err := bb.GetProperties(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("status:", *props.ArchiveStatus)

	clk.Advance(time.Hour)
	props, err = bb.GetProperties(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("tier:", *props.AccessTier)
	// Output:
	// found: 2025.csv
	// archived: true
	// status: rehydrate-pending-to-hot
	// tier: Hot
}
