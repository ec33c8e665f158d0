package store

import (
	"fmt"
	"testing"
	"time"
)

// historyLen counts a container's history entries.
func historyLen(t *testing.T, s *Store, acct, cname string) int {
	t.Helper()
	a, c, err := s.rlockCont(acct, cname)
	if err != nil {
		t.Fatal(err)
	}
	defer a.mu.RUnlock()
	return c.history.Len()
}

// TestSoftDeleteExpirySweeps: expired soft-deleted entries are removed by
// later history writes, at most sweepBatch of other blobs per write, and
// the removals replicate: a secondary that applies the changes ends with
// the same history.
func TestSoftDeleteExpirySweeps(t *testing.T) {
	s, clk, changes := newTestStore(t)
	const blobs = 100
	for i := range blobs {
		name := fmt.Sprintf("b%03d", i)
		if _, err := s.PutBlob("acct", "c", name, Bytes([]byte(name)), HTTPHeaders{}, nil, WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SnapshotBlob("acct", "c", name, nil, WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteBlobWith("acct", "c", name, DeleteOptions{Snapshots: DeleteSnapshotsInclude, Retain: time.Hour}, WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if n := historyLen(t, s, "acct", "c"); n != 2*blobs {
		t.Fatalf("%d history entries, want %d", n, 2*blobs)
	}
	if err := s.Undelete("acct", "c", "b000"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Blob("acct", "c", "b000", ReadOptions{}); err != nil {
		t.Fatalf("undeleted blob: %v", err)
	}
	clk.t = clk.t.Add(time.Hour)
	if err := s.Undelete("acct", "c", "b001"); err != ErrBlobNotFound {
		t.Fatalf("undelete after the retention: %v", err)
	}
	if _, err := s.PutBlob("acct", "c", "x", Bytes([]byte("x")), HTTPHeaders{}, nil, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	// b000's snapshot and x's snapshots stay; the rest expire.
	want := 1
	for w := 0; ; w++ {
		before := len(*changes)
		if _, err := s.SnapshotBlob("acct", "c", "x", nil, WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		want++
		ch := (*changes)[before]
		if len(ch.DropHistory) > sweepBatch {
			t.Fatalf("one write dropped %d entries", len(ch.DropHistory))
		}
		if n := historyLen(t, s, "acct", "c"); n == want {
			break
		}
		if w > 2*blobs/sweepBatch+2 {
			t.Fatalf("%d entries left after %d writes", historyLen(t, s, "acct", "c"), w+1)
		}
	}
	sec := New(Options{Now: clk.now})
	for _, ch := range *changes {
		sec.Apply(ch)
	}
	if got, want := historyLen(t, sec, "acct", "c"), historyLen(t, s, "acct", "c"); got != want {
		t.Fatalf("secondary history %d entries, primary %d", got, want)
	}
}

// TestHistoryListingScanBounded: a listing with include=deleted over a
// container of expired soft-deleted blobs looks at no more than
// maxHistoryScan names per page (lowered here) and hands back a marker,
// and the pages together reach the blob after them.
func TestHistoryListingScanBounded(t *testing.T) {
	s, clk, _ := newTestStore(t)
	s.testHistoryScan = 50
	n := s.historyScan() + 10
	for i := range n {
		name := fmt.Sprintf("d%06d", i)
		if _, err := s.PutBlob("acct", "c", name, Bytes([]byte("x")), HTTPHeaders{}, nil, WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteBlobWith("acct", "c", name, DeleteOptions{Retain: time.Minute}, WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	clk.t = clk.t.Add(time.Hour)
	if _, err := s.PutBlob("acct", "c", "z", Bytes([]byte("z")), HTTPHeaders{}, nil, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	var found []string
	marker, pages := "", 0
	for {
		page, err := s.ListBlobs("acct", "c", ListOptions{Marker: marker, IncludeDeleted: true})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, b := range page.Blobs {
			found = append(found, b.Name)
		}
		if marker = page.NextMarker; marker == "" {
			break
		}
		if pages > 3 {
			t.Fatal("the listing does not end")
		}
	}
	if pages != 2 || len(found) != 1 || found[0] != "z" {
		t.Fatalf("%d pages, found %v", pages, found)
	}
}

// TestHistoryBoundedByRecreate: writing a blob anew and deleting it, over
// and over, with versioning or soft delete on, never holds more than
// MaxHistoryPerBlob entries of one name: past it the write is refused
// with ErrSnapshotCountExceeded, as a snapshot is.
func TestHistoryBoundedByRecreate(t *testing.T) {
	for _, tt := range []struct {
		name       string
		versioning bool
		retain     time.Duration
	}{
		{"versioning", true, 0},
		{"soft delete", false, time.Hour},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, _, _ := newTestStore(t)
			s.SetVersioning(tt.versioning)
			refused := false
			for range MaxHistoryPerBlob + 10 {
				_, err := s.PutBlob("acct", "c", "b", Bytes([]byte("x")), HTTPHeaders{}, nil, WriteOptions{Retain: tt.retain})
				if err == ErrSnapshotCountExceeded {
					refused = true
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if err := s.DeleteBlobWith("acct", "c", "b", DeleteOptions{Retain: tt.retain}, WriteOptions{}); err != nil {
					if err == ErrSnapshotCountExceeded {
						refused = true
						break
					}
					t.Fatal(err)
				}
			}
			if n := historyLen(t, s, "acct", "c"); !refused || n > MaxHistoryPerBlob {
				t.Fatalf("%d history entries (refused %v), want at most %d", n, refused, MaxHistoryPerBlob)
			}
		})
	}
}
