package emulator_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"

	"github.com/geoblob/geoblob/emulator"
	"github.com/geoblob/geoblob/fault"
)

// failoverRig is an emulator on a manual clock with SDK clients for the
// primary, the distinct secondary listener and the path-style secondary.
// The clients do not retry, so that each refusal is seen as it happens.
type failoverRig struct {
	emu                *emulator.Emulator
	clk                *emulator.ManualClock
	prim, sec, secPath *azblob.Client
}

func newFailoverRig(t *testing.T, opts emulator.Options) *failoverRig {
	t.Helper()
	clk := emulator.NewManualClock(time.Now().Add(-time.Hour).Truncate(time.Second))
	opts.Clock = clk
	emu := start(t, opts)
	cred := credential(t, emu)
	noRetry := &azblob.ClientOptions{ClientOptions: azcore.ClientOptions{Retry: policy.RetryOptions{MaxRetries: -1}}}
	mk := func(u string) *azblob.Client {
		c, err := azblob.NewClientWithSharedKeyCredential(u, cred, noRetry)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	return &failoverRig{emu: emu, clk: clk, prim: mk(emu.PrimaryURL()), sec: mk(emu.SecondaryURL()),
		secPath: mk(emu.ServiceURL(emulator.SecondaryPathStyle, ""))}
}

// put uploads data and returns the ETag and Last-Modified the primary
// acknowledged.
func (r *failoverRig) put(t *testing.T, cont, name, data string) (azcore.ETag, time.Time) {
	t.Helper()
	resp, err := r.prim.UploadBuffer(context.Background(), cont, name, []byte(data), nil)
	if err != nil {
		t.Fatalf("put %s/%s: %v", cont, name, err)
	}
	return *resp.ETag, *resp.LastModified
}

func (r *failoverRig) stats(t *testing.T, c *azblob.Client) (string, *time.Time, error) {
	t.Helper()
	s, err := c.ServiceClient().GetStatistics(context.Background(), nil)
	if err != nil {
		return "", nil, err
	}
	return string(*s.GeoReplication.Status), s.GeoReplication.LastSyncTime, nil
}

func wantCode(t *testing.T, what string, err error, status int, code bloberror.Code) {
	t.Helper()
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != status || !bloberror.HasCode(err, code) {
		t.Fatalf("%s: %v, want %d %s", what, err, status, code)
	}
}

func wantNoAnswer(t *testing.T, what string, err error) {
	t.Helper()
	var re *azcore.ResponseError
	if err == nil || errors.As(err, &re) {
		t.Fatalf("%s: %v, want the connection to fail without an HTTP answer", what, err)
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestUnplannedFailoverLosesExactlyWhatDidNotReplicate: writes made while
// replication is paused are lost, and the report lists exactly them; the
// promoted primary serves the state at the LastSyncTime and continues the
// commit order; the secondary answers as an LRS account's; Enable brings a
// secondary back through bootstrap to live.
func TestUnplannedFailoverLosesExactlyWhatDidNotReplicate(t *testing.T) {
	r := newFailoverRig(t, emulator.Options{Lag: time.Minute, BootstrapDuration: 10 * time.Minute})
	ctx := ctxT(t)
	for _, c := range []string{"keep", "gone"} {
		if _, err := r.prim.CreateContainer(ctx, c, nil); err != nil {
			t.Fatal(err)
		}
	}
	etagV1, _ := r.put(t, "keep", "over", "version one")
	r.put(t, "keep", "del", "deleted later")
	r.put(t, "keep", "same", "unchanged")
	r.clk.Advance(time.Minute)
	waitReplicated(t, r.emu)

	r.emu.Replication().Pause()
	type lost struct {
		op, container, blob string
		etag                azcore.ETag
		bytes               int64
	}
	var want []lost
	etag, lm2 := r.put(t, "keep", "over", "version two, lost")
	want = append(want, lost{"put-blob", "keep", "over", etag, int64(len("version two, lost"))})
	etag, _ = r.put(t, "keep", "new", "never replicated")
	want = append(want, lost{"put-blob", "keep", "new", etag, int64(len("never replicated"))})
	if _, err := r.prim.DeleteBlob(ctx, "keep", "del", nil); err != nil {
		t.Fatal(err)
	}
	want = append(want, lost{"delete-blob", "keep", "del", "", 0})
	if _, err := r.prim.CreateContainer(ctx, "fresh", nil); err != nil {
		t.Fatal(err)
	}
	want = append(want, lost{"put-container", "fresh", "", "", 0})
	r.clk.Advance(time.Hour) // paused: nothing more replicates, however long

	status, lst, err := r.stats(t, r.sec)
	if err != nil || status != "live" || lst == nil || !lst.Before(lm2) {
		t.Fatalf("stats before failover: %s %v %v (lost write at %v)", status, lst, err, lm2)
	}

	rep, err := r.emu.Failover(ctx, emulator.Unplanned)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Type != "unplanned" || rep.From != emulator.CopyA || rep.To != emulator.CopyB || rep.Redundancy != "LRS" {
		t.Fatalf("report %+v", rep)
	}
	if len(rep.Lost) != len(want) {
		t.Fatalf("lost %d writes, want %d: %+v", len(rep.Lost), len(want), rep.Lost)
	}
	var total int64
	for i, w := range want {
		g := rep.Lost[i]
		if g.Op != w.op || g.Container != w.container || g.Blob != w.blob || azcore.ETag(g.ETag) != w.etag || g.Bytes != w.bytes {
			t.Errorf("lost[%d] = %+v, want %+v", i, g, w)
		}
		if !g.Committed.After(rep.RecoveryPoint) {
			t.Errorf("lost[%d] committed %v, not after the recovery point %v", i, g.Committed, rep.RecoveryPoint)
		}
		total += w.bytes
	}
	if rep.LostBytes != total {
		t.Errorf("LostBytes %d, want %d", rep.LostBytes, total)
	}
	if !rep.RecoveryPoint.Truncate(time.Second).Equal(lst.Truncate(time.Second)) {
		t.Errorf("recovery point %v, LastSyncTime before %v", rep.RecoveryPoint, lst)
	}

	// The primary endpoint serves the state at the LastSyncTime.
	if got, err := download(ctx, r.prim, "keep", "over"); err != nil || got != "version one" {
		t.Fatalf("over after failover: %q %v", got, err)
	}
	if p, err := r.prim.ServiceClient().NewContainerClient("keep").NewBlobClient("over").GetProperties(ctx, nil); err != nil || *p.ETag != etagV1 {
		t.Fatalf("over's ETag after failover: %v %v, want %v", p.ETag, err, etagV1)
	}
	if got, err := download(ctx, r.prim, "keep", "del"); err != nil || got != "deleted later" {
		t.Fatalf("del after failover: %q %v", got, err)
	}
	if got, err := download(ctx, r.prim, "keep", "same"); err != nil || got != "unchanged" {
		t.Fatalf("same after failover: %q %v", got, err)
	}
	if _, err := download(ctx, r.prim, "keep", "new"); !bloberror.HasCode(err, bloberror.BlobNotFound) {
		t.Fatalf("new after failover: %v", err)
	}
	if _, err := r.prim.ServiceClient().NewContainerClient("fresh").GetProperties(ctx, nil); !bloberror.HasCode(err, bloberror.ContainerNotFound) {
		t.Fatalf("fresh after failover: %v", err)
	}

	// The new primary takes writes, after every write made before the
	// failover, lost ones included: no reused time, no reused ETag.
	etag3, lm3 := r.put(t, "keep", "over", "version three")
	if !lm3.After(lm2) && !lm3.Equal(lm2.Truncate(time.Second)) {
		t.Errorf("new write at %v, lost one at %v", lm3, lm2)
	}
	for _, l := range rep.Lost {
		if !lm3.Add(time.Second).After(l.Committed) || azcore.ETag(l.ETag) == etag3 {
			t.Errorf("new write %v %v does not follow lost write %+v", lm3, etag3, l)
		}
	}

	// The secondary answers as an LRS account's: its host is unreachable,
	// the path-style form gets 403, Stats included.
	_, err = download(ctx, r.sec, "keep", "same")
	wantNoAnswer(t, "secondary host read", err)
	_, err = download(ctx, r.secPath, "keep", "same")
	wantCode(t, "path-style secondary read", err, http.StatusForbidden, bloberror.InsufficientAccountPermissions)
	_, _, err = r.stats(t, r.secPath)
	wantCode(t, "path-style stats", err, http.StatusForbidden, bloberror.InsufficientAccountPermissions)
	if st := r.emu.Replication().State(); st.Roles.GeoRedundant || st.Roles.Primary != emulator.CopyB || !st.LastSyncTime.IsZero() {
		t.Fatalf("state after failover: %+v", st)
	}
	if info, err := r.prim.ServiceClient().GetAccountInfo(ctx, nil); err != nil || string(*info.SKUName) != "Standard_LRS" {
		t.Fatalf("account info after failover: %v %v", info.SKUName, err)
	}
	if _, err := r.emu.Failover(ctx, emulator.Unplanned); !errors.Is(err, emulator.ErrFailoverRefused) {
		t.Fatalf("second failover while LRS: %v", err)
	}

	// Enable: bootstrap (no LastSyncTime, reads refused), then live.
	if err := r.emu.Replication().Enable(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.emu.Replication().Enable(ctx); !errors.Is(err, emulator.ErrAlreadyGeoRedundant) {
		t.Fatalf("enable twice: %v", err)
	}
	status, lst, err = r.stats(t, r.sec)
	if err != nil || status != "bootstrap" || lst != nil {
		t.Fatalf("stats while bootstrapping: %s %v %v", status, lst, err)
	}
	_, err = download(ctx, r.sec, "keep", "same")
	wantCode(t, "read while bootstrapping", err, http.StatusForbidden, bloberror.InsufficientAccountPermissions)
	if _, err := r.emu.Failover(ctx, emulator.Unplanned); !errors.Is(err, emulator.ErrFailoverRefused) {
		t.Fatalf("failover while bootstrapping: %v", err)
	}
	r.put(t, "keep", "during", "written while bootstrapping")
	r.clk.Advance(10 * time.Minute)
	if err := r.emu.Replication().WaitLive(ctx); err != nil {
		t.Fatal(err)
	}
	waitReplicated(t, r.emu)
	status, lst, err = r.stats(t, r.sec)
	if err != nil || status != "live" || lst == nil {
		t.Fatalf("stats once live: %s %v %v", status, lst, err)
	}
	for name, want := range map[string]string{"over": "version three", "same": "unchanged", "during": "written while bootstrapping"} {
		if got, err := download(ctx, r.sec, "keep", name); err != nil || got != want {
			t.Fatalf("secondary %s once live: %q %v", name, got, err)
		}
	}
	if st := r.emu.Replication().State(); !st.Roles.GeoRedundant || st.Roles.Epoch != 4 || st.Status != emulator.StatusLive {
		t.Fatalf("state once live: %+v", st)
	}
	if info, err := r.prim.ServiceClient().GetAccountInfo(ctx, nil); err != nil || string(*info.SKUName) != "Standard_RAGRS" {
		t.Fatalf("account info once geo-redundant again: %v %v", info.SKUName, err)
	}
}

// TestPlannedFailoverSwapsRoles: nothing is lost, the roles swap, writes
// and (by default) secondary reads are refused during the swap, and the
// new secondary replicates from the new primary.
func TestPlannedFailoverSwapsRoles(t *testing.T) {
	for _, keep := range []bool{false, true} {
		t.Run(fmt.Sprintf("keepSecondaryReads=%v", keep), func(t *testing.T) {
			r := newFailoverRig(t, emulator.Options{Lag: time.Minute, SwapDuration: 30 * time.Second})
			ctx := ctxT(t)
			if _, err := r.prim.CreateContainer(ctx, "cnt", nil); err != nil {
				t.Fatal(err)
			}
			r.put(t, "cnt", "old", "replicated")
			r.clk.Advance(time.Minute)
			waitReplicated(t, r.emu)
			etag, lm := r.put(t, "cnt", "pending", "not yet replicated") // within the lag

			swapped := false
			rep, err := r.emu.Failover(ctx, emulator.Planned, emulator.KeepSecondaryReads(keep), emulator.OnSwapping(func() {
				swapped = true
				_, err := r.prim.UploadBuffer(ctx, "cnt", "x", []byte("during the swap"), nil)
				wantCode(t, "write during the swap", err, http.StatusServiceUnavailable, bloberror.ServerBusy)
				got, err := download(ctx, r.sec, "cnt", "old")
				if keep {
					if err != nil || got != "replicated" {
						t.Errorf("secondary read during the swap: %q %v", got, err)
					}
				} else {
					wantCode(t, "secondary read during the swap", err, http.StatusServiceUnavailable, bloberror.ServerBusy)
				}
				if got, err := download(ctx, r.prim, "cnt", "pending"); err != nil || got != "not yet replicated" {
					t.Errorf("primary read during the swap: %q %v", got, err)
				}
				if !r.emu.Replication().State().Swapping {
					t.Error("state does not say swapping")
				}
				r.clk.Advance(30 * time.Second)
			}))
			if err != nil {
				t.Fatal(err)
			}
			if !swapped || rep.Type != "planned" || len(rep.Lost) != 0 || rep.To != emulator.CopyB || rep.Redundancy != "RA-GRS" {
				t.Fatalf("report %+v (swapped %v)", rep, swapped)
			}
			if rep.RecoveryPoint.Before(lm.Truncate(time.Second)) {
				t.Fatalf("recovery point %v before the last write %v", rep.RecoveryPoint, lm)
			}
			// Nothing lost; the ETag is the one the old primary gave.
			p, err := r.prim.ServiceClient().NewContainerClient("cnt").NewBlobClient("pending").GetProperties(ctx, nil)
			if err != nil || *p.ETag != etag {
				t.Fatalf("pending on the new primary: %v %v, want %v", p.ETag, err, etag)
			}
			for _, c := range []*azblob.Client{r.prim, r.sec} {
				if got, err := download(ctx, c, "cnt", "pending"); err != nil || got != "not yet replicated" {
					t.Fatalf("pending after the swap: %q %v", got, err)
				}
			}
			// The secondary is read-only and replicates from the new primary.
			_, err = r.sec.UploadBuffer(ctx, "cnt", "y", []byte("no"), nil)
			wantCode(t, "write to the new secondary", err, http.StatusForbidden, bloberror.InsufficientAccountPermissions)
			_, lmNew := r.put(t, "cnt", "after", "written on the new primary")
			if !lmNew.After(lm) && !lmNew.Equal(lm) {
				t.Fatalf("write after the swap at %v, before one before it (%v)", lmNew, lm)
			}
			if _, err := download(ctx, r.sec, "cnt", "after"); !bloberror.HasCode(err, bloberror.BlobNotFound) {
				t.Fatalf("new write on the secondary before the lag: %v", err)
			}
			r.clk.Advance(time.Minute)
			waitReplicated(t, r.emu)
			if got, err := download(ctx, r.sec, "cnt", "after"); err != nil || got != "written on the new primary" {
				t.Fatalf("new write on the secondary after the lag: %q %v", got, err)
			}
			status, lst, err := r.stats(t, r.sec)
			if err != nil || status != "live" || lst == nil || lst.Before(rep.RecoveryPoint.Truncate(time.Second)) {
				t.Fatalf("stats after the swap: %s %v %v (recovery point %v)", status, lst, err, rep.RecoveryPoint)
			}
			// And back: a second planned failover returns the roles.
			rep, err = r.emu.Failover(ctx, emulator.Planned, emulator.OnSwapping(func() { r.clk.Advance(30 * time.Second) }))
			if err != nil || rep.To != emulator.CopyA || rep.Epoch != 3 {
				t.Fatalf("failback: %+v %v", rep, err)
			}
			if got, err := download(ctx, r.prim, "cnt", "after"); err != nil || got != "written on the new primary" {
				t.Fatalf("after the failback: %q %v", got, err)
			}
		})
	}
}

// TestPlannedFailoverNeedsHealthyRegions: a planned failover is refused,
// with nothing changed, unless both regions are healthy.
func TestPlannedFailoverNeedsHealthyRegions(t *testing.T) {
	tests := []struct {
		name    string
		breakIt func(*failoverRig) func()
		why     string
	}{
		{"replication paused", func(r *failoverRig) func() {
			r.emu.Replication().Pause()
			return r.emu.Replication().Resume
		}, "paused"},
		{"primary down", func(r *failoverRig) func() {
			st, _ := r.emu.Faults().Add(fault.Rule{Endpoint: fault.Primary, Action: fault.Action{Refuse: true}})
			return func() { _ = r.emu.Faults().Remove(st) }
		}, "primary endpoint down"},
		{"secondary unavailable", func(r *failoverRig) func() {
			_ = r.emu.Replication().SetSecondaryAvailable(false)
			return func() { _ = r.emu.Replication().SetSecondaryAvailable(true) }
		}, "unavailable"},
		{"secondary reports bootstrap", func(r *failoverRig) func() {
			_ = r.emu.Replication().SetStatus(emulator.StatusBootstrap)
			return func() { _ = r.emu.Replication().SetStatus(emulator.StatusLive) }
		}, "not live"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newFailoverRig(t, emulator.Options{})
			ctx := ctxT(t)
			undo := tc.breakIt(r)
			_, err := r.emu.Failover(ctx, emulator.Planned)
			if !errors.Is(err, emulator.ErrFailoverRefused) || !strings.Contains(err.Error(), tc.why) {
				t.Fatalf("failover: %v, want ErrFailoverRefused saying %q", err, tc.why)
			}
			if st := r.emu.Replication().State(); st.Roles.Primary != emulator.CopyA || st.Roles.Epoch != 1 && tc.name != "secondary unavailable" || st.Swapping {
				t.Fatalf("state after a refused failover: %+v", st)
			}
			if _, err := r.prim.CreateContainer(ctx, "cnt", nil); err != nil && tc.name != "primary down" {
				t.Fatalf("write after a refused failover: %v", err)
			}
			undo()
			if _, err := r.emu.Failover(ctx, emulator.Planned); err != nil {
				t.Fatalf("failover once healthy: %v", err)
			}
		})
	}
}

// TestSecondaryUnavailable: the secondary region down reports status
// unavailable, fails reads and stalls LastSyncTime, while the primary is
// up and during a primary outage; back up, it catches up.
func TestSecondaryUnavailable(t *testing.T) {
	r := newFailoverRig(t, emulator.Options{Lag: time.Second})
	ctx := ctxT(t)
	if _, err := r.prim.CreateContainer(ctx, "cnt", nil); err != nil {
		t.Fatal(err)
	}
	r.put(t, "cnt", "b", "v1")
	r.clk.Advance(time.Second)
	waitReplicated(t, r.emu)
	if err := r.emu.Replication().SetSecondaryAvailable(false); err != nil {
		t.Fatal(err)
	}
	_, lst0, _ := r.stats(t, r.sec)
	for _, c := range []*azblob.Client{r.sec, r.secPath} {
		status, _, err := r.stats(t, c)
		if err != nil || status != "unavailable" {
			t.Fatalf("stats while down: %s %v", status, err)
		}
		_, err = download(ctx, c, "cnt", "b")
		wantCode(t, "read while down", err, http.StatusServiceUnavailable, bloberror.ServerBusy)
	}
	r.put(t, "cnt", "b", "v2")
	r.clk.Advance(time.Hour)
	if _, lst, _ := r.stats(t, r.sec); lst == nil || lst0 == nil || !lst.Equal(*lst0) {
		t.Fatalf("LastSyncTime moved while the secondary was down: %v -> %v", lst0, lst)
	}
	// A primary outage on top: both regions down.
	st, err := r.emu.Faults().Add(fault.Rule{Endpoint: fault.Primary, Action: fault.Action{Status: 503}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = download(ctx, r.prim, "cnt", "b")
	wantCode(t, "primary read in the outage", err, http.StatusServiceUnavailable, bloberror.ServerBusy)
	_, err = download(ctx, r.sec, "cnt", "b")
	wantCode(t, "secondary read in the outage", err, http.StatusServiceUnavailable, bloberror.ServerBusy)
	if err := r.emu.Faults().Remove(st); err != nil {
		t.Fatal(err)
	}
	if err := r.emu.Replication().SetSecondaryAvailable(true); err != nil {
		t.Fatal(err)
	}
	if err := r.emu.Replication().WaitLive(ctx); err != nil {
		t.Fatal(err)
	}
	waitReplicated(t, r.emu)
	if got, err := download(ctx, r.sec, "cnt", "b"); err != nil || got != "v2" {
		t.Fatalf("secondary back: %q %v", got, err)
	}
	if status, _, err := r.stats(t, r.sec); err != nil || status != "live" {
		t.Fatalf("stats back: %s %v", status, err)
	}
}

// TestLagModelHoldsCommitOrder: with a seeded tail model through the SDK,
// the secondary never shows a write before one committed ahead of it, and
// LastSyncTime never passes a write that is not there. (How the model
// spreads the writes is checked deterministically in package replica.)
func TestLagModelHoldsCommitOrder(t *testing.T) {
	r := newFailoverRig(t, emulator.Options{LagModel: emulator.TailLag(10*time.Second, time.Minute, 0.8, 5*time.Minute, 7)})
	ctx := ctxT(t)
	if _, err := r.prim.CreateContainer(ctx, "cnt", nil); err != nil {
		t.Fatal(err)
	}
	const n = 20
	var written []time.Time
	for i := range n {
		_, lm := r.put(t, "cnt", fmt.Sprintf("b%02d", i), "x")
		written = append(written, lm)
		r.clk.Advance(time.Second)
	}
	for step := 0; step < 40; step++ {
		r.clk.Advance(10 * time.Second)
		st := r.emu.Replication().State()
		var present []bool
		pager := r.sec.NewListBlobsFlatPager("cnt", nil)
		names := map[string]bool{}
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if bloberror.HasCode(err, bloberror.ContainerNotFound) {
				break // the container itself has not replicated yet
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range page.Segment.BlobItems {
				names[*b.Name] = true
			}
		}
		for i := range n {
			present = append(present, names[fmt.Sprintf("b%02d", i)])
		}
		for i := 1; i < n; i++ {
			if present[i] && !present[i-1] {
				t.Fatalf("step %d: b%02d replicated before b%02d", step, i, i-1)
			}
		}
		for i, lm := range written {
			if !lm.After(st.LastSyncTime) && !present[i] {
				t.Fatalf("step %d: LastSyncTime %v covers b%02d (%v), which is not on the secondary", step, st.LastSyncTime, i, lm)
			}
		}
	}
	r.clk.Advance(10 * time.Minute)
	waitReplicated(t, r.emu)
	if st := r.emu.Replication().State(); st.Pending != 0 || !strings.HasPrefix(st.LagModel, "tail:") {
		t.Fatalf("state at the end: %+v", st)
	}
}

// TestUnplannedFailoverUnderConcurrentWrites: writers keep writing while
// the account fails over. Every write the primary acknowledged is either
// on the promoted primary with its ETag, or in the report's lost list, and
// never both; a write refused during the failover (503 ServerBusy) is in
// neither.
func TestUnplannedFailoverUnderConcurrentWrites(t *testing.T) {
	r := newFailoverRig(t, emulator.Options{Lag: time.Second})
	ctx := ctxT(t)
	if _, err := r.prim.CreateContainer(ctx, "cnt", nil); err != nil {
		t.Fatal(err)
	}
	r.clk.Advance(time.Second)
	waitReplicated(t, r.emu)
	const writers, perWriter = 4, 25
	type ack struct {
		name string
		etag azcore.ETag
	}
	acks := make(chan ack, writers*perWriter)
	refused := make(chan string, writers*perWriter)
	errs := make(chan error, writers*perWriter)
	failoverAt := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		finished := make(chan struct{}, writers)
		for w := range writers {
			go func() {
				defer func() { finished <- struct{}{} }()
				for i := range perWriter {
					if w == 0 && i == perWriter/2 {
						close(failoverAt)
					}
					name := fmt.Sprintf("w%d-%02d", w, i)
					resp, err := r.prim.UploadBuffer(ctx, "cnt", name, []byte(name), nil)
					if bloberror.HasCode(err, bloberror.ServerBusy) {
						refused <- name
						continue
					}
					if err != nil {
						errs <- fmt.Errorf("%s: %w", name, err)
						continue
					}
					acks <- ack{name, *resp.ETag}
				}
			}()
		}
		for range writers {
			<-finished
		}
	}()
	<-failoverAt
	// Half of the writes have replicated by now, at most: the clock
	// stands still, so nothing written since the last advance has.
	rep, err := r.emu.Failover(ctx, emulator.Unplanned)
	if err != nil {
		t.Fatal(err)
	}
	<-done
	close(acks)
	close(errs)
	close(refused)
	for err := range errs {
		t.Errorf("write failed other than with 503 ServerBusy: %v", err)
	}
	lost := map[string]string{}
	for _, l := range rep.Lost {
		lost[l.Blob] = l.ETag
	}
	nRefused := 0
	for name := range refused {
		nRefused++
		if _, isLost := lost[name]; isLost {
			t.Errorf("%s was refused, yet reported lost", name)
		}
		if _, err := r.prim.ServiceClient().NewContainerClient("cnt").NewBlobClient(name).GetProperties(ctx, nil); !bloberror.HasCode(err, bloberror.BlobNotFound) {
			t.Errorf("%s was refused, yet is on the new primary: %v", name, err)
		}
	}
	n := 0
	for a := range acks {
		n++
		p, err := r.prim.ServiceClient().NewContainerClient("cnt").NewBlobClient(a.name).GetProperties(ctx, nil)
		switch etag, isLost := lost[a.name]; {
		case isLost && err == nil:
			t.Errorf("%s is both lost and on the new primary", a.name)
		case isLost && azcore.ETag(etag) != a.etag:
			t.Errorf("%s lost with ETag %s, acknowledged %s", a.name, etag, a.etag)
		case !isLost && err != nil:
			t.Errorf("%s acknowledged, not reported lost, and missing on the new primary: %v", a.name, err)
		case !isLost && *p.ETag != a.etag:
			t.Errorf("%s on the new primary has ETag %s, acknowledged %s", a.name, *p.ETag, a.etag)
		}
	}
	if n+nRefused != writers*perWriter || len(rep.Lost) == 0 {
		t.Fatalf("%d acknowledged writes, %d refused, %d lost", n, nRefused, len(rep.Lost))
	}
}

// TestEnableCopiesEveryPage: the new secondary's bootstrap copy holds
// every blob, past the 5000 of one listing page, and the containers'
// properties and the service properties.
func TestEnableCopiesEveryPage(t *testing.T) {
	emu, err := emulator.New(emulator.Options{BootstrapDuration: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	ctx := ctxT(t)
	const n = 5003
	for i := range n {
		if _, err := emu.CreateObject(emulator.Object{Container: "many", Name: fmt.Sprintf("b%05d", i), Data: []byte{byte(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := emu.Replication().Wait(ctx); err != nil {
		t.Fatal(err)
	}
	emu.Replication().Pause()
	if _, err := emu.CreateObject(emulator.Object{Container: "many", Name: "late", Data: []byte("lost")}); err != nil {
		t.Fatal(err)
	}
	if _, err := emu.Failover(ctx, emulator.Unplanned); err != nil {
		t.Fatal(err)
	}
	if _, err := emu.ListObjects(emulator.Secondary, "", "many", "", 1); !errors.Is(err, emulator.ErrNotGeoRedundant) {
		t.Fatalf("secondary of an LRS account: %v", err)
	}
	if err := emu.Replication().Enable(ctx); err != nil {
		t.Fatal(err)
	}
	if err := emu.Replication().WaitLive(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := emu.ListObjects(emulator.Secondary, "", "many", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n || got[n-1].Name != fmt.Sprintf("b%05d", n-1) {
		t.Fatalf("secondary holds %d blobs, want %d", len(got), n)
	}
	for _, o := range got {
		p, err := emu.GetObject(emulator.Primary, "", "many", o.Name)
		if err != nil || p.ETag != o.ETag {
			t.Fatalf("%s: secondary ETag %s, primary %s %v", o.Name, o.ETag, p.ETag, err)
		}
	}
}

// TestFailoverBoundedByStalledWrite: a write whose body stalls holds the
// failover only as long as the caller's context allows; the failover is
// then refused with nothing changed, and the write completes on the old
// primary.
func TestFailoverBoundedByStalledWrite(t *testing.T) {
	emu := start(t, emulator.Options{})
	client, _ := clients(t, emu, emu.SecondaryURL())
	if _, err := client.CreateContainer(t.Context(), "ctr", nil); err != nil {
		t.Fatal(err)
	}
	u := writeSAS(t, client)
	c, br := startUpload(t, emu, u, "stalled")
	if _, err := io.WriteString(c, "12345"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the caller will not wait at all
	for _, typ := range []emulator.FailoverType{emulator.Unplanned, emulator.Planned} {
		if _, err := emu.Failover(ctx, typ); !errors.Is(err, emulator.ErrFailoverRefused) || !errors.Is(err, context.Canceled) {
			t.Fatalf("%v failover with a write in flight: %v", typ, err)
		}
		if st := emu.Replication().State(); st.Swapping || st.Roles.Epoch != 1 || !st.Roles.GeoRedundant {
			t.Fatalf("state after a refused %v failover: %+v", typ, st)
		}
	}
	if _, err := io.WriteString(c, "67890"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("the stalled write: %d", resp.StatusCode)
	}
	if _, err := emu.Failover(t.Context(), emulator.Unplanned); err != nil {
		t.Fatalf("failover once the write is done: %v", err)
	}
}
