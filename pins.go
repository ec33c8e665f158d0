package geoblob

import (
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// pinTable remembers, per blob path, the version (ETag) the secondary last
// served. It matters only while the primary lacks that version: a chunk or
// resumption of a download that started on the secondary asks with
// If-Match for it, and when the primary answers 412 the read is finished
// on the secondary (a pinned read) instead of failing the download. It
// never moves a read off a healthy primary: a pin is consulted only after
// the primary answered 412, and it is dropped as soon as the primary
// serves that path, or after pinTTL.
//
// Only reads served by the secondary add to the table, so the steady state
// (reads on the primary) costs one atomic load. Keys use the path below the
// location's path-style prefix, which is the same at both locations.
type pinTable struct {
	n  atomic.Int32
	mu sync.RWMutex
	m  map[string]pin
}

type pin struct {
	etag   string
	expiry int64 // unix nanos
}

const (
	pinTTL = time.Minute
	pinMax = 4096
)

func (t *pinTable) init() { t.m = make(map[string]pin) }

// add pins a version the secondary served. Re-pinning a version whose pin
// is still fresh (the common case: every read of a blob during an outage)
// takes only the read lock.
func (t *pinTable) add(path, etag string, now time.Time) {
	n := now.UnixNano()
	t.mu.RLock()
	p, ok := t.m[path]
	t.mu.RUnlock()
	if ok && p.etag == etag && p.expiry-n > int64(pinTTL/2) {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.m) >= pinMax {
		sweep(t.m, n, func(p pin) int64 { return p.expiry })
	}
	t.m[path] = pin{etag: etag, expiry: n + int64(pinTTL)}
	t.n.Store(int32(len(t.m)))
}

// sweep drops the expired entries of a full table, and if that is not
// enough a quarter of the rest, so that a full table costs one sweep per
// max/4 additions, not one per read.
func sweep[K comparable, V any](m map[K]V, now int64, expiry func(V) int64) {
	for k, v := range m {
		if expiry(v) <= now {
			delete(m, k)
		}
	}
	for k := range m {
		if len(m) < pinMax*3/4 {
			break
		}
		delete(m, k)
	}
}

// pinned reports whether req, addressed to ep, is a conditional read of the
// version the secondary served for its path.
func (t *pinTable) pinned(ep *endpoint, req *http.Request, now time.Time) bool {
	etag := req.Header.Get("If-Match")
	if etag == "" {
		return false
	}
	t.mu.RLock()
	p, ok := t.m[ep.relPath(req.URL)]
	t.mu.RUnlock()
	return ok && p.etag == etag && p.expiry > now.UnixNano()
}

// drop forgets the pin of the path the primary just served.
func (t *pinTable) drop(ep *endpoint, resp *http.Response) {
	if resp.Request == nil {
		return
	}
	path := ep.relPath(resp.Request.URL)
	t.mu.RLock()
	_, ok := t.m[path]
	t.mu.RUnlock()
	if !ok {
		return
	}
	t.mu.Lock()
	delete(t.m, path)
	t.n.Store(int32(len(t.m)))
	t.mu.Unlock()
}

// steerTable sends the next read of a blob version whose body broke to the
// other location, once: azblob's retry reader resumes a broken download
// (and the next chunk of a download follows) with If-Match set to the
// version's ETag, and resuming on the location that just broke would
// likely break again.
type steerTable struct {
	n  atomic.Int32
	mu sync.Mutex
	m  map[steerKey]steer
}

type steerKey struct{ path, etag string }

type steer struct {
	to     Location
	expiry int64
}

// steerTTL bounds how long a steer waits for its resumption.
const steerTTL = 30 * time.Second

func (t *steerTable) init() { t.m = make(map[steerKey]steer) }

func (t *steerTable) add(path, etag string, to Location, now time.Time) {
	n := now.UnixNano()
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.m) >= pinMax {
		sweep(t.m, n, func(s steer) int64 { return s.expiry })
	}
	t.m[steerKey{path, etag}] = steer{to: to, expiry: n + int64(steerTTL)}
	t.n.Store(int32(len(t.m)))
}

// take returns (and forgets) where req, a conditional read addressed to
// ep, must go.
func (t *steerTable) take(ep *endpoint, req *http.Request, now time.Time) (Location, bool) {
	etag := req.Header.Get("If-Match")
	if etag == "" {
		return 0, false
	}
	k := steerKey{ep.relPath(req.URL), etag}
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := t.m[k]
	if !ok {
		return 0, false
	}
	delete(t.m, k)
	t.n.Store(int32(len(t.m)))
	return s.to, s.expiry > now.UnixNano()
}
