package blobapi

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/google/uuid"

	"github.com/geoblob/geoblob/internal/auth"
	"github.com/geoblob/geoblob/internal/azerr"
	"github.com/geoblob/geoblob/internal/store"
)

// maxRangeMD5 is the largest range for which x-ms-range-get-content-md5 is
// honoured, as in Azure.
const maxRangeMD5 = 4 << 20

func (c *call) writeOptions() store.WriteOptions {
	return store.WriteOptions{Conditions: conditions(c.r.Header, ""), LeaseID: c.leaseID(),
		IfTags: c.tt.ifTags, Tags: c.tt.tags, Tier: c.tt.tier, Retain: c.deleteRetention()}
}

func (c *call) readOptions() store.ReadOptions {
	return store.ReadOptions{Conditions: conditions(c.r.Header, ""), LeaseID: c.leaseID(), IfTags: c.tt.ifTags,
		Snapshot: c.hist.snapshot, VersionID: c.hist.versionID}
}

// Azure's size limits for one request body: Put Block (MaxBlockSize) and
// Put Blob (MaxPutBlobSize). Config.MaxBlobSize may lower both. A body is
// refused on its Content-Length, before any of it is read.
const (
	MaxBlockSize   = 4000 << 20
	MaxPutBlobSize = 5000 << 20
)

// emptyMD5 is the MD5 of no bytes, shared by every empty upload.
var emptyMD5 = md5.Sum(nil)

// smallBody is the largest body read into one buffer allocated up front.
const smallBody = 64 << 10

// readBody reads an upload body of at most limit bytes exactly once into a store.Content,
// computing its MD5 when wantMD5 is set. It answers the request and returns
// false when the body is missing, too large or shorter than Content-Length,
// so a client that disconnects mid-upload never commits anything.
func (c *call) readBody(wantMD5 bool, limit int64) (store.Content, []byte, bool) {
	switch {
	case c.r.ContentLength < 0:
		c.fail(http.StatusLengthRequired, "MissingContentLengthHeader", "Content-Length HTTP header is missing.")
		return store.Content{}, nil, false
	case c.r.ContentLength > limit:
		c.fail(http.StatusRequestEntityTooLarge, "RequestBodyTooLarge",
			fmt.Sprintf("The request body is too large and exceeds the maximum permissible limit of %d bytes.", limit))
		return store.Content{}, nil, false
	}
	n := c.r.ContentLength
	if n <= smallBody {
		// Small bodies (the common case) go into one exactly sized buffer.
		// Larger ones grow with what arrives (store.ReadContent), so that
		// a client that declares a large body and stalls holds little.
		buf := make([]byte, n)
		if _, err := io.ReadFull(c.r.Body, buf); err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
				c.contentLengthMismatch()
			} else {
				c.fail(http.StatusBadRequest, "InvalidInput", "The request body could not be read completely.")
			}
			return store.Content{}, nil, false
		}
		var sum []byte
		switch {
		case wantMD5 && n == 0:
			sum = emptyMD5[:] // shared: stored blobs are immutable
		case wantMD5:
			s := md5.Sum(buf)
			sum = s[:]
		}
		content, err := c.st.NewContent(buf)
		if err != nil {
			c.storeErr(err)
			return store.Content{}, nil, false
		}
		return content, sum, true
	}
	var h interface {
		io.Writer
		Sum() []byte
	}
	var rd io.Reader = c.r.Body
	switch {
	case wantMD5 && c.st.OnDisk():
		// The body streams to disk through a reused buffer, which the
		// asynchronous hasher must not keep: hash as it passes.
		h = &syncMD5{md5.New()}
		rd = io.TeeReader(rd, h)
	case wantMD5:
		a := newAsyncMD5()
		defer a.Sum() // idempotent; stops the hashing goroutine on every path
		h = a
		rd = io.TeeReader(rd, h)
	}
	content, err := c.st.ReadContent(rd, n, limit)
	switch {
	case errors.Is(err, store.ErrContentWrite):
		c.storeErr(err) // the disk failed, not the client
		return store.Content{}, nil, false
	case errors.Is(err, store.ErrTooLarge):
		c.fail(http.StatusRequestEntityTooLarge, "RequestBodyTooLarge", "The request body is too large and exceeds the maximum permissible limit.")
		return store.Content{}, nil, false
	case errors.Is(err, io.ErrUnexpectedEOF):
		// The connection ended before Content-Length bytes arrived.
		c.contentLengthMismatch()
		return store.Content{}, nil, false
	case err != nil:
		c.fail(http.StatusBadRequest, "InvalidInput", "The request body could not be read completely.")
		return store.Content{}, nil, false
	case content.Size() != n:
		c.contentLengthMismatch()
		return store.Content{}, nil, false
	}
	var sum []byte
	if h != nil {
		sum = h.Sum()
	}
	return content, sum, true
}

