package geoblob

import (
	"context"
	"errors"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
)

// pinTable remembers which blob versions (path + ETag) the secondary
// served, so that the follow-up requests of a download, which azblob sends
// with If-Match set to the first response's ETag, stay on the secondary
// even if the breaker closes meanwhile. Versions the primary served need no
// pin: the primary is where reads go by default, and if they move to the
// secondary mid-download, If-Match turns a missing version into a 412 that
// is retried on the primary.
//
// Only reads served by the secondary add to the table, so the steady state
// (reads on the primary) never takes its lock. Keys use the path below the
// location's path-style prefix, which is the same at both locations.
type pinTable struct {
	n  atomic.Int32
	mu sync.RWMutex
	m  map[pinKey]int64 // -> expiry, unix nanos
}

type pinKey struct{ path, etag string }

const (
	pinTTL = 10 * time.Minute
	pinMax = 4096
)

func (t *pinTable) init() { t.m = make(map[pinKey]int64) }

// add pins a version the secondary served. Re-pinning a version whose pin
// is still fresh (the common case: every read of a blob during an outage)
// takes only the read lock.
func (t *pinTable) add(path, etag string, now time.Time) {
	k, n := pinKey{path, etag}, now.UnixNano()
	t.mu.RLock()
	exp, ok := t.m[k]
	t.mu.RUnlock()
	if ok && exp-n > int64(pinTTL/2) {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.m) >= pinMax {
		// Drop the expired pins, and if that is not enough a quarter of
		// the rest, so that a full table costs one sweep per pinMax/4
		// additions, not one per read.
		for k, exp := range t.m {
			if exp <= n {
				delete(t.m, k)
			}
		}
		for k := range t.m {
			if len(t.m) < pinMax*3/4 {
				break
			}
			delete(t.m, k)
		}
	}
	t.m[k] = n + int64(pinTTL)
	t.n.Store(int32(len(t.m)))
}

// pinned reports whether req, addressed to ep, is a conditional read of a
// version the secondary served.
func (t *pinTable) pinned(ep *endpoint, req *http.Request, now func() time.Time) bool {
	if t.n.Load() == 0 {
		return false
	}
	etag := req.Header.Get("If-Match")
	if etag == "" {
		return false
	}
	t.mu.RLock()
	exp, ok := t.m[pinKey{ep.relPath(req.URL), etag}]
	t.mu.RUnlock()
	return ok && exp > now().UnixNano()
}

// maxRestarts bounds how often the download helpers start over.
const maxRestarts = 2

// DownloadBuffer is blob.Client.DownloadBuffer that never mixes bytes of
// two blob versions and survives a location flip.
//
// azblob reads the first chunk and sends the others with If-Match set to
// its ETag, except with an explicit Range (Count > 0), where the chunks
// carry no condition at all and could come from two versions on two
// locations. DownloadBuffer therefore reads the ETag first (Get Blob
// Properties) for an explicit Range and sets If-Match itself. When a chunk
// then fails because that version is not available where the chunk was
// read (412 ConditionNotMet, or both locations failing), the whole download
// restarts, so every byte comes from one version. It restarts at most
// twice. A download with the caller's own If-Match is never restarted: its
// 412 is the answer.
func DownloadBuffer(ctx context.Context, c *blob.Client, buf []byte, o *blob.DownloadBufferOptions) (int64, error) {
	var opts blob.DownloadBufferOptions
	if o != nil {
		opts = *o
	}
	return restartable(ctx, c, downloadSpec{rng: opts.Range, ac: &opts.AccessConditions, cpk: opts.CPKInfo},
		func() (int64, error) { return c.DownloadBuffer(ctx, buf, &opts) })
}

// DownloadFile is blob.Client.DownloadFile with DownloadBuffer's
// guarantees.
func DownloadFile(ctx context.Context, c *blob.Client, f *os.File, o *blob.DownloadFileOptions) (int64, error) {
	var opts blob.DownloadFileOptions
	if o != nil {
		opts = *o
	}
	return restartable(ctx, c, downloadSpec{rng: opts.Range, ac: &opts.AccessConditions, cpk: opts.CPKInfo},
		func() (int64, error) { return c.DownloadFile(ctx, f, &opts) })
}

// downloadSpec is what restartable needs of a download's options; ac
// points into the options copy the download runs with.
type downloadSpec struct {
	rng blob.HTTPRange
	ac  **blob.AccessConditions
	cpk *blob.CPKInfo
}

func (d downloadSpec) userIfMatch() bool {
	ac := *d.ac
	return ac != nil && ac.ModifiedAccessConditions != nil && ac.ModifiedAccessConditions.IfMatch != nil
}

// pinVersion reads the blob's ETag and makes every chunk request of the
// download conditional on it, leaving the caller's options untouched.
func (d downloadSpec) pinVersion(ctx context.Context, c *blob.Client, user *blob.AccessConditions) error {
	props, err := c.GetProperties(ctx, &blob.GetPropertiesOptions{AccessConditions: user, CPKInfo: d.cpk})
	if err != nil {
		return err
	}
	ac := blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{}}
	if user != nil {
		ac.LeaseAccessConditions = user.LeaseAccessConditions
		if user.ModifiedAccessConditions != nil {
			m := *user.ModifiedAccessConditions
			ac.ModifiedAccessConditions = &m
		}
	}
	ac.ModifiedAccessConditions.IfMatch = props.ETag
	*d.ac = &ac
	return nil
}

func restartable(ctx context.Context, c *blob.Client, d downloadSpec, do func() (int64, error)) (int64, error) {
	userCondition := d.userIfMatch()
	user := *d.ac
	for i := 0; ; i++ {
		if !userCondition && d.rng.Count > 0 {
			if err := d.pinVersion(ctx, c, user); err != nil {
				return 0, err
			}
		}
		n, err := do()
		if err == nil || userCondition || i == maxRestarts || ctx.Err() != nil {
			return n, err
		}
		if !bloberror.HasCode(err, bloberror.ConditionNotMet) && !isBoth(err) {
			return n, err
		}
	}
}

func isBoth(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == ErrBothUnavailable
}
