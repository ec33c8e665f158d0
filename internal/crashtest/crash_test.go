package crashtest

import (
	"bytes"
	"context"
	"crypto/md5"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/geoblob/geoblob"
	"github.com/geoblob/geoblob/internal/chaos"
	"github.com/geoblob/geoblob/internal/control"
)

var (
	flagRounds  = flag.Int("crash.rounds", 3, "kills in one run")
	flagAcks    = flag.Int("crash.acks", 30, "acknowledged writes (at least) before each kill")
	flagWriters = flag.Int("crash.writers", 6, "concurrent writers of the storm")
	flagNames   = flag.Int("crash.names", 12, "distinct blob names the storm overwrites")
	flagSeed    = flag.Uint64("crash.seed", 0, "seed of the random choices (0: from the clock; the seed is logged)")
)

const containerName = "crash"

// endpoints are the clients of one server process.
type endpoints struct {
	srv            *server
	tr             *http.Transport
	primary, secnd *azblob.Client
	ctl            *control.Client
}

func connect(t *testing.T, srv *server) *endpoints {
	t.Helper()
	cs, err := geoblob.ParseConnectionString(srv.ConnectionString)
	if err != nil {
		t.Fatal(err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	o := &azblob.ClientOptions{}
	o.Transport = &http.Client{Transport: tr}
	// One try: a write the kill interrupts fails at once rather than
	// waiting for a server that is gone.
	o.Retry = policy.RetryOptions{MaxRetries: -1}
	cred, err := azblob.NewSharedKeyCredential(cs.AccountName, cs.AccountKey)
	if err != nil {
		t.Fatal(err)
	}
	pri, err := azblob.NewClientWithSharedKeyCredential(cs.PrimaryURL, cred, o)
	if err != nil {
		t.Fatal(err)
	}
	sec, err := azblob.NewClientWithSharedKeyCredential(cs.SecondaryURL, cred, o)
	if err != nil {
		t.Fatal(err)
	}
	return &endpoints{srv: srv, tr: tr, primary: pri, secnd: sec,
		ctl: &control.Client{BaseURL: srv.Control, HTTP: &http.Client{Transport: tr}}}
}

// TestKillDuringUploadStorm kills `geoblob serve --data-dir` with SIGKILL
// in the middle of a storm of concurrent uploads (tiny, about 1 MiB,
// several Put Blocks, UploadStream; overwrites of the same names), restarts
// it on the same directory and checks, every round:
//   - every acknowledged write is there, with its bytes and Content-MD5 (for
//     an overwritten name, a version chaos.History allows: the last
//     acknowledged one or one sent later);
//   - no blob on either endpoint is torn: each is a complete version sent;
//   - LastSyncTime has not gone back, and the secondary catches up with the
//     primary: same blobs, same ETags, same bytes.
func TestKillDuringUploadStorm(t *testing.T) {
	seed := *flagSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (replay with -crash.seed=%d)", seed, seed)
	rnd := rand.New(rand.NewPCG(seed, 0))
	dir := t.TempDir()
	hist := chaos.NewHistory()
	var ver atomic.Uint64
	var lastSync time.Time
	start := time.Now()
	for round := 1; round <= *flagRounds+1; round++ {
		began := time.Now()
		srv := mustStart(t, "--data-dir", dir, "--lag", "20ms")
		startedIn := time.Since(began)
		ep := connect(t, srv)
		if round == 1 {
			if _, err := ep.primary.CreateContainer(context.Background(), containerName, nil); err != nil {
				t.Fatal(err)
			}
		} else {
			began := time.Now()
			lastSync = ep.check(t, round, hist, lastSync)
			t.Logf("round %d: started in %v, checked in %v", round, startedIn.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
			if t.Failed() {
				t.Fatalf("round %d: the check failed; server output:\n%s", round, srv.output())
			}
		}
		if round > *flagRounds {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			if err := srv.stop(ctx); err != nil {
				t.Errorf("stop: %v\n%s", err, srv.output())
			}
			cancel()
			break
		}
		target := *flagAcks + rnd.IntN(*flagAcks/2+1)
		began = time.Now()
		n, lst := ep.storm(t, round, rnd.Uint64(), hist, &ver, target)
		if lst.After(lastSync) {
			lastSync = lst
		}
		t.Logf("round %d: killed after %d acknowledged writes (%d sent, %v); %d acknowledged versions live", round, target, n, time.Since(began).Round(time.Millisecond), hist.Acked())
	}
	t.Logf("%d kills, %d versions sent, %v", *flagRounds, ver.Load(), time.Since(start).Round(time.Millisecond))
}

// storm runs concurrent writers until target writes were acknowledged,
// then kills the server at once, from the goroutine that saw the last
// acknowledgement. In round 2 replication is paused half way, so that the
// kill leaves a backlog. Meanwhile it reads the secondary's LastSyncTime
// after acknowledgements. It returns how many writes were sent and the
// latest LastSyncTime the server reported.
func (ep *endpoints) storm(t *testing.T, round int, seed uint64, hist *chaos.History, ver *atomic.Uint64, target int) (int, time.Time) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		acks, sent atomic.Int64
		killOnce   sync.Once
		killing    = make(chan struct{}) // closed just before SIGKILL
		killed     = make(chan struct{})
		wg         sync.WaitGroup
		mu         sync.Mutex
		early      []string // errors before the kill
		acked      = make(chan struct{}, 1)
		maxSync    time.Time
	)
	// LastSyncTime as the server reports it during the storm, read once
	// per burst of acknowledgements.
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-acked:
			}
			st, err := ep.secnd.ServiceClient().GetStatistics(ctx, nil)
			if err == nil && st.GeoReplication != nil && st.GeoReplication.LastSyncTime != nil {
				mu.Lock()
				if st.GeoReplication.LastSyncTime.After(maxSync) {
					maxSync = *st.GeoReplication.LastSyncTime
				}
				mu.Unlock()
			}
		}
	})
	kill := func() {
		killOnce.Do(func() {
			close(killing)
			ep.srv.kill()
			close(killed)
			cancel()
		})
	}
	for w := range *flagWriters {
		rnd := rand.New(rand.NewPCG(seed, uint64(w)))
		wg.Go(func() {
			for ctx.Err() == nil {
				i := rnd.IntN(*flagNames)
				name := fmt.Sprintf("d%d/blob-%02d", i%3, i)
				size, m := pick(rnd)
				v := ver.Add(1)
				data := chaos.Payload(name, v, size)
				ack := hist.Begin(name, v)
				sent.Add(1)
				err := chaos.Upload(ctx, ep.primary, containerName, name, v, data, m)
				if err == nil {
					ack()
					n := acks.Add(1)
					select {
					case acked <- struct{}{}:
					default:
					}
					if round == 2 && n == int64(target/2) {
						if _, err := ep.ctl.PauseReplication(ctx); err != nil && ctx.Err() == nil {
							t.Errorf("pause replication: %v", err)
						}
					}
					if n >= int64(target) {
						kill()
					}
					continue
				}
				select {
				case <-killing:
				default:
					// Azure drops uncommitted blocks when another
					// writer commits the blob, so a concurrent block
					// list may fail, and refuses block ids of another
					// length than the blob's uncommitted ones (azblob's
					// UploadStream and chaos.Blocks differ); nothing
					// else should fail before the kill.
					if !bloberror.HasCode(err, bloberror.InvalidBlockList, bloberror.InvalidBlobOrBlock) {
						mu.Lock()
						early = append(early, fmt.Sprintf("%s %s: %v", m, name, err))
						mu.Unlock()
					}
				}
			}
		})
	}
	// A storm that cannot reach its target (every write failing) ends
	// after a bound.
	select {
	case <-killed:
	case <-time.After(2 * time.Minute):
		t.Errorf("round %d: only %d of %d writes acknowledged in 2 minutes", round, acks.Load(), target)
		kill()
	}
	wg.Wait()
	for _, e := range early {
		t.Errorf("round %d: a write failed before the kill: %s", round, e)
	}
	if len(early) > 0 {
		t.Logf("round %d: server output:\n%s", round, ep.srv.output())
	}
	return int(sent.Load()), maxSync
}

