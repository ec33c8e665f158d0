package blobapi

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"

	"github.com/geoblob/geoblob/internal/azerr"
	"github.com/geoblob/geoblob/internal/store"
)

// Append blobs: Put Blob with x-ms-blob-type: AppendBlob, Append Block,
// Seal, and (in fromurl.go) Append Block From URL.

// Azure's limit on one Append Block: 100 MiB from x-ms-version 2022-11-02,
// 4 MiB for earlier versions. Config.MaxBlobSize may lower both.
const (
	MaxAppendBlockSize       = 100 << 20
	MaxAppendBlockSizeLegacy = 4 << 20
	appendBlock100MiBVersion = "2022-11-02"
)

// maxAppendBlockSize is the largest Append Block body the request's
// x-ms-version allows.
func (c *call) maxAppendBlockSize() int64 {
	n := int64(MaxAppendBlockSizeLegacy)
	// Versions are dates (YYYY-MM-DD): they compare as strings.
	if v := strings.TrimSpace(c.r.Header.Get("x-ms-version")); v >= appendBlock100MiBVersion {
		n = MaxAppendBlockSize
	}
	return min(n, c.s.cfg.MaxBlobSize)
}

// appendOptions reads the write conditions, the lease and the append
// conditions. It answers the request and returns false when one is
// malformed.
func (c *call) appendOptions() (store.AppendOptions, bool) {
	o := store.AppendOptions{WriteOptions: c.writeOptions(), AppendPos: -1, MaxSize: -1}
	for _, p := range []struct {
		name string
		dst  *int64
	}{{"x-ms-blob-condition-appendpos", &o.AppendPos}, {"x-ms-blob-condition-maxsize", &o.MaxSize}} {
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

// crc64HeaderNamed decodes the base64 CRC-64 header name. It answers the
// request and returns false when the value is malformed.
func (c *call) crc64HeaderNamed(name string) ([]byte, bool) {
	v := c.r.Header.Get(name)
	if v == "" {
		return nil, true
	}
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(b) != 8 {
		c.badHeader(name, v)
		return nil, false
	}
	return b, true
}

// contentCRC64 is the CRC-64 of content, as Azure encodes it.
func contentCRC64(content store.Content) []byte { return crc64Range(content, 0, content.Size()) }

func (c *call) crc64Mismatch(sent, got []byte) {
	c.fail(http.StatusBadRequest, "Crc64Mismatch", "The CRC64 value specified in the request did not match with the CRC64 value calculated by the server.",
		azerr.NewDetail("UserSpecifiedCrc64", base64.StdEncoding.EncodeToString(sent)),
		azerr.NewDetail("ServerCalculatedCrc64", base64.StdEncoding.EncodeToString(got)))
}

// putAppendBlob creates an empty append blob (Put Blob with x-ms-blob-type:
// AppendBlob). Azure requires an empty body.
func (c *call) putAppendBlob() {
	if c.r.ContentLength != 0 {
		c.badHeader("Content-Length", strconv.FormatInt(c.r.ContentLength, 10))
		return
	}
	if c.tt.tier != "" {
		// Access tiers are for block blobs.
		c.badHeader("x-ms-access-tier", c.r.Header.Get("x-ms-access-tier"))
		return
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
	b, err := c.st.CreateAppendBlob(c.addr.Account, c.addr.Container, c.addr.Blob, hh, meta, c.writeOptions())
	if err != nil {
		c.storeErr(err)
		return
	}
	c.answerWrite(b, nil, http.StatusCreated)
}

// appendBlock answers Append Block.
func (c *call) appendBlock() {
	o, ok := c.appendOptions()
	if !ok {
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
	if c.r.ContentLength == 0 {
		// Azure refuses an empty block.
		c.badHeader("Content-Length", "0")
		return
	}
	content, sum, ok := c.readBody(true, c.maxAppendBlockSize())
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
	c.commitAppend(content, o, sum, crc)
}

// commitAppend appends content and answers with the append headers.
func (c *call) commitAppend(content store.Content, o store.AppendOptions, md5sum, crc []byte) {
	b, off, err := c.st.AppendBlock(c.addr.Account, c.addr.Container, c.addr.Blob, content, o)
	if err != nil {
		c.storeErr(err)
		return
	}
	rh := c.w.Header()
	rh.Set("x-ms-blob-append-offset", strconv.FormatInt(off, 10))
	rh.Set("x-ms-blob-committed-block-count", strconv.Itoa(int(b.CommittedBlockCount)))
	if crc != nil {
		rh.Set("x-ms-content-crc64", base64.StdEncoding.EncodeToString(crc))
	}
	c.answerWrite(b, md5sum, http.StatusCreated)
}

// sealBlob answers Seal (comp=seal).
func (c *call) sealBlob() {
	o, ok := c.appendOptions()
	if !ok {
		return
	}
	b, err := c.st.SealBlob(c.addr.Account, c.addr.Container, c.addr.Blob, o)
	if err != nil {
		c.storeErr(err)
		return
	}
	rh := c.w.Header()
	setWriteHeaders(rh, b.ETag, b.LastModified)
	rh.Set("x-ms-blob-sealed", "true")
	rh.Set("Content-Length", "0")
	c.ok(http.StatusOK)
}

// setAppendHeaders adds an append blob's state to Get Blob and Get Blob
// Properties answers.
func setAppendHeaders(h http.Header, b *store.Blob) {
	if b.Type() != store.AppendBlob {
		return
	}
	h.Set("X-Ms-Blob-Committed-Block-Count", strconv.Itoa(int(b.CommittedBlockCount)))
	h.Set("X-Ms-Blob-Sealed", strconv.FormatBool(b.Sealed))
}
