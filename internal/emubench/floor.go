package emubench

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// LargePrefix starts the name of every blob the workload writes with the
// large payload; every other blob carries the small payload. The floor
// chooses what to answer by this prefix alone.
const LargePrefix = "large"

// Payload returns n bytes of the deterministic pattern every blob of the
// workload carries, so that the floor can answer with the same bytes a real
// server stored.
func Payload(n int64) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*131 + i>>12)
	}
	return b
}

// FloorHandler answers the requests of the workload with the bytes a real
// server would return and does no other work: it stores nothing, checks
// nothing and reads request bodies only to discard them. Blob GETs answer
// with the first small or large bytes of [Payload], chosen by [LargePrefix],
// and honour a Range or x-ms-range header. Listings are not modelled and
// answer 501, so the harness never runs listing phases against it.
func FloorHandler(small, large int64) http.Handler {
	smallBody, largeBody := Payload(small), Payload(large)
	smallMD5, largeMD5 := md5Base64(smallBody), md5Base64(largeBody)
	// The answers carry the headers geoblob's carry, with values of the
	// same lengths, so that the floor writes the same bytes: each header
	// costs net/http map, sort, copy and write work per request. Date comes
	// from net/http, as on geoblob.
	const (
		etag      = `"0x8DFLOOR000000001"`
		requestID = "00000000-0000-4000-8000-000000000000"
		version   = "2026-12-06"
	)
	lastMod := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Format(http.TimeFormat)
	// Values are set as shared, never modified slices under canonical
	// names: the cheapest way to fill a header map, so that the floor's
	// own header work is the least net/http allows.
	v := func(s string) []string { return []string{s} }
	var (
		vRequestID, vVersion, vServer = v(requestID), v(version), v("geoblob")
		vETag, vLastMod, vTrue        = v(etag), v(lastMod), v("true")
		vBlockBlob, vBytes, vOctets   = v("BlockBlob"), v("bytes"), v("application/octet-stream")
		vUnlocked, vAvailable         = v("unlocked"), v("available")
		vSmallMD5, vLargeMD5          = v(smallMD5), v(largeMD5)
		vSmallLen                     = v(strconv.Itoa(len(smallBody)))
		vLargeLen                     = v(strconv.Itoa(len(largeBody)))
	)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		h := w.Header()
		h["X-Ms-Request-Id"], h["X-Ms-Version"], h["Server"] = vRequestID, vVersion, vServer
		// Path is /account[/container[/blob]].
		parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 3)
		isBlob := len(parts) == 3 && parts[2] != ""
		switch {
		case r.Method == http.MethodGet && q.Get("restype") == "service" && q.Get("comp") == "properties":
			h.Set("Content-Type", "application/xml")
			_, _ = io.WriteString(w, `<?xml version="1.0" encoding="utf-8"?><StorageServiceProperties></StorageServiceProperties>`)
		case r.Method == http.MethodPut && !isBlob && q.Get("restype") == "container":
			h.Set("ETag", etag)
			h.Set("Last-Modified", lastMod)
			w.WriteHeader(http.StatusCreated)
		case r.Method == http.MethodDelete && !isBlob && q.Get("restype") == "container":
			w.WriteHeader(http.StatusAccepted)
		case r.Method == http.MethodPut && isBlob:
			_, _ = io.Copy(io.Discard, r.Body)
			h["Etag"], h["Last-Modified"], h["Content-Md5"] = vETag, vLastMod, vSmallMD5
			h["X-Ms-Request-Server-Encrypted"] = vTrue
			w.WriteHeader(http.StatusCreated)
		case (r.Method == http.MethodGet || r.Method == http.MethodHead) && isBlob && q.Get("comp") == "":
			body, sum, length := smallBody, vSmallMD5, vSmallLen
			if strings.HasPrefix(parts[2], LargePrefix) {
				body, sum, length = largeBody, vLargeMD5, vLargeLen
			}
			h["Etag"], h["Last-Modified"], h["X-Ms-Creation-Time"] = vETag, vLastMod, vLastMod
			h["X-Ms-Blob-Type"], h["Accept-Ranges"], h["X-Ms-Server-Encrypted"] = vBlockBlob, vBytes, vTrue
			h["Content-Type"], h["X-Ms-Lease-Status"], h["X-Ms-Lease-State"] = vOctets, vUnlocked, vAvailable
			rng := r.Header.Get("x-ms-range")
			if rng == "" {
				rng = r.Header.Get("Range")
			}
			status := http.StatusOK
			if rng != "" {
				start, end, ok := parseRange(rng, int64(len(body)))
				if !ok {
					w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
					return
				}
				h["Content-Range"] = v(fmt.Sprintf("bytes %d-%d/%d", start, end, len(body)))
				h["X-Ms-Blob-Content-Md5"] = sum
				body = body[start : end+1]
				status = http.StatusPartialContent
				length = v(strconv.Itoa(len(body)))
			} else {
				h["Content-Md5"] = sum
			}
			h["Content-Length"] = length
			w.WriteHeader(status)
			if r.Method == http.MethodGet {
				_, _ = w.Write(body)
			}
		default:
			w.WriteHeader(http.StatusNotImplemented)
		}
	})
}

// md5Base64 is the Content-MD5 value of b.
func md5Base64(b []byte) string {
	sum := md5.Sum(b)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// parseRange reads "bytes=START-[END]" against a body of size n.
func parseRange(v string, n int64) (start, end int64, ok bool) {
	spec, found := strings.CutPrefix(v, "bytes=")
	if !found {
		return 0, 0, false
	}
	a, b, found := strings.Cut(spec, "-")
	if !found {
		return 0, 0, false
	}
	start, err := strconv.ParseInt(a, 10, 64)
	if err != nil || start < 0 || start >= n {
		return 0, 0, false
	}
	end = n - 1
	if b != "" {
		e, err := strconv.ParseInt(b, 10, 64)
		if err != nil || e < start {
			return 0, 0, false
		}
		end = min(e, n-1)
	}
	return start, end, true
}

// ServeFloor runs [FloorHandler] on addr until ctx ends. ready, when not
// nil, is called with the listening address once the socket is open.
func ServeFloor(ctx context.Context, addr string, small, large int64, ready func(net.Addr)) error {
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("floor: %w", err)
	}
	srv := &http.Server{Handler: FloorHandler(small, large), ReadHeaderTimeout: 10 * time.Second}
	if ready != nil {
		ready(l.Addr())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			return fmt.Errorf("floor: shutdown: %w", err)
		}
		return nil
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("floor: %w", err)
	}
}
