package blobapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/geoblob/geoblob/internal/auth"
	"github.com/geoblob/geoblob/internal/azerr"
	"github.com/geoblob/geoblob/internal/control"
	"github.com/geoblob/geoblob/internal/store"
)

// The From URL operations read their data from x-ms-copy-source instead of
// the request body: Put Block From URL, Put Blob From URL, Copy Blob From
// URL (synchronous Copy Blob) and Append Block From URL. The source is a
// blob of this emulator (any of its accounts) or any http(s) URL the
// emulator can reach.
//
// Authorization: the destination request is authorized before anything is
// read (serve runs authorize before the operation). A source of this
// emulator is readable only when it is public or carries its own read SAS,
// as Azure documents for these operations (the caller's Shared Key does not
// read a source through them, unlike Copy Blob). An external URL is
// fetched with a plain GET that carries nothing from the destination
// request but the x-ms-source-* conditions and range: no credential of the
// caller ever reaches the source.

var (
	opPutBlockFromURL    = &op{name: "PutBlockFromURL", write: true, perm: auth.PermWrite, rt: auth.ResourceObject, run: (*call).putBlockFromURL}
	opPutBlobFromURL     = &op{name: "PutBlobFromURL", write: true, perm: auth.PermWrite, rt: auth.ResourceObject, run: (*call).putBlobFromURL}
	opCopyBlobFromURL    = &op{name: "CopyBlobFromURL", write: true, perm: auth.PermWrite, rt: auth.ResourceObject, run: (*call).copyBlobFromURL}
	opAppendBlockFromURL = &op{name: "AppendBlockFromURL", write: true, perm: auth.PermWrite, orPerm: auth.PermAdd, rt: auth.ResourceObject, run: (*call).appendBlockFromURL}
)

// MaxCopyFromURLSize is the largest source Copy Blob From URL copies, as in
// Azure (256 MiB).
const MaxCopyFromURLSize = 256 << 20

// DefaultCopySourceTimeout bounds the fetch of an external copy source when
// Config.CopySourceTimeout is zero.
const DefaultCopySourceTimeout = 60 * time.Second

// maxSourceRedirects is how many redirects an external source fetch follows.
const maxSourceRedirects = 3

// sourceClient fetches external copy sources. It sends no cookies and
// follows a few redirects; each request is bounded by its context.
var sourceClient = &http.Client{
	CheckRedirect: func(r *http.Request, via []*http.Request) error {
		if len(via) >= maxSourceRedirects {
			return errors.New("too many redirects")
		}
		if controlPath(r.URL) {
			return errors.New("redirected to the emulator's control API")
		}
		return nil
	},
}

// controlPath reports whether u names a path of the emulator's control API.
// The control API answers loopback clients, and a fetch of a copy source
// comes from loopback: reading it as a source would hand its answers to a
// client the API refuses.
func controlPath(u *url.URL) bool {
	return strings.HasPrefix(u.Path, control.PathPrefix)
}

// fromURLOp picks the From URL form of o when the request names a copy
// source.
func fromURLOp(o *op, h http.Header) *op {
	if h.Get("X-Ms-Copy-Source") == "" {
		return o
	}
	switch o {
	case opPutBlob:
		switch {
		case h.Get("X-Ms-Blob-Type") != "":
			return opPutBlobFromURL
		case h.Get("X-Ms-Requires-Sync") != "" && !strings.EqualFold(h.Get("X-Ms-Requires-Sync"), "false"):
			// "true" asks for Copy Blob From URL; copyBlobFromURL refuses
			// any other value but "false", which is the asynchronous copy.
			return opCopyBlobFromURL
		}
		return opCopyBlob
	case opPutBlock:
		return opPutBlockFromURL
	case opAppendBlock:
		return opAppendBlockFromURL
	case opPutPage:
		return opPutPageFromURL
	}
	return o
}

// sourceData is what a From URL operation read from its source.
type sourceData struct {
	content store.Content
	headers store.HTTPHeaders
	meta    map[string]string // sources of this emulator only
	tags    map[string]string // sources of this emulator only
	typ     store.BlobType
}

