package emulator_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"

	"github.com/geoblob/geoblob/emulator"
	"github.com/geoblob/geoblob/internal/durable"
	"github.com/geoblob/geoblob/internal/store"
)

// dirRig is an emulator on a data directory that a test restarts: Close,
// then New on the same directory and clock.
type dirRig struct {
	t         *testing.T
	dir       string
	clk       *emulator.ManualClock
	opts      emulator.Options
	emu       *emulator.Emulator
	prim, sec *azblob.Client // sec: the path-style secondary
}

func newDirRig(t *testing.T, opts emulator.Options) *dirRig {
	r := &dirRig{t: t, dir: t.TempDir(), clk: emulator.NewManualClock(time.Now().Add(-time.Hour).Truncate(time.Second)), opts: opts}
	r.restart()
	return r
}

func (r *dirRig) restart() {
	r.t.Helper()
	if r.emu != nil {
		if err := r.emu.Close(); err != nil {
			r.t.Fatalf("close: %v", err)
		}
	}
	o := r.opts
	o.DataDir, o.Clock, o.NoSecondaryListener = r.dir, r.clk, true
	r.emu = start(r.t, o)
	r.prim, r.sec = clients(r.t, r.emu, r.emu.ServiceURL(emulator.SecondaryPathStyle, ""))
}

func (r *dirRig) put(name, data string) {
	r.t.Helper()
	if _, err := r.prim.UploadBuffer(context.Background(), "ccc", name, []byte(data), nil); err != nil {
		r.t.Fatalf("put %s: %v", name, err)
	}
}

// want checks what c serves for each name; "" means not found.
func (r *dirRig) want(what string, c *azblob.Client, blobs map[string]string) {
	r.t.Helper()
	for name, want := range blobs {
		got, err := download(context.Background(), c, "ccc", name)
		switch {
		case want == "" && !bloberror.HasCode(err, bloberror.BlobNotFound):
			r.t.Errorf("%s: %s: %q %v, want BlobNotFound", what, name, got, err)
		case want != "" && (err != nil || got != want):
			r.t.Errorf("%s: %s: %q %v, want %q", what, name, got, err, want)
		}
	}
}

func (r *dirRig) roles(what string, want emulator.RoleState) {
	r.t.Helper()
	if got := r.emu.RoleState(); got != want {
		r.t.Fatalf("%s: roles %+v, want %+v", what, got, want)
	}
}

// TestPlannedFailoverSurvivesRestart: after a planned failover and a
// restart, copy b is still the primary, both copies hold what they held,
// the write not yet replicated reaches the secondary (replication runs
// from b to a), and so do later writes, across another restart.
func TestPlannedFailoverSurvivesRestart(t *testing.T) {
	r := newDirRig(t, emulator.Options{Lag: time.Minute})
	ctx := ctxT(t)
	if _, err := r.prim.CreateContainer(ctx, "ccc", nil); err != nil {
		t.Fatal(err)
	}
	r.put("before", "written on a")
	r.clk.Advance(time.Minute)
	waitReplicated(t, r.emu)
	rep, err := r.emu.Failover(ctx, emulator.Planned)
	if err != nil || rep.To != emulator.CopyB {
		t.Fatalf("failover: %+v %v", rep, err)
	}
	r.put("after", "written on b")
	state := emulator.RoleState{Epoch: 2, Primary: emulator.CopyB, GeoRedundant: true}
	r.roles("after failover", state)

	r.restart()
	r.roles("after restart", state)
	r.want("primary after restart", r.prim, map[string]string{"before": "written on a", "after": "written on b"})
	r.want("secondary after restart", r.sec, map[string]string{"before": "written on a", "after": ""})
	r.clk.Advance(time.Minute)
	waitReplicated(t, r.emu)
	r.want("secondary once replicated", r.sec, map[string]string{"after": "written on b"})

	r.put("later", "written after the restart")
	r.clk.Advance(time.Minute)
	waitReplicated(t, r.emu)
	r.restart()
	r.roles("after a second restart", state)
	r.want("secondary after a second restart", r.sec, map[string]string{"before": "written on a", "after": "written on b", "later": "written after the restart"})

	// And back: a is the primary again, through one more restart.
	if _, err := r.emu.Failover(ctx, emulator.Planned); err != nil {
		t.Fatal(err)
	}
	r.put("back", "written on a again")
	r.restart()
	r.roles("after failing back", emulator.RoleState{Epoch: 3, Primary: emulator.CopyA, GeoRedundant: true})
	r.clk.Advance(time.Minute)
	waitReplicated(t, r.emu)
	r.want("secondary after failing back", r.sec, map[string]string{"later": "written after the restart", "back": "written on a again"})
}