// syncMD5 hashes what is written to it at once.
type syncMD5 struct{ hash.Hash }

func (h *syncMD5) Sum() []byte { return h.Hash.Sum(nil) }

// asyncMD5 hashes on its own goroutine, so that hashing a large upload
// overlaps with reading it from the network. Write keeps a reference to p
// until Sum returns: callers must not reuse the slices they write, which
// holds for store.ReadContent, whose buffers become the blob's immutable
// chunks.
type asyncMD5 struct {
	ch   chan []byte
	done chan struct{}
	sum  []byte
	once sync.Once
}

func newAsyncMD5() *asyncMD5 {
	h := &asyncMD5{ch: make(chan []byte, 256), done: make(chan struct{})}
	go func() {
		m := md5.New()
		for p := range h.ch {
			m.Write(p)
		}
		h.sum = m.Sum(nil)
		close(h.done)
	}()
	return h
}

func (h *asyncMD5) Write(p []byte) (int, error) {
	if len(p) > 0 {
		h.ch <- p
	}
	return len(p), nil
}

// Sum waits for the hash of everything written.
func (h *asyncMD5) Sum() []byte {
	h.once.Do(func() { close(h.ch) })
	<-h.done
	return h.sum
}

func (c *call) md5Mismatch(sent, got []byte) {
	c.fail(http.StatusBadRequest, "Md5Mismatch", "The MD5 value specified in the request did not match with the MD5 value calculated by the server.",
		azerr.NewDetail("UserSpecifiedMd5", base64.StdEncoding.EncodeToString(sent)),
		azerr.NewDetail("ServerCalculatedMd5", base64.StdEncoding.EncodeToString(got)))
}

func (c *call) putBlob() {
	h := c.r.Header
	switch bt := h.Get("X-Ms-Blob-Type"); bt {
	case "BlockBlob":
	case "PageBlob":
		c.putPageBlob()
		return
	case "AppendBlob":
		c.putAppendBlob()
		return
	case "":
		c.missingHeader("x-ms-blob-type")
		return
	default:
		c.badHeader("x-ms-blob-type", bt)
		return
	}
	hh, sent, meta, ok := c.commitHeaders(true)
	if !ok {
		return
	}
	crc, ok := c.crc64Header()
	if !ok {
		return
	}
	content, sum, ok := c.readBody(true, min(c.s.cfg.MaxBlobSize, MaxPutBlobSize))
	if !ok {
		return
	}
	if sent != nil && !bytes.Equal(sent, sum) {
		c.md5Mismatch(sent, sum)
		return
	}
	if crc != nil && !c.checkCRC64(crc, content) {
		return
	}
	if hh.ContentMD5 == nil {
		hh.ContentMD5 = sum
	}
	b, err := c.st.PutBlob(c.addr.Account, c.addr.Container, c.addr.Blob, content, hh, meta, c.writeOptions())
	if err != nil {
		c.storeErr(err)
		return
	}
	c.answerWrite(b, sum, http.StatusCreated)
}

// answerWrite answers a write that stored data: the new ETag and Last-Modified of
// b (nil for Put Block, which changes no committed blob), the body's
// Content-MD5 when one was computed, and the server-encryption flag.
func (c *call) answerWrite(b *store.Blob, md5sum []byte, status int) {
	rh := c.w.Header()
	if b != nil {
		setWriteHeaders(rh, b.ETag, b.LastModified)
		setVersionHeaders(rh, b, false)
	}
	if md5sum != nil {
		setHeaders(rh, "Content-Md5", base64.StdEncoding.EncodeToString(md5sum), "X-Ms-Request-Server-Encrypted", "true", "Content-Length", "0")
	} else {
		setHeaders(rh, "X-Ms-Request-Server-Encrypted", "true", "Content-Length", "0")
	}
	c.ok(status)
}

