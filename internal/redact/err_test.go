package redact

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

func TestErr(t *testing.T) {
	const secret = "S3CRET"
	inner := errors.New("AccountKey=" + secret)
	u := &url.Error{Op: "Get", URL: "https://a.blob.core.windows.net/c?sig=" + secret, Err: inner}
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"url error", u},
		{"wrapped url error", fmt.Errorf("proxy: %w", u)},
		{"plain", errors.New("sig=" + secret)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Err(tc.err)
			if strings.Contains(r.Error(), secret) {
				t.Fatalf("Err(%v) = %v", tc.err, r)
			}
			var ue *url.Error
			if errors.As(tc.err, &ue) && !errors.As(r, &ue) {
				t.Fatalf("Err(%v) lost the *url.Error", tc.err)
			}
		})
	}
}

// TestErrKeepsChain: a timeout stays a timeout after redaction, and an
// error without secrets is returned as is.
func TestErrKeepsChain(t *testing.T) {
	u := &url.Error{Op: "Get", URL: "https://a/c?sig=x", Err: context.DeadlineExceeded}
	if r := Err(u); !errors.Is(r, context.DeadlineExceeded) {
		t.Fatalf("Err lost DeadlineExceeded: %v", r)
	}
	plain := errors.New("connection refused")
	if r := Err(plain); r != plain {
		t.Fatalf("Err changed an error without secrets: %v", r)
	}
	if Err(nil) != nil {
		t.Fatal("Err(nil) != nil")
	}
}
