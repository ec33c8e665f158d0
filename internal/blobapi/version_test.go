package blobapi_test

import (
	"encoding/xml"
	"io"
	"net/http"
	"testing"

	"github.com/geoblob/geoblob/internal/azerr"
)

// TestServiceVersionHeader: a malformed or pre-2009-09-19 x-ms-version is
// refused as Azure refuses it (400 InvalidHeaderValue naming the header and
// its value), and every well-formed version from 2009-09-19 on, later ones
// included, is served and echoed.
func TestServiceVersionHeader(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("ctr")
	e.mustUpload("ctr", "b", []byte("data"))
	tests := []struct {
		name    string
		values  []string // nil: no header
		method  string
		ok      bool
		refused string // HeaderValue of the refusal
	}{
		{name: "absent", ok: true},
		{name: "earliest", values: []string{"2009-09-19"}, ok: true},
		{name: "current", values: []string{"2025-11-05"}, ok: true},
		{name: "a later, unknown version", values: []string{"2099-12-31"}, ok: true},
		{name: "HEAD", values: []string{"2021-12-02"}, method: http.MethodHead, ok: true},
		{name: "word", values: []string{"banana"}, refused: "banana"},
		{name: "month 13, day 45", values: []string{"2020-13-45"}, refused: "2020-13-45"},
		{name: "February 30", values: []string{"2021-02-30"}, refused: "2021-02-30"},
		{name: "one-digit month and day", values: []string{"2020-1-1"}, refused: "2020-1-1"},
		{name: "a timestamp", values: []string{"2020-01-01T00:00:00Z"}, refused: "2020-01-01T00:00:00Z"},
		{name: "slashes", values: []string{"2020/01/01"}, refused: "2020/01/01"},
		{name: "before 2009-09-19", values: []string{"2009-07-17"}, refused: "2009-07-17"},
		{name: "empty", values: []string{""}, refused: ""},
		{name: "twice", values: []string{"2025-11-05", "2021-12-02"}, refused: "2025-11-05,2021-12-02"},
		{name: "HEAD refused without body", values: []string{"banana"}, method: http.MethodHead, refused: "banana"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := tt.method
			if method == "" {
				method = http.MethodGet
			}
			req, err := http.NewRequestWithContext(ctx(), method, e.srv.URL+"/"+devAccount+"/ctr/b?"+e.accountSAS(), nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range tt.values {
				req.Header.Add("x-ms-version", v)
			}
			req.Header.Set("x-ms-client-request-id", "client-1")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			echo := resp.Header.Get("x-ms-version")
			if resp.Header.Get("x-ms-client-request-id") != "client-1" {
				t.Errorf("x-ms-client-request-id %q", resp.Header.Get("x-ms-client-request-id"))
			}
			if tt.ok {
				want := azerr.DefaultVersion
				if tt.values != nil {
					want = tt.values[0]
				}
				if resp.StatusCode != http.StatusOK || echo != want {
					t.Fatalf("%d %s, x-ms-version %q; want 200, %q", resp.StatusCode, resp.Header.Get("x-ms-error-code"), echo, want)
				}
				return
			}
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("x-ms-error-code") != "InvalidHeaderValue" {
				t.Fatalf("%d %s, want 400 InvalidHeaderValue", resp.StatusCode, resp.Header.Get("x-ms-error-code"))
			}
			if echo != azerr.DefaultVersion {
				t.Errorf("refusal echoes x-ms-version %q, want the emulator's %q", echo, azerr.DefaultVersion)
			}
			if method == http.MethodHead {
				return
			}
			var doc struct {
				Code, HeaderName, HeaderValue string
			}
			if err := xml.Unmarshal(body, &doc); err != nil {
				t.Fatalf("body %q: %v", body, err)
			}
			if doc.Code != "InvalidHeaderValue" || doc.HeaderName != "x-ms-version" || doc.HeaderValue != tt.refused {
				t.Errorf("error body %+v, want HeaderName x-ms-version, HeaderValue %q", doc, tt.refused)
			}
		})
	}
}
