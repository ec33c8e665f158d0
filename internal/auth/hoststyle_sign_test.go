package auth

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// A host-style request carries the account in the host, so a path segment
// ACCOUNT-secondary is a container of that name, not the secondary: a
// signature over another container's resource must not authorize it.
func TestSharedKeyHostStyleSecondaryContainerNotStripped(t *testing.T) {
	tests := []struct {
		name     string
		host     string
		path     string // request path (container/blob, host-style)
		signPath string // path signed into the canonicalized resource
		ok       bool
	}{
		{"own resource", "devstoreaccount1.blob.localhost:10000", "/devstoreaccount1-secondary/b", "/devstoreaccount1-secondary/b", true},
		{"other container's signature", "devstoreaccount1.blob.localhost:10000", "/devstoreaccount1-secondary/b", "/devstoreaccount1/b", false},
		{"other container's signature, secondary host", "devstoreaccount1-secondary.blob.localhost:10000", "/devstoreaccount1-secondary/b", "/devstoreaccount1/b", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "http://"+tt.host+tt.path, nil)
			r.Header.Set("x-ms-date", time.Now().UTC().Format(http.TimeFormat))
			r.Header.Set("x-ms-version", "2025-11-05")
			signManually(t, r, "SharedKey", tt.signPath)
			req := Request{HTTP: r, Account: devAccount, Key: devKeyBytes(t), Container: "devstoreaccount1-secondary", Blob: "b", Now: time.Now()}
			m, err := Authorize(req)
			if tt.ok {
				if err != nil || m != SharedKey {
					t.Fatalf("got (%v, %v), want SharedKey", m, err)
				}
				return
			}
			if !errors.Is(err, ErrAuthenticationFailed) {
				t.Fatalf("got (%v, %v), want AuthenticationFailed", m, err)
			}
		})
	}
}
