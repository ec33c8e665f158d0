package demo

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/google/uuid"

	"github.com/geoblob/geoblob"
	"github.com/geoblob/geoblob/emulator"
	"github.com/geoblob/geoblob/fault"
)

// Scenarios of geoblob demo --scenario.
const (
	ScenarioOutage   = "outage"   // the tutorial: outages of the primary, reads fail over and back
	ScenarioFailover = "failover" // an unplanned account failover, lost writes and all
)

// lostOrders is how many writes the failover scenario makes while
// replication is paused: the writes the failover loses.
const lostOrders = 3

// RunFailover runs the tutorial's read loop through an unplanned account
// failover on the embedded emulator:
//
//  1. the image replicates; then replication is paused and a few writes
//     are made that will never reach the secondary;
//  2. at a third of the reads the primary region goes down: reads move to
//     the secondary;
//  3. at half of them the account fails over (unplanned): the secondary
//     is promoted, the primary endpoint serves it, and the report lists
//     the lost writes, which the demo checks are gone;
//  4. reads continue on the new primary, through the same geoblob client;
//  5. at three quarters geo-redundancy is enabled again: the new secondary
//     bootstraps, then goes live.
//
// The summary has the default demo's form; failed reads are counted there.
func RunFailover(ctx context.Context, cfg Config) (sum Summary, err error) {
	if cfg.ConnectionString != "" || cfg.AccountName != "" {
		return sum, fmt.Errorf("%w: the failover scenario runs on the embedded emulator only: failing over a real account takes about an hour and converts it to LRS", ErrBadConfig)
	}
	if cfg.Interactive {
		return sum, fmt.Errorf("%w: --interactive is for the outage scenario", ErrBadConfig)
	}
	cfg.Outages = nil // this scenario scripts its own
	if err := cfg.validate(); err != nil {
		return sum, err
	}
	if cfg.Reads < 8 {
		return sum, fmt.Errorf("%w: the failover scenario needs at least 8 reads", ErrBadConfig)
	}
	cfg.fillIO()
	p := newPrinter(cfg.Stdout, cfg.Quiet)
	start := time.Now()
	var router *geoblob.Router
	defer func() {
		if router != nil {
			c := router.Counters()
			sum.Failovers, sum.Failbacks = int(c.Failovers), int(c.Failbacks)
		}
		sum.Elapsed = time.Since(start)
	}()

	bootstrap := cfg.Bootstrap
	if bootstrap == 0 {
		bootstrap = 2 * time.Second
	}
	emu, err := emulator.Start(ctx, emulator.Options{Lag: cfg.Lag, Logger: cfg.Logger, BootstrapDuration: bootstrap})
	if err != nil {
		return sum, fmt.Errorf("starting the embedded emulator: %w", err)
	}
	defer emu.Close()
	if cfg.started != nil {
		cfg.started(emu)
	}
	sum.Embedded = true
	p.line(colorCyan, "Started the embedded geo-redundant emulator (replication lag %v) for an unplanned failover drill.", cfg.Lag)
	p.line("", "  primary:   %s", emu.PrimaryURL())
	p.line("", "  secondary: %s", emu.SecondaryURL())

	bcfg := geoblob.DefaultConfig()
	bcfg.FailureThreshold = cfg.RetryThreshold
	bcfg.FailbackReads = cfg.SecondaryThreshold
	bcfg.ProbeBackoff, bcfg.MaxProbeBackoff = 1, 1
	bcfg.Logger = cfg.Logger
	if cfg.attemptTimeout != 0 {
		bcfg.AttemptTimeout = cfg.attemptTimeout
	}
	bcfg.OnStateChange = func(ev geoblob.StateChange) {
		if ev.From != ev.To {
			p.line(colorCyan, "Circuit %s -> %s: %s", ev.From, ev.To, ev.Reason)
		}
	}
	opts := &azblob.ClientOptions{}
	opts.Retry = policy.RetryOptions{MaxRetries: 2, RetryDelay: 20 * time.Millisecond, MaxRetryDelay: 200 * time.Millisecond, TryTimeout: 30 * time.Second}
	connStr := emu.ConnectionString()
	client, router, err := geoblob.NewClientFromConnectionString(connStr, bcfg, opts)
	if err != nil {
		return sum, fmt.Errorf("%w: %w", ErrBadConfig, err)
	}

	containerName := "democontainer" + shortID()
	p.line("", "Creating container %s", containerName)
	if _, err := client.CreateContainer(ctx, containerName, nil); err != nil {
		return sum, classify(err)
	}
	image := HelloWorldPNG()
	p.line("", "Uploading %s (%d bytes)", BlobName, len(image))
	if _, err := client.UploadBuffer(ctx, containerName, BlobName, image, nil); err != nil {
		return sum, classify(err)
	}
	if err := waitForReplication(ctx, cfg, p, connStr, router.SecondaryURL(), containerName); err != nil {
		return sum, err
	}

	// 1. Writes the secondary will never see.
	emu.Replication().Pause()
	p.line(colorYellow, "Replication paused: the next writes stay on the primary only.")
	var written []string
	for k := 1; k <= lostOrders; k++ {
		name := fmt.Sprintf("orders/%d.json", 1000+k)
		body := fmt.Appendf(nil, `{"order":%d,"placed":%q}`, 1000+k, time.Now().UTC().Format(time.RFC3339))
		resp, err := client.UploadBuffer(ctx, containerName, name, body, nil)
		if err != nil {
			return sum, classify(err)
		}
		written = append(written, name)
		p.line("", "  wrote %s (%d bytes, ETag %s)", name, len(body), *resp.ETag)
	}
	if st, err := router.Staleness(ctx); err == nil {
		p.line(colorCyan, "Recovery point now: LastSyncTime %s (status %s); every write after it would be lost by an unplanned failover.",
			st.LastSyncTime.UTC().Format(time.RFC3339), st.Status)
	}

	outageAt, failoverAt, enableAt := cfg.Reads/3, cfg.Reads/2, cfg.Reads*3/4
	var outageID string
	for i := 0; i < cfg.Reads; i++ {
		if err := ctx.Err(); err != nil {
			break
		}
		switch i {
		case outageAt:
			id, err := emu.Faults().Add(fault.Rule{Endpoint: fault.Primary, Action: fault.Action{Refuse: true}})
			if err != nil {
				return sum, fmt.Errorf("injecting the outage: %w", err)
			}
			outageID = id
			p.line(colorRed, "Read %d: the primary region goes down (connections refused).", i)
		case failoverAt:
			p.line(colorRed, "Read %d: unplanned failover: promoting the secondary.", i)
			rep, err := emu.Failover(ctx, emulator.Unplanned)
			if err != nil {
				return sum, fmt.Errorf("failover: %w", err)
			}
			// The primary endpoint now points at the promoted copy, as DNS
			// does after a real failover: the old region's outage no
			// longer matters.
			if err := emu.Faults().Remove(outageID); err != nil {
				return sum, fmt.Errorf("ending the outage: %w", err)
			}
			p.line(colorCyan, "Failover done: the primary endpoint serves copy %s; the account is now %s.", rep.To, rep.Redundancy)
			p.line(colorCyan, "Recovery point (LastSyncTime): %s. Lost %d writes, %d bytes:",
				rep.RecoveryPoint.UTC().Format(time.RFC3339Nano), len(rep.Lost), rep.LostBytes)
			for _, l := range rep.Lost {
				p.line(colorYellow, "  lost %s %s/%s (ETag %s, %d bytes)", l.Op, l.Container, l.Blob, l.ETag, l.Bytes)
			}
			for _, name := range written {
				_, err := client.ServiceClient().NewContainerClient(containerName).NewBlobClient(name).GetProperties(ctx, nil)
				if !bloberror.HasCode(err, bloberror.BlobNotFound) {
					sum.Failed++
					p.line(colorRed, "  %s should be gone from the new primary: %v", name, err)
				}
			}
			p.line(colorCyan, "Checked: the lost writes are gone; %s is still there. The -secondary endpoint no longer answers.", BlobName)
		case enableAt:
			if err := emu.Replication().Enable(ctx); err != nil {
				return sum, fmt.Errorf("enabling geo-redundancy: %w", err)
			}
			p.line(colorCyan, "Read %d: geo-redundancy enabled again: the new secondary bootstraps for %v.", i, bootstrap)
		}

		data, loc, err := readOnce(ctx, client, containerName)
		sum.Reads++
		switch {
		case err == nil && bytes.Equal(data, image):
			if loc == geoblob.Secondary {
				sum.Secondary++
				sum.Locations = append(sum.Locations, 'S')
				p.token(fmt.Sprintf("S%d", i), colorYellow)
			} else {
				sum.Primary++
				sum.Locations = append(sum.Locations, 'P')
				p.token(fmt.Sprintf("P%d", i), colorGreen)
			}
		default:
			if ctx.Err() != nil {
				sum.Reads--
				break
			}
			if err == nil {
				err = fmt.Errorf("downloaded bytes differ from the uploaded image")
			}
			sum.Failed++
			sum.Locations = append(sum.Locations, 'F')
			p.token(fmt.Sprintf("F%d", i), colorRed)
			p.line(colorRed, "Read %d failed: %s", i, oneLine(err))
		}
		if cfg.Pace > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(cfg.Pace):
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return sum, err
	}
	wctx, cancel := context.WithTimeout(ctx, bootstrap+30*time.Second)
	defer cancel()
	if err := emu.Replication().WaitLive(wctx); err != nil {
		return sum, fmt.Errorf("the new secondary did not go live: %w", err)
	}
	st := emu.Replication().State()
	p.line(colorGreen, "The new secondary is %s; LastSyncTime %s. The account is %s again.",
		st.Status, st.LastSyncTime.UTC().Format(time.RFC3339), st.Roles.Redundancy())
	return sum, nil
}

// readOnce reads the demo blob and says which location served it.
func readOnce(ctx context.Context, client *azblob.Client, container string) ([]byte, geoblob.Location, error) {
	var info geoblob.ReadInfo
	data, err := readBlob(geoblob.WithReadInfo(ctx, &info), client, container)
	return data, info.Last().Location, err
}

// fillIO gives the unset outputs and inputs their defaults.
func (c *Config) fillIO() {
	if c.Stdout == nil {
		c.Stdout = os.Stdout
	}
	if c.Stdin == nil {
		c.Stdin = os.Stdin
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

func shortID() string {
	id := uuid.NewString()
	return id[:8] + id[9:13]
}
