package store

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"sync"
	"testing"
)

// TestBlobReadsRaceWrites reads a blob with Blob, which hands out the
// stored record itself while the blob has never been leased, while other
// goroutines delete and re-create it, set its metadata and lease it: under
// -race a write that changed a record in place, instead of replacing it,
// shows up here. Counts bound the work; nothing waits on time.
func TestBlobReadsRaceWrites(t *testing.T) {
	s, _, _ := newTestStore(t)
	const (
		readers = 4
		reads   = 400
		writes  = 150
	)
	// expected reports whether err is one of the refusals the writers'
	// interleaving causes (a lease held, the blob deleted for a moment).
	expected := func(err error) bool {
		return err == nil || errors.Is(err, ErrLeaseIDMissing) || errors.Is(err, ErrBlobNotFound) || errors.Is(err, ErrLeaseAlreadyPresent)
	}
	put := func(i int) error {
		_, err := s.PutBlob("acct", "c", "b", Bytes([]byte(fmt.Sprint("content ", i))), HTTPHeaders{ContentType: "text/plain"},
			map[string]string{"i": fmt.Sprint(i)}, WriteOptions{})
		return err
	}
	if err := put(0); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for r := range readers {
		wg.Go(func() {
			for range reads {
				b, err := s.Blob("acct", "c", "b", ReadOptions{})
				if errors.Is(err, ErrBlobNotFound) {
					continue
				}
				if err != nil {
					t.Errorf("reader %d: %v", r, err)
					return
				}
				// Everything Get Blob reads of the record.
				l := b.Lease.At(b.LastModified)
				_, _, _ = l.Status(), l.DurationType(), b.ETag
				_ = maps.Clone(b.Metadata)
				_, _ = b.Headers.ContentType, b.Type()
				if _, err := b.WriteRange(io.Discard, 0, b.Size()); err != nil {
					t.Errorf("reader %d: %v", r, err)
					return
				}
			}
		})
	}
	writers := []func(i int) error{
		func(i int) error { // a new record, never leased
			if err := s.DeleteBlob("acct", "c", "b", WriteOptions{}); !expected(err) {
				return err
			}
			return put(i)
		},
		func(i int) error {
			_, err := s.SetBlobMetadata("acct", "c", "b", map[string]string{"m": fmt.Sprint(i)}, WriteOptions{})
			return err
		},
		func(int) error {
			res, err := s.LeaseBlob("acct", "c", "b", LeaseRequest{Action: LeaseAcquire, Duration: -1}, Conditions{})
			if err != nil {
				return err
			}
			_, err = s.LeaseBlob("acct", "c", "b", LeaseRequest{Action: LeaseRelease, ID: res.ID}, Conditions{})
			return err
		},
	}
	for _, w := range writers {
		wg.Go(func() {
			for i := range writes {
				if err := w(i); !expected(err) {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}
