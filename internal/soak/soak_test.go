package soak

import (
	"bytes"
	"context"
	"crypto/md5"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"go.uber.org/goleak"

	"github.com/geoblob/geoblob"
	"github.com/geoblob/geoblob/emulator"
	"github.com/geoblob/geoblob/fault"
	"github.com/geoblob/geoblob/internal/chaos"
)

var (
	flagDuration = flag.Duration("soak.duration", 0, "run the soak this long (0: the short run, bounded by -soak.ops)")
	flagOps      = flag.Int64("soak.ops", 400, "operations of the short run")
	flagSeed     = flag.Uint64("soak.seed", 0, "seed of the random choices (0: from the clock; the seed is logged)")
	flagMemory   = flag.Bool("soak.memory", false, "run the emulator without a data dir (each restart then loses the data, by design)")
)

const (
	container = "soak"
	names     = 24 // distinct blob names
	readers   = 4
	writers   = 3
	// opTimeout bounds every client call, so that a hang fault holds an
	// operation at most this long.
	opTimeout = 5 * time.Second
	// stepOps is how many finished operations trigger the next chaos step.
	stepOps = 20
	// maxRestarts bounds the restarts of one run.
	maxRestarts = 500
	// heapBound is the most heap the soak process may hold in use at any
	// step. With a data dir the emulator keeps records, not bytes, in the
	// heap; in memory (-soak.memory) it holds at most 24 blobs of up to
	// 256 KiB, plus the superseded versions replication keeps (capped at
	// 32 MiB below); add the clients' buffers.
	heapBound = 64 << 20
)

// tally counts what happened in a run.
type tally struct {
	mu                        sync.Mutex
	reads, writes, wrongBytes int64
	restarts, pauses, rules   int64
	firings                   int64 // fault firings of emulators already closed
	errs                      map[string]int64
	sample                    map[string]string // the first error of each kind
	byAction                  map[string]int64  // fault rules added, by action
	unknown                   []string
	maxHeap, maxRSS           uint64
}