// commitHeaders parses the headers shared by Put Blob and Put Block List:
// the blob's HTTP headers (putBlob lets the plain Content-* headers stand in),
// the Content-MD5 of the request body, metadata and the access tier. It
// answers the request and returns false when one is invalid.
func (c *call) commitHeaders(putBlob bool) (store.HTTPHeaders, []byte, map[string]string, bool) {
	hh, ok := c.blobHTTPHeaders(putBlob)
	if !ok {
		return hh, nil, nil, false
	}
	sent, ok := c.md5Header("Content-MD5")
	if !ok {
		return hh, nil, nil, false
	}
	meta, ok := c.metadata()
	if !ok {
		return hh, nil, nil, false
	}
	return hh, sent, meta, true
}

// validBlockID reports whether id is base64 of at most 64 bytes.
func validBlockID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	b, err := base64.StdEncoding.DecodeString(id)
	return err == nil && len(b) <= 64
}

func (c *call) putBlock() {
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
	sent, ok := c.md5Header("Content-MD5")
	if !ok {
		return
	}
	crc, ok := c.crc64Header()
	if !ok {
		return
	}
	content, sum, ok := c.readBody(sent != nil, min(c.s.cfg.MaxBlobSize, MaxBlockSize))
	if !ok {
		return
	}
	if sent != nil && !bytes.Equal(sent, sum) {
		c.md5Mismatch(sent, sum)
		return
	}
	if crc != nil && !c.checkCRC64(crc, content) {
		return
	}
	if err := c.st.StageBlock(c.addr.Account, c.addr.Container, c.addr.Blob, id, content, c.leaseID()); err != nil {
		c.storeErr(err)
		return
	}
	c.answerWrite(nil, sum, http.StatusCreated)
}

// errBlockListTooLong is parseBlockList's error for a list of more than
// store.MaxCommittedBlocks entries, answered with BlockListTooLong.
var errBlockListTooLong = errors.New("the block list may not contain more than 50,000 blocks")

// parseBlockList parses a Put Block List body, keeping the order of its
// entries.
func parseBlockList(body []byte) ([]store.BlockRef, error) {
	if err := wellFormed(body, "BlockList"); err != nil {
		return nil, err
	}
	d := xml.NewDecoder(bytes.NewReader(body))
	var refs []store.BlockRef
	depth := 0
	var cur *store.BlockRef
	var text strings.Builder
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return refs, nil
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 2 {
				var mode store.BlockListMode
				switch t.Name.Local {
				case "Committed":
					mode = store.BlockCommitted
				case "Uncommitted":
					mode = store.BlockUncommitted
				case "Latest":
					mode = store.BlockLatest
				default:
					return nil, fmt.Errorf("unexpected element <%s> in <BlockList>", t.Name.Local)
				}
				cur = &store.BlockRef{Mode: mode}
				text.Reset()
			} else if depth > 2 {
				return nil, fmt.Errorf("unexpected element <%s> inside a block entry", t.Name.Local)
			}
		case xml.CharData:
			if depth == 2 {
				text.Write(t)
			}
		case xml.EndElement:
			if depth == 2 && cur != nil {
				cur.ID = strings.TrimSpace(text.String())
				if len(refs) >= store.MaxCommittedBlocks {
					return nil, errBlockListTooLong
				}
				refs = append(refs, *cur)
				cur = nil
			}
			depth--
		}
	}
}

func (c *call) putBlockList() {
	hh, sent, meta, ok := c.commitHeaders(false)
	if !ok {
		return
	}
	crc, ok := c.crc64Header()
	if !ok {
		return
	}
	body, ok := c.readXMLBody()
	if !ok {
		return
	}
	if sent != nil {
		if sum := md5.Sum(body); !bytes.Equal(sent, sum[:]) {
			c.md5Mismatch(sent, sum[:])
			return
		}
	}
	if crc != nil && !c.checkCRC64(crc, store.Bytes(body)) {
		return
	}
	refs, err := parseBlockList(body)
	if errors.Is(err, errBlockListTooLong) {
		c.storeErr(store.ErrBlockListTooLong)
		return
	}
	if err != nil {
		c.invalidXML(err)
		return
	}
	for _, r := range refs {
		if !validBlockID(r.ID) {
			c.storeErr(store.ErrInvalidBlockList)
			return
		}
	}
	b, err := c.st.CommitBlockList(c.addr.Account, c.addr.Container, c.addr.Blob, refs, hh, meta, c.writeOptions())
	if err != nil {
		c.storeErr(err)
		return
	}
	c.answerWrite(b, nil, http.StatusCreated)
}

