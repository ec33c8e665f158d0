package geoblob_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/geoblob/geoblob"
	"github.com/geoblob/geoblob/emulator"
	"github.com/geoblob/geoblob/fault"
	"github.com/geoblob/geoblob/internal/testenv"
)

// failoverEnv is an emulator on a manual clock with a Router reading the
// same clock.
func failoverEnv(t *testing.T, eo emulator.Options, cfg *geoblob.Config) (*env, *emulator.ManualClock) {
	t.Helper()
	clk := emulator.NewManualClock(testenv.Epoch)
	eo.Clock = clk
	if cfg == nil {
		cfg = geoblob.DefaultConfig()
	}
	cfg.Now = clk.Now
	return newEnv(t, eo, cfg), clk
}

// mustRead reads name and checks the bytes and the location that served
// them.
func mustRead(t *testing.T, e *env, name, want string, loc geoblob.Location) {
	t.Helper()
	b, st, err := e.get(context.Background(), name)
	if err != nil || string(b) != want || st.Location != loc {
		t.Fatalf("read %s: %q from %v (%+v), %v; want %q from %v", name, b, st.Location, st, err, want, loc)
	}
}

// TestUnplannedFailoverRidesThrough is the drill end to end. The
// recovery point read before the failover predicts exactly which writes
// are lost. Afterwards reads go on at the primary URL with the promoted
// copy's bytes and writes work. The vanished secondary is marked down, so
// primary errors no longer fall back to it. Once geo-redundancy is enabled
// again and the new secondary is live, the background check puts it back
// in use.
func TestUnplannedFailoverRidesThrough(t *testing.T) {
	cfg := geoblob.DefaultConfig()
	cfg.SecondaryRecheck = 40 * time.Millisecond // the loop looks every 10ms of real time
	var sl secondaryLog
	sl.attach(cfg)
	var el eventLog
	el.attach(cfg)
	e, clk := failoverEnv(t, emulator.Options{BootstrapDuration: 10 * time.Second}, cfg)
	ctx := context.Background()
	e.put(t, "kept", []byte("kept v1"))
	clk.Advance(time.Minute)
	if err := e.emu.Replication().Wait(ctx); err != nil {
		t.Fatal(err)
	}

	// The secondary region falls behind; two writes never replicate.
	e.emu.Replication().Pause()
	clk.Advance(time.Minute)
	for name, data := range map[string]string{"kept": "kept v2", "lost": "lost"} {
		if _, err := e.client.UploadBuffer(ctx, testContainer, name, []byte(data), nil); err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(time.Minute)
	rp, err := e.router.RecoveryPoint(ctx)
	if err != nil || rp.Lag < 2*time.Minute {
		t.Fatalf("RecoveryPoint %+v %v", rp, err)
	}

	rep, err := e.emu.Failover(ctx, emulator.Unplanned)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Lost) != 2 {
		t.Fatalf("lost %+v", rep.Lost)
	}
	for _, l := range rep.Lost {
		if !l.Committed.After(rp.LastSyncTime) {
			t.Fatalf("lost write %+v committed before the recovery point %v", l, rp.LastSyncTime)
		}
	}

	// The primary URL serves the promoted copy.
	mustRead(t, e, "kept", "kept v1", geoblob.Primary)
	if _, _, err := e.get(ctx, "lost"); !bloberror.HasCode(err, bloberror.BlobNotFound) {
		t.Fatalf("lost blob: %v", err)
	}
	// A primary error per read: the first three fall back to the vanished
	// secondary (its listener resets connections) and the SDK's next try
	// reads the primary; then the secondary is marked down and not tried.
	for range 5 {
		primaryBlip(t, e)
		mustRead(t, e, "kept", "kept v1", geoblob.Primary)
	}
	ss := e.router.SecondaryState()
	if !ss.Down || ss.Err == nil {
		t.Fatalf("SecondaryState %+v", ss)
	}
	if s := e.router.State(); s != geoblob.Closed || el.transitions() != "" {
		t.Fatalf("breaker %v, transitions %q", s, el.transitions())
	}
	// Every error counted was a retriable ErrBothUnavailable the SDK's
	// next try rode out.
	if c := e.router.Counters(); c.SecondaryDowns != 1 || c.SecondarySkipped != 2 || c.SecondaryReads != 0 || c.Errors != c.BothRetriable {
		t.Fatalf("counters %+v", c)
	}
	// Writes go on at the new primary.
	if _, err := e.client.UploadBuffer(ctx, testContainer, "after", []byte("after the failover"), nil); err != nil {
		t.Fatal(err)
	}
	mustRead(t, e, "after", "after the failover", geoblob.Primary)

	// Geo-redundancy back: the new secondary bootstraps for 10 s.
	if err := e.emu.Replication().Enable(ctx); err != nil {
		t.Fatal(err)
	}
	clk.Advance(cfg.SecondaryRecheck)
	waitFor(t, func() bool { return e.router.Counters().SecondaryChecks >= 1 })
	if ss := e.router.SecondaryState(); !ss.Down || ss.Checks != 1 {
		t.Fatalf("during bootstrap: %+v", ss)
	}
	clk.Advance(10 * time.Second)
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := e.emu.Replication().WaitLive(wctx); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute) // past any back-off so far
	up := sl.await(t, false)
	if up.Reason != "the secondary reports geo-replication status live" {
		t.Fatalf("up %+v", up)
	}
	if err := e.emu.Replication().Wait(ctx); err != nil {
		t.Fatal(err)
	}
	// The new secondary serves fallbacks again, with the new primary's
	// bytes.
	primaryBlip(t, e)
	mustRead(t, e, "after", "after the failover", geoblob.Secondary)
	if rp, err := e.router.RecoveryPoint(ctx); err != nil || rp.Status != "live" || rp.LastSyncTime.Before(rep.At.Truncate(time.Second)) {
		t.Fatalf("recovery point after re-enabling: %+v %v (failover at %v)", rp, err, rep.At)
	}
}