// TestUnplannedFailoverSurvivesRestart: after an unplanned failover and a
// restart the account is still LRS on copy b, the lost write stays lost
// and the secondary endpoint still refuses; geo-redundancy enabled then
// survives restarts mid-bootstrap (which still ends when it would have)
// and once live.
func TestUnplannedFailoverSurvivesRestart(t *testing.T) {
	r := newDirRig(t, emulator.Options{Lag: time.Minute, BootstrapDuration: 10 * time.Minute})
	ctx := ctxT(t)
	if _, err := r.prim.CreateContainer(ctx, "ccc", nil); err != nil {
		t.Fatal(err)
	}
	r.put("kept", "replicated")
	r.clk.Advance(time.Minute)
	waitReplicated(t, r.emu)
	r.emu.Replication().Pause()
	r.put("lost", "never replicated")
	rep, err := r.emu.Failover(ctx, emulator.Unplanned)
	if err != nil || len(rep.Lost) != 1 {
		t.Fatalf("failover: %+v %v", rep, err)
	}
	lrs := emulator.RoleState{Epoch: 2, Primary: emulator.CopyB}
	r.roles("after failover", lrs)

	r.restart()
	r.roles("after restart", lrs)
	r.want("primary after restart", r.prim, map[string]string{"kept": "replicated", "lost": ""})
	_, err = download(ctx, r.sec, "ccc", "kept")
	wantCode(t, "secondary read after restart", err, http.StatusForbidden, bloberror.InsufficientAccountPermissions)
	if info, err := r.prim.ServiceClient().GetAccountInfo(ctx, nil); err != nil || string(*info.SKUName) != "Standard_LRS" {
		t.Fatalf("account info after restart: %v %v", info.SKUName, err)
	}
	// The lost write's content file was named only by the discarded copy
	// and the lost writes' log, both gone: it is garbage now.
	collect(t, r.emu)
	if n := countContentFiles(t, r.dir); n != 1 {
		t.Fatalf("%d content files after the restart, want 1 (kept)", n)
	}
	r.put("lrs", "written while LRS")

	// Enable, then restart mid-bootstrap.
	if err := r.emu.Replication().Enable(ctx); err != nil {
		t.Fatal(err)
	}
	boot := r.emu.RoleState()
	if boot.Epoch != 3 || !boot.GeoRedundant || boot.Primary != emulator.CopyB || boot.BootstrapUntil.IsZero() {
		t.Fatalf("after enable: %+v", boot)
	}
	r.put("during", "written while bootstrapping")
	r.clk.Advance(4 * time.Minute)
	r.restart()
	r.roles("restarted mid-bootstrap", boot)
	_, err = download(ctx, r.sec, "ccc", "kept")
	wantCode(t, "secondary read while bootstrapping", err, http.StatusForbidden, bloberror.InsufficientAccountPermissions)
	r.clk.Advance(6 * time.Minute)
	if err := r.emu.Replication().WaitLive(ctx); err != nil {
		t.Fatal(err)
	}
	waitReplicated(t, r.emu)
	live := emulator.RoleState{Epoch: 4, Primary: emulator.CopyB, GeoRedundant: true}
	r.roles("once live", live)
	all := map[string]string{"kept": "replicated", "lost": "", "lrs": "written while LRS", "during": "written while bootstrapping"}
	r.want("secondary once live", r.sec, all)

	r.restart()
	r.roles("restarted once live", live)
	r.want("secondary restarted once live", r.sec, all)
	r.put("new", "replicates from b")
	r.clk.Advance(time.Minute)
	waitReplicated(t, r.emu)
	r.want("secondary, a write after the restart", r.sec, map[string]string{"new": "replicates from b"})
}