// pick chooses the size and upload method of one write.
func pick(rnd *rand.Rand) (int, chaos.Method) {
	switch p := rnd.IntN(100); {
	case p < 45:
		return rnd.IntN(2 << 10), chaos.PutBlob // tiny
	case p < 55:
		return 900<<10 + rnd.IntN(250<<10), chaos.PutBlob // about 1 MiB
	case p < 90:
		return 3*chaos.BlockSize + rnd.IntN(10*chaos.BlockSize), chaos.Blocks
	default:
		return 1<<20 + 200<<10 + rnd.IntN(1<<20), chaos.Stream // 2 or 3 blocks
	}
}

// seen is one blob as read from an endpoint.
type seen struct {
	ver      uint64
	etag     string
	md5      []byte
	size     int
	modified time.Time // Last-Modified, from the listing
}

// check verifies a restarted server against the history, settles the
// history on what the primary holds, and waits for the secondary to catch
// up. It returns the LastSyncTime seen at the end.
func (ep *endpoints) check(t *testing.T, round int, hist *chaos.History, lastSync time.Time) time.Time {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// LastSyncTime never goes back over a crash: not before what the
	// server reported during the storm or at the last check.
	if lst := ep.lastSync(ctx, t); lst.Before(lastSync) {
		t.Errorf("round %d: LastSyncTime went back from %v to %v", round, lastSync, lst)
	}
	// The secondary as it stands after the restart, before catching up:
	// stale is fine, torn is not.
	ep.readAll(ctx, t, "secondary after restart", ep.secnd, hist, false)

	// The primary: every name the history knows, by name (a listing could
	// hide a lost blob), then the listing (it could show a stray one).
	pri := ep.readAll(ctx, t, "primary", ep.primary, hist, true)
	for _, name := range hist.Names() {
		b, ok := pri[name]
		if !ok {
			got, err := ep.read(ctx, ep.primary, name)
			if err != nil && !bloberror.HasCode(err, bloberror.BlobNotFound, bloberror.ContainerNotFound) {
				t.Errorf("round %d: primary %s: %v", round, name, chaos.Classify(err))
				continue
			}
			if err == nil {
				t.Errorf("round %d: primary %s is readable (version %d) but not listed", round, name, got.ver)
			}
		}
		if err := hist.Check(name, b.ver, ok); err != nil {
			t.Errorf("round %d: primary: %v", round, err)
		}
		hist.Settle(name, b.ver, ok)
	}

	// The secondary catches up: same blobs, ETags and bytes.
	if _, err := ep.ctl.ResumeReplication(ctx); err != nil {
		t.Fatalf("resume replication: %v", err)
	}
	ep.waitReplicated(ctx, t)
	sec := ep.readAll(ctx, t, "secondary caught up", ep.secnd, hist, true)
	for name, p := range pri {
		s, ok := sec[name]
		switch {
		case !ok:
			t.Errorf("round %d: %s (version %d) is on the primary, not on the caught-up secondary", round, name, p.ver)
		case s.ver != p.ver || s.etag != p.etag:
			t.Errorf("round %d: %s is version %d (%s) on the primary, %d (%s) on the secondary", round, name, p.ver, p.etag, s.ver, s.etag)
		}
	}
	for name := range sec {
		if _, ok := pri[name]; !ok {
			t.Errorf("round %d: %s is on the caught-up secondary, not on the primary", round, name)
		}
	}
	lst := ep.lastSync(ctx, t)
	if lst.Before(lastSync) {
		t.Errorf("round %d: LastSyncTime went back from %v to %v", round, lastSync, lst)
	}
	// Caught up, LastSyncTime covers every write on the primary (both
	// are whole seconds on the wire).
	for name, p := range pri {
		if lst.Before(p.modified.Truncate(time.Second)) {
			t.Errorf("round %d: caught up, LastSyncTime %v is before %s was last modified (%v)", round, lst, name, p.modified)
		}
	}
	return lst
}

