package durable

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/geoblob/geoblob/internal/clock"
	"github.com/geoblob/geoblob/internal/store"
)

// containerState describes an account's containers, live and deleted, with
// the names and ETags of their blobs, for comparing stores.
func containerState(t *testing.T, s *store.Store, acct string) []string {
	t.Helper()
	var out []string
	page := s.ListContainersWithDeleted(acct, store.ListOptions{MaxResults: 5000})
	for _, c := range page.Containers {
		var blobs store.BlobPage
		var err error
		head := "live " + c.Name
		if c.Deleted != nil {
			head = "deleted " + c.Name + " " + c.Deleted.Version
			blobs, err = s.DeletedContainerBlobs(acct, c.Name, c.Deleted.Version, store.ListOptions{MaxResults: 5000})
		} else {
			blobs, err = s.ListBlobs(acct, c.Name, store.ListOptions{MaxResults: 5000})
		}
		if err != nil {
			t.Fatalf("%s: %v", head, err)
		}
		out = append(out, head)
		for _, b := range blobs.Blobs {
			out = append(out, "  "+b.Name+" "+b.ETag)
		}
	}
	return out
}

// TestSoftDeleteRestoreRacesWriters: writers keep writing blobs of a
// container while it is soft-deleted, recreated and restored over and
// over. The secondary ends with exactly the primary's containers, live and
// deleted, and so does each store after a restart from the data directory.
func TestSoftDeleteRestoreRacesWriters(t *testing.T) {
	dir := t.TempDir()
	clk := clock.NewManual(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	p := openPair(t, dir, clk, 0)
	keep := func([]byte) time.Duration { return time.Hour }
	if _, err := p.primary.CreateContainer("acct", "c", nil, ""); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 60 {
				_, err := p.primary.PutBlob("acct", "c", fmt.Sprintf("w%d-%d", w, j%7), content(t, p.primary, fmt.Sprint(j)), store.HTTPHeaders{}, nil, store.WriteOptions{})
				if err != nil && !errors.Is(err, store.ErrContainerNotFound) {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 30 {
			if err := p.primary.DeleteContainerRetained("acct", "c", "", store.Conditions{}, keep); err != nil {
				t.Error(err)
				return
			}
			if i%3 == 2 {
				// Restore the version deleted two rounds ago.
				page := p.primary.ListContainersWithDeleted("acct", store.ListOptions{Prefix: "c"})
				var versions []string
				for _, c := range page.Containers {
					if c.Deleted != nil {
						versions = append(versions, c.Deleted.Version)
					}
				}
				if _, err := p.primary.UndeleteContainer("acct", "c", versions[len(versions)-2]); err != nil {
					t.Error(err)
					return
				}
				continue
			}
			if _, err := p.primary.CreateContainer("acct", "c", nil, ""); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	wg.Wait()
	p.waitIdle(t)
	want := containerState(t, p.primary, "acct")
	if got := containerState(t, p.secondary, "acct"); !slices.Equal(got, want) {
		t.Fatalf("secondary:\n%v\nprimary:\n%v", got, want)
	}
	p.close()
	p = openPair(t, dir, clk, 0)
	p.waitIdle(t)
	for name, s := range map[string]*store.Store{"primary": p.primary, "secondary": p.secondary} {
		if got := containerState(t, s, "acct"); !slices.Equal(got, want) {
			t.Fatalf("%s after restart:\n%v\nbefore:\n%v", name, got, want)
		}
	}
}
