package blobapi_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/geoblob/geoblob/internal/blobapi"
)

// sendHeadersOnly sends a request that announces contentLength bytes of
// body and sends none, and returns the answer. A server that waited for the
// body before checking its length never answers: the read gives up after
// a generous bound and the test fails.
func sendHeadersOnly(t *testing.T, e *env, method, path string, hdr map[string]string, contentLength int64) *http.Response {
	t.Helper()
	u, err := url.Parse(e.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s%s%s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n", method, path, sep, e.accountSAS(), u.Host, contentLength)
	for k, v := range hdr {
		fmt.Fprintf(&b, "%s: %s\r\n", k, v)
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(conn, b.String()); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer before the body: %v", err)
	}
	return resp
}

// TestAzureBodyLimits: Put Block is refused above 4000 MiB and Put Blob
// above 5000 MiB on the announced Content-Length, before any body is read,
// even when the emulator's own cap is higher.
func TestAzureBodyLimits(t *testing.T) {
	e := newEnv(t, envOptions{maxBlobSize: 8000 << 20})
	e.mustCreate("ctr")
	tests := []struct {
		name string
		path string
		hdr  map[string]string
		n    int64
	}{
		{"put block", "/" + devAccount + "/ctr/b?comp=block&blockid=" + blockID(1), nil, blobapi.MaxBlockSize + 1},
		{"put blob", "/" + devAccount + "/ctr/b", map[string]string{"x-ms-blob-type": "BlockBlob"}, blobapi.MaxPutBlobSize + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := sendHeadersOnly(t, e, "PUT", tt.path, tt.hdr, tt.n)
			if resp.StatusCode != 413 || resp.Header.Get("x-ms-error-code") != "RequestBodyTooLarge" {
				t.Fatalf("got %d %q, want 413 RequestBodyTooLarge", resp.StatusCode, resp.Header.Get("x-ms-error-code"))
			}
		})
	}
}

// TestBlockListTooLong: a block list of more than 50,000 entries is
// answered 400 BlockListTooLong, not InvalidXmlDocument.
func TestBlockListTooLong(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("ctr")
	var b strings.Builder
	b.WriteString("<BlockList>")
	for i := range 50001 {
		b.WriteString("<Latest>" + blockID(i) + "</Latest>")
	}
	b.WriteString("</BlockList>")
	resp := e.do("PUT", "/"+devAccount+"/ctr/b?comp=blocklist", nil, strings.NewReader(b.String()))
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 400 || resp.Header.Get("x-ms-error-code") != "BlockListTooLong" {
		t.Fatalf("got %d %q: %s", resp.StatusCode, resp.Header.Get("x-ms-error-code"), body)
	}
}

// TestStagedBytesLimitAnswer: the per-account staged-bytes cap is answered
// with 409 and a message that names the option to raise.
func TestStagedBytesLimitAnswer(t *testing.T) {
	e := newEnv(t, envOptions{maxStagedBytes: 10})
	e.mustCreate("ctr")
	bb := e.client.ServiceClient().NewContainerClient("ctr").NewBlockBlobClient("b")
	if _, err := bb.StageBlock(ctx(), blockID(1), streamOf(make([]byte, 8)), nil); err != nil {
		t.Fatal(err)
	}
	_, err := bb.StageBlock(ctx(), blockID(2), streamOf(make([]byte, 8)), nil)
	wantCode(t, err, 409, "StagedBlockBytesLimitExceeded")
	if !strings.Contains(err.Error(), "MaxStagedBytes") {
		t.Errorf("the error does not say which limit: %v", err)
	}
}
