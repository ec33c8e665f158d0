package emulator_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/geoblob/geoblob/emulator"
)

// An unplanned failover drill: what is written while replication is
// paused is lost, and the report says exactly what.
func ExampleEmulator_Failover() {
	ctx := context.Background()
	emu, err := emulator.Start(ctx, emulator.Options{BootstrapDuration: -1})
	if err != nil {
		log.Fatal(err)
	}
	defer emu.Close()
	client, err := azblob.NewClientFromConnectionString(emu.ConnectionString(), nil)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := client.CreateContainer(ctx, "orders", nil); err != nil {
		log.Fatal(err)
	}
	if _, err := client.UploadBuffer(ctx, "orders", "1001.json", []byte(`{"order":1001}`), nil); err != nil {
		log.Fatal(err)
	}
	if err := emu.Replication().Wait(ctx); err != nil {
		log.Fatal(err)
	}

	// The secondary region falls behind: this write never replicates.
	emu.Replication().Pause()
	if _, err := client.UploadBuffer(ctx, "orders", "1002.json", []byte(`{"order":1002}`), nil); err != nil {
		log.Fatal(err)
	}

	rep, err := emu.Failover(ctx, emulator.Unplanned)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s failover to copy %s, account now %s\n", rep.Type, rep.To, rep.Redundancy)
	for _, l := range rep.Lost {
		fmt.Printf("lost: %s %s/%s, %d bytes\n", l.Op, l.Container, l.Blob, l.Bytes)
	}

	// The primary endpoint serves the promoted copy: 1001 is there.
	if _, err := client.ServiceClient().NewContainerClient("orders").NewBlobClient("1001.json").GetProperties(ctx, nil); err != nil {
		log.Fatal(err)
	}

	// Geo-redundancy back; without a bootstrap duration it is live at once.
	if err := emu.Replication().Enable(ctx); err != nil {
		log.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := emu.Replication().WaitLive(wctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println("secondary:", emu.Replication().State().Status)
	// Output:
	// unplanned failover to copy b, account now LRS
	// lost: put-blob orders/1002.json, 14 bytes
	// secondary: live
}

// Replication lag drawn from Geo Priority Replication's promise: 99% of
// writes within 15 minutes, seeded so that a drill is reproducible.
func ExampleParseLagModel() {
	m, err := emulator.ParseLagModel("gpr", 7)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(m) // give it as emulator.Options{LagModel: m}, or serve --lag-model gpr
	fmt.Println(emulator.JitterLag(time.Second, 500*time.Millisecond, 1))
	// Output:
	// tail:30s,15m0s,0.99,1h0m0s,seed=7
	// jitter:1s,500ms,seed=1
}