// TestUnplannedFailoverClosesOpenBreaker: reads are on the secondary
// during a primary outage when the account fails over. The first read
// after it finds the secondary gone and the primary serving; the breaker
// closes at once, and writes, refused while it was open, work again.
func TestUnplannedFailoverClosesOpenBreaker(t *testing.T) {
	cfg := geoblob.DefaultConfig()
	cfg.FailbackReads, cfg.FailbackAfter = -1, time.Hour // no probe: the failover alone brings reads back
	var el eventLog
	el.attach(cfg)
	e, _ := failoverEnv(t, emulator.Options{BootstrapDuration: -1}, cfg)
	ctx := context.Background()
	e.put(t, "b", []byte("replicated"))
	outageID := e.fault(t, outage(fault.Primary, 503))
	e.trip(t, "b")
	mustRead(t, e, "b", "replicated", geoblob.Secondary)
	if _, err := e.client.UploadBuffer(ctx, testContainer, "w", []byte("x"), nil); !errors.Is(err, geoblob.ErrPrimaryUnavailable) {
		t.Fatalf("write while open: %v", err)
	}

	// The region is gone for good: fail over; DNS now sends the primary
	// URL to the promoted copy, which the outage rule does not cover.
	if _, err := e.emu.Failover(ctx, emulator.Unplanned); err != nil {
		t.Fatal(err)
	}
	if err := e.emu.Faults().Remove(outageID); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		mustRead(t, e, "b", "replicated", geoblob.Primary)
	}
	if s := e.router.State(); s != geoblob.Closed || el.transitions() != "closed>open,open>closed" {
		t.Fatalf("breaker %v, transitions %s", s, el.transitions())
	}
	if _, err := e.client.UploadBuffer(ctx, testContainer, "w", []byte("x"), nil); err != nil {
		t.Fatalf("write after the failover: %v", err)
	}
}

// TestPathStyleSecondaryAfterUnplannedFailover: with a path-style
// secondary (/ACCOUNT-secondary on the primary's host) an LRS account
// answers 403 InsufficientAccountPermissions rather than refusing the
// connection. That is a failure of the secondary, not the read's answer:
// the read is served by the primary, the secondary is marked down, and a
// Stats call that gets the same 403 marks it down at once.
func TestPathStyleSecondaryAfterUnplannedFailover(t *testing.T) {
	for _, viaStats := range []bool{false, true} {
		name := "reads"
		if viaStats {
			name = "stats"
		}
		t.Run(name, func(t *testing.T) {
			clk := emulator.NewManualClock(testenv.Epoch)
			emu := testenv.Emulator(t, emulator.Options{Clock: clk, BootstrapDuration: -1})
			cfg := geoblob.DefaultConfig()
			cfg.Now, cfg.Logger = clk.Now, quietLogger()
			cfg.SecondaryURL = emu.ServiceURL(emulator.SecondaryPathStyle, "")
			boundForTests(cfg)
			client, router, err := geoblob.NewClientWithSharedKey(emu.PrimaryURL(), emu.AccountName(), emu.AccountKey(), cfg, clientOptions(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = router.Close() })
			e := &env{emu: emu, client: client, router: router}
			ctx := context.Background()
			if _, err := client.CreateContainer(ctx, testContainer, nil); err != nil {
				t.Fatal(err)
			}
			e.put(t, "b", []byte("x"))
			if _, err := emu.Failover(ctx, emulator.Unplanned); err != nil {
				t.Fatal(err)
			}
			if viaStats {
				_, err := router.Staleness(ctx)
				var re *azcore.ResponseError
				if !errors.As(err, &re) || re.StatusCode != http.StatusForbidden {
					t.Fatalf("Staleness: %v", err)
				}
				if !router.SecondaryState().Down {
					t.Fatal("a Stats 403 InsufficientAccountPermissions did not mark the secondary down")
				}
			}
			for range 4 {
				primaryBlip(t, e)
				mustRead(t, e, "b", "x", geoblob.Primary)
			}
			if !router.SecondaryState().Down {
				t.Fatal("the secondary is not marked down")
			}
			if c := router.Counters(); c.SecondaryReads != 0 || c.Errors != c.BothRetriable {
				t.Fatalf("counters %+v", c)
			}
		})
	}
}

