package blobapi

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/geoblob/geoblob/internal/auth"
	"github.com/geoblob/geoblob/internal/store"
)

// Page blobs: Put Blob with x-ms-blob-type: PageBlob, Put Page (update and
// clear), Put Page From URL, Get Page Ranges, and the page blob part of
// Set Blob Properties (resize and sequence numbers).

// MaxPutPageSize is Azure's limit on one Put Page: 4 MiB.
const MaxPutPageSize = 4 << 20

var (
	opPutPage        = &op{name: "PutPage", write: true, perm: auth.PermWrite, rt: auth.ResourceObject, run: (*call).putPage}
	opPutPageFromURL = &op{name: "PutPageFromURL", write: true, perm: auth.PermWrite, rt: auth.ResourceObject, run: (*call).putPageFromURL}
	opGetPageRanges  = &op{name: "GetPageRanges", perm: auth.PermRead, rt: auth.ResourceObject, run: (*call).getPageRanges}
)

// putPageBlob creates a page blob (Put Blob with x-ms-blob-type:
// PageBlob). Azure requires an empty body and x-ms-blob-content-length, a
// multiple of 512 of at most 8 TiB.
func (c *call) putPageBlob() {
	if c.r.ContentLength != 0 {
		c.badHeader("Content-Length", strconv.FormatInt(c.r.ContentLength, 10))
		return
	}
	if c.tt.tier != "" {
		// Page blob tiers (P4...P80) exist on premium accounts only; the
		// emulator's accounts are standard, where Azure refuses them.
		c.badHeader("x-ms-access-tier", c.r.Header.Get("x-ms-access-tier"))
		return
	}
	h := c.r.Header
	lv := h.Get("x-ms-blob-content-length")
	if lv == "" {
		c.missingHeader("x-ms-blob-content-length")
		return
	}
	size, err := strconv.ParseInt(strings.TrimSpace(lv), 10, 64)
	if err != nil || size < 0 || size%store.PageSize != 0 || size > store.MaxPageBlobSize {
		c.badHeader("x-ms-blob-content-length", lv)
		return
	}
	seq := int64(0)
	if v := h.Get("x-ms-blob-sequence-number"); v != "" {
		if seq, err = strconv.ParseInt(strings.TrimSpace(v), 10, 64); err != nil || seq < 0 {
			c.badHeader("x-ms-blob-sequence-number", v)
			return
		}
	}
	hh, sent, meta, ok := c.commitHeaders(true)
	if !ok {
		return
	}
	if sent != nil {
		if sum := md5.Sum(nil); !bytes.Equal(sent, sum[:]) {
			c.md5Mismatch(sent, sum[:])
			return
		}
	}
	b, err := c.st.CreatePageBlob(c.addr.Account, c.addr.Container, c.addr.Blob, size, seq, hh, meta, c.writeOptions())
	if err != nil {
		c.storeErr(err)
		return
	}
	c.answerWrite(b, nil, http.StatusCreated)
}

// pageOptions reads the write conditions, the lease and the sequence
// number conditions. It answers the request and returns false when one is
// malformed.
func (c *call) pageOptions() (store.PageOptions, bool) {
	o := store.PageOptions{WriteOptions: c.writeOptions(), IfSequenceNumberLE: -1, IfSequenceNumberLT: -1, IfSequenceNumberEQ: -1}
	for _, p := range []struct {
		name string
		dst  *int64
	}{{"x-ms-if-sequence-number-le", &o.IfSequenceNumberLE}, {"x-ms-if-sequence-number-lt", &o.IfSequenceNumberLT}, {"x-ms-if-sequence-number-eq", &o.IfSequenceNumberEQ}} {
		v := c.r.Header.Get(p.name)
		if v == "" {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n < 0 {
			c.badHeader(p.name, v)
			return o, false
		}
		*p.dst = n
	}
	return o, true
}

// pageRange reads the page range of a Put Page: x-ms-range, else Range.
// Both ends must be page aligned: it starts at a multiple of 512 and its
// length is one. Azure answers an unaligned range with 400
// InvalidHeaderValue naming the header. It answers the request and returns
// false otherwise.
func (c *call) pageRange() (off, n int64, ok bool) {
	name := "x-ms-range"
	v := c.r.Header.Get(name)
	if v == "" {
		name = "Range"
		v = c.r.Header.Get(name)
	}
	if v == "" {
		c.missingHeader("x-ms-range")
		return 0, 0, false
	}
	r, ok := parseRange(v)
	if !ok || r.end < 0 {
		c.badHeader(name, v)
		return 0, 0, false
	}
	off, n = r.start, r.end-r.start+1
	if off%store.PageSize != 0 || n%store.PageSize != 0 {
		c.badHeader(name, v)
		return 0, 0, false
	}
	return off, n, true
}

// pageWrite reads x-ms-page-write: "update" or "clear".
func (c *call) pageWrite() (string, bool) {
	v := c.r.Header.Get("x-ms-page-write")
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "update":
		return "update", true
	case "clear":
		return "clear", true
	case "":
		c.missingHeader("x-ms-page-write")
	default:
		c.badHeader("x-ms-page-write", v)
	}
	return "", false
}

