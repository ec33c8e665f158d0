package store

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
)

// TestConcurrentLookupsFindTheirOwnNames: name lookups reuse pooled probe
// items; many readers at once (under -race) each find exactly the
// container and blob they named, or none for a name that does not exist,
// while writers add blobs beside them.
func TestConcurrentLookupsFindTheirOwnNames(t *testing.T) {
	s := New(Options{})
	const conts, blobs = 4, 40
	for c := range conts {
		cname := fmt.Sprint("c", c)
		if _, err := s.CreateContainer("acct", cname, nil, ""); err != nil {
			t.Fatal(err)
		}
		for b := range blobs {
			name := fmt.Sprint("b", b)
			if _, err := s.PutBlob("acct", cname, name, Bytes([]byte(cname+"/"+name)), HTTPHeaders{}, nil, WriteOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 400 {
				cname, name := fmt.Sprint("c", (w+i)%conts), fmt.Sprint("b", (w*7+i)%blobs)
				if w%4 == 3 {
					// A writer: new names beside the ones read.
					if _, err := s.PutBlob("acct", cname, fmt.Sprint("new", w, "-", i), Bytes([]byte("n")), HTTPHeaders{}, nil, WriteOptions{}); err != nil {
						errs <- err
						return
					}
					continue
				}
				b, err := s.Blob("acct", cname, name, ReadOptions{})
				if err != nil {
					errs <- fmt.Errorf("%s/%s: %w", cname, name, err)
					return
				}
				var buf bytes.Buffer
				if _, err := b.Content.WriteTo(&buf); err != nil || b.Name != name || buf.String() != cname+"/"+name {
					errs <- fmt.Errorf("looked up %s/%s, found %q holding %q (%v)", cname, name, b.Name, buf.String(), err)
					return
				}
				if _, err := s.Blob("acct", cname, "missing"+name, ReadOptions{}); err == nil {
					errs <- fmt.Errorf("found %s/missing%s, which was never written", cname, name)
					return
				}
				if _, err := s.Blob("acct", "nocontainer", name, ReadOptions{}); err == nil {
					errs <- fmt.Errorf("found %s in a container that does not exist", name)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
