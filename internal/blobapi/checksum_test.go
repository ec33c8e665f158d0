package blobapi_test

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"hash/crc64"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"

	"github.com/geoblob/geoblob/internal/blobapi"
)

// sdkCRC64 computes the CRC-64 the way azblob does (its polynomial, in
// hash/crc64's reflected form), independently of the emulator's code.
func sdkCRC64(p []byte) uint64 {
	return crc64.Checksum(p, crc64.MakeTable(0x9A6C9329AC4BC9B5))
}

// TestTransactionalChecksums: Put Blob, Put Block and Put Block List verify
// Content-MD5 and x-ms-content-crc64, as the SDK's TransactionalValidation
// sends them, and answer Md5Mismatch / Crc64Mismatch on a mismatch without
// storing anything.
func TestTransactionalChecksums(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("sums")
	cc := e.client.ServiceClient().NewContainerClient("sums")
	data := []byte(strings.Repeat("geo-redundant ", 5000))
	goodMD5 := md5.Sum(data)
	tests := []struct {
		name string
		v    blob.TransferValidationType
		code bloberror.Code
	}{
		{"computed CRC64", blob.TransferValidationTypeComputeCRC64(), ""},
		{"precomputed CRC64", blob.TransferValidationTypeCRC64(sdkCRC64(data)), ""},
		{"wrong CRC64", blob.TransferValidationTypeCRC64(sdkCRC64(data) ^ 1), bloberror.CRC64Mismatch},
		{"MD5", blob.TransferValidationTypeMD5(goodMD5[:]), ""},
		{"wrong MD5", blob.TransferValidationTypeMD5(make([]byte, 16)), bloberror.MD5Mismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := strings.ReplaceAll(tt.name, " ", "-")
			bb := cc.NewBlockBlobClient(name)
			_, err := bb.Upload(ctx(), streamOf(data), &blockblob.UploadOptions{TransactionalValidation: tt.v})
			_, serr := bb.StageBlock(ctx(), blockID(1), streamOf(data), &blockblob.StageBlockOptions{TransactionalValidation: tt.v})
			if tt.code != "" {
				wantCode(t, err, 400, tt.code)
				wantCode(t, serr, 400, tt.code)
				if _, err := bb.GetProperties(ctx(), nil); !bloberror.HasCode(err, bloberror.BlobNotFound) {
					t.Fatalf("the refused upload stored a blob: %v", err)
				}
				bl, err := bb.GetBlockList(ctx(), blockblob.BlockListTypeAll, nil)
				if err == nil && len(bl.UncommittedBlocks) > 0 {
					t.Fatalf("the refused Put Block staged a block")
				}
				return
			}
			if err != nil || serr != nil {
				t.Fatalf("upload %v, stage %v", err, serr)
			}
			if got := e.mustDownload(e.client, "sums", name); string(got) != string(data) {
				t.Fatal("content differs")
			}
		})
	}

	// Put Block List checks the CRC64 of its body.
	bb := cc.NewBlockBlobClient("computed-CRC64")
	body := `<?xml version="1.0" encoding="utf-8"?><BlockList><Latest>` + blockID(1) + `</Latest></BlockList>`
	crc := make([]byte, 8)
	binary.LittleEndian.PutUint64(crc, sdkCRC64([]byte(body)))
	resp := e.do("PUT", "/"+devAccount+"/sums/computed-CRC64?comp=blocklist", map[string]string{"x-ms-content-crc64": base64.StdEncoding.EncodeToString(crc)}, strings.NewReader(body))
	if resp.StatusCode != 201 || resp.Header.Get("x-ms-content-crc64") != base64.StdEncoding.EncodeToString(crc) {
		t.Fatalf("block list with its CRC64: %d %s", resp.StatusCode, resp.Header.Get("x-ms-error-code"))
	}
	// (The SDK refuses a user CRC64 on Put Block List; sent by hand.)
	resp = e.do("PUT", "/"+devAccount+"/sums/computed-CRC64?comp=blocklist", map[string]string{"x-ms-content-crc64": "AAAAAAAAAAA="}, strings.NewReader(body))
	if resp.StatusCode != 400 || resp.Header.Get("x-ms-error-code") != "Crc64Mismatch" {
		t.Fatalf("block list with a wrong CRC64: %d %s", resp.StatusCode, resp.Header.Get("x-ms-error-code"))
	}
	if _, err := bb.GetProperties(ctx(), nil); err != nil {
		t.Fatal(err)
	}

	// Both checksums at once, or a malformed CRC64, are refused.
	for _, hdr := range []map[string]string{
		{"x-ms-blob-type": "BlockBlob", "x-ms-content-crc64": base64.StdEncoding.EncodeToString(blobapi.CRC64([]byte("x"))), "Content-MD5": base64.StdEncoding.EncodeToString(md5sum("x"))},
		{"x-ms-blob-type": "BlockBlob", "x-ms-content-crc64": "AAAA"},
	} {
		resp := e.do("PUT", "/"+devAccount+"/sums/both", hdr, strings.NewReader("x"))
		if resp.StatusCode != 400 || resp.Header.Get("x-ms-error-code") != "InvalidHeaderValue" {
			t.Errorf("%v: %d %s", hdr, resp.StatusCode, resp.Header.Get("x-ms-error-code"))
		}
	}

	// A ranged read returns the range's CRC64 when asked, up to 4 MiB.
	resp = e.do("GET", "/"+devAccount+"/sums/computed-CRC64", map[string]string{"x-ms-range": "bytes=14-27", "x-ms-range-get-content-crc64": "true"}, nil)
	want := make([]byte, 8)
	binary.LittleEndian.PutUint64(want, sdkCRC64(data[14:28]))
	if resp.StatusCode != 206 || resp.Header.Get("x-ms-content-crc64") != base64.StdEncoding.EncodeToString(want) {
		t.Fatalf("range CRC64: %d %q", resp.StatusCode, resp.Header.Get("x-ms-content-crc64"))
	}
	for _, hdr := range []map[string]string{
		{"x-ms-range-get-content-crc64": "true"},
		{"x-ms-range": "bytes=0-1", "x-ms-range-get-content-crc64": "true", "x-ms-range-get-content-md5": "true"},
	} {
		resp := e.do("GET", "/"+devAccount+"/sums/computed-CRC64", hdr, nil)
		if resp.StatusCode != 400 || resp.Header.Get("x-ms-error-code") != "InvalidHeaderValue" {
			t.Errorf("%v: %d %s", hdr, resp.StatusCode, resp.Header.Get("x-ms-error-code"))
		}
	}
}

func md5sum(s string) []byte {
	m := md5.Sum([]byte(s))
	return m[:]
}
