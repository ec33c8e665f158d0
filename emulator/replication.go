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
	// secondary.
	LastSyncTime time.Time
	// Pending counts writes not yet on the secondary.
	Pending int
	// Applied counts writes applied to the secondary so far.
	Applied uint64
	// Lag is the configured replication lag.
	Lag time.Duration
}

// Replication controls the emulator's asynchronous geo-replication.
type Replication struct{ r *replica.Replicator }

// Pause stops replication: LastSyncTime stops advancing and later writes
// stay off the secondary.
func (r *Replication) Pause() { r.r.Pause() }

// Resume restarts replication; writes that are due reach the secondary at
// once.
func (r *Replication) Resume() { r.r.Resume() }

// SetStatus sets the status the secondary reports.
func (r *Replication) SetStatus(s ReplicationStatus) error {
	st, err := replica.ParseStatus(string(s))
	if err != nil {
		return err
	}
	return r.r.SetStatus(st)
}

// State reports status, pause, LastSyncTime and the backlog.
func (r *Replication) State() ReplicationState {
	st := r.r.State()
	return ReplicationState{Status: ReplicationStatus(st.Status), Paused: st.Paused, LastSyncTime: st.LastSyncTime,
		Pending: st.Pending, Applied: st.Applied, Lag: st.Lag}
}

// Wait blocks until every write made so far has reached the secondary, or
// ctx is done. While replication is paused it waits for Resume.
func (r *Replication) Wait(ctx context.Context) error { return r.r.WaitIdle(ctx) }

// replicationControl adapts the replicator to the control API.
type replicationControl struct{ r *replica.Replicator }

func (c replicationControl) Pause()  { c.r.Pause() }
func (c replicationControl) Resume() { c.r.Resume() }
func (c replicationControl) SetStatus(s string) error {
	st, err := replica.ParseStatus(s)
	if err != nil {
		return err
	}
	return c.r.SetStatus(st)
}
func (c replicationControl) Status() control.ReplicationStatus {
	st := c.r.State()
	return control.ReplicationStatus{
		Status:       string(st.Status),
		Paused:       st.Paused,
		LastSyncTime: st.LastSyncTime,
		Pending:      st.Pending,
		Lag:          st.Lag,
	}
}
