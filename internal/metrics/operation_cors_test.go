package metrics

import (
	"net/http/httptest"
	"testing"
)

// TestOperationPreflight: a CORS preflight is its own operation, whatever
// the path it names.
func TestOperationPreflight(t *testing.T) {
	for _, target := range []string{"/acct/c/b", "/acct/c?restype=container", "/acct/?comp=list", "/"} {
		if got := Operation(httptest.NewRequest("OPTIONS", target, nil)); got != "PreflightBlobRequest" {
			t.Errorf("OPTIONS %s: Operation = %q, want PreflightBlobRequest", target, got)
		}
	}
}
