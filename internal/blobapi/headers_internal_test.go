package blobapi

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/geoblob/geoblob/internal/store"
)

// TestAnswerHeaderNamesCanonical: the headers the hot paths assign straight
// into the map are under canonical names, so net/http writes them exactly
// as Header.Set would have; only metadata keeps its own spelling.
func TestAnswerHeaderNamesCanonical(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	b := &store.Blob{Name: "b", ETag: `"0x1"`, Created: now, LastModified: now,
		Headers:  store.HTTPHeaders{ContentType: "text/plain", ContentEncoding: "gzip", CacheControl: "no-cache"},
		Metadata: map[string]string{"Key": "v"}, Copy: &store.CopyInfo{ID: "id", Source: "src", Status: "success", Progress: "1/1", CompletionTime: now}}
	h := http.Header{}
	setBlobHeaders(h, b, now)
	setWriteHeaders(h, b.ETag, now)
	setHeaders(h, "Content-Md5", "x", "X-Ms-Request-Server-Encrypted", "true", "Content-Length", "0")
	for k := range h {
		if strings.HasPrefix(k, "x-ms-meta-") {
			continue
		}
		if c := http.CanonicalHeaderKey(k); c != k {
			t.Errorf("header %q is not canonical (%q)", k, c)
		}
	}
	for _, k := range []string{"ETag", "Last-Modified", "x-ms-creation-time", "x-ms-blob-type", "Accept-Ranges", "x-ms-server-encrypted", "Content-Type", "Content-MD5", "Content-Length"} {
		if len(h.Values(k)) != 1 {
			t.Errorf("%s: %q, want one value", k, h.Values(k))
		}
	}
	if got := h.Get("Last-Modified"); got != "Fri, 02 Jan 2026 03:04:05 GMT" {
		t.Errorf("Last-Modified %q", got)
	}
}

func TestHeaderGet(t *testing.T) {
	h := http.Header{"Content-Md5": {"a"}, "X-Ms-Blob-Content-Md5": {"b"}}
	for name, want := range map[string]string{"Content-MD5": "a", "x-ms-blob-content-md5": "b", "x-ms-other": ""} {
		for range 2 { // uncached, then cached
			if got := headerGet(h, name); got != want {
				t.Errorf("headerGet(%q) = %q, want %q", name, got, want)
			}
		}
	}
}

// TestHTTPTime: the cached text is always that of the time asked for,
// including times that share a cache slot.
func TestHTTPTime(t *testing.T) {
	base := time.Date(2026, 12, 2, 3, 4, 5, 999, time.FixedZone("x", 3600))
	for _, tm := range []time.Time{base, base, base.Add(256 * time.Second), base, base.Add(500 * time.Millisecond),
		base.Add(-time.Second), time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC), {}} {
		if got, want := httpTime(tm), tm.UTC().Format(http.TimeFormat); got != want {
			t.Errorf("httpTime(%v) = %q, want %q", tm, got, want)
		}
	}
}
