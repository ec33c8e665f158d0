package blobapi

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/geoblob/geoblob/internal/azerr"
	"github.com/geoblob/geoblob/internal/store"
)

const metaPrefix = "X-Ms-Meta-"

// maxMetadataSize is Azure's limit on the total size of metadata names and
// values.
const maxMetadataSize = 8 << 10

// httpDate parses an HTTP date header; invalid dates are ignored, as HTTP
// and Azure do for conditional headers.
func httpDate(v string) time.Time {
	if v == "" {
		return time.Time{}
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return time.Time{}
	}
	return t
}

// conditions reads If-Match, If-None-Match, If-Modified-Since and
// If-Unmodified-Since, or their x-ms-source- forms when prefix is
// "x-ms-source-".
func conditions(h http.Header, prefix string) store.Conditions {
	return store.Conditions{
		IfMatch:           h.Get(prefix + "If-Match"),
		IfNoneMatch:       h.Get(prefix + "If-None-Match"),
		IfModifiedSince:   httpDate(h.Get(prefix + "If-Modified-Since")),
		IfUnmodifiedSince: httpDate(h.Get(prefix + "If-Unmodified-Since")),
	}
}

// metadata reads x-ms-meta-* headers. Names are stored in lower case (net/http
// does not preserve their case) and must be C# identifiers. A name given
// twice, in any case, is refused as in Azure rather than merged. It answers
// the request and returns false on invalid metadata.
func (c *call) metadata() (map[string]string, bool) {
	var meta map[string]string
	size := 0
	for k, vs := range c.r.Header {
		if len(k) < len(metaPrefix) || !strings.EqualFold(k[:len(metaPrefix)], metaPrefix) {
			continue
		}
		name := strings.ToLower(k[len(metaPrefix):])
		if !validMetadataName(name) {
			c.fail(http.StatusBadRequest, "InvalidMetadata", "The metadata specified is invalid. It has characters that are not permitted.",
				azerr.NewDetail("MetadataName", name))
			return nil, false
		}
		if _, dup := meta[name]; dup || len(vs) > 1 {
			c.fail(http.StatusBadRequest, "InvalidMetadata", "The metadata specified is invalid. The same metadata name is given more than once.",
				azerr.NewDetail("MetadataName", name))
			return nil, false
		}
		v := vs[0]
		if !asciiValue(v) {
			// Azure refuses a value that is not ASCII; stored, it would
			// also come back altered in listings (XML cannot carry every
			// byte a header can).
			c.fail(http.StatusBadRequest, "InvalidMetadata", "The metadata specified is invalid. It has characters that are not permitted.",
				azerr.NewDetail("MetadataName", name))
			return nil, false
		}
		size += len(name) + len(v)
		if meta == nil {
			meta = map[string]string{}
		}
		meta[name] = v
	}
	if size > maxMetadataSize {
		c.fail(http.StatusBadRequest, "MetadataTooLarge", "The size of the specified metadata exceeds the maximum size permitted.")
		return nil, false
	}
	return meta, true
}

// asciiValue reports whether a metadata value holds only printable ASCII
// and tabs.
func asciiValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if ch := v[i]; (ch < 0x20 && ch != '\t') || ch > 0x7e {
			return false
		}
	}
	return true
}