// TestPlannedFailoverKeepsReadsAndWrites: across a planned failover reads
// never fail and never return wrong bytes. During the swap writes get 503
// ServerBusy from the emulator, as from Azure; they are not rejected as
// ErrPrimaryUnavailable and the breaker stays closed. After the swap,
// writes land on the new primary and replicate to the new secondary, which
// serves fallbacks.
func TestPlannedFailoverKeepsReadsAndWrites(t *testing.T) {
	var el eventLog
	cfg := geoblob.DefaultConfig()
	el.attach(cfg)
	e, clk := failoverEnv(t, emulator.Options{SwapDuration: 30 * time.Second}, cfg)
	ctx := context.Background()
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB, read in chunks
	e.put(t, "big", big)
	e.put(t, "b", []byte("v1"))
	clk.Advance(time.Minute)
	if err := e.emu.Replication().Wait(ctx); err != nil {
		t.Fatal(err)
	}
	readBig := func() {
		t.Helper()
		buf := make([]byte, len(big))
		n, err := geoblob.DownloadBuffer(ctx, e.client, testContainer, "big", buf, &azblob.DownloadBufferOptions{BlockSize: 256 << 10})
		if err != nil || n != int64(len(big)) || !bytes.Equal(buf, big) {
			t.Fatalf("big download: %d bytes, equal %v, %v", n, bytes.Equal(buf, big), err)
		}
	}
	swapped := false
	rep, err := e.emu.Failover(ctx, emulator.Planned, emulator.OnSwapping(func() {
		swapped = true
		mustRead(t, e, "b", "v1", geoblob.Primary)
		readBig()
		_, err := e.client.UploadBuffer(ctx, testContainer, "b", []byte("during"), nil)
		var re *azcore.ResponseError
		if !errors.As(err, &re) || re.StatusCode != http.StatusServiceUnavailable || errors.Is(err, geoblob.ErrPrimaryUnavailable) {
			t.Errorf("write during the swap: %v", err)
		}
		clk.Advance(30 * time.Second)
	}))
	if err != nil || !swapped || len(rep.Lost) != 0 {
		t.Fatalf("failover %+v %v (swapped %v)", rep, err, swapped)
	}
	mustRead(t, e, "b", "v1", geoblob.Primary)
	readBig()
	if _, err := e.client.UploadBuffer(ctx, testContainer, "b", []byte("v2"), nil); err != nil {
		t.Fatalf("write after the swap: %v", err)
	}
	mustRead(t, e, "b", "v2", geoblob.Primary)
	clk.Advance(time.Minute)
	if err := e.emu.Replication().Wait(ctx); err != nil {
		t.Fatal(err)
	}
	primaryBlip(t, e)
	mustRead(t, e, "b", "v2", geoblob.Secondary)
	if s := e.router.State(); s != geoblob.Closed || el.transitions() != "" || e.router.SecondaryState().Down {
		t.Fatalf("breaker %v, transitions %q, secondary %+v", s, el.transitions(), e.router.SecondaryState())
	}
	if c := e.router.Counters(); c.Errors != 0 {
		t.Fatalf("counters %+v", c)
	}
}

// TestUnavailableSecondaryRegion: the emulator's secondary region goes
// down (Stats "unavailable", reads 503) while the primary is up. The
// first Stats read marks it down, primary errors stop falling back to it,
// and it is back in use once the region is.
func TestUnavailableSecondaryRegion(t *testing.T) {
	cfg := geoblob.DefaultConfig()
	cfg.SecondaryRecheck = -1
	e, clk := failoverEnv(t, emulator.Options{}, cfg)
	ctx := context.Background()
	e.put(t, "b", []byte("x"))
	if err := e.emu.Replication().SetSecondaryAvailable(false); err != nil {
		t.Fatal(err)
	}
	if s, err := e.router.Staleness(ctx); err != nil || s.Status != "unavailable" || !e.router.SecondaryState().Down {
		t.Fatalf("Staleness %+v %v, secondary %+v", s, err, e.router.SecondaryState())
	}
	for range 3 {
		primaryBlip(t, e)
		mustRead(t, e, "b", "x", geoblob.Primary)
	}
	if err := e.emu.Replication().SetSecondaryAvailable(true); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	if ss, err := e.router.CheckSecondary(ctx); err != nil || ss.Down {
		t.Fatalf("CheckSecondary %+v %v", ss, err)
	}
	primaryBlip(t, e)
	mustRead(t, e, "b", "x", geoblob.Secondary)
	if c := e.router.Counters(); c.SecondarySkipped != 3 || c.SecondaryDowns != 1 || c.SecondaryUps != 1 {
		t.Fatalf("counters %+v", c)
	}
}
