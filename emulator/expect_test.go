package emulator_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"

	"github.com/geoblob/geoblob/emulator"
)

// TestExpectContinueRefusedAtOnce: a client that sends
// "Expect: 100-continue" and waits for "100 Continue" before its body gets
// the refusal of its request without sending the body. The read timeout is
// an hour, so a server that waits for the body never answers within the
// connection's deadline; the answer is an event, not a timing.
func TestExpectContinueRefusedAtOnce(t *testing.T) {
	emu := start(t, emulator.Options{ReadTimeout: time.Hour})
	addr := strings.TrimPrefix(emu.URL(), "http://")
	tests := []struct {
		name   string
		length int64
		query  string
		status int
		code   string
	}{
		{"bad signature", 3 << 20, "?sv=2020-10-02&sr=b&sp=w&se=2099-01-01T00:00:00Z&sig=AAAA", 403, "AuthenticationFailed"},
		{"bad signature, 5 TiB declared", 5<<40 + 1, "?sv=2020-10-02&sr=b&sp=w&se=2099-01-01T00:00:00Z&sig=AAAA", 403, "AuthenticationFailed"},
		{"anonymous write", 3 << 20, "", 403, "AuthorizationFailure"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(30 * time.Second))
			req := fmt.Sprintf("PUT /%s/ctr/b%s HTTP/1.1\r\nHost: %s\r\nx-ms-blob-type: BlockBlob\r\nx-ms-version: 2025-11-05\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n", emu.AccountName(), tt.query, addr, tt.length)
			if _, err := io.WriteString(c, req); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatalf("no answer without the body: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.status || resp.Header.Get("x-ms-error-code") != tt.code {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, resp.Header.Get("x-ms-error-code"), tt.status, tt.code)
			}
		})
	}
}

// TestExpectContinueRefusedCloses: after refusing a small body it never
// asked for, the emulator closes the connection soon, rather than waiting
// for the body until the read timeout (an hour here) while the client,
// which keeps its end open, waits for it. A client may also send the body
// without waiting (RFC 9110 10.1.1); it still reads the answer, not a reset.
func TestExpectContinueRefusedCloses(t *testing.T) {
	emu := start(t, emulator.Options{ReadTimeout: time.Hour})
	addr := strings.TrimPrefix(emu.URL(), "http://")
	for _, sendBody := range []bool{false, true} {
		t.Run(fmt.Sprint("body sent ", sendBody), func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(30 * time.Second))
			req := fmt.Sprintf("PUT /%s/ctr/b?sv=2020-10-02&sr=b&sp=w&se=2099-01-01T00:00:00Z&sig=AAAA HTTP/1.1\r\nHost: %s\r\nx-ms-blob-type: BlockBlob\r\nx-ms-version: 2025-11-05\r\nContent-Length: 1000\r\nExpect: 100-continue\r\n\r\n", emu.AccountName(), addr)
			if sendBody {
				req += strings.Repeat("x", 1000)
			}
			if _, err := io.WriteString(c, req); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(c)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 403 {
				t.Errorf("got %d, want 403", resp.StatusCode)
			}
			if _, err := br.ReadByte(); err != io.EOF {
				t.Fatalf("connection not closed after the refusal: %v", err)
			}
		})
	}
}

// TestExpectContinueUpload: an accepted upload that asks for 100-continue
// gets it, sends its body and is stored whole.
func TestExpectContinueUpload(t *testing.T) {
	emu := start(t, emulator.Options{})
	ctx := t.Context()
	base := strings.TrimSuffix(emu.PrimaryURL(), "/")
	c, err := azblob.NewClientWithSharedKeyCredential(base, credential(t, emu), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateContainer(ctx, "ctr", nil); err != nil {
		t.Fatal(err)
	}
	qp, err := sas.AccountSignatureValues{
		Protocol:      sas.ProtocolHTTPSandHTTP,
		ExpiryTime:    time.Now().Add(time.Hour).UTC(),
		Permissions:   (&sas.AccountPermissions{Read: true, Write: true, Create: true}).String(),
		ResourceTypes: (&sas.AccountResourceTypes{Object: true}).String(),
	}.SignWithSharedKey(credential(t, emu))
	if err != nil {
		t.Fatal(err)
	}
	body := strings.Repeat("expect me ", 300<<10) // 3 MB, past net/http's 256 KiB discard
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, base+"/ctr/big?"+qp.Encode(), strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("x-ms-blob-type", "BlockBlob")
	req.Header.Set("Expect", "100-continue")
	// A long wait for 100 Continue: the body goes only when it comes.
	tr := &http.Transport{ExpectContinueTimeout: time.Hour}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("upload: %d %s", resp.StatusCode, resp.Header.Get("x-ms-error-code"))
	}
	got, err := c.DownloadStream(ctx, "ctr", "big", nil)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(got.Body)
	got.Body.Close()
	if err != nil || string(data) != body {
		t.Fatalf("stored %d bytes (err %v), want %d", len(data), err, len(body))
	}
}