func (t *tally) err(op string, err error) {
	kind := chaos.Classify(err)
	var re *azcore.ResponseError
	if errors.As(err, &re) && re.StatusCode >= 500 && re.ErrorCode != injectedCode {
		// A server error nobody injected: the emulator failed by itself.
		kind = chaos.Unknown + " " + kind
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.errs[op+" "+kind]++
	if _, ok := t.sample[op+" "+kind]; !ok {
		msg, _, _ := strings.Cut(err.Error(), "\n")
		t.sample[op+" "+kind] = msg
	}
	if strings.HasPrefix(kind, chaos.Unknown) && len(t.unknown) < 10 {
		t.unknown = append(t.unknown, op+": "+err.Error())
	}
}

// rig is the emulator under test, restarted in place, and its clients.
type rig struct {
	t       *testing.T
	opts    emulator.Options
	dataDir string // the emulator's data dir; "" keeps the data in memory
	clk     *emulator.ManualClock

	mu  sync.RWMutex // guards emu across restarts
	emu *emulator.Emulator

	// quiesce is held shared around each write and exclusively around a
	// restart that loses the data (no data dir): the history is reset then.
	quiesce sync.RWMutex

	hist *chaos.History
	ver  atomic.Uint64
	ops  atomic.Int64
	kick chan struct{} // a worker finished an operation
	tl   *tally

	tr             *http.Transport
	geo            *azblob.Client // geoblob: reads routed, writes to the primary
	router         *geoblob.Router
	hedged         *azblob.Client // geoblob with hedged reads
	hrouter        *geoblob.Router
	plain, plainSc *azblob.Client // azblob on the primary, on the secondary
}

func (r *rig) current() *emulator.Emulator {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.emu
}

func blobName(i int) string { return fmt.Sprintf("dir%d/blob-%02d", i%3, i) }

func TestSoak(t *testing.T) {
	leaks := goleak.IgnoreCurrent()
	seed := *flagSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (replay with -soak.seed=%d)", seed, seed)
	long := *flagDuration > 0

	clk := emulator.NewManualClock(time.Now().UTC())
	opts := emulator.Options{
		Lag:                2 * time.Second,
		Clock:              clk,
		MaxSupersededBytes: 32 << 20,
	}
	if !*flagMemory {
		opts.DataDir = t.TempDir()
	}
	r := &rig{t: t, opts: opts, dataDir: opts.DataDir, clk: clk, hist: chaos.NewHistory(), kick: make(chan struct{}, 1),
		tl: &tally{errs: map[string]int64{}, sample: map[string]string{}, byAction: map[string]int64{}}}
	r.start(context.Background())
	// Restarts reuse the ports, so that the clients keep their URLs.
	r.opts.Port = port(t, r.emu.PrimaryURL())
	r.opts.SecondaryPort = port(t, r.emu.SecondaryURL())
	r.clients(t)
	r.ensureContainer(context.Background())

	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := range readers {
		rnd := rand.New(rand.NewPCG(seed, uint64(100+i)))
		wg.Go(func() { r.reader(ctx, rnd) })
	}
	for i := range writers {
		rnd := rand.New(rand.NewPCG(seed, uint64(200+i)))
		wg.Go(func() { r.writer(ctx, rnd) })
	}

	start := time.Now()
	rnd := rand.New(rand.NewPCG(seed, 1))
	var ruleIDs []string
	for step := 1; ; step++ {
		if !r.waitOps(ctx, int64(step*stepOps)) {
			break
		}
		if long && time.Since(start) >= *flagDuration || !long && r.ops.Load() >= *flagOps {
			break
		}
		r.sampleHeap()
		r.clk.Advance(time.Duration(rnd.IntN(1500)) * time.Millisecond)
		ruleIDs = r.chaosStep(rnd, ruleIDs)
		if step == 5 {
			r.restart() // every run restarts at least once
			ruleIDs = nil
		}
	}
	stop()
	wg.Wait()
	elapsed := time.Since(start)

	r.finalCheck(t)
	r.sampleHeap()

	// Tear down and look for goroutines left behind.
	_ = r.router.Close()
	_ = r.hrouter.Close()
	r.tr.CloseIdleConnections()
	emu := r.current()
	r.tl.firings += firings(emu)
	if err := emu.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	r.report(t, seed, elapsed)
	goleak.VerifyNone(t, leaks)
}

func port(t *testing.T, raw string) int {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	p, err := strconv.Atoi(u.Port())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func firings(emu *emulator.Emulator) int64 {
	var n int64
	for _, f := range emu.Faults().Firings() {
		n += f
	}
	return n
}

func (r *rig) start(ctx context.Context) {
	emu, err := emulator.Start(ctx, r.opts)
	if err != nil {
		r.t.Fatalf("start emulator: %v", err)
	}
	emu.Faults().SetRand(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	r.mu.Lock()
	r.emu = emu
	r.mu.Unlock()
}

// clients builds the geoblob client and two plain azblob clients on one
// transport of their own, with short SDK retries and tries bounded.
func (r *rig) clients(t *testing.T) {
	r.tr = http.DefaultTransport.(*http.Transport).Clone()
	r.tr.DialContext = (&net.Dialer{Timeout: 2 * time.Second}).DialContext
	o := func() *azblob.ClientOptions {
		o := &azblob.ClientOptions{}
		o.Transport = &http.Client{Transport: r.tr}
		o.Retry = policy.RetryOptions{MaxRetries: 2, TryTimeout: 2 * time.Second, RetryDelay: time.Millisecond, MaxRetryDelay: 10 * time.Millisecond}
		return o
	}
	emu := r.current()
	var err error
	r.geo, r.router, err = geoblob.NewClientFromConnectionString(emu.ConnectionString(), &geoblob.Config{Logger: slog.New(slog.DiscardHandler)}, o())
	if err != nil {
		t.Fatal(err)
	}
	r.hedged, r.hrouter, err = geoblob.NewClientFromConnectionString(emu.ConnectionString(), &geoblob.Config{
		Logger: slog.New(slog.DiscardHandler),
		Hedge:  geoblob.HedgeConfig{Enabled: true, Delay: 2 * time.Millisecond, Budget: 0.5},
	}, o())
	if err != nil {
		t.Fatal(err)
	}
	cred, err := azblob.NewSharedKeyCredential(emu.AccountName(), emu.AccountKey())
	if err != nil {
		t.Fatal(err)
	}
	if r.plain, err = azblob.NewClientWithSharedKeyCredential(emu.PrimaryURL()+"/", cred, o()); err != nil {
		t.Fatal(err)
	}
	if r.plainSc, err = azblob.NewClientWithSharedKeyCredential(emu.SecondaryURL()+"/", cred, o()); err != nil {
		t.Fatal(err)
	}
}

func (r *rig) ensureContainer(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	_, err := r.plain.CreateContainer(ctx, container, nil)
	if err != nil && !bloberror.HasCode(err, bloberror.ContainerAlreadyExists) {
		r.t.Fatalf("create container: %v", err)
	}
}

// done records a finished operation and wakes the chaos driver.
func (r *rig) done() {
	r.ops.Add(1)
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// waitOps waits until n operations have finished, or ctx ends.
func (r *rig) waitOps(ctx context.Context, n int64) bool {
	for r.ops.Load() < n {
		select {
		case <-r.kick:
		case <-ctx.Done():
			return false
		}
	}
	return true
}

func (r *rig) writer(ctx context.Context, rnd *rand.Rand) {
	for ctx.Err() == nil {
		name := blobName(rnd.IntN(names))
		var size int
		m := chaos.PutBlob
		switch p := rnd.IntN(100); {
		case p < 60:
			size = rnd.IntN(512) // tiny (at least the header)
		case p < 90:
			size = 4<<10 + rnd.IntN(60<<10)
		default:
			size = 3*chaos.BlockSize + rnd.IntN(5*chaos.BlockSize)
			m = chaos.Blocks
		}
		client := r.plain
		if rnd.IntN(2) == 0 {
			client = r.geo
		}
		ver := r.ver.Add(1)
		data := chaos.Payload(name, ver, size)
		r.quiesce.RLock()
		octx, cancel := context.WithTimeout(ctx, opTimeout)
		ack := r.hist.Begin(name, ver)
		err := chaos.Upload(octx, client, container, name, ver, data, m)
		if err == nil {
			ack()
		}
		cancel()
		r.quiesce.RUnlock()
		r.tl.mu.Lock()
		r.tl.writes++
		r.tl.mu.Unlock()
		if err != nil && ctx.Err() == nil {
			r.tl.err("write", err)
		}
		r.done()
	}
}

// read is one way of reading a blob.
type read struct {
	name string
	do   func(ctx context.Context, r *rig, rnd *rand.Rand, blob string) ([]byte, []byte, error) // data, Content-MD5 (or prefixOf)
}

var reads = []read{
	{"geoblob stream", func(ctx context.Context, r *rig, rnd *rand.Rand, b string) ([]byte, []byte, error) {
		return stream(ctx, r.geo, b)
	}},
	{"geoblob buffer", func(ctx context.Context, r *rig, rnd *rand.Rand, b string) ([]byte, []byte, error) {
		buf := make([]byte, 300<<10)
		n, err := geoblob.DownloadBuffer(ctx, r.geo, container, b, buf, &azblob.DownloadBufferOptions{BlockSize: 16 << 10, Concurrency: 2})
		if err != nil {
			return nil, nil, err
		}
		return buf[:n], nil, nil
	}},
	{"geoblob hedged stream", func(ctx context.Context, r *rig, rnd *rand.Rand, b string) ([]byte, []byte, error) {
		return stream(ctx, r.hedged, b)
	}},
	{"geoblob range", func(ctx context.Context, r *rig, rnd *rand.Rand, b string) ([]byte, []byte, error) {
		// The first bytes of the blob, in chunks: every chunk must come
		// from the version the first one did (geoblob sets If-Match).
		// azblob asks for every chunk of the range, also past the end of
		// the blob (416 there, as from Azure): so stay within its size.
		props, err := r.geo.ServiceClient().NewContainerClient(container).NewBlobClient(b).GetProperties(ctx, nil)
		if err != nil {
			return nil, nil, err
		}
		n := int(min(*props.ContentLength, int64(1100+rnd.IntN(100<<10))))
		buf := make([]byte, n)
		got, err := geoblob.DownloadBuffer(ctx, r.geo, container, b, buf, &azblob.DownloadBufferOptions{
			Range: azblob.HTTPRange{Count: int64(n)}, BlockSize: 8 << 10, Concurrency: 3})
		if err != nil {
			return nil, nil, err
		}
		return buf[:got], prefixOf(n), nil
	}},
	{"azblob primary", func(ctx context.Context, r *rig, rnd *rand.Rand, b string) ([]byte, []byte, error) {
		return stream(ctx, r.plain, b)
	}},
	{"azblob secondary", func(ctx context.Context, r *rig, rnd *rand.Rand, b string) ([]byte, []byte, error) {
		return stream(ctx, r.plainSc, b)
	}},
}

// prefixOf marks a read of the first n bytes of a blob, in place of a
// Content-MD5.
func prefixOf(n int) []byte { return []byte("prefix:" + strconv.Itoa(n)) }

func stream(ctx context.Context, c *azblob.Client, b string) ([]byte, []byte, error) {
	resp, err := c.DownloadStream(ctx, container, b, nil)
	if err != nil {
		return nil, nil, err
	}
	body := resp.NewRetryReader(ctx, &azblob.RetryReaderOptions{MaxRetries: 2})
	defer body.Close()
	data, err := io.ReadAll(io.LimitReader(body, 1<<20))
	return data, resp.ContentMD5, err
}

func (r *rig) reader(ctx context.Context, rnd *rand.Rand) {
	for ctx.Err() == nil {
		name := blobName(rnd.IntN(names))
		how := reads[rnd.IntN(len(reads))]
		octx, cancel := context.WithTimeout(ctx, opTimeout)
		data, sum, err := how.do(octx, r, rnd, name)
		cancel()
		r.tl.mu.Lock()
		r.tl.reads++
		r.tl.mu.Unlock()
		switch {
		case err != nil:
			if ctx.Err() == nil {
				r.tl.err("read", err)
			}
		default:
			if verr := r.verify(name, data, sum); verr != nil {
				r.tl.mu.Lock()
				r.tl.wrongBytes++
				r.tl.mu.Unlock()
				r.t.Errorf("%s of %s: %v", how.name, name, verr)
			}
		}
		r.done()
	}
}

// verify checks that data is a version of name some writer sent, and that
// its Content-MD5, when the answer carried one, is the MD5 of data.
func (r *rig) verify(name string, data, sum []byte) error {
	var ver uint64
	var err error
	if n, ok := strings.CutPrefix(string(sum), "prefix:"); ok {
		want, _ := strconv.Atoi(n)
		ver, err = chaos.VerifyPrefix(name, data, want)
		sum = nil
	} else {
		ver, err = chaos.Verify(name, data)
	}
	if err != nil {
		return err
	}
	if ver == 0 {
		return nil // a prefix too short to name its version
	}
	if !r.hist.Sent(name, ver) {
		return fmt.Errorf("%w: version %d of %s was never sent", chaos.ErrWrongBytes, ver, name)
	}
	if want := md5.Sum(data); sum != nil && !bytes.Equal(sum, want[:]) {
		return fmt.Errorf("%w: Content-MD5 %x of %s version %d, want %x", chaos.ErrWrongBytes, sum, name, ver, want)
	}
	return nil
}

// injectedCode is the error code (x-ms-error-code, also on HEAD answers,
// which have no body) of every status the soak injects, so that an error
// status the emulator sent by itself stands out.
const injectedCode = "SoakInjectedFault"

// faultMenu returns a random fault rule.
func faultMenu(rnd *rand.Rand) fault.Rule {
	eps := []fault.Endpoint{fault.Primary, fault.Secondary, fault.Both}
	p := 0.05 + rnd.Float64()*0.4
	rule := fault.Rule{
		Endpoint: eps[rnd.IntN(len(eps))],
		Limits:   fault.Limits{Probability: &p, Count: int64(1 + rnd.IntN(30))},
	}
	if rnd.IntN(3) == 0 {
		rule.Match.Op = []fault.Op{fault.Read, fault.Write}[rnd.IntN(2)]
	}
	n := int64(rnd.IntN(64 << 10))
	switch rnd.IntN(8) {
	case 0:
		rule.Action.Status = []int{500, 503, 503, 429, 408}[rnd.IntN(5)]
		rule.Action.Code = injectedCode
	case 1:
		rule.Action.Latency = fault.Duration(time.Duration(1+rnd.IntN(30)) * time.Millisecond)
	case 2:
		rule.Action.Reset = true
	case 3:
		rule.Action.ResetAfterBytes = &n
	case 4:
		rule.Action.ResetAfterRequestBytes = &n
	case 5:
		rule.Action.Hang = true
		rule.Limits.Count = int64(1 + rnd.IntN(3))
	case 6:
		rule.Action.Refuse = true
		rule.Limits.Probability = nil // a whole endpoint down, for a while
		rule.Limits.Count = 0
		rule.Limits.For = fault.Duration(time.Duration(500+rnd.IntN(2000)) * time.Millisecond)
	default:
		rule.Action.Status = 503
		rule.Action.Code = injectedCode
		rule.Action.Latency = fault.Duration(time.Duration(1+rnd.IntN(10)) * time.Millisecond)
	}
	return rule
}

// actionKind names what a fault rule does, for the tally.
func actionKind(a fault.Action) string {
	switch {
	case a.Status != 0:
		return "status"
	case a.Reset:
		return "reset"
	case a.ResetAfterBytes != nil:
		return "reset mid-body"
	case a.ResetAfterRequestBytes != nil:
		return "reset mid-upload"
	case a.Hang:
		return "hang"
	case a.Refuse:
		return "refuse"
	}
	return "latency"
}

// chaosStep does one random thing to the emulator and returns the ids of
// the rules it still holds.
func (r *rig) chaosStep(rnd *rand.Rand, ids []string) []string {
	emu := r.current()
	switch p := rnd.IntN(100); {
	case p < 45:
		rule := faultMenu(rnd)
		id, err := emu.Faults().Add(rule)
		if err != nil {
			r.t.Fatalf("add fault: %v", err)
		}
		r.tl.mu.Lock()
		r.tl.rules++
		r.tl.byAction[actionKind(rule.Action)]++
		r.tl.mu.Unlock()
		ids = append(ids, id)
	case p < 65:
		if len(ids) > 0 {
			i := rnd.IntN(len(ids))
			_ = emu.Faults().Remove(ids[i]) // it may have ended by itself
			ids = slices.Delete(ids, i, i+1)
		}
	case p < 72:
		emu.Faults().Clear()
		ids = nil
	case p < 85:
		if emu.Replication().State().Paused {
			emu.Replication().Resume()
		} else {
			emu.Replication().Pause()
			r.tl.mu.Lock()
			r.tl.pauses++
			r.tl.mu.Unlock()
		}
	case p < 89 && r.tl.restarts < maxRestarts:
		r.restart()
		ids = nil
	}
	return ids
}

// restart closes the emulator and starts it again on the same ports and
// data dir, while the workers keep going (they see refused connections in
// between). Without a data dir the data is lost by design: the workers'
// writes are held off and the history starts over.
func (r *rig) restart() {
	lossy := r.dataDir == ""
	if lossy {
		r.quiesce.Lock()
		defer r.quiesce.Unlock()
	}
	r.mu.Lock()
	old := r.emu
	r.mu.Unlock()
	r.tl.mu.Lock()
	r.tl.firings += firings(old)
	r.tl.restarts++
	r.tl.mu.Unlock()
	began := time.Now()
	if err := old.Close(); err != nil {
		r.t.Logf("close before restart: %v", err)
	}
	closed := time.Now()
	r.start(context.Background())
	r.t.Logf("restart %d: close took %v, start %v", r.tl.restarts, closed.Sub(began), time.Since(closed))
	if lossy {
		for _, n := range r.hist.Names() {
			r.hist.Settle(n, 0, false)
		}
		r.ensureContainer(context.Background())
	}
}

func (r *rig) sampleHeap() {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	r.tl.mu.Lock()
	defer r.tl.mu.Unlock()
	r.tl.maxHeap = max(r.tl.maxHeap, ms.HeapInuse)
	r.tl.maxRSS = max(r.tl.maxRSS, rss())
	if ms.HeapInuse > heapBound {
		r.t.Errorf("heap in use %d MiB, over the bound of %d MiB", ms.HeapInuse>>20, heapBound>>20)
	}
}

// finalCheck ends the faults, lets replication catch up and checks the
// primary against the history (nothing acknowledged lost, nothing torn) and
// the secondary against the primary.
func (r *rig) finalCheck(t *testing.T) {
	emu := r.current()
	emu.Faults().Clear()
	emu.Replication().Resume()
	if r.dataDir != "" {
		r.restart() // a clean restart loses nothing
		emu = r.current()
	}
	for _, name := range r.hist.Names() {
		obj, err := emu.GetObject(emulator.Primary, "", container, name)
		present := err == nil
		if err != nil && !errors.Is(err, emulator.ErrObjectNotFound) {
			t.Errorf("primary %s: %v", name, err)
			continue
		}
		var ver uint64
		if present {
			if ver, err = chaos.Verify(name, obj.Data); err != nil {
				t.Errorf("primary: %v", err)
				continue
			}
		}
		if err := r.hist.Check(name, ver, present); err != nil {
			t.Errorf("primary: %v", err)
		}
	}
	// Every write is due once the clock passes the lag.
	r.clk.Advance(r.opts.Lag + time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := emu.Replication().Wait(ctx); err != nil {
		t.Fatalf("replication did not catch up: %v", err)
	}
	pri, err := emu.ListObjects(emulator.Primary, "", container, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	sec, err := emu.ListObjects(emulator.Secondary, "", container, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(pri) != len(sec) {
		t.Errorf("primary holds %d blobs, the secondary %d after catching up", len(pri), len(sec))
	}
	for i := range min(len(pri), len(sec)) {
		p, s := pri[i], sec[i]
		if p.Name != s.Name || p.ETag != s.ETag || !bytes.Equal(p.Data, s.Data) {
			t.Errorf("secondary differs: primary %s %s (%d bytes), secondary %s %s (%d bytes)", p.Name, p.ETag, len(p.Data), s.Name, s.ETag, len(s.Data))
		}
	}
}

func (r *rig) report(t *testing.T, seed uint64, elapsed time.Duration) {
	tl := r.tl
	tl.mu.Lock()
	defer tl.mu.Unlock()
	kinds := make([]string, 0, len(tl.errs))
	for k := range tl.errs {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	var b strings.Builder
	fmt.Fprintf(&b, "soak: seed %d, %v, reads %d, writes %d, acknowledged versions still legal %d, fault rules %d, faults injected %d, restarts %d, replication pauses %d, wrong bytes %d, max heap in use %d MiB, max RSS %d MiB\n",
		seed, elapsed.Round(time.Millisecond), tl.reads, tl.writes, r.hist.Acked(), tl.rules, tl.firings, tl.restarts, tl.pauses, tl.wrongBytes, tl.maxHeap>>20, tl.maxRSS>>20)
	actions := make([]string, 0, len(tl.byAction))
	for k, n := range tl.byAction {
		actions = append(actions, fmt.Sprintf("%s %d", k, n))
	}
	sort.Strings(actions)
	fmt.Fprintf(&b, "  fault rules by action: %s\n", strings.Join(actions, ", "))
	for _, k := range kinds {
		fmt.Fprintf(&b, "  %-45s %d\n", k, tl.errs[k])
	}
	if testing.Verbose() {
		b.WriteString("first error of each kind:\n")
		for _, k := range kinds {
			fmt.Fprintf(&b, "  %s: %.300s\n", k, tl.sample[k])
		}
	}
	t.Log(b.String())
	if tl.wrongBytes != 0 {
		t.Errorf("%d reads returned wrong bytes", tl.wrongBytes)
	}
	for _, u := range tl.unknown {
		t.Errorf("error of no known kind: %s", u)
	}
}

// rss reads the resident set size of the test process (Linux), 0 where it
// cannot. It is reported, not bounded: the race detector multiplies it.
func rss() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
