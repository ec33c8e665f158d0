package emubench_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/geoblob/geoblob/internal/emubench"
)

// wellFormedXML reads every token of b.
func wellFormedXML(b []byte) error {
	d := xml.NewDecoder(bytes.NewReader(b))
	for {
		_, err := d.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func TestFloorHandler(t *testing.T) {
	const small, large = 16, 100
	srv := httptest.NewServer(emubench.FloorHandler(small, large))
	t.Cleanup(srv.Close)
	tests := []struct {
		name, method, path string
		header             map[string]string
		body               string
		status             int
		want               []byte // nil: body not checked
	}{
		{"service properties", "GET", "/acct/?restype=service&comp=properties", nil, "", 200, nil},
		{"create container", "PUT", "/acct/c?restype=container", nil, "", 201, []byte{}},
		{"delete container", "DELETE", "/acct/c?restype=container", nil, "", 202, []byte{}},
		{"put blob", "PUT", "/acct/c/small-1", nil, "hello", 201, []byte{}},
		{"put block", "PUT", "/acct/c/large-x?comp=block&blockid=QQ%3D%3D", nil, "abc", 201, []byte{}},
		{"put block list", "PUT", "/acct/c/large-x?comp=blocklist", nil, "<BlockList/>", 201, []byte{}},
		{"small get", "GET", "/acct/c/small-1", nil, "", 200, emubench.Payload(small)},
		{"large get", "GET", "/acct/c/" + emubench.LargePrefix + "-1", nil, "", 200, emubench.Payload(large)},
		{"x-ms-range", "GET", "/acct/c/large-1", map[string]string{"x-ms-range": "bytes=10-19"}, "", 206, emubench.Payload(large)[10:20]},
		{"open range", "GET", "/acct/c/large-1", map[string]string{"Range": "bytes=90-"}, "", 206, emubench.Payload(large)[90:]},
		{"range past end clipped", "GET", "/acct/c/large-1", map[string]string{"Range": "bytes=95-200"}, "", 206, emubench.Payload(large)[95:]},
		{"range outside", "GET", "/acct/c/large-1", map[string]string{"x-ms-range": "bytes=100-"}, "", 416, nil},
		{"range malformed", "GET", "/acct/c/large-1", map[string]string{"x-ms-range": "items=1-2"}, "", 416, nil},
		{"head", "HEAD", "/acct/c/small-1", nil, "", 200, []byte{}},
		{"listing not modelled", "GET", "/acct/c?restype=container&comp=list", nil, "", 501, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), tt.method, srv.URL+tt.path, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			got, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if tt.want != nil && !bytes.Equal(got, tt.want) {
				t.Errorf("body %q, want %q", got, tt.want)
			}
			if tt.method == "HEAD" && resp.ContentLength != small {
				t.Errorf("HEAD Content-Length %d, want %d", resp.ContentLength, small)
			}
		})
	}
}

func TestPayloadDeterministic(t *testing.T) {
	a, b := emubench.Payload(10_000), emubench.Payload(20_000)
	if !bytes.Equal(a, b[:10_000]) {
		t.Error("a shorter payload is not a prefix of a longer one")
	}
	if bytes.Count(a, a[:1]) == len(a) {
		t.Error("payload is one repeated byte")
	}
}
