package blobapi

import (
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/geoblob/geoblob/internal/slab"
)

// TestReadBodyHoldsWhatArrived: an upload that declares a 4 MiB body and
// sends 13 bytes must not have made the server allocate 4 MiB for it. A
// body is read into chunks that grow with what arrives (store.ReadContent);
// only small bodies get one exactly sized buffer up front.
func TestReadBodyHoldsWhatArrived(t *testing.T) {
	for _, declared := range []int64{smallBody + 1, 4 << 20, 100 << 20} {
		r := httptest.NewRequest(http.MethodPut, "/devstoreaccount1/ctr/b", io.NopCloser(strings.NewReader("only a little")))
		r.ContentLength = declared
		c := &call{s: New(Config{}), w: httptest.NewRecorder(), r: r}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		slabs := slab.Default().Stats().Handed
		_, _, ok := c.readBody(true, MaxBlockSize)
		runtime.ReadMemStats(&after)
		if ok {
			t.Fatalf("declared %d: a short body was accepted", declared)
		}
		if got := after.TotalAlloc - before.TotalAlloc; got > 1<<20 {
			t.Errorf("declared %d, sent 13 bytes: %d bytes allocated", declared, got)
		}
		// Memory outside the heap counts too: at most one slab buffer.
		if got := slab.Default().Stats().Handed - slabs; got > 1 {
			t.Errorf("declared %d, sent 13 bytes: %d slab buffers taken", declared, got)
		}
	}
}
