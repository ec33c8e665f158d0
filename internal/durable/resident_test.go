package durable

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/geoblob/geoblob/internal/clock"
)

// TestDropResidentPagesWhileTheFileGrows drops meta.db's resident pages
// over and over while writes grow the file (each growth remaps it): every
// record written must read back intact, in memory and after a restart, and
// a drop on a closed DB does nothing.
func TestDropResidentPagesWhileTheFileGrows(t *testing.T) {
	dir := t.TempDir()
	p := openPair(t, dir, clock.NewManual(t0), 0)
	pad := strings.Repeat("x", 2000)
	const containers = 300
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var drops int
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			p.db.DropResidentPages()
			drops++
			runtime.Gosched()
		}
	}()
	for i := range containers {
		if _, err := p.primary.CreateContainer("acct", fmt.Sprint("c", i), map[string]string{"pad": pad, "i": fmt.Sprint(i)}, ""); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	if drops == 0 {
		t.Fatal("no drop ran while the file grew")
	}
	if runtime.GOOS == "linux" {
		if n := p.db.DropResidentPages(); n == 0 {
			t.Fatal("DropResidentPages advised nothing on an open database")
		}
	}
	p.close()
	if n := p.db.DropResidentPages(); n != 0 {
		t.Fatalf("DropResidentPages on a closed DB advised %d bytes", n)
	}
	q := openPair(t, dir, clock.NewManual(t0), 0)
	defer q.close()
	for i := range containers {
		c, err := q.primary.Container("acct", fmt.Sprint("c", i))
		if err != nil {
			t.Fatalf("container %d after a restart: %v", i, err)
		}
		if c.Metadata["pad"] != pad || c.Metadata["i"] != fmt.Sprint(i) {
			t.Fatalf("container %d came back with other metadata", i)
		}
	}
}