func validMetadataName(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch >= 'a' && ch <= 'z', ch >= 'A' && ch <= 'Z', ch == '_':
		case ch >= '0' && ch <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

func writeMetadata(h http.Header, meta map[string]string) {
	for k, v := range meta {
		h["x-ms-meta-"+k] = []string{v}
	}
}

// md5Header decodes a base64 MD5 header. It answers the request and returns
// false when the value is malformed.
func (c *call) md5Header(name string) ([]byte, bool) {
	v := headerGet(c.r.Header, name)
	if v == "" {
		return nil, true
	}
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(b) != 16 {
		c.fail(http.StatusBadRequest, "InvalidMd5", "The MD5 value specified in the request is invalid. The MD5 value must be 128 bits and Base64-encoded.",
			azerr.NewDetail("HeaderName", name), azerr.NewDetail("HeaderValue", v))
		return nil, false
	}
	return b, true
}

// blobHTTPHeaders reads the x-ms-blob-* property headers of Put Blob, Put
// Block List and Set Blob Properties. When plain is true (Put Blob) the
// standard Content-* headers are used where no x-ms-blob-* form is given.
func (c *call) blobHTTPHeaders(plain bool) (store.HTTPHeaders, bool) {
	h := c.r.Header
	get := func(xms, std string) string {
		if v := h.Get(xms); v != "" || !plain {
			return v
		}
		return h.Get(std)
	}
	hh := store.HTTPHeaders{
		ContentType:        get("X-Ms-Blob-Content-Type", "Content-Type"),
		ContentEncoding:    get("X-Ms-Blob-Content-Encoding", "Content-Encoding"),
		ContentLanguage:    get("X-Ms-Blob-Content-Language", "Content-Language"),
		ContentDisposition: get("X-Ms-Blob-Content-Disposition", "Content-Disposition"),
		CacheControl:       get("X-Ms-Blob-Cache-Control", "Cache-Control"),
	}
	md5, ok := c.md5Header("x-ms-blob-content-md5")
	if !ok {
		return hh, false
	}
	hh.ContentMD5 = md5
	return hh, true
}

// leaseID is the x-ms-lease-id header.
func (c *call) leaseID() string { return c.r.Header.Get("X-Ms-Lease-Id") }

// byteRange is a parsed Range header: start and end are inclusive; end is
// -1 for "bytes=a-".
type byteRange struct {
	start, end int64
}

// parseRange parses the two forms Azure accepts, "bytes=a-b" and
// "bytes=a-". ok is false for anything else, including the suffix form
// "bytes=-n" and lists of ranges, which Azure does not support.
func parseRange(v string) (byteRange, bool) {
	spec, found := strings.CutPrefix(strings.TrimSpace(v), "bytes=")
	if !found || strings.Contains(spec, ",") {
		return byteRange{}, false
	}
	a, b, found := strings.Cut(spec, "-")
	if !found {
		return byteRange{}, false
	}
	a, b = strings.TrimSpace(a), strings.TrimSpace(b)
	start, err := strconv.ParseUint(a, 10, 63)
	if err != nil {
		return byteRange{}, false
	}
	if b == "" {
		return byteRange{start: int64(start), end: -1}, true
	}
	end, err := strconv.ParseUint(b, 10, 63)
	if err != nil || end < start {
		return byteRange{}, false
	}
	return byteRange{start: int64(start), end: int64(end)}, true
}

// resolve turns r into an offset and length within size. ok is false when
// the range is not satisfiable.
func (r byteRange) resolve(size int64) (off, n int64, ok bool) {
	if r.start >= size {
		return 0, 0, false
	}
	end := r.end
	if end < 0 || end >= size {
		end = size - 1
	}
	return r.start, end - r.start + 1, true
}

// httpTime formats t as an HTTP date (to the second, in UTC). The text of
// each second is kept in a small cache: answers name the same few
// Last-Modified and creation times over and over.
func httpTime(t time.Time) string {
	sec := t.Unix()
	slot := &httpTimes[uint64(sec)%uint64(len(httpTimes))]
	if d := slot.Load(); d != nil && d.unix == sec {
		return d.text
	}
	d := &formattedTime{unix: sec, text: t.UTC().Format(http.TimeFormat)}
	slot.Store(d)
	return d.text
}

// formattedTime is the HTTP date of one second.
type formattedTime struct {
	unix int64
	text string
}

var httpTimes [256]atomic.Pointer[formattedTime]

// isoTime formats a time as Azure writes ISO 8601 dates in XML bodies.
func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.0000000Z") }

// setBlobHeaders writes the properties of b as Get Blob and Get Blob
// Properties return them.
func setBlobHeaders(h http.Header, b *store.Blob, now time.Time) {
	ct := b.Headers.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	l := b.Lease.At(now)
	setHeaders(h, "Etag", b.ETag, "Last-Modified", httpTime(b.LastModified), "X-Ms-Creation-Time", httpTime(b.Created),
		"X-Ms-Blob-Type", string(b.Type()), "Accept-Ranges", "bytes", "X-Ms-Server-Encrypted", "true", "Content-Type", ct,
		"X-Ms-Lease-Status", l.Status(), "X-Ms-Lease-State", string(l.State))
	if d := l.DurationType(); d != "" {
		h.Set("X-Ms-Lease-Duration", d)
	}
	setAppendHeaders(h, b)
	setPageHeaders(h, b)
	if v := b.Headers.ContentEncoding; v != "" {
		h.Set("Content-Encoding", v)
	}
	if v := b.Headers.ContentLanguage; v != "" {
		h.Set("Content-Language", v)
	}
	if v := b.Headers.ContentDisposition; v != "" {
		h.Set("Content-Disposition", v)
	}
	if v := b.Headers.CacheControl; v != "" {
		h.Set("Cache-Control", v)
	}
	writeMetadata(h, b.Metadata)
	if cp := b.Copy; cp != nil {
		h.Set("X-Ms-Copy-Id", cp.ID)
		h.Set("X-Ms-Copy-Source", cp.Source)
		h.Set("X-Ms-Copy-Status", cp.Status)
		h.Set("X-Ms-Copy-Progress", cp.Progress)
		h.Set("X-Ms-Copy-Completion-Time", httpTime(cp.CompletionTime))
	}
}

func setLeaseHeaders(h http.Header, l store.Lease) {
	h.Set("X-Ms-Lease-Status", l.Status())
	h.Set("X-Ms-Lease-State", string(l.State))
	if d := l.DurationType(); d != "" {
		h.Set("X-Ms-Lease-Duration", d)
	}
}

// setWriteHeaders sets ETag and Last-Modified after a write.
func setWriteHeaders(h http.Header, etag string, lm time.Time) {
	setHeaders(h, "Etag", etag, "Last-Modified", httpTime(lm))
}

// setHeaders sets each name of kv (name, value, name, value...) to the value
// that follows it, as http.Header.Set would, with the values in one
// allocation. Every name must be in canonical form (http.CanonicalHeaderKey).
func setHeaders(h http.Header, kv ...string) {
	vals := make([]string, len(kv)/2)
	for i := range vals {
		vals[i] = kv[2*i+1]
		h[kv[2*i]] = vals[i : i+1 : i+1]
	}
}

// headerKeys caches the canonical form of header names spelled otherwise.
var headerKeys sync.Map // string -> string

// headerGet is h.Get(name) for a name that need not be canonical, without
// canonicalizing it again on every request.
func headerGet(h http.Header, name string) string {
	k, ok := headerKeys.Load(name)
	if !ok {
		k = http.CanonicalHeaderKey(name)
		if len(name) <= 64 {
			headerKeys.Store(name, k) // names come from the code: bounded
		}
	}
	if vs := h[k.(string)]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// ErrInvalidMetadata is wrapped by CheckMetadata for metadata a request
// could not carry.
var ErrInvalidMetadata = errors.New("blobapi: invalid metadata")

// CheckMetadata applies the checks x-ms-meta-* headers get to metadata
// given directly (by the emulator's seed helpers) and returns it with names
// in lower case, as the emulator stores them: names must be C# identifiers,
// unique without regard to case; values printable ASCII; all of it at most
// 8 KiB.
func CheckMetadata(meta map[string]string) (map[string]string, error) {
	if len(meta) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(meta))
	size := 0
	for k, v := range meta {
		name := strings.ToLower(k)
		switch {
		case !validMetadataName(name):
			return nil, fmt.Errorf("%w: name %q is not a C# identifier", ErrInvalidMetadata, k)
		case !asciiValue(v):
			return nil, fmt.Errorf("%w: the value of %q is not printable ASCII", ErrInvalidMetadata, k)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("%w: name %q is given more than once", ErrInvalidMetadata, name)
		}
		out[name] = v
		size += len(name) + len(v)
	}
	if size > maxMetadataSize {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrInvalidMetadata, maxMetadataSize)
	}
	return out, nil
}