func (c *call) getBlockList() {
	lt := strings.ToLower(c.q.Get("blocklisttype"))
	switch lt {
	case "":
		lt = "committed"
	case "committed", "uncommitted", "all":
	default:
		c.badQuery("blocklisttype", c.q.Get("blocklisttype"), "blocklisttype must be committed, uncommitted or all.")
		return
	}
	if c.anon && lt != "committed" {
		// Anonymous clients may see only committed blocks.
		c.anonymousDenied()
		return
	}
	bl, err := c.st.BlockList(c.addr.Account, c.addr.Container, c.addr.Blob, c.readOptions())
	if err != nil {
		c.storeErr(err)
		return
	}
	if bl.Blob != nil && bl.Blob.Type() != store.BlockBlob {
		c.storeErr(store.ErrInvalidBlobType)
		return
	}
	rh := c.w.Header()
	if bl.Blob != nil {
		setWriteHeaders(rh, bl.Blob.ETag, bl.Blob.LastModified)
		rh.Set("x-ms-blob-content-length", strconv.FormatInt(bl.Blob.Size(), 10))
	}
	// Up to 150,000 entries: streamed like a listing.
	b := c.streamXML(http.StatusOK)
	defer b.done()
	b.open("BlockList")
	list := func(name string, blocks []store.Block) {
		b.open(name)
		for _, bk := range blocks {
			b.open("Block")
			b.elem("Name", bk.ID)
			b.elem("Size", strconv.FormatInt(bk.Content.Size(), 10))
			b.close("Block")
		}
		b.close(name)
	}
	if lt != "uncommitted" {
		list("CommittedBlocks", bl.Committed)
	}
	if lt != "committed" {
		list("UncommittedBlocks", bl.Uncommitted)
	}
	b.close("BlockList")
}

