package emulator_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"strings"

	azstreaming "github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/geoblob/geoblob/emulator"
)

// Append to an append blob, seal it, and read it back: every append is one
// write that replicates to the secondary.
func Example_appendBlob() {
	ctx := context.Background()
	emu, err := emulator.Start(ctx, emulator.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer emu.Close()
	client, err := azblob.NewClientFromConnectionString(emu.ConnectionString(), nil)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := client.CreateContainer(ctx, "logs", nil); err != nil {
		log.Fatal(err)
	}
	log1 := client.ServiceClient().NewContainerClient("logs").NewAppendBlobClient("app.log")
	if _, err := log1.Create(ctx, nil); err != nil {
		log.Fatal(err)
	}
	for _, line := range []string{"started\n", "ready\n"} {
		r, err := log1.AppendBlock(ctx, azstreaming.NopCloser(strings.NewReader(line)), nil)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("appended at offset %s, block %d\n", *r.BlobAppendOffset, *r.BlobCommittedBlockCount)
	}
	if _, err := log1.Seal(ctx, nil); err != nil {
		log.Fatal(err)
	}
	_, err = log1.AppendBlock(ctx, azstreaming.NopCloser(strings.NewReader("late\n")), nil)
	fmt.Println("append after seal refused:", err != nil)
	resp, err := log1.DownloadStream(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(string(body))
	// Output:
	// appended at offset 0, block 1
	// appended at offset 8, block 2
	// append after seal refused: true
	// started
	// ready
}
