package metrics

import (
	"net/http/httptest"
	"testing"
)

func TestOperationAppendAndFromURL(t *testing.T) {
	src := "http://x/acct/c/a"
	tests := []struct {
		method, target string
		hdr            map[string]string
		want           string
	}{
		{"PUT", "/acct/c/b?comp=appendblock", nil, "AppendBlock"},
		{"PUT", "/acct/c/b?comp=appendblock", map[string]string{"x-ms-copy-source": src}, "AppendBlockFromURL"},
		{"PUT", "/acct/c/b?comp=seal", nil, "SealBlob"},
		{"PUT", "/acct/c/b?comp=block&blockid=AA", map[string]string{"x-ms-copy-source": src}, "PutBlockFromURL"},
		{"PUT", "/acct/c/b", map[string]string{"x-ms-copy-source": src, "x-ms-blob-type": "BlockBlob"}, "PutBlobFromURL"},
		{"PUT", "/acct/c/b", map[string]string{"x-ms-copy-source": src, "x-ms-requires-sync": "true"}, "CopyBlobFromURL"},
		{"PUT", "/acct/c/b", map[string]string{"x-ms-blob-type": "AppendBlob"}, "PutBlob"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.target, nil)
			for k, v := range tt.hdr {
				r.Header.Set(k, v)
			}
			if got := Operation(r); got != tt.want {
				t.Errorf("Operation = %q, want %q", got, tt.want)
			}
		})
	}
}