// putPage answers Put Page: an update writes the body at the range, a
// clear (with no body) zeroes the range.
func (c *call) putPage() {
	write, ok := c.pageWrite()
	if !ok {
		return
	}
	o, ok := c.pageOptions()
	if !ok {
		return
	}
	off, n, ok := c.pageRange()
	if !ok {
		return
	}
	if write == "clear" {
		if !c.noBody() {
			return
		}
		b, err := c.st.ClearPages(c.addr.Account, c.addr.Container, c.addr.Blob, off, n, o)
		c.answerPage(b, err, nil, nil)
		return
	}
	if n > MaxPutPageSize {
		c.fail(http.StatusRequestEntityTooLarge, "RequestBodyTooLarge",
			"The request body is too large and exceeds the maximum permissible limit of 4194304 bytes.")
		return
	}
	sentMD5, ok := c.md5Header("Content-MD5")
	if !ok {
		return
	}
	sentCRC, ok := c.crc64Header()
	if !ok {
		return
	}
	if c.r.ContentLength >= 0 && c.r.ContentLength != n {
		// The range and the body must have the same length.
		c.badHeader("Content-Length", strconv.FormatInt(c.r.ContentLength, 10))
		return
	}
	content, sum, ok := c.readBody(true, n)
	if !ok {
		return
	}
	if sentMD5 != nil && !bytes.Equal(sentMD5, sum) {
		c.md5Mismatch(sentMD5, sum)
		return
	}
	var crc []byte
	if sentCRC != nil {
		if crc = contentCRC64(content); !bytes.Equal(sentCRC, crc) {
			c.crc64Mismatch(sentCRC, crc)
			return
		}
	}
	b, err := c.st.PutPages(c.addr.Account, c.addr.Container, c.addr.Blob, off, content, o)
	c.answerPage(b, err, sum, crc)
}

// putPageFromURL answers Put Page From URL: the pages of x-ms-range are
// written with the bytes of x-ms-source-range of x-ms-copy-source.
func (c *call) putPageFromURL() {
	if write, ok := c.pageWrite(); !ok {
		return
	} else if write != "update" {
		c.badHeader("x-ms-page-write", c.r.Header.Get("x-ms-page-write"))
		return
	}
	o, ok := c.pageOptions()
	if !ok {
		return
	}
	if !c.noBody() {
		return
	}
	off, n, ok := c.pageRange()
	if !ok {
		return
	}
	rng, ok := c.sourceRange()
	if !ok {
		return
	}
	if rng == nil {
		c.missingHeader("x-ms-source-range")
		return
	}
	if rng.end < 0 || rng.end-rng.start+1 != n {
		c.badHeader("x-ms-source-range", c.r.Header.Get("x-ms-source-range"))
		return
	}
	if n > MaxPutPageSize {
		c.fail(http.StatusRequestEntityTooLarge, "RequestBodyTooLarge",
			"The request body is too large and exceeds the maximum permissible limit of 4194304 bytes.")
		return
	}
	d, crc, ok := c.readSource(MaxPutPageSize, rng)
	if !ok {
		return
	}
	if d.content.Size() != n {
		// The source ended inside the range.
		c.storeErr(store.ErrInvalidRange)
		return
	}
	b, err := c.st.PutPages(c.addr.Account, c.addr.Container, c.addr.Blob, off, d.content, o)
	c.answerPage(b, err, md5Of(d.content), crc)
}