func (c *call) copySourceTimeout() time.Duration {
	if d := c.s.cfg.CopySourceTimeout; d > 0 {
		return d
	}
	return DefaultCopySourceTimeout
}

// sourceRange reads x-ms-source-range; nil when absent. It answers the
// request and returns false when the value is malformed.
func (c *call) sourceRange() (*byteRange, bool) {
	v := c.r.Header.Get("x-ms-source-range")
	if v == "" {
		return nil, true
	}
	r, ok := parseRange(v)
	if !ok {
		c.badHeader("x-ms-source-range", v)
		return nil, false
	}
	return &r, true
}

// noBody refuses a From URL request that carries a body: Azure requires
// Content-Length: 0.
func (c *call) noBody() bool {
	if c.r.ContentLength != 0 {
		c.badHeader("Content-Length", strconv.FormatInt(c.r.ContentLength, 10))
		return false
	}
	return true
}

// readSource reads x-ms-copy-source (the rng part of it when rng is set),
// at most limit bytes, and checks x-ms-source-content-md5 and
// x-ms-source-content-crc64 against what it read. It answers the request
// and returns false when the source cannot be used. It returns the CRC-64
// of the data when the request sent one to check.
func (c *call) readSource(limit int64, rng *byteRange) (sourceData, []byte, bool) {
	raw := c.r.Header.Get("x-ms-copy-source")
	sentMD5, ok := c.md5Header("x-ms-source-content-md5")
	if !ok {
		return sourceData{}, nil, false
	}
	sentCRC, ok := c.crc64HeaderNamed("x-ms-source-content-crc64")
	if !ok {
		return sourceData{}, nil, false
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		c.badHeader("x-ms-copy-source", raw)
		return sourceData{}, nil, false
	}
	if controlPath(u) {
		c.fail(http.StatusForbidden, "CannotVerifyCopySource", "The emulator's control API cannot be a copy source.")
		return sourceData{}, nil, false
	}
	var d sourceData
	if c.namesEmulator(u) {
		d, ok = c.readLocalSource(raw, limit, rng)
	} else {
		d, ok = c.fetchSource(u, limit, rng)
	}
	if !ok {
		return d, nil, false
	}
	if sentMD5 != nil {
		if sum := md5Of(d.content); !bytes.Equal(sentMD5, sum) {
			c.md5Mismatch(sentMD5, sum)
			return d, nil, false
		}
	}
	var crc []byte
	if sentCRC != nil {
		if crc = contentCRC64(d.content); !bytes.Equal(sentCRC, crc) {
			c.crc64Mismatch(sentCRC, crc)
			return d, nil, false
		}
	}
	return d, crc, true
}

// namesEmulator reports whether u names an account of this emulator, by the
// rule copySource resolves it with: the first path segment (path style) or
// the first host label (host style) is a known account.
func (c *call) namesEmulator(u *url.URL) bool {
	p := strings.ReplaceAll(strings.TrimPrefix(u.Path, "/"), "\\", "/")
	first, _, _ := strings.Cut(p, "/")
	if acct := strings.TrimSuffix(first, SecondarySuffix); validAccountName(acct) {
		if _, ok := c.s.cfg.Keys(acct); ok {
			return true
		}
	}
	host, _, _ := strings.Cut(u.Hostname(), ".")
	_, ok := c.s.cfg.Keys(strings.TrimSuffix(host, SecondarySuffix))
	return ok
}

// readLocalSource reads a blob of this emulator. The data is shared with
// the source blob, not copied.
func (c *call) readLocalSource(raw string, limit int64, rng *byteRange) (sourceData, bool) {
	src, ok := c.resolveCopySource(raw, false)
	if !ok {
		return sourceData{}, false
	}
	sb, err := c.s.cfg.Primary.SourceBlob(src)
	if err != nil {
		c.storeErr(err)
		return sourceData{}, false
	}
	off, n := int64(0), sb.Size()
	if rng != nil {
		if off, n, ok = rng.resolve(sb.Size()); !ok {
			c.storeErr(store.ErrInvalidRange)
			return sourceData{}, false
		}
	}
	if n > limit {
		c.sourceTooLarge(limit)
		return sourceData{}, false
	}
	return sourceData{content: sb.ContentRange(off, n), headers: sb.Headers, meta: sb.Metadata, tags: sb.Tags, typ: sb.Type()}, true
}