// readAll lists the container at one endpoint and reads every blob in it,
// checking each is a complete version some writer sent, with the
// Content-MD5 of its bytes, both in the listing and in the download.
//
// stable says that nothing changes the endpoint meanwhile; only then must
// the listing agree with what is read (replication may move a secondary on
// between the two).
func (ep *endpoints) readAll(ctx context.Context, t *testing.T, where string, c *azblob.Client, hist *chaos.History, stable bool) map[string]seen {
	t.Helper()
	out := map[string]seen{}
	pager := c.NewListBlobsFlatPager(containerName, &container.ListBlobsFlatOptions{})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Errorf("%s: list: %v", where, err)
			return out
		}
		for _, item := range page.Segment.BlobItems {
			name := *item.Name
			got, err := ep.read(ctx, c, name)
			if err != nil {
				t.Errorf("%s: %s is listed but cannot be read: %v (%s)", where, name, chaos.Classify(err), firstLine(err))
				continue
			}
			if !hist.Sent(name, got.ver) {
				t.Errorf("%s: %s holds version %d, which no writer sent", where, name, got.ver)
			}
			p := item.Properties
			if stable && (p.ContentLength == nil || int(*p.ContentLength) != got.size || !bytes.Equal(p.ContentMD5, got.md5) || p.ETag == nil || string(*p.ETag) != got.etag) {
				t.Errorf("%s: %s is listed with length %v, MD5 %x, ETag %v; read as %d bytes, MD5 %x, ETag %s",
					where, name, deref(p.ContentLength), p.ContentMD5, deref(p.ETag), got.size, got.md5, got.etag)
			}
			if p.LastModified != nil {
				got.modified = *p.LastModified
			}
			out[name] = got
		}
	}
	return out
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// read downloads one blob and checks its bytes and Content-MD5.
func (ep *endpoints) read(ctx context.Context, c *azblob.Client, name string) (seen, error) {
	resp, err := c.DownloadStream(ctx, containerName, name, nil)
	if err != nil {
		return seen{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return seen{}, err
	}
	ver, err := chaos.Verify(name, data)
	if err != nil {
		return seen{}, err
	}
	sum := md5.Sum(data)
	if !bytes.Equal(resp.ContentMD5, sum[:]) {
		return seen{}, fmt.Errorf("%w: %s version %d has Content-MD5 %x, its bytes %x", chaos.ErrWrongBytes, name, ver, resp.ContentMD5, sum)
	}
	return seen{ver: ver, etag: fmt.Sprint(deref(resp.ETag)), md5: sum[:], size: len(data)}, nil
}

// lastSync reads Get Blob Service Stats on the secondary.
func (ep *endpoints) lastSync(ctx context.Context, t *testing.T) time.Time {
	t.Helper()
	st, err := ep.secnd.ServiceClient().GetStatistics(ctx, nil)
	if err != nil {
		t.Fatalf("get blob service stats: %v", err)
	}
	if st.GeoReplication == nil || st.GeoReplication.LastSyncTime == nil {
		return time.Time{}
	}
	return *st.GeoReplication.LastSyncTime
}

// waitReplicated waits until the server reports no write pending for the
// secondary. The control API is the only signal a separate process gives,
// so it is polled, briefly apart, until ctx ends.
func (ep *endpoints) waitReplicated(ctx context.Context, t *testing.T) {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		st, err := ep.ctl.Replication(ctx)
		if err != nil {
			t.Fatalf("replication status: %v", err)
		}
		if st.Pending == 0 && !st.Paused {
			return
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("the secondary did not catch up: %d writes pending (%v)", st.Pending, ctx.Err())
		}
	}
}

func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}
