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
// Only reads served by the secondary touch the table, so the steady state
// (reads on the primary) never takes its lock.
type pinTable struct {
	n  atomic.Int32
	mu sync.Mutex
	m  map[string]time.Time // key -> expiry
}

const (
	pinTTL = 10 * time.Minute
	pinMax = 4096
)

func (t *pinTable) init() { t.m = make(map[string]time.Time) }

func (t *pinTable) add(path, etag string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.m) >= pinMax {
		for k, exp := range t.m {
			if now.After(exp) || len(t.m) >= pinMax {
				delete(t.m, k)
			}
		}
	}
	t.m[path+"\x00"+etag] = now.Add(pinTTL)
	t.n.Store(int32(len(t.m)))
}

// pinned reports whether req is a conditional read of a version the
// secondary served.
func (t *pinTable) pinned(req *http.Request) bool {
	if t.n.Load() == 0 {
		return false
	}
	etag := req.Header.Get("If-Match")
	if etag == "" {
		return false
	}
	t.mu.Lock()
	_, ok := t.m[req.URL.Path+"\x00"+etag]
	t.mu.Unlock()
	return ok
}

// maxRestarts bounds how often the download helpers start over.
const maxRestarts = 2

// DownloadBuffer is blob.Client.DownloadBuffer that never mixes bytes of
// two blob versions and survives a location flip: when a chunk fails
// because the version the download started with is not available where
// the chunk was read (412 ConditionNotMet, or both locations failing), the
// whole download restarts, so every byte comes from one version on one
// location. It restarts at most twice. Downloads with an explicit If-Match
// condition are not restarted.
func DownloadBuffer(ctx context.Context, c *blob.Client, buf []byte, o *blob.DownloadBufferOptions) (int64, error) {
	return restartable(ctx, conditional(o), func() (int64, error) { return c.DownloadBuffer(ctx, buf, o) })
}

// DownloadFile is blob.Client.DownloadFile with DownloadBuffer's restart
// guarantee.
func DownloadFile(ctx context.Context, c *blob.Client, f *os.File, o *blob.DownloadFileOptions) (int64, error) {
	var b *blob.DownloadBufferOptions
	if o != nil {
		b = &blob.DownloadBufferOptions{AccessConditions: o.AccessConditions}
	}
	return restartable(ctx, conditional(b), func() (int64, error) { return c.DownloadFile(ctx, f, o) })
}

func conditional(o *blob.DownloadBufferOptions) bool {
	return o != nil && o.AccessConditions != nil && o.AccessConditions.ModifiedAccessConditions != nil &&
		o.AccessConditions.ModifiedAccessConditions.IfMatch != nil
}

func restartable(ctx context.Context, userCondition bool, do func() (int64, error)) (int64, error) {
	for i := 0; ; i++ {
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
