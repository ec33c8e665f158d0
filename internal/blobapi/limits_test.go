package blobapi_test

import (
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"

	"github.com/geoblob/geoblob/internal/blobapi"
)

func TestMaxHeaderBytesAboveLimit(t *testing.T) {
	// net/http must let every request blobapi refuses reach the handler.
	if blobapi.MaxHeaderBytes < 4*blobapi.RequestHeaderLimit {
		t.Fatalf("MaxHeaderBytes %d is not comfortably above RequestHeaderLimit %d", blobapi.MaxHeaderBytes, blobapi.RequestHeaderLimit)
	}
}

// TestOversizedHeaders checks that requests whose headers exceed the limit
// get an Azure error, not net/http's plain-text 431, and that the server
// keeps serving.
func TestOversizedHeaders(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("ctr")
	e.mustUpload("ctr", "b", []byte("x"))
	blobPath := "/" + devAccount + "/ctr/b"

	manyMeta := map[string]string{}
	for i := range 40 {
		manyMeta[fmt.Sprintf("x-ms-meta-key%d", i)] = strings.Repeat("m", 2000) // 80 KB in all
	}
	manyHeaders := map[string]string{}
	for i := range 3000 {
		manyHeaders[fmt.Sprintf("x-custom-%d", i)] = strings.Repeat("h", 32) // ~150 KB in all
	}
	tests := []struct {
		name   string
		method string
		path   string
		hdr    map[string]string
		status int
		code   string
	}{
		{"metadata over 8 KiB in many headers", "PUT", blobPath + "?comp=metadata", manyMeta, 400, "MetadataTooLarge"},
		{"metadata over 8 KiB in one header", "PUT", blobPath + "?comp=metadata", map[string]string{"x-ms-meta-big": strings.Repeat("v", 100<<10)}, 400, "MetadataTooLarge"},
		{"single huge header", "GET", blobPath, map[string]string{"x-custom": strings.Repeat("h", 200<<10)}, 400, "InvalidHeaderValue"},
		{"huge client request id", "GET", blobPath, map[string]string{"x-ms-client-request-id": strings.Repeat("r", 100<<10)}, 400, "InvalidHeaderValue"},
		{"huge header on HEAD", "HEAD", blobPath, map[string]string{"x-custom": strings.Repeat("h", 100<<10)}, 400, "InvalidHeaderValue"},
		{"many headers", "GET", blobPath, manyHeaders, 400, "InvalidHeaderValue"},
		{"just under the limit", "GET", blobPath, map[string]string{"x-custom": strings.Repeat("h", blobapi.RequestHeaderLimit-4<<10)}, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := e.do(tt.method, tt.path, tt.hdr, nil)
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status || resp.Header.Get("x-ms-error-code") != tt.code {
				t.Fatalf("got %d %q, want %d %q: %.300s", resp.StatusCode, resp.Header.Get("x-ms-error-code"), tt.status, tt.code, body)
			}
			for _, h := range []string{"x-ms-request-id", "x-ms-version", "Date"} {
				if resp.Header.Get(h) == "" {
					t.Errorf("missing %s: %v", h, resp.Header)
				}
			}
			if id := resp.Header.Get("x-ms-client-request-id"); len(id) > 1024 {
				t.Errorf("the oversized client request id was echoed (%d bytes)", len(id))
			}
			if tt.code != "" && tt.method != "HEAD" {
				if ct := resp.Header.Get("Content-Type"); ct != "application/xml" {
					t.Errorf("Content-Type %q", ct)
				}
				if !strings.Contains(string(body), "<Code>"+tt.code+"</Code>") {
					t.Errorf("body lacks the error code: %.300s", body)
				}
			}
			if got := e.mustDownload(e.client, "ctr", "b"); string(got) != "x" {
				t.Fatalf("after oversized headers: %q", got)
			}
		})
	}

	// Through the SDK: metadata far beyond 8 KiB is MetadataTooLarge.
	meta := map[string]*string{}
	for i := range 40 {
		v := strings.Repeat("m", 2000)
		meta[fmt.Sprintf("key%d", i)] = &v
	}
	_, err := e.client.UploadBuffer(ctx(), "ctr", "meta", []byte("y"), &azblob.UploadBufferOptions{Metadata: meta})
	wantCode(t, err, 400, bloberror.MetadataTooLarge)
	e.mustUpload("ctr", "after", []byte("z"))
}
