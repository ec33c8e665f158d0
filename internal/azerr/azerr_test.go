package azerr

import (
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestWrite(t *testing.T) {
	tests := []struct {
		method   string
		status   int
		version  string
		wantBody bool
	}{
		{http.MethodGet, http.StatusServiceUnavailable, "2021-12-02", true},
		{http.MethodPut, http.StatusConflict, "", true},
		{http.MethodHead, http.StatusNotFound, "2099-01-01", false},
		{http.MethodGet, http.StatusNotModified, "", false},
	}
	for _, tc := range tests {
		r := httptest.NewRequest(tc.method, "/acct/c/b", nil)
		if tc.version != "" {
			r.Header.Set("x-ms-version", tc.version)
		}
		r.Header.Set("x-ms-client-request-id", "client-1")
		w := httptest.NewRecorder()
		Write(w, r, tc.status, "ServerBusy", "busy", NewDetail("Reason", "test"))
		h := w.Result().Header
		if w.Code != tc.status || h.Get("x-ms-error-code") != "ServerBusy" || h.Get("x-ms-request-id") == "" {
			t.Errorf("%s %d: headers %v", tc.method, tc.status, h)
		}
		wantVersion := tc.version
		if wantVersion == "" {
			wantVersion = DefaultVersion
		}
		if h.Get("x-ms-version") != wantVersion || h.Get("x-ms-client-request-id") != "client-1" {
			t.Errorf("%s %d: version %q client id %q", tc.method, tc.status, h.Get("x-ms-version"), h.Get("x-ms-client-request-id"))
		}
		body := w.Body.String()
		if !tc.wantBody {
			if body != "" {
				t.Errorf("%s %d: unexpected body %q", tc.method, tc.status, body)
			}
			continue
		}
		var doc struct {
			Code, Message, Reason string
		}
		if err := xml.Unmarshal([]byte(body), &doc); err != nil {
			t.Fatalf("body %q: %v", body, err)
		}
		if doc.Code != "ServerBusy" || !strings.HasPrefix(doc.Message, "busy\nRequestId:"+h.Get("x-ms-request-id")) || doc.Reason != "test" {
			t.Errorf("body %+v", doc)
		}
	}
}

// TestWriteDateOnTheWire checks that an error answer carries Date as sent:
// Write leaves it to net/http, which writes it when the map has none.
func TestWriteDateOnTheWire(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		Write(w, r, http.StatusNotFound, "BlobNotFound", "no blob")
	}))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + "/acct/c/b")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	d, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil || resp.Header.Get("x-ms-request-id") == "" || resp.Header.Get("Server") != "geoblob" {
		t.Fatalf("headers %v (Date: %v)", resp.Header, err)
	}
	if time.Since(d) > time.Hour || time.Until(d) > time.Hour {
		t.Fatalf("Date %v is not now", d)
	}
}

func TestNewRequestID(t *testing.T) {
	const n = 10000
	seen := make(map[string]bool, n)
	for range n {
		id := NewRequestID()
		u, err := uuid.Parse(id)
		if err != nil || u.String() != id {
			t.Fatalf("%q is not a UUID in canonical form: %v", id, err)
		}
		if u.Version() != 4 || u.Variant() != uuid.RFC4122 {
			t.Fatalf("%q: version %d variant %v, want a random UUID", id, u.Version(), u.Variant())
		}
		if seen[id] {
			t.Fatalf("%q repeated", id)
		}
		seen[id] = true
	}
}
