package testenv

import (
	"context"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/geoblob/geoblob/emulator"
	"github.com/geoblob/geoblob/fault"
)

func TestClockStartsAtEpoch(t *testing.T) {
	c := Clock()
	if !c.Now().Equal(Epoch) {
		t.Fatalf("clock reads %v", c.Now())
	}
	c.Advance(time.Second)
	if got := c.Now().Sub(Epoch); got != time.Second {
		t.Fatalf("advanced by %v", got)
	}
}

// TestEmulatorWithFault starts the emulator, reads through a client with
// the shared options, and sees a fault fire.
func TestEmulatorWithFault(t *testing.T) {
	emu := Emulator(t, emulator.Options{})
	client, err := azblob.NewClientFromConnectionString(emu.ConnectionString(), ClientOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := client.CreateContainer(ctx, "cont", nil); err != nil {
		t.Fatal(err)
	}
	r := Reads(fault.Primary, "cont")
	r.Action.Status = 503
	r.Limits.Count = 1
	id := Fault(t, emu, r)
	if _, err := client.UploadBuffer(ctx, "cont", "b", []byte("x"), nil); err != nil {
		t.Fatal(err)
	}
	// The first try gets the 503, the SDK's retry the blob.
	if _, err := client.DownloadStream(ctx, "cont", "b", nil); err != nil {
		t.Fatal(err)
	}
	if n := Fired(t, emu, id); n != 1 {
		t.Fatalf("fired %d times", n)
	}
}

// TestEmulatorClientOptionsHostStyleHTTPS reaches an HTTPS emulator by its
// host-style name with the shared options.
func TestEmulatorClientOptionsHostStyleHTTPS(t *testing.T) {
	cert, err := emulator.NewCertificate()
	if err != nil {
		t.Fatal(err)
	}
	emu := Emulator(t, emulator.Options{TLS: cert.ServerTLS()})
	cred, err := azblob.NewSharedKeyCredential(emu.AccountName(), emu.AccountKey())
	if err != nil {
		t.Fatal(err)
	}
	client, err := azblob.NewClientWithSharedKeyCredential(emu.HostStyleURL(emulator.Primary, ""), cred, EmulatorClientOptions(t, emu))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.CreateContainer(context.Background(), "hostc", nil); err != nil {
		t.Fatal(err)
	}
}
