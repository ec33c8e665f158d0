package metrics

import (
	"net/http/httptest"
	"testing"
)

// TestOperationAbortCopyAndDelegationKey: the operations added after the
// first label set have their own labels.
func TestOperationAbortCopyAndDelegationKey(t *testing.T) {
	tests := []struct {
		method, target string
		want           string
	}{
		{"PUT", "/acct/c/b?comp=copy&copyid=x", "AbortCopyBlob"},
		{"GET", "/acct/c/b?comp=copy&copyid=x", "Other"},
		{"POST", "/acct?restype=service&comp=userdelegationkey", "GetUserDelegationKey"},
	}
	for _, tt := range tests {
		t.Run(tt.method+tt.want, func(t *testing.T) {
			if got := Operation(httptest.NewRequest(tt.method, tt.target, nil)); got != tt.want {
				t.Errorf("Operation(%s %s) = %q, want %q", tt.method, tt.target, got, tt.want)
			}
		})
	}
}