// sourceTooLarge answers a source beyond the operation's limit as Azure
// does: 409 CannotVerifyCopySource (as reported for Copy Blob From URL of
// a source over 256 MiB in Azure/azure-sdk-for-go#19880).
func (c *call) sourceTooLarge(limit int64) {
	c.fail(http.StatusConflict, "CannotVerifyCopySource",
		fmt.Sprintf("The source request body for copy source is too large and exceeds the maximum permissible limit (%d bytes).", limit))
}

// sourceFailed answers a copy source that could not be read, as Azure
// does: CannotVerifyCopySource with the source's own status when it
// answered with a client error, else 409.
func (c *call) sourceFailed(sourceStatus int, msg string) {
	status := http.StatusConflict
	var details []azerr.Detail
	if sourceStatus != 0 {
		c.w.Header().Set("x-ms-copy-source-status-code", strconv.Itoa(sourceStatus))
		details = append(details, azerr.NewDetail("CopySourceStatusCode", strconv.Itoa(sourceStatus)),
			azerr.NewDetail("CopySourceErrorMessage", http.StatusText(sourceStatus)))
		if sourceStatus >= 400 && sourceStatus < 500 {
			status = sourceStatus
		}
	}
	c.fail(status, "CannotVerifyCopySource", msg, details...)
}

// fetchSource reads an external http(s) source with a GET bounded in time
// (Config.CopySourceTimeout) and size (limit). The bytes stream into a
// store.Content exactly as a request body does.
func (c *call) fetchSource(u *url.URL, limit int64, rng *byteRange) (sourceData, bool) {
	ctx, cancel := context.WithTimeout(c.r.Context(), c.copySourceTimeout())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		c.badHeader("x-ms-copy-source", u.String())
		return sourceData{}, false
	}
	cond := conditions(c.r.Header, "x-ms-source-")
	if cond.IfMatch != "" {
		req.Header.Set("If-Match", cond.IfMatch)
	}
	if cond.IfNoneMatch != "" {
		req.Header.Set("If-None-Match", cond.IfNoneMatch)
	}
	if !cond.IfModifiedSince.IsZero() {
		req.Header.Set("If-Modified-Since", httpTime(cond.IfModifiedSince))
	}
	if !cond.IfUnmodifiedSince.IsZero() {
		req.Header.Set("If-Unmodified-Since", httpTime(cond.IfUnmodifiedSince))
	}
	if rng != nil {
		v := "bytes=" + strconv.FormatInt(rng.start, 10) + "-"
		if rng.end >= 0 {
			v += strconv.FormatInt(rng.end, 10)
		}
		req.Header.Set("Range", v)
	}
	req.Header.Set("User-Agent", "geoblob-emulator")
	resp, err := sourceClient.Do(req)
	if err != nil {
		c.s.log.Debug("blobapi: copy source unreachable", "err", err)
		if ctx.Err() != nil && c.r.Context().Err() == nil {
			c.sourceFailed(0, "Could not verify the copy source within the specified time.")
		} else {
			c.sourceFailed(0, "Could not verify the copy source: it could not be reached.")
		}
		return sourceData{}, false
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotModified || resp.StatusCode == http.StatusPreconditionFailed:
		c.fail(http.StatusPreconditionFailed, "SourceConditionNotMet", "The source condition specified using HTTP conditional header(s) is not met.")
		return sourceData{}, false
	case rng != nil && resp.StatusCode == http.StatusRequestedRangeNotSatisfiable:
		c.storeErr(store.ErrInvalidRange)
		return sourceData{}, false
	case resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusPartialContent:
		c.sourceFailed(resp.StatusCode, "Could not verify the copy source: it answered "+resp.Status+".")
		return sourceData{}, false
	}
	var body io.Reader = resp.Body
	hint := resp.ContentLength
	if rng != nil && resp.StatusCode == http.StatusOK {
		// The source ignored the range: skip to it and stop at its end.
		if n, err := io.CopyN(io.Discard, body, rng.start); err != nil || n != rng.start {
			c.storeErr(store.ErrInvalidRange)
			return sourceData{}, false
		}
		if hint >= 0 {
			hint -= rng.start
		}
		if rng.end >= 0 {
			n := rng.end - rng.start + 1
			body = io.LimitReader(body, n)
			if hint < 0 || hint > n {
				hint = n
			}
		}
	}
	if hint > limit {
		c.sourceTooLarge(limit)
		return sourceData{}, false
	}
	content, err := c.st.ReadContent(body, hint, limit)
	switch {
	case errors.Is(err, store.ErrTooLarge):
		c.sourceTooLarge(limit)
		return sourceData{}, false
	case err != nil || (hint >= 0 && content.Size() != hint):
		c.sourceFailed(0, "Could not verify the copy source: its body could not be read completely.")
		return sourceData{}, false
	}
	h := resp.Header
	d := sourceData{content: content, typ: store.BlockBlob, headers: store.HTTPHeaders{
		ContentType:        h.Get("Content-Type"),
		ContentEncoding:    h.Get("Content-Encoding"),
		ContentLanguage:    h.Get("Content-Language"),
		ContentDisposition: h.Get("Content-Disposition"),
		CacheControl:       h.Get("Cache-Control"),
	}}
	if rng == nil {
		if sum, err := base64.StdEncoding.DecodeString(h.Get("Content-MD5")); err == nil && len(sum) == 16 {
			d.headers.ContentMD5 = sum
		}
	}
	return d, true
}