// TestSecondaryDownSurvivesRestart: a secondary marked unavailable stays
// so across a restart, and replication resumes once it is back.
func TestSecondaryDownSurvivesRestart(t *testing.T) {
	r := newDirRig(t, emulator.Options{Lag: time.Minute})
	ctx := ctxT(t)
	if _, err := r.prim.CreateContainer(ctx, "ccc", nil); err != nil {
		t.Fatal(err)
	}
	if err := r.emu.Replication().SetSecondaryAvailable(false); err != nil {
		t.Fatal(err)
	}
	r.put("held", "while down")
	down := r.emu.RoleState()
	if !down.SecondaryDown {
		t.Fatalf("roles %+v", down)
	}
	r.restart()
	r.roles("restarted while down", down)
	_, err := download(ctx, r.sec, "ccc", "held")
	wantCode(t, "secondary read while down", err, http.StatusServiceUnavailable, "ServerBusy")
	if err := r.emu.Replication().SetSecondaryAvailable(true); err != nil {
		t.Fatal(err)
	}
	r.clk.Advance(time.Minute)
	waitReplicated(t, r.emu)
	r.want("secondary once back", r.sec, map[string]string{"held": "while down"})
}

// TestHalfBuiltSecondaryDiscarded: a secondary that Enable was building
// when the process died (its store written, the role change not) is
// discarded at the next start: the account is still LRS, and the
// secondary built by the next Enable holds the primary's data only.
func TestHalfBuiltSecondaryDiscarded(t *testing.T) {
	r := newDirRig(t, emulator.Options{BootstrapDuration: -1})
	ctx := ctxT(t)
	if _, err := r.prim.CreateContainer(ctx, "ccc", nil); err != nil {
		t.Fatal(err)
	}
	r.put("kept", "on both")
	waitReplicated(t, r.emu)
	if _, err := r.emu.Failover(ctx, emulator.Unplanned); err != nil {
		t.Fatal(err)
	}
	lrs := r.emu.RoleState()
	if err := r.emu.Close(); err != nil {
		t.Fatal(err)
	}
	// What a crash in the middle of Enable leaves: the new instance's
	// records, no roles naming it.
	db, err := durable.Open(r.dir, durable.Options{})
	if err != nil {
		t.Fatal(err)
	}
	id, err := db.NewStoreID()
	if err != nil {
		t.Fatal(err)
	}
	roles, err := db.Roles()
	if err != nil {
		t.Fatal(err)
	}
	half := store.New(store.Options{Journal: db.Journal(id, durable.LogName(roles.Primary)), Files: db.Files()})
	half.Apply(store.Change{Time: r.clk.Now(), Kind: store.PutContainer, Account: r.emu.AccountName(), Container: "junk", Props: &store.Container{Name: "junk"}})
	if err := half.Failed(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	r.emu = nil
	r.restart()
	r.roles("after the crash", lrs)
	if err := r.emu.Close(); err != nil {
		t.Fatal(err)
	}
	if db, err = durable.Open(r.dir, durable.Options{}); err != nil {
		t.Fatal(err)
	}
	left := store.New(store.Options{Journal: db.Journal(id, ""), Files: db.Files()})
	if _, err := db.Load(id, left); err != nil {
		t.Fatal(err)
	}
	if n := len(left.ListContainers(r.emu.AccountName(), store.ListOptions{}).Containers); n != 0 {
		t.Fatalf("the half-built store %s is still on disk with %d containers", id, n)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	r.emu = nil
	r.restart()
	if err := r.emu.Replication().Enable(ctx); err != nil {
		t.Fatal(err)
	}
	r.restart()
	r.want("new secondary", r.sec, map[string]string{"kept": "on both"})
	if _, err := r.sec.ServiceClient().NewContainerClient("junk").GetProperties(ctx, nil); !bloberror.HasCode(err, bloberror.ContainerNotFound) {
		t.Fatalf("the half-built secondary's container: %v", err)
	}
}

// TestBootstrapEndsWhileStopped: a bootstrap whose deadline passed while
// the server was stopped ends at the start, and the secondary goes live.
func TestBootstrapEndsWhileStopped(t *testing.T) {
	r := newDirRig(t, emulator.Options{BootstrapDuration: 10 * time.Minute})
	ctx := ctxT(t)
	if _, err := r.prim.CreateContainer(ctx, "ccc", nil); err != nil {
		t.Fatal(err)
	}
	r.put("kept", "on both")
	waitReplicated(t, r.emu)
	if _, err := r.emu.Failover(ctx, emulator.Unplanned); err != nil {
		t.Fatal(err)
	}
	if err := r.emu.Replication().Enable(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.emu.Close(); err != nil {
		t.Fatal(err)
	}
	r.clk.Advance(11 * time.Minute)
	r.emu = nil
	r.restart()
	if err := r.emu.Replication().WaitLive(ctx); err != nil {
		t.Fatal(err)
	}
	r.roles("live at the start", emulator.RoleState{Epoch: 4, Primary: emulator.CopyB, GeoRedundant: true})
	r.want("secondary", r.sec, map[string]string{"kept": "on both"})
}

// TestLastSyncTimeAcrossRestartWithPendingWrites: a write still pending
// when the emulator stops is not claimed by LastSyncTime after a restart
// that comes long after it, while the secondary is down (nothing is
// applied), and LastSyncTime covers it once it is applied.
func TestLastSyncTimeAcrossRestartWithPendingWrites(t *testing.T) {
	r := newDirRig(t, emulator.Options{Lag: time.Minute})
	ctx := ctxT(t)
	if _, err := r.prim.CreateContainer(ctx, "ccc", nil); err != nil {
		t.Fatal(err)
	}
	r.clk.Advance(time.Minute)
	waitReplicated(t, r.emu)
	if err := r.emu.Replication().SetSecondaryAvailable(false); err != nil {
		t.Fatal(err)
	}
	r.clk.Advance(time.Second)
	written := r.clk.Now()
	r.put("pending", "not on the secondary")
	before := r.emu.Replication().State()
	if !before.LastSyncTime.Before(written) || before.Pending != 1 {
		t.Fatalf("before the restart: LastSyncTime %v (write at %v), %d pending", before.LastSyncTime, written, before.Pending)
	}
	r.clk.Advance(10 * time.Minute)
	r.restart()
	after := r.emu.Replication().State()
	if !after.LastSyncTime.Before(written) || after.Pending != 1 {
		t.Fatalf("after the restart: LastSyncTime %v claims the pending write of %v (%d pending)", after.LastSyncTime, written, after.Pending)
	}
	if after.LastSyncTime.Before(before.LastSyncTime) {
		t.Fatalf("LastSyncTime went back across the restart: %v, then %v", before.LastSyncTime, after.LastSyncTime)
	}
	if err := r.emu.Replication().SetSecondaryAvailable(true); err != nil {
		t.Fatal(err)
	}
	waitReplicated(t, r.emu)
	if st := r.emu.Replication().State(); !st.LastSyncTime.After(written) {
		t.Fatalf("once applied: LastSyncTime %v, not past the write of %v", st.LastSyncTime, written)
	}
	r.want("secondary once back", r.sec, map[string]string{"pending": "not on the secondary"})
}
