package emulator

import (
	"context"
	"time"

	"github.com/geoblob/geoblob/internal/control"
	"github.com/geoblob/geoblob/internal/replica"
)

// ReplicationStatus is the geo-replication status reported by Get Blob
// Service Stats: "live", "bootstrap" or "unavailable".
type ReplicationStatus string

// Replication statuses.
const (
	StatusLive        ReplicationStatus = ReplicationStatus(replica.Live)
	StatusBootstrap   ReplicationStatus = ReplicationStatus(replica.Bootstrap)
	StatusUnavailable ReplicationStatus = ReplicationStatus(replica.Unavailable)
)

// ReplicationState is a snapshot of replication.
type ReplicationState struct {
	// Status is what Get Blob Service Stats reports.
	Status ReplicationStatus
	// Paused is true between Pause and Resume.
	Paused bool
	// LastSyncTime: every write committed at or before it is on the
	// secondary. Zero while there is none: locally redundant, or a new
	// secondary bootstrapping.
	LastSyncTime time.Time
	// Pending counts writes not yet on the secondary.
	Pending int
	// Applied counts writes applied to the secondary so far.
	Applied uint64
	// Lag is the configured replication lag.
	Lag time.Duration
	// LagModel describes how each write's lag is drawn.
	LagModel string
	// Roles says which copy plays which role, and whether the account is
	// geo-redundant at all.
	Roles RoleState
	// Swapping is true while a failover is under way.
	Swapping bool
}

// Replication controls the emulator's asynchronous geo-replication. It
// always acts on the current replication stream: a failover starts a new
// one, and after an unplanned failover there is none until Enable.
type Replication struct{ e *Emulator }

// Pause stops replication: LastSyncTime stops advancing and later writes
// stay off the secondary. It does nothing while the account is locally
// redundant.
func (r *Replication) Pause() {
	if rp := r.e.replicator(); rp != nil {
		rp.Pause()
	}
}

// Resume restarts replication; writes that are due reach the secondary at
// once.
func (r *Replication) Resume() {
	if rp := r.e.replicator(); rp != nil {
		rp.Resume()
	}
}

// SetStatus sets the status the secondary reports, and nothing else: see
// SetSecondaryAvailable for a secondary that is really down.
func (r *Replication) SetStatus(s ReplicationStatus) error {
	st, err := replica.ParseStatus(string(s))
	if err != nil {
		return err
	}
	rp := r.e.replicator()
	if rp == nil {
		return ErrNotGeoRedundant
	}
	return rp.SetStatus(st)
}

// SetSecondaryAvailable takes the secondary region down (false) or brings
// it back (true). While it is down Get Blob Service Stats reports
// "unavailable" with the LastSyncTime it had, every other secondary request
// fails with 503 ServerBusy, and replication stalls. It composes with
// primary faults: both regions can be down at once.
func (r *Replication) SetSecondaryAvailable(available bool) error {
	return r.e.roles.setSecondaryDown(!available)
}

// Enable makes a locally redundant account (after an unplanned failover)
// geo-redundant again: a new secondary is built from the current primary.
// It reports status bootstrap, without a LastSyncTime, and refuses reads
// for Options.BootstrapDuration on the emulator clock; then it goes live,
// holding every write made meanwhile as the lag allows.
func (r *Replication) Enable(ctx context.Context) error { return r.e.roles.enable(ctx) }

// WaitLive blocks until the account is geo-redundant with a live (not
// bootstrapping, not unavailable) secondary, or ctx is done.
func (r *Replication) WaitLive(ctx context.Context) error {
	return r.e.roles.wait(ctx, func(v *view) bool {
		return v.repl != nil && v.state.BootstrapUntil.IsZero() && !v.state.SecondaryDown
	})
}

// SetLagModel changes how the lag of each later write is drawn; nil
// restores the constant Options.Lag.
func (r *Replication) SetLagModel(m LagModel) { r.e.roles.setModel(m) }

// State reports status, pause, LastSyncTime, the backlog and the roles.
func (r *Replication) State() ReplicationState {
	v := r.e.roles.v.Load()
	out := ReplicationState{Roles: v.state, Swapping: v.swapping, Lag: r.e.opts.Lag, Status: StatusUnavailable}
	if v.repl == nil {
		out.LagModel = "none (LRS)"
		return out
	}
	st := v.repl.State()
	status, last := r.e.stats("")
	out.Status, out.Paused, out.LastSyncTime = ReplicationStatus(status), st.Paused, last
	out.Pending, out.Applied, out.Lag, out.LagModel = st.Pending, st.Applied, st.Lag, v.repl.Model().String()
	return out
}

// Wait blocks until every write made so far has reached the secondary, or
// ctx is done. While replication is paused it waits for Resume. It returns
// ErrNotGeoRedundant while there is no secondary.
func (r *Replication) Wait(ctx context.Context) error {
	rp := r.e.replicator()
	if rp == nil {
		return ErrNotGeoRedundant
	}
	return rp.WaitIdle(ctx)
}

// replicationControl adapts the emulator to the control API.
type replicationControl struct{ e *Emulator }

func (c replicationControl) Pause()  { c.e.Replication().Pause() }
func (c replicationControl) Resume() { c.e.Replication().Resume() }
func (c replicationControl) SetStatus(s string) error {
	return c.e.Replication().SetStatus(ReplicationStatus(s))
}
func (c replicationControl) Status() control.ReplicationStatus {
	st := c.e.Replication().State()
	return control.ReplicationStatus{
		Status:       string(st.Status),
		Paused:       st.Paused,
		LastSyncTime: st.LastSyncTime,
		Pending:      st.Pending,
		Lag:          st.Lag,
		Roles:        rolesOut(st),
	}
}