// putBlockFromURL answers Put Block From URL.
func (c *call) putBlockFromURL() {
	id := c.q.Get("blockid")
	if !c.q.Has("blockid") {
		c.fail(http.StatusBadRequest, "MissingRequiredQueryParameter", "A query parameter that's mandatory for this request is not specified.",
			azerr.NewDetail("QueryParameterName", "blockid"))
		return
	}
	if !validBlockID(id) {
		c.badQuery("blockid", id, "The block id must be base64-encoded and at most 64 bytes long before encoding.")
		return
	}
	if !c.noBody() {
		return
	}
	rng, ok := c.sourceRange()
	if !ok {
		return
	}
	d, crc, ok := c.readSource(min(c.s.cfg.MaxBlobSize, MaxBlockSize), rng)
	if !ok {
		return
	}
	if err := c.st.StageBlock(c.addr.Account, c.addr.Container, c.addr.Blob, id, d.content, c.leaseID()); err != nil {
		c.storeErr(err)
		return
	}
	if crc != nil {
		c.w.Header().Set("x-ms-content-crc64", base64.StdEncoding.EncodeToString(crc))
	}
	c.answerWrite(nil, md5Of(d.content), http.StatusCreated)
}

// putBlobFromURL answers Put Blob From URL: a block blob holding the
// source's data, with the source's properties unless
// x-ms-copy-source-blob-properties is false, each overridden by the
// request's x-ms-blob-* header when given. Metadata comes from the request.
func (c *call) putBlobFromURL() {
	h := c.r.Header
	if bt := h.Get("x-ms-blob-type"); bt != "BlockBlob" {
		c.badHeader("x-ms-blob-type", bt)
		return
	}
	if !c.noBody() {
		return
	}
	copyProps := true
	switch v := h.Get("x-ms-copy-source-blob-properties"); strings.ToLower(v) {
	case "", "true":
	case "false":
		copyProps = false
	default:
		c.badHeader("x-ms-copy-source-blob-properties", v)
		return
	}
	hh, ok := c.blobHTTPHeaders(false)
	if !ok {
		return
	}
	meta, ok := c.metadata()
	if !ok {
		return
	}
	d, crc, ok := c.readSource(min(c.s.cfg.MaxBlobSize, MaxPutBlobSize), nil)
	if !ok {
		return
	}
	sum := md5Of(d.content)
	if copyProps {
		hh = overrideHeaders(d.headers, hh)
	}
	if hh.ContentMD5 == nil {
		hh.ContentMD5 = sum
	}
	b, err := c.st.PutBlob(c.addr.Account, c.addr.Container, c.addr.Blob, d.content, hh, meta, c.copyWriteOptions(d))
	if err != nil {
		c.storeErr(err)
		return
	}
	if crc != nil {
		c.w.Header().Set("x-ms-content-crc64", base64.StdEncoding.EncodeToString(crc))
	}
	c.answerWrite(b, sum, http.StatusCreated)
}