// getBlob answers Get Blob (GET) and Get Blob Properties (HEAD).
func (c *call) getBlob() {
	h := c.r.Header
	var (
		rng    byteRange
		ranged bool
	)
	wantRangeMD5, wantRangeCRC := false, false
	if c.r.Method == http.MethodGet {
		if v := h.Get("X-Ms-Range"); v != "" {
			var ok bool
			if rng, ok = parseRange(v); !ok {
				c.badHeader("x-ms-range", v)
				return
			}
			ranged = true
		} else if v := h.Get("Range"); v != "" {
			// Azure accepts only "bytes=a-" and "bytes=a-b". Any other
			// Range (a suffix, several ranges, another unit, a malformed
			// value) is ignored and the whole blob returned, as HTTP
			// (RFC 9110, section 14.2) lets a server do.
			rng, ranged = parseRange(v)
		}
		// Azure answers 400 InvalidHeaderValue when the range MD5 is asked
		// for without a range.
		if v := h.Get("X-Ms-Range-Get-Content-Md5"); strings.EqualFold(v, "true") {
			if !ranged {
				c.badHeader("x-ms-range-get-content-md5", v)
				return
			}
			wantRangeMD5 = true
		}
		if v := h.Get("X-Ms-Range-Get-Content-Crc64"); strings.EqualFold(v, "true") {
			if !ranged || wantRangeMD5 {
				c.badHeader("x-ms-range-get-content-crc64", v)
				return
			}
			wantRangeCRC = true
		}
	}
	b, err := c.st.Blob(c.addr.Account, c.addr.Container, c.addr.Blob, c.readOptions())
	if err == nil && c.r.Method == http.MethodGet {
		// Content on disk that is missing or truncated answers 500
		// before any byte is sent (a no-op for content in memory).
		err = b.CheckContent()
	}
	if err != nil {
		c.storeErr(err)
		return
	}
	if c.r.Method == http.MethodGet && b.Archived(c.now) {
		c.storeErr(store.ErrBlobArchived)
		return
	}
	size := b.Size()
	rh := c.w.Header()
	off, n := int64(0), size
	status := http.StatusOK
	if ranged {
		var ok bool
		off, n, ok = rng.resolve(size)
		if !ok {
			rh.Set("Content-Range", fmt.Sprintf("bytes */%d", size))
			c.storeErr(store.ErrInvalidRange)
			return
		}
		if (wantRangeMD5 || wantRangeCRC) && n > maxRangeMD5 {
			// Azure computes a range MD5 (or CRC64) for at most 4 MiB and
			// answers a larger range with 400 InvalidHeaderValue naming the
			// header.
			name := "x-ms-range-get-content-md5"
			if wantRangeCRC {
				name = "x-ms-range-get-content-crc64"
			}
			c.badHeader(name, h.Get(name))
			return
		}
		status = http.StatusPartialContent
		if c.r.Method == http.MethodGet {
			// A part of a content file is served only once the whole
			// file has been verified; a damaged one answers 500 here,
			// before any byte is sent.
			if err := b.Content.CheckRange(off, n); err != nil {
				c.storeErr(err)
				return
			}
		}
	}
	setBlobHeaders(rh, b, c.now)
	if c.auth == auth.ServiceSAS {
		// rscc, rscd, rsce, rscl and rsct replace the stored properties in
		// this answer; the SAS signature covers them.
		for k, v := range auth.SASResponseHeaders(c.q) {
			rh[k] = v
		}
	}
	if c.r.Method == http.MethodHead && b.Type() == store.BlockBlob {
		c.setTierHeaders(rh, b)
	}
	setTagCount(rh, b)
	setVersionHeaders(rh, b, true)
	// The Content-MD5 and Content-Length texts share one allocation, and
	// the whole-blob answer sets both with one value slice.
	// Room for the longest length (19 digits) after the MD5, which is 16
	// bytes through the API but may be longer in a record from a data
	// directory.
	var txt []byte
	if len(b.Headers.ContentMD5) > 0 {
		m := base64.StdEncoding.EncodedLen(len(b.Headers.ContentMD5))
		txt = make([]byte, m, m+19)
		base64.StdEncoding.Encode(txt, b.Headers.ContentMD5)
	}
	md5Len := len(txt)
	txt = strconv.AppendInt(txt, n, 10)
	texts := string(txt)
	md5b64, length := texts[:md5Len], texts[md5Len:]
	if !ranged {
		if md5b64 != "" {
			setHeaders(rh, "Content-Md5", md5b64, "Content-Length", length)
		} else {
			setHeaders(rh, "Content-Length", length)
		}
	} else {
		rh.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", off, off+n-1, size))
		if md5b64 != "" {
			rh.Set("X-Ms-Blob-Content-Md5", md5b64)
		}
		if wantRangeMD5 {
			m := md5.New()
			_, _ = b.WriteRange(m, off, n)
			rh.Set("Content-Md5", base64.StdEncoding.EncodeToString(m.Sum(nil)))
		}
		if wantRangeCRC {
			rh.Set("X-Ms-Content-Crc64", base64.StdEncoding.EncodeToString(crc64Range(b.ContentRange(off, n), 0, n)))
		}
		rh.Set("Content-Length", length)
	}
	c.ok(status)
	if c.r.Method == http.MethodHead || n == 0 {
		return
	}
	_, _ = b.WriteRange(c.w, off, n)
}

func (c *call) getBlobMetadata() {
	b, err := c.st.Blob(c.addr.Account, c.addr.Container, c.addr.Blob, c.readOptions())
	if err != nil {
		c.storeErr(err)
		return
	}
	rh := c.w.Header()
	setWriteHeaders(rh, b.ETag, b.LastModified)
	setVersionHeaders(rh, b, true)
	writeMetadata(rh, b.Metadata)
	rh.Set("Content-Length", "0")
	c.ok(http.StatusOK)
}

func (c *call) setBlobProperties() {
	if c.setPageBlobProperties() {
		return
	}
	hh, ok := c.blobHTTPHeaders(false)
	if !ok {
		return
	}
	b, err := c.st.SetBlobHTTPHeaders(c.addr.Account, c.addr.Container, c.addr.Blob, hh, c.writeOptions())
	if err != nil {
		c.storeErr(err)
		return
	}
	setWriteHeaders(c.w.Header(), b.ETag, b.LastModified)
	c.w.Header().Set("Content-Length", "0")
	c.ok(http.StatusOK)
}

func (c *call) setBlobMetadata() {
	meta, ok := c.metadata()
	if !ok {
		return
	}
	b, err := c.st.SetBlobMetadata(c.addr.Account, c.addr.Container, c.addr.Blob, meta, c.writeOptions())
	if err != nil {
		c.storeErr(err)
		return
	}
	c.answerWrite(b, nil, http.StatusOK)
}

