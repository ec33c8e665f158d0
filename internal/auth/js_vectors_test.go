package auth

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

// jsVectors is testdata/js_vectors.json, produced by gen_js_vectors.mjs with
// the official JavaScript SDK.
type jsVectors struct {
	SDK      string `json:"sdk"`
	Requests []struct {
		Method  string      `json:"method"`
		Target  string      `json:"target"`
		Headers [][2]string `json:"headers"`
	} `json:"requests"`
	SAS []struct {
		Kind      string `json:"kind"`
		Version   string `json:"version"`
		Container string `json:"container"`
		Blob      string `json:"blob"`
		Query     string `json:"query"`
	} `json:"sas"`
}

func loadJSVectors(t *testing.T) jsVectors {
	t.Helper()
	b, err := os.ReadFile("testdata/js_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v jsVectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Requests) == 0 || len(v.SAS) == 0 {
		t.Fatal("empty fixture")
	}
	return v
}

// TestSharedKeyFromJSSDK replays requests the JavaScript SDK signed, parsed
// from their wire form exactly as the server would parse them.
func TestSharedKeyFromJSSDK(t *testing.T) {
	v := loadJSVectors(t)
	for _, rec := range v.Requests {
		var raw strings.Builder
		raw.WriteString(rec.Method + " " + rec.Target + " HTTP/1.1\r\n")
		for _, h := range rec.Headers {
			raw.WriteString(h[0] + ": " + h[1] + "\r\n")
		}
		raw.WriteString("\r\n")
		r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw.String())))
		if err != nil {
			t.Fatalf("%s %s: %v", rec.Method, rec.Target, err)
		}
		r.RemoteAddr = "127.0.0.1:40000"
		// The recorded requests are replayed at the time they were signed.
		at, err := http.ParseTime(r.Header.Get("x-ms-date"))
		if err != nil {
			t.Fatalf("%s %s: x-ms-date: %v", rec.Method, rec.Target, err)
		}
		req := authRequest(t, r)
		req.Now = at
		if m, err := Authorize(req); err != nil || m != SharedKey {
			t.Errorf("%s (%s) %s %s: got (%v, %v), want SharedKey", v.SDK, r.Header.Get("x-ms-version"), rec.Method, rec.Target, m, err)
		}
		r.Header.Set("x-ms-client-request-id", "tampered")
		if _, err := Authorize(req); err == nil {
			t.Errorf("%s %s: accepted after tampering with a signed header", rec.Method, rec.Target)
		}
	}
}

// TestSASFromJSSDK verifies SAS tokens the JavaScript SDK generated for each
// signed version it supports.
func TestSASFromJSSDK(t *testing.T) {
	v := loadJSVectors(t)
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	for _, s := range v.SAS {
		t.Run(s.Kind+"/"+s.Version, func(t *testing.T) {
			path := "/devstoreaccount1/" + s.Container
			for seg := range strings.SplitSeq(s.Blob, "/") {
				if s.Blob != "" {
					path += "/" + url.PathEscape(seg)
				}
			}
			r, err := http.NewRequest(http.MethodGet, "http://127.0.0.1:10000"+path+"?"+s.Query, nil)
			if err != nil {
				t.Fatal(err)
			}
			r.RemoteAddr = "127.0.0.5:40000"
			req := Request{HTTP: r, Account: devAccount, Key: devKeyBytes(t), Container: s.Container, Blob: s.Blob, Now: now,
				Permissions: []Permission{PermRead}}
			want := ServiceSAS
			switch s.Kind {
			case "container":
				req.Permissions = []Permission{PermList}
			case "policy":
				req.LookupPolicy = func(c, id string) (Policy, bool) {
					return Policy{Expiry: now.Add(time.Hour), Permission: "r"}, c == "c" && id == "pol1"
				}
			case "account":
				want = AccountSAS
			}
			if m, err := Authorize(req); err != nil || m != want {
				t.Fatalf("%s: got (%v, %v), want %v", v.SDK, m, err, want)
			}
			req.Now = now.Add(2 * time.Hour)
			if _, err := Authorize(req); err == nil {
				t.Fatal("accepted after expiry")
			}
		})
	}
}
