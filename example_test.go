package geoblob_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"strings"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/geoblob/geoblob"
	"github.com/geoblob/geoblob/emulator"
	"github.com/geoblob/geoblob/fault"
)

// The seed tutorial's scenario on the in-process emulator: the primary
// fails, reads move to the secondary, writes fail fast.
func ExampleNewClientFromConnectionString() {
	ctx := context.Background()
	emu, err := emulator.Start(ctx, emulator.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer emu.Close()

	// The only change to an existing program: how the client is built.
	client, router, err := geoblob.NewClientFromConnectionString(emu.ConnectionString(), nil, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer router.Close() // stops the background probe of the primary
	if _, err := client.CreateContainer(ctx, "democontainer", nil); err != nil {
		log.Fatal(err)
	}
	if _, err := client.UploadBuffer(ctx, "democontainer", "HelloWorld.txt", []byte("hello"), nil); err != nil {
		log.Fatal(err)
	}
	_ = emu.Replication().Wait(ctx)

	// The primary starts answering 503 to reads, like the tutorial's
	// Fiddler rule.
	_, _ = emu.Faults().Add(fault.Rule{Endpoint: fault.Primary, Match: fault.Match{Op: fault.Read}, Action: fault.Action{Status: 503}})
	var line strings.Builder
	for range 8 {
		var info geoblob.ReadInfo
		resp, err := client.DownloadStream(geoblob.WithReadInfo(ctx, &info), "democontainer", "HelloWorld.txt", nil)
		if err != nil {
			log.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		line.WriteString(strings.ToUpper(info.Last().Location.String()[:1]))
	}
	fmt.Println(line.String())
	fmt.Println("breaker:", router.State())

	_, err = client.UploadBuffer(ctx, "democontainer", "new.txt", []byte("x"), nil)
	fmt.Println("write refused:", errors.Is(err, geoblob.ErrPrimaryUnavailable))
	c := router.Counters()
	fmt.Println("failovers:", c.Failovers, "fallbacks:", c.Fallbacks, "secondary reads:", c.SecondaryReads)
	// Output:
	// SSSSSSSS
	// breaker: open
	// write refused: true
	// failovers: 1 fallbacks: 5 secondary reads: 8
}

// Wiring the policy into an azblob client built by hand.
func ExampleNewRouter() {
	ctx := context.Background()
	emu, err := emulator.Start(ctx, emulator.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer emu.Close()

	router, err := geoblob.NewRouter(emu.PrimaryURL(), &geoblob.Config{
		SecondaryURL:     emu.SecondaryURL(),
		FailureThreshold: 3,
		FailbackReads:    10,
		ProbeSuccesses:   1,
	})
	if err != nil {
		log.Fatal(err)
	}
	cred, err := azblob.NewSharedKeyCredential(emu.AccountName(), emu.AccountKey())
	if err != nil {
		log.Fatal(err)
	}
	client, err := azblob.NewClientWithSharedKeyCredential(emu.PrimaryURL(), cred, router.ClientOptions(nil))
	if err != nil {
		log.Fatal(err)
	}
	router.SetStatsClient(client.ServiceClient())

	if _, err := client.CreateContainer(ctx, "photos", nil); err != nil {
		log.Fatal(err)
	}
	fmt.Println(router.State(), router.Counters().Writes)
	// Output: closed 1
}

// Steering reads by hand and asking how stale the secondary is.
func ExampleRouter_Force() {
	ctx := context.Background()
	emu, err := emulator.Start(ctx, emulator.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer emu.Close()
	client, router, err := geoblob.NewClientFromConnectionString(emu.ConnectionString(), nil, nil)
	if err != nil {
		log.Fatal(err)
	}
	_, _ = client.CreateContainer(ctx, "photos", nil)
	_, _ = client.UploadBuffer(ctx, "photos", "b", []byte("v1"), nil)
	_ = emu.Replication().Wait(ctx)

	router.Force(geoblob.SecondaryOnly)
	var info geoblob.ReadInfo
	resp, err := client.DownloadStream(geoblob.WithReadInfo(ctx, &info), "photos", "b", nil)
	if err != nil {
		log.Fatal(err)
	}
	_ = resp.Body.Close()
	fmt.Println(router.Mode(), info.Last().Location)

	s, err := router.Staleness(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("replication:", s.Status)

	router.Force(geoblob.Auto)
	fmt.Println(router.Mode(), router.State())
	// Output:
	// secondary-only secondary
	// replication: live
	// auto closed
}

// A parallel download that never mixes two versions of a blob: the
// secondary still has v1 (replication is paused), the primary has v2, and
// reads fail back to the primary half-way. Every byte comes from v1.
func ExampleDownloadBuffer() {
	ctx := context.Background()
	emu, err := emulator.Start(ctx, emulator.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer emu.Close()
	var router *geoblob.Router
	var reads atomic.Int32
	cfg := geoblob.DefaultConfig()
	cfg.OnResponse = func(geoblob.ResponseEvent) {
		if reads.Add(1) == 2 {
			router.Force(geoblob.Auto) // fail back mid-download
		}
	}
	client, router, err := geoblob.NewClientFromConnectionString(emu.ConnectionString(), cfg, nil)
	if err != nil {
		log.Fatal(err)
	}
	_, _ = client.CreateContainer(ctx, "photos", nil)
	_, _ = client.UploadBuffer(ctx, "photos", "big", []byte(strings.Repeat("1", 64<<10)), nil)
	_ = emu.Replication().Wait(ctx)
	emu.Replication().Pause()
	_, _ = client.UploadBuffer(ctx, "photos", "big", []byte(strings.Repeat("2", 64<<10)), nil)

	router.Force(geoblob.SecondaryOnly)
	buf := make([]byte, 64<<10)
	n, err := geoblob.DownloadBuffer(ctx, client, "photos", "big", buf, &azblob.DownloadBufferOptions{BlockSize: 8 << 10, Concurrency: 1})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(n, "bytes, all v1:", strings.Count(string(buf), "1") == len(buf), "mode:", router.Mode())
	// Output: 65536 bytes, all v1: true mode: auto
}

// The zero-value rule: every zero field means DefaultConfig's value, and
// a negative one turns an on-by-default feature off. Validate names
// configurations that cannot work.
func ExampleConfig() {
	fmt.Println((&geoblob.Config{}).Validate())

	noTrip := &geoblob.Config{FailureThreshold: -1} // and no other trip rule
	err := noTrip.Validate()
	fmt.Println(errors.Is(err, geoblob.ErrInvalidConfig), errors.Is(err, geoblob.ErrNeverTrips))

	noFailback := &geoblob.Config{FailbackReads: -1, ProbeInterval: -1}
	fmt.Println(errors.Is(noFailback.Validate(), geoblob.ErrNeverFailsBack))

	r, err := geoblob.NewRouter("https://acct.blob.core.windows.net", &geoblob.Config{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("attempt bound:", r.AttemptTimeout())
	// Output:
	// <nil>
	// true true
	// true
	// attempt bound: 500ms
}

// A primary that accepts requests and never answers (a network partition)
// costs each read at most the attempt bound before the secondary serves
// it; ReadInfo tells a served read from one nothing served.
func ExampleRouter_AttemptTimeout() {
	ctx := context.Background()
	emu, err := emulator.Start(ctx, emulator.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer emu.Close()
	cfg := &geoblob.Config{AttemptTimeout: time.Second}
	client, router, err := geoblob.NewClientFromConnectionString(emu.ConnectionString(), cfg, nil)
	if err != nil {
		log.Fatal(err)
	}
	_, _ = client.CreateContainer(ctx, "photos", nil)
	_, _ = client.UploadBuffer(ctx, "photos", "b", []byte("v1"), nil)
	_ = emu.Replication().Wait(ctx)

	hang, _ := emu.Faults().Add(fault.Rule{Endpoint: fault.Primary, Match: fault.Match{Container: "photos"}, Action: fault.Action{Hang: true}})
	var info geoblob.ReadInfo
	resp, err := client.DownloadStream(geoblob.WithReadInfo(ctx, &info), "photos", "b", nil)
	if err != nil {
		log.Fatal(err)
	}
	_ = resp.Body.Close()
	last := info.Last()
	fmt.Println(last.Served, last.Location, "fallback:", last.Fallback, "timeouts:", router.Counters().AttemptTimeouts)

	// Both locations down: nothing serves the read.
	_ = emu.Faults().Remove(hang)
	_, _ = emu.Faults().Add(fault.Rule{Endpoint: fault.Both, Match: fault.Match{Container: "photos"}, Action: fault.Action{Status: 503}})
	info = geoblob.ReadInfo{}
	_, err = client.DownloadStream(geoblob.WithReadInfo(ctx, &info), "photos", "b", nil)
	fmt.Println(errors.Is(err, geoblob.ErrBothUnavailable), "served:", info.Last().Served)
	// Output:
	// true secondary fallback: true timeouts: 1
	// true served: false
}

// A runbook step before an unplanned failover: how much would be lost?
// RecoveryPoint reads Get Blob Service Stats now; every write before
// LastSyncTime survives the failover, later ones may not.
func ExampleRouter_RecoveryPoint() {
	ctx := context.Background()
	emu, err := emulator.Start(ctx, emulator.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer emu.Close()
	client, router, err := geoblob.NewClientFromConnectionString(emu.ConnectionString(), nil, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer router.Close()
	_, _ = client.CreateContainer(ctx, "orders", nil)
	_, _ = client.UploadBuffer(ctx, "orders", "1.json", []byte(`{"id":1}`), nil)
	_ = emu.Replication().Wait(ctx)

	emu.Replication().Pause() // the secondary falls behind
	written := time.Now()
	_, _ = client.UploadBuffer(ctx, "orders", "2.json", []byte(`{"id":2}`), nil)

	rp, err := router.RecoveryPoint(ctx)
	if err != nil {
		log.Fatal(err) // ErrNoRecoveryPoint: the secondary cannot say
	}
	fmt.Println("status:", rp.Status)
	fmt.Println("2.json would be lost:", !rp.LastSyncTime.After(written))
	const rpo = 15 * time.Minute // the application's recovery point objective
	fmt.Println("within the RPO:", rp.Lag <= rpo)
	// Output:
	// status: live
	// 2.json would be lost: true
	// within the RPO: true
}
