package emulator_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/geoblob/geoblob/emulator"
)

// Start a primary/secondary pair, write through the primary and read the
// replicated copy from the read-only secondary.
func Example() {
	ctx := context.Background()
	emu, err := emulator.Start(ctx, emulator.Options{Lag: 100 * time.Millisecond})
	if err != nil {
		log.Fatal(err)
	}
	defer emu.Close()

	primary, err := azblob.NewClientFromConnectionString(emu.ConnectionString(), nil)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := primary.CreateContainer(ctx, "photos", nil); err != nil {
		log.Fatal(err)
	}
	if _, err := primary.UploadBuffer(ctx, "photos", "cat.txt", []byte("meow"), nil); err != nil {
		log.Fatal(err)
	}

	// Wait for asynchronous replication, then read from the secondary.
	if err := emu.Replication().Wait(ctx); err != nil {
		log.Fatal(err)
	}
	cred, err := azblob.NewSharedKeyCredential(emu.AccountName(), emu.AccountKey())
	if err != nil {
		log.Fatal(err)
	}
	secondary, err := azblob.NewClientWithSharedKeyCredential(emu.SecondaryURL(), cred, nil)
	if err != nil {
		log.Fatal(err)
	}
	resp, err := secondary.DownloadStream(ctx, "photos", "cat.txt", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(body))
	// Output: meow
}

// With DataDir the emulator keeps its data on disk: an emulator started
// later on the same directory finds it again.
func ExampleOptions_dataDir() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "geoblob-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	emu, err := emulator.Start(ctx, emulator.Options{DataDir: dir})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := emu.CreateObject(emulator.Object{Container: "notes", Name: "todo.txt", Data: []byte("buy milk")}); err != nil {
		log.Fatal(err)
	}
	if err := emu.Close(); err != nil {
		log.Fatal(err)
	}

	again, err := emulator.Start(ctx, emulator.Options{DataDir: dir})
	if err != nil {
		log.Fatal(err)
	}
	defer again.Close()
	o, err := again.GetObject(emulator.Primary, "", "notes", "todo.txt")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(o.Data))
	// Output: buy milk
}