// answerPage answers a Put Page with the page blob headers.
func (c *call) answerPage(b *store.Blob, err error, md5sum, crc []byte) {
	if err != nil {
		c.storeErr(err)
		return
	}
	rh := c.w.Header()
	rh.Set("x-ms-blob-sequence-number", strconv.FormatInt(b.SequenceNumber, 10))
	if crc != nil {
		rh.Set("x-ms-content-crc64", base64.StdEncoding.EncodeToString(crc))
	}
	c.answerWrite(b, md5sum, http.StatusCreated)
}

// maxPageRanges is the most ranges one Get Page Ranges answer lists when
// the client sets no smaller maxresults; the rest follow a NextMarker.
const maxPageRanges = 10000

// getPageRanges answers Get Page Ranges (comp=pagelist): the written
// ranges of a page blob, within Range/x-ms-range when given. With
// prevsnapshot it is the diff form: the ranges changed and cleared since
// that snapshot (store/pagediff.go). The diff against a snapshot of
// another account (x-ms-previous-snapshot-url, managed disks) is refused
// with 501.
func (c *call) getPageRanges() {
	if c.r.Header.Get("x-ms-previous-snapshot-url") != "" {
		c.notImplementedFeature("page range diffs against a snapshot URL (x-ms-previous-snapshot-url)")
		return
	}
	prevSnap := ""
	if c.q.Has("prevsnapshot") {
		v := c.q.Get("prevsnapshot")
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			c.badQuery("prevsnapshot", v, "prevsnapshot must be the id of a snapshot of the blob.")
			return
		}
		prevSnap = store.HistoryID(t)
	}
	limit, ok := c.intHeaderQuery("maxresults", maxPageRanges)
	if !ok {
		return
	}
	start := int64(0)
	if m := c.q.Get("marker"); m != "" {
		v, err := strconv.ParseInt(decodeMarker(m), 10, 64)
		if err != nil || v < 0 {
			c.fail(http.StatusBadRequest, "InvalidQueryParameterValue", "Value for one of the query parameters specified in the request URI is invalid: marker.")
			return
		}
		start = v
	}
	var b, prev *store.Blob
	var err error
	if prevSnap != "" {
		b, prev, err = c.st.PageBlobs(c.addr.Account, c.addr.Container, c.addr.Blob, prevSnap, c.readOptions())
	} else {
		b, err = c.st.Blob(c.addr.Account, c.addr.Container, c.addr.Blob, c.readOptions())
	}
	if err != nil {
		c.storeErr(err)
		return
	}
	if b.Type() != store.PageBlob || (prev != nil && prev.Type() != store.PageBlob) {
		c.storeErr(store.ErrInvalidBlobType)
		return
	}
	off, n := int64(0), b.Size()
	name := "x-ms-range"
	v := c.r.Header.Get(name)
	if v == "" {
		name = "Range"
		v = c.r.Header.Get(name)
	}
	if v != "" {
		r, ok := parseRange(v)
		if !ok {
			c.badHeader(name, v)
			return
		}
		if r.start%store.PageSize != 0 || (r.end >= 0 && (r.end+1)%store.PageSize != 0) {
			c.badHeader(name, v)
			return
		}
		if off, n, ok = r.resolve(b.Size()); !ok {
			off, n = r.start, 0
		}
	}
	if start > off {
		n -= min(n, start-off)
		off = start
	}
	var ranges []store.DiffRange
	if prev != nil {
		ranges = b.PageRangeDiff(prev, off, n)
	} else {
		for _, r := range b.PageRanges(off, n) {
			ranges = append(ranges, store.DiffRange{PageRange: r})
		}
	}
	next := ""
	if len(ranges) > limit {
		next = encodeMarker(strconv.FormatInt(ranges[limit].Start, 10))
		ranges = ranges[:limit]
	}
	rh := c.w.Header()
	setWriteHeaders(rh, b.ETag, b.LastModified)
	rh.Set("x-ms-blob-content-length", strconv.FormatInt(b.Size(), 10))
	x := newXML()
	x.open("PageList")
	for _, r := range ranges {
		el := "PageRange"
		if r.Cleared {
			el = "ClearRange"
		}
		x.open(el)
		x.elem("Start", strconv.FormatInt(r.Start, 10))
		x.elem("End", strconv.FormatInt(r.End, 10))
		x.close(el)
	}
	x.opt("NextMarker", next)
	x.close("PageList")
	c.sendXML(http.StatusOK, x)
}