// overrideHeaders returns base with every property req sets replaced.
func overrideHeaders(base, req store.HTTPHeaders) store.HTTPHeaders {
	pick := func(b, r string) string {
		if r != "" {
			return r
		}
		return b
	}
	out := store.HTTPHeaders{
		ContentType:        pick(base.ContentType, req.ContentType),
		ContentEncoding:    pick(base.ContentEncoding, req.ContentEncoding),
		ContentLanguage:    pick(base.ContentLanguage, req.ContentLanguage),
		ContentDisposition: pick(base.ContentDisposition, req.ContentDisposition),
		CacheControl:       pick(base.CacheControl, req.CacheControl),
		ContentMD5:         base.ContentMD5,
	}
	if req.ContentMD5 != nil {
		out.ContentMD5 = req.ContentMD5
	}
	return out
}

// copyBlobFromURL answers Copy Blob From URL (x-ms-requires-sync: true):
// the copy completes before the answer, 202 with x-ms-copy-status: success.
// The source must be a block blob of at most MaxCopyFromURLSize bytes; its
// properties are copied, and its metadata unless the request gives some.
func (c *call) copyBlobFromURL() {
	if v := c.r.Header.Get("x-ms-requires-sync"); !strings.EqualFold(v, "true") {
		c.badHeader("x-ms-requires-sync", v)
		return
	}
	if !c.noBody() {
		return
	}
	meta, ok := c.metadata()
	if !ok {
		return
	}
	d, crc, ok := c.readSource(min(c.s.cfg.MaxBlobSize, MaxCopyFromURLSize), nil)
	if !ok {
		return
	}
	if d.typ != store.BlockBlob {
		c.fail(http.StatusConflict, "InvalidSourceBlobType", "The source of Copy Blob From URL must be a block blob.")
		return
	}
	if meta == nil {
		meta = d.meta
	}
	n := d.content.Size()
	cp := store.CopyInfo{ID: uuid.NewString(), Source: c.r.Header.Get("x-ms-copy-source"), Status: "success",
		Progress: fmt.Sprintf("%d/%d", n, n)}
	b, err := c.st.PutCopiedBlob(c.addr.Account, c.addr.Container, c.addr.Blob, d.content, d.headers, meta, cp, c.copyWriteOptions(d))
	if err != nil {
		c.storeErr(err)
		return
	}
	rh := c.w.Header()
	rh.Set("x-ms-copy-id", b.Copy.ID)
	rh.Set("x-ms-copy-status", b.Copy.Status)
	if crc != nil {
		rh.Set("x-ms-content-crc64", base64.StdEncoding.EncodeToString(crc))
	}
	c.answerWrite(b, md5Of(d.content), http.StatusAccepted)
}

// appendBlockFromURL answers Append Block From URL.
func (c *call) appendBlockFromURL() {
	o, ok := c.appendOptions()
	if !ok {
		return
	}
	if !c.noBody() {
		return
	}
	rng, ok := c.sourceRange()
	if !ok {
		return
	}
	d, crc, ok := c.readSource(c.maxAppendBlockSize(), rng)
	if !ok {
		return
	}
	if d.content.Size() == 0 {
		// Azure refuses an empty block.
		c.badHeader("x-ms-copy-source", c.r.Header.Get("x-ms-copy-source"))
		return
	}
	c.commitAppend(d.content, o, md5Of(d.content), crc)
}

// copyWriteOptions are the write options of a From URL write: with
// x-ms-copy-source-tag-option: COPY the destination takes the source's
// tags (none for a source outside the emulator).
func (c *call) copyWriteOptions(d sourceData) store.WriteOptions {
	o := c.writeOptions()
	if c.tt.copyTags {
		o.Tags = d.tags
	}
	return o
}