// intHeader parses an optional integer header; def when absent. It answers
// the request and returns false when the value is not an integer.
func (c *call) intHeader(name string, def int) (int, bool) {
	v := c.r.Header.Get(name)
	if v == "" {
		return def, true
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		c.badHeader(name, v)
		return 0, false
	}
	return n, true
}

// leaseRequest reads the headers of Lease Blob and Lease Container. It
// answers the request and returns false when one is missing or invalid.
func (c *call) leaseRequest() (store.LeaseRequest, bool) {
	h := c.r.Header
	req := store.LeaseRequest{
		Action:     store.LeaseAction(strings.ToLower(h.Get("x-ms-lease-action"))),
		ID:         c.leaseID(),
		ProposedID: h.Get("x-ms-proposed-lease-id"),
		IfTags:     c.tt.ifTags,
	}
	switch req.Action {
	case store.LeaseAcquire, store.LeaseBreak, store.LeaseRenew, store.LeaseRelease, store.LeaseChange:
	case "":
		c.missingHeader("x-ms-lease-action")
		return req, false
	default:
		c.badHeader("x-ms-lease-action", h.Get("x-ms-lease-action"))
		return req, false
	}
	// Lease ids are GUIDs; Azure refuses any other value with 400.
	for _, name := range []string{"x-ms-lease-id", "x-ms-proposed-lease-id"} {
		if v := h.Get(name); v != "" && uuid.Validate(v) != nil {
			c.badHeader(name, v)
			return req, false
		}
	}
	var ok bool
	switch req.Action {
	case store.LeaseAcquire:
		if h.Get("x-ms-lease-duration") == "" {
			c.missingHeader("x-ms-lease-duration")
			return req, false
		}
		if req.Duration, ok = c.intHeader("x-ms-lease-duration", -1); !ok {
			return req, false
		}
		if req.Duration != -1 && (req.Duration < 15 || req.Duration > 60) {
			c.fail(http.StatusBadRequest, "InvalidHeaderValue", store.ErrInvalidLeaseDuration.Message,
				azerr.NewDetail("HeaderName", "x-ms-lease-duration"), azerr.NewDetail("HeaderValue", h.Get("x-ms-lease-duration")))
			return req, false
		}
	case store.LeaseBreak:
		if req.BreakPeriod, ok = c.intHeader("x-ms-lease-break-period", -1); !ok {
			return req, false
		}
		if h.Get("x-ms-lease-break-period") != "" && (req.BreakPeriod < 0 || req.BreakPeriod > 60) {
			c.fail(http.StatusBadRequest, "InvalidHeaderValue", store.ErrInvalidLeaseBreakPeriod.Message,
				azerr.NewDetail("HeaderName", "x-ms-lease-break-period"), azerr.NewDetail("HeaderValue", h.Get("x-ms-lease-break-period")))
			return req, false
		}
	case store.LeaseRenew, store.LeaseRelease:
		if req.ID == "" {
			c.missingHeader("x-ms-lease-id")
			return req, false
		}
	case store.LeaseChange:
		if req.ID == "" {
			c.missingHeader("x-ms-lease-id")
			return req, false
		}
		if req.ProposedID == "" {
			c.missingHeader("x-ms-proposed-lease-id")
			return req, false
		}
	}
	return req, true
}

func (c *call) leaseBlob() {
	req, ok := c.leaseRequest()
	if !ok {
		return
	}
	res, err := c.st.LeaseBlob(c.addr.Account, c.addr.Container, c.addr.Blob, req, conditions(c.r.Header, ""))
	if err != nil {
		c.storeErr(err)
		return
	}
	c.answerLease(req, res)
}

// answerLease answers a successful lease action.
func (c *call) answerLease(req store.LeaseRequest, res store.LeaseResult) {
	rh := c.w.Header()
	setWriteHeaders(rh, res.ETag, res.LastModified)
	rh.Set("Content-Length", "0")
	switch req.Action {
	case store.LeaseAcquire:
		rh.Set("x-ms-lease-id", res.ID)
		c.ok(http.StatusCreated)
	case store.LeaseBreak:
		rh.Set("x-ms-lease-time", strconv.Itoa(res.TimeLeft))
		c.ok(http.StatusAccepted)
	case store.LeaseRelease:
		c.ok(http.StatusOK)
	default:
		rh.Set("x-ms-lease-id", res.ID)
		c.ok(http.StatusOK)
	}
}