// intHeaderQuery reads a positive integer query parameter, def when
// absent and capped at def.
func (c *call) intHeaderQuery(name string, def int) (int, bool) {
	v := c.q.Get(name)
	if v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		c.fail(http.StatusBadRequest, "OutOfRangeQueryParameterValue", "One of the query parameters specified in the request URI is outside the permissible range: "+name+".")
		return 0, false
	}
	return min(n, def), true
}

// setPageBlobProperties answers Set Blob Properties with the page blob
// headers x-ms-blob-content-length (resize) and x-ms-sequence-number-action
// with x-ms-blob-sequence-number. It returns false, without answering,
// when the request has none of them.
func (c *call) setPageBlobProperties() bool {
	h := c.r.Header
	lv, action, sv := h.Get("x-ms-blob-content-length"), h.Get("x-ms-sequence-number-action"), h.Get("x-ms-blob-sequence-number")
	if lv == "" && action == "" && sv == "" {
		return false
	}
	o := store.ResizeOptions{WriteOptions: c.writeOptions(), Length: -1}
	if lv != "" {
		n, err := strconv.ParseInt(strings.TrimSpace(lv), 10, 64)
		if err != nil || n < 0 || n%store.PageSize != 0 || n > store.MaxPageBlobSize {
			c.badHeader("x-ms-blob-content-length", lv)
			return true
		}
		o.Length = n
	}
	switch a := strings.ToLower(strings.TrimSpace(action)); a {
	case "":
		if sv != "" {
			c.missingHeader("x-ms-sequence-number-action")
			return true
		}
	case "max", "update":
		if sv == "" {
			c.missingHeader("x-ms-blob-sequence-number")
			return true
		}
		n, err := strconv.ParseInt(strings.TrimSpace(sv), 10, 64)
		if err != nil || n < 0 {
			c.badHeader("x-ms-blob-sequence-number", sv)
			return true
		}
		o.SequenceAction, o.SequenceNumber = a, n
	case "increment":
		if sv != "" {
			// Azure refuses a number with increment.
			c.badHeader("x-ms-blob-sequence-number", sv)
			return true
		}
		o.SequenceAction = a
	default:
		c.badHeader("x-ms-sequence-number-action", action)
		return true
	}
	var hh *store.HTTPHeaders
	if c.hasHTTPHeaders() {
		v, ok := c.blobHTTPHeaders(false)
		if !ok {
			return true
		}
		hh = &v
	}
	b, err := c.st.SetPageBlobProperties(c.addr.Account, c.addr.Container, c.addr.Blob, hh, o)
	if err != nil {
		c.storeErr(err)
		return true
	}
	rh := c.w.Header()
	setWriteHeaders(rh, b.ETag, b.LastModified)
	rh.Set("x-ms-blob-sequence-number", strconv.FormatInt(b.SequenceNumber, 10))
	rh.Set("Content-Length", "0")
	c.ok(http.StatusOK)
	return true
}

// hasHTTPHeaders reports whether the request sets any standard property.
func (c *call) hasHTTPHeaders() bool {
	for _, name := range []string{"x-ms-blob-content-type", "x-ms-blob-content-encoding", "x-ms-blob-content-language",
		"x-ms-blob-content-disposition", "x-ms-blob-cache-control", "x-ms-blob-content-md5"} {
		if _, ok := c.r.Header[http.CanonicalHeaderKey(name)]; ok {
			return true
		}
	}
	return false
}

// setPageHeaders adds a page blob's sequence number to Get Blob and Get
// Blob Properties answers.
func setPageHeaders(h http.Header, b *store.Blob) {
	if b.Type() == store.PageBlob {
		h.Set("X-Ms-Blob-Sequence-Number", strconv.FormatInt(b.SequenceNumber, 10))
	}
}
