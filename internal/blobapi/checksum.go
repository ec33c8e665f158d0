package blobapi

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"hash/crc64"
	"net/http"
	"strconv"

	"github.com/geoblob/geoblob/internal/azerr"
	"github.com/geoblob/geoblob/internal/store"
)

// Azure's CRC-64 (x-ms-content-crc64) is the reflected CRC-64 with the
// polynomial 0x9A6C9329AC4BC9B5 (in the bit order hash/crc64 takes), the
// one azblob computes for TransferValidationTypeComputeCRC64; the header
// carries its 8 bytes little-endian, base64-encoded.
const crc64Polynomial = 0x9A6C9329AC4BC9B5

var crc64Table = crc64.MakeTable(crc64Polynomial)

// CRC64 returns Azure's CRC-64 of p as x-ms-content-crc64 carries it.
func CRC64(p []byte) []byte { return encodeCRC64(crc64.Checksum(p, crc64Table)) }

func encodeCRC64(v uint64) []byte {
	b := make([]byte, 8)
	binary.LittleEndian.PutUint64(b, v)
	return b
}

// crc64Range is Azure's CRC-64 of n bytes of c from off.
func crc64Range(c store.Content, off, n int64) []byte {
	h := crc64.New(crc64Table)
	_, _ = c.WriteRange(h, off, n)
	return encodeCRC64(h.Sum64())
}

func md5Of(c store.Content) []byte {
	h := md5.New()
	_, _ = c.WriteTo(h)
	return h.Sum(nil)
}

func itoa(n int) string { return strconv.Itoa(n) }

// crc64Header decodes x-ms-content-crc64. As in Azure a request may carry
// Content-MD5 or x-ms-content-crc64, not both. It answers the request and
// returns false when the header is malformed or both are given.
func (c *call) crc64Header() ([]byte, bool) {
	v := c.r.Header.Get("X-Ms-Content-Crc64")
	if v == "" {
		return nil, true
	}
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(b) != 8 {
		c.badHeader("x-ms-content-crc64", v)
		return nil, false
	}
	if c.r.Header.Get("Content-Md5") != "" {
		c.fail(http.StatusBadRequest, "InvalidHeaderValue",
			"Content-MD5 and x-ms-content-crc64 may not both be given; send one of them.",
			azerr.NewDetail("HeaderName", "x-ms-content-crc64"), azerr.NewDetail("HeaderValue", v))
		return nil, false
	}
	return b, true
}

// checkCRC64 compares the CRC-64 the client sent with the body's. On a
// match it echoes the value in x-ms-content-crc64, as Azure does; on a
// mismatch it answers 400 Crc64Mismatch and returns false.
func (c *call) checkCRC64(sent []byte, content store.Content) bool {
	got := crc64Range(content, 0, content.Size())
	if !bytes.Equal(sent, got) {
		c.crc64Mismatch(sent, got)
		return false
	}
	c.w.Header().Set("x-ms-content-crc64", base64.StdEncoding.EncodeToString(got))
	return true
}
