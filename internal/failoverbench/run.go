package failoverbench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"

	"github.com/geoblob/geoblob/emulator"
)

// ErrInvalidConfig is wrapped by the errors Run returns for a bad Config.
var ErrInvalidConfig = errors.New("failoverbench: invalid config")

// Read is one read as a reader saw it.
type Read struct {
	Scenario string `json:"scenario"`
	Client   string `json:"client"`
	Reader   int    `json:"reader"`
	// Start is when the read began, from the start of its run.
	Start   time.Duration `json:"start_ns"`
	Latency time.Duration `json:"latency_ns"`
	// Served is the location whose wire reads delivered the data:
	// primary, secondary, mixed (chunks from both) or none (failed).
	Served string `json:"served"`
	OK     bool   `json:"ok"`
	// Wrong: the read succeeded with bytes other than the committed ones.
	Wrong bool `json:"wrong"`
	// InOutage: the read was in flight during the outage (it started
	// before the outage ended and ended after it began).
	InOutage bool `json:"in_outage"`
	// Wire is the number of wire requests the read made.
	Wire int `json:"wire"`
	// ErrKind classifies a failure: both-unavailable (geoblob's
	// ErrBothUnavailable), timeout (the read's own deadline), unfinished
	// (cut at the end of the run, see Config.Grace; not a failure) or
	// error.
	ErrKind string `json:"err_kind,omitempty"`
	Err     string `json:"err,omitempty"`
}

// Timeline is when a run's outage happened, from the start of the run.
type Timeline struct {
	OutageStart time.Duration `json:"outage_start_ns"`
	OutageEnd   time.Duration `json:"outage_end_ns"`
	End         time.Duration `json:"end_ns"`
}

// runData is what one client's run leaves for the metrics.
type runData struct {
	scenario    scenario
	client      string
	timeline    Timeline
	t0          time.Time
	reads       []Read
	wire        []*wireEvent
	dropped     int
	transitions int64
	goroutines  int
	afterWin    time.Duration
}

// bench is the state shared by the runs of one Run.
type bench struct {
	cfg   Config
	emu   *emulator.Emulator
	ep    endpoints
	small [][]byte
	large [][]byte
	log   io.Writer
}

const container = "failoverbench"

func (c *Config) validate() error {
	switch {
	case c.Readers < 1 || c.Readers > 256:
		return fmt.Errorf("%w: readers %d outside 1..256", ErrInvalidConfig, c.Readers)
	case c.Outage <= 0 || c.LongOutage <= 0 || c.Recovery <= 0 || c.Warmup < 0 || c.ReadTimeout <= 0:
		return fmt.Errorf("%w: outage, long outage, recovery and read timeout must be positive", ErrInvalidConfig)
	case c.AfterWindow <= 0 || c.AfterWindow > c.Recovery:
		return fmt.Errorf("%w: the after-recovery window must be positive and within the recovery", ErrInvalidConfig)
	case c.Outage > time.Hour || c.LongOutage > time.Hour || c.Recovery > time.Hour || c.Warmup > time.Hour:
		return fmt.Errorf("%w: durations above an hour", ErrInvalidConfig)
	case c.SmallSize < 2 || c.SmallSize > 64<<20 || c.LargeSize < 2 || c.LargeSize > 256<<20 || c.BlockSize < 2:
		return fmt.Errorf("%w: blob sizes out of range", ErrInvalidConfig)
	case c.Blobs < 1 || c.LargeBlobs < 1 || c.Blobs > 1024 || c.LargeBlobs > 64:
		return fmt.Errorf("%w: blob counts out of range", ErrInvalidConfig)
	}
	known := AllScenarios()
	for _, s := range c.Scenarios {
		if !slices.Contains(known, s) {
			return fmt.Errorf("%w: unknown scenario %q (have %v)", ErrInvalidConfig, s, known)
		}
	}
	for _, cl := range c.Clients {
		if !slices.Contains(AllClients, cl) {
			return fmt.Errorf("%w: unknown client %q (have %v)", ErrInvalidConfig, cl, AllClients)
		}
	}
	return nil
}

// Run runs the benchmark on an in-process emulator and returns its report.
// progress, when not nil, receives a line per run.
func Run(ctx context.Context, cfg Config, progress io.Writer) (*Report, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if progress == nil {
		progress = io.Discard
	}
	emu, err := emulator.Start(ctx, emulator.Options{})
	if err != nil {
		return nil, fmt.Errorf("failoverbench: starting the emulator: %w", err)
	}
	defer emu.Close()
	emu.Faults().SetRand(rand.NewPCG(cfg.Seed, cfg.Seed))
	b := &bench{cfg: cfg, emu: emu, log: progress, ep: endpoints{
		primaryURL: emu.PrimaryURL(), secondaryURL: emu.SecondaryURL(),
		account: emu.AccountName(), key: emu.AccountKey(),
	}}
	if err := b.upload(ctx); err != nil {
		return nil, err
	}
	clients := cfg.Clients
	if len(clients) == 0 {
		clients = AllClients
	}
	started := time.Now()
	var runs []*runData
	for _, sc := range scenarios() {
		if len(cfg.Scenarios) > 0 && !slices.Contains(cfg.Scenarios, sc.name) {
			continue
		}
		groups := [][]string{clients}
		if !cfg.Parallel {
			groups = nil
			for _, c := range clients {
				groups = append(groups, []string{c})
			}
		}
		for _, g := range groups {
			t := time.Now()
			rs, err := b.runScenario(ctx, sc, g)
			if err != nil {
				return nil, err
			}
			runs = append(runs, rs...)
			for _, r := range rs {
				fmt.Fprintf(progress, "%-24s %-12s %6d reads  %v\n", sc.name, r.client, len(r.reads), time.Since(t).Round(100*time.Millisecond))
			}
		}
	}
	rep := report(cfg, runs)
	rep.Started = started.UTC()
	rep.Elapsed = time.Since(started)
	return rep, nil
}

