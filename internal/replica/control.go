package replica

import (
	"context"
	"errors"
	"time"

	"github.com/geoblob/geoblob/internal/store"
)

// ErrPaused is returned by Drain while replication is paused: the
// secondary cannot catch up.
var ErrPaused = errors.New("replica: replication is paused")

// Hold stops applying changes without pausing: a new secondary that is
// still bootstrapping. LastSyncTime stands still until Release.
func (r *Replicator) Hold() {
	r.mu.Lock()
	r.held = true
	r.mu.Unlock()
}

// Release ends Hold; changes that are due are applied at once.
func (r *Replicator) Release() {
	r.mu.Lock()
	r.held = false
	r.mu.Unlock()
	r.poke()
}

// SetModel replaces the lag model for changes committed from now on; nil
// restores the constant lag. Changes already queued keep their due time.
func (r *Replicator) SetModel(m LagModel) {
	r.mu.Lock()
	r.model = m
	r.mu.Unlock()
}

// Model is the lag model, or Constant(Lag) when none was set.
func (r *Replicator) Model() LagModel {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.model == nil {
		return Constant(r.lag)
	}
	return r.model
}

// Drain applies every pending change now, whatever its lag, and returns
// once the secondary holds everything committed so far: the catch-up of a
// planned failover. It fails with ErrPaused while replication is paused
// or held, and with ctx's error.
func (r *Replicator) Drain(ctx context.Context) error {
	r.mu.Lock()
	if r.paused || r.held || r.stopped {
		r.mu.Unlock()
		return ErrPaused
	}
	r.drain = true
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.drain = false
		r.mu.Unlock()
	}()
	r.poke()
	return r.WaitIdle(ctx)
}

// Lost is a change a failover abandoned: committed on the old primary,
// never applied to the secondary.
type Lost struct {
	Seq       uint64
	Time      time.Time // commit time
	Kind      store.ChangeKind
	Account   string
	Container string
	Blob      string
	ETag      string // of the version a PutBlob wrote
	Size      int64  // bytes of that version
}

// Abandon stops the replicator for good and returns what it had not
// applied, in commit order, with the LastSyncTime at that moment: the
// secondary then holds exactly the changes up to it. A pending blob write
// whose state an earlier, coalesced write already put on the secondary is
// not lost and not returned. A change being applied when Abandon is
// called is finished first.
func (r *Replicator) Abandon() ([]Lost, time.Time) {
	fenced := r.fence().UTC() // before r.mu, as in State
	r.mu.Lock()
	defer r.mu.Unlock()
	for r.applying {
		r.idle.Wait()
	}
	var lost []Lost
	r.queue.each(func(it *item) bool {
		if it.v != nil && it.v.shown {
			// Coalesced into a state the secondary already holds: an
			// earlier write of the blob applied this one's state, or a
			// later one's that overtook it.
			return true
		}
		c := it.ch
		lost = append(lost, Lost{Seq: c.Seq, Time: c.Time, Kind: c.Kind, Account: c.Account,
			Container: c.Container, Blob: c.BlobName, ETag: it.etag, Size: it.size})
		return true
	})
	if !r.paused && !r.held {
		// As State computes it: the LastSyncTime a client could have read
		// just before is the recovery point.
		cutoff := fenced.Add(-r.lag - time.Nanosecond)
		if r.queue.len() > 0 {
			if t := r.queue.front().ch.Time.Add(-time.Nanosecond); t.Before(cutoff) {
				cutoff = t
			}
		}
		r.advance(cutoff)
	}
	r.stopped = true
	r.queue.reset()
	r.newest, r.newestPeak = map[blobKey]*version{}, 0
	r.superseded = 0
	r.idle.Broadcast()
	return lost, r.watermark
}
