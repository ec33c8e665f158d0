package emulator

import (
	"context"

	"github.com/geoblob/geoblob/internal/control"
	"github.com/geoblob/geoblob/internal/replica"
)

// ReplicationStatus is the geo-replication status reported by Get Blob
// Service Stats: "live", "bootstrap" or "unavailable".
type ReplicationStatus = replica.Status

// Replication statuses.
const (
	StatusLive        = replica.Live
	StatusBootstrap   = replica.Bootstrap
	StatusUnavailable = replica.Unavailable
)

// ReplicationState is a snapshot of replication.
type ReplicationState = replica.State

// Replication controls the emulator's asynchronous geo-replication.
type Replication struct{ r *replica.Replicator }

// Pause stops replication: LastSyncTime stops advancing and later writes
// stay off the secondary.
func (r *Replication) Pause() { r.r.Pause() }

// Resume restarts replication; writes that are due reach the secondary at
// once.
func (r *Replication) Resume() { r.r.Resume() }

// SetStatus sets the status the secondary reports.
func (r *Replication) SetStatus(s ReplicationStatus) error { return r.r.SetStatus(s) }

// State reports status, pause, LastSyncTime and the backlog.
func (r *Replication) State() ReplicationState { return r.r.State() }

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
