package dashboard

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/geoblob/geoblob/internal/control"
)

// TestSnapshotThenOnlyNewerTicks checks that a page gets every tick once:
// in its snapshot or as a tick event after it, never both. A tick that
// lands while a stream opens (here forced from inside the snapshot's read
// of the sources) used to be in the snapshot's history and queued for the
// stream as well, so the page drew its reads twice.
func TestSnapshotThenOnlyNewerTicks(t *testing.T) {
	var (
		h     *Hub
		armed atomic.Bool
	)
	h = New(Sources{Replication: func() control.ReplicationStatus {
		if armed.CompareAndSwap(true, false) {
			h.ClientRead(ReadSecondary)
			h.Tick()
		}
		return control.ReplicationStatus{Status: "live"}
	}}, Options{Interval: -1})
	srv := httptest.NewServer(h.Handler())
	defer srv.Close()
	defer h.Close()

	h.ClientRead(ReadPrimary)
	h.Tick()
	armed.Store(true) // the next read of the sources ticks
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := openStream(t, ctx, srv.URL)
	defer s.resp.Body.Close()
	ev, data := s.next(t)
	var snap Snapshot
	if err := json.Unmarshal(data, &snap); err != nil || ev != "snapshot" {
		t.Fatalf("first event %q: %v", ev, err)
	}
	if snap.Stream != "PS" || len(snap.Ticks) != 2 {
		t.Fatalf("snapshot stream %q with %d ticks, want PS and 2", snap.Stream, len(snap.Ticks))
	}
	h.ClientRead(ReadFailed)
	h.Tick()
	ev, data = s.next(t)
	var tick Tick
	if err := json.Unmarshal(data, &tick); err != nil || ev != "tick" {
		t.Fatalf("event %q: %v", ev, err)
	}
	if tick.Stream != "F" {
		t.Errorf("the tick after the snapshot holds %q, want F: the page would show %q", tick.Stream, snap.Stream+tick.Stream)
	}
}