// upload writes the blobs every scenario reads and waits until the
// secondary has them.
func (b *bench) upload(ctx context.Context) error {
	cred, err := azblob.NewSharedKeyCredential(b.ep.account, b.ep.key)
	if err != nil {
		return err
	}
	c, err := azblob.NewClientWithSharedKeyCredential(b.ep.primaryURL, cred, nil)
	if err != nil {
		return err
	}
	if _, err := c.CreateContainer(ctx, container, nil); err != nil {
		return fmt.Errorf("failoverbench: creating the container: %w", err)
	}
	rnd := rand.New(rand.NewPCG(b.cfg.Seed, 2))
	mk := func(n, size int) [][]byte {
		out := make([][]byte, n)
		for i := range out {
			out[i] = make([]byte, size)
			for j := range out[i] {
				out[i][j] = byte(rnd.Uint32())
			}
		}
		return out
	}
	b.small, b.large = mk(b.cfg.Blobs, b.cfg.SmallSize), mk(b.cfg.LargeBlobs, b.cfg.LargeSize)
	for i, data := range b.small {
		if _, err := c.UploadBuffer(ctx, container, smallName(i), data, nil); err != nil {
			return fmt.Errorf("failoverbench: upload: %w", err)
		}
	}
	for i, data := range b.large {
		if _, err := c.UploadBuffer(ctx, container, largeName(i), data, nil); err != nil {
			return fmt.Errorf("failoverbench: upload: %w", err)
		}
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := b.emu.Replication().Wait(wctx); err != nil {
		return fmt.Errorf("failoverbench: waiting for replication: %w", err)
	}
	return nil
}

func smallName(i int) string { return fmt.Sprintf("small-%03d", i) }
func largeName(i int) string { return fmt.Sprintf("large-%03d", i) }

// clientRun is one client inside a scenario run.
type clientRun struct {
	name        string
	r           reader
	wire        *wire
	log         *wireLog
	transitions atomic.Int64
	mu          sync.Mutex
	reads       []Read
}

// runScenario runs the given clients side by side through one outage.
func (b *bench) runScenario(ctx context.Context, sc scenario, names []string) ([]*runData, error) {
	cfg := b.cfg
	d := cfg.Outage
	if sc.long {
		d = cfg.LongOutage
	}
	tl := Timeline{OutageStart: cfg.Warmup, OutageEnd: cfg.Warmup + d, End: cfg.Warmup + d + cfg.Recovery}
	before := runtime.NumGoroutine()
	var crs []*clientRun
	for _, n := range names {
		cr := &clientRun{name: n, log: &wireLog{}}
		w, err := newWire(b.ep, cr.log)
		if err != nil {
			return nil, err
		}
		cr.wire = w
		if cr.r, err = newClient(n, b.ep, clientOptions(w, cfg.RetryDelay), &cr.transitions); err != nil {
			return nil, err
		}
		crs = append(crs, cr)
	}
	t0 := time.Now()
	runCtx, cut := context.WithCancel(ctx)
	defer cut()
	// The readers stop at end, moved once the outage has really started:
	// on a loaded machine the timer that starts it may fire late, and the
	// rules' For counts from when they are added.
	var end atomic.Int64
	end.Store(t0.Add(tl.End).UnixNano())
	var wg sync.WaitGroup
	for ci, cr := range crs {
		for i := range cfg.Readers {
			wg.Go(func() { b.readLoop(runCtx, sc, cr, i, ci, t0, &end) })
		}
	}
	fail := func(err error) ([]*runData, error) {
		cut()
		wg.Wait()
		return nil, err
	}
	if !sleepUntil(ctx, t0.Add(tl.OutageStart)) {
		return fail(ctx.Err())
	}
	var transitionsBefore []int64
	for _, cr := range crs {
		transitionsBefore = append(transitionsBefore, cr.transitions.Load())
	}
	tl.OutageStart = time.Since(t0)
	for _, r := range sc.rules(cfg, d) {
		if _, err := b.emu.Faults().Add(r); err != nil {
			return fail(fmt.Errorf("failoverbench: scenario %s: %w", sc.name, err))
		}
	}
	tl.OutageEnd = tl.OutageStart + d
	tl.End = tl.OutageEnd + cfg.Recovery
	end.Store(t0.Add(tl.End).UnixNano())
	if cfg.Grace > 0 {
		stop := time.AfterFunc(time.Until(t0.Add(tl.End+cfg.Grace)), cut)
		defer stop.Stop()
	}
	var transitionsDuring []int64
	if sleepUntil(ctx, t0.Add(tl.OutageEnd)) {
		for i, cr := range crs {
			transitionsDuring = append(transitionsDuring, cr.transitions.Load()-transitionsBefore[i])
		}
	}
	wg.Wait() // the readers stop at tl.End
	for _, cr := range crs {
		for i := range cr.reads {
			r := &cr.reads[i]
			// In flight at some point of the outage: a read that started
			// just before it and was caught by it counts too.
			r.InOutage = r.Start < tl.OutageEnd && r.Start+r.Latency > tl.OutageStart
		}
	}
	b.emu.Faults().Clear()
	for _, cr := range crs {
		if c, ok := cr.r.(io.Closer); ok {
			_ = c.Close()
		}
		cr.wire.close()
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	growth := goroutineGrowth(before)
	var out []*runData
	for i, cr := range crs {
		rd := &runData{scenario: sc, client: cr.name, timeline: tl, t0: t0, reads: cr.reads, wire: cr.log.snapshot(), dropped: cr.log.droppedCount(), goroutines: growth, afterWin: cfg.AfterWindow}
		if i < len(transitionsDuring) {
			rd.transitions = transitionsDuring[i]
		}
		out = append(out, rd)
	}
	return out, nil
}

// goroutineGrowth is how many goroutines more than before are still
// running once the run's connections are closed; it waits up to a second
// for the ones that are on their way out.
func goroutineGrowth(before int) int {
	deadline := time.Now().Add(time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= before || time.Now().After(deadline) {
			return n - before
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// readLoop reads and checks blobs until the run ends.
func (b *bench) readLoop(ctx context.Context, sc scenario, cr *clientRun, reader, clientIdx int, t0 time.Time, endAt *atomic.Int64) {
	rnd := rand.New(rand.NewPCG(b.cfg.Seed+uint64(clientIdx), uint64(reader)))
	var buf []byte
	if sc.chunked {
		buf = make([]byte, b.cfg.LargeSize)
	}
	ended := func() bool { return time.Now().UnixNano() >= endAt.Load() }
	for ctx.Err() == nil && !ended() {
		// ctx is cut Config.Grace after the end; a read it cuts is
		// unfinished rather than failed.
		var want []byte
		var name string
		if sc.chunked {
			i := rnd.IntN(len(b.large))
			want, name = b.large[i], largeName(i)
		} else {
			i := rnd.IntN(len(b.small))
			want, name = b.small[i], smallName(i)
		}
		// The buffer is reused: clear it (outside the timed read), so that
		// a chunk a client claims to have read but never wrote cannot pass
		// the check with the bytes of an earlier read of the same blob.
		clear(buf)
		tr := &readTrace{}
		rctx, cancel := context.WithTimeout(context.WithValue(ctx, traceKey{}, tr), b.cfg.ReadTimeout)
		start := time.Now()
		var got []byte
		var err error
		if sc.chunked {
			var n int64
			n, err = cr.r.buffer(rctx, container, name, buf, &blob.DownloadBufferOptions{BlockSize: b.cfg.BlockSize, Concurrency: 4})
			got = buf[:n]
		} else {
			got, err = cr.r.stream(rctx, container, name)
		}
		lat := time.Since(start)
		deadline := errors.Is(rctx.Err(), context.DeadlineExceeded)
		cancel()
		rd := Read{Scenario: sc.name, Client: cr.name, Reader: reader, Start: start.Sub(t0), Latency: lat, OK: err == nil}
		if err == nil {
			rd.Wrong = !bytes.Equal(got, want)
		} else {
			rd.Err = err.Error()
			switch {
			case ctx.Err() != nil && ended():
				rd.ErrKind = "unfinished"
			case isBothUnavailable(err):
				rd.ErrKind = "both-unavailable"
			case deadline:
				rd.ErrKind = "timeout"
			default:
				rd.ErrKind = "error"
			}
		}
		tr.mu.Lock()
		rd.Wire = len(tr.events)
		rd.Served = servedBy(tr.events, err == nil)
		tr.mu.Unlock()
		cr.mu.Lock()
		cr.reads = append(cr.reads, rd)
		cr.mu.Unlock()
		if b.cfg.ThinkTime > 0 && !sleepUntil(ctx, time.Now().Add(b.cfg.ThinkTime)) {
			return
		}
	}
}

// servedBy names the location(s) whose successful wire reads served a read.
func servedBy(evs []*wireEvent, ok bool) string {
	if !ok {
		return "none"
	}
	var p, s bool
	for _, e := range evs {
		if !e.servedRead() {
			continue
		}
		if e.loc == "secondary" {
			s = true
		} else {
			p = true
		}
	}
	switch {
	case p && s:
		return "mixed"
	case s:
		return "secondary"
	case p:
		return "primary"
	}
	return "none"
}
