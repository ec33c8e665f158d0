package auth

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// checkFirstString fails unless the fast path's string-to-sign for req is
// the first of sharedKeyStrings, or the fast path declines req.
func checkFirstString(t *testing.T, req *Request) (declined bool) {
	t.Helper()
	fast, ok := appendFirstSharedKeyString(nil, req)
	if !ok {
		return true
	}
	if all := sharedKeyStrings(req); len(all) == 0 || string(fast) != all[0] {
		t.Errorf("%s %s: fast string-to-sign\n%q\nis not the first candidate of\n%q", req.HTTP.Method, req.HTTP.RequestURI, fast, all)
	}
	return false
}

// Every request the Go SDK sends takes the fast path, with the string-to-sign
// the full computation puts first.
func TestSharedKeyFastPathFromGoSDK(t *testing.T) {
	rec, srv := newRecordingServer(t)
	driveSDK(t, srv.URL+"/"+devAccount, devAccount, devKey)
	reqs := rec.take()
	if len(reqs) < 30 {
		t.Fatalf("recorded %d requests, want at least 30", len(reqs))
	}
	for _, r := range reqs {
		req := authRequest(t, r)
		if checkFirstString(t, &req) {
			t.Errorf("%s %s: fast path declined an SDK request", r.Method, r.RequestURI)
		}
	}
}

func TestSharedKeyFastPath(t *testing.T) {
	tests := []struct {
		name     string
		target   string
		header   http.Header // set as is, names not canonicalized
		length   int64
		declined bool
	}{
		{"no headers", "/devstoreaccount1/c/b", http.Header{}, 0, false},
		{"date only", "/devstoreaccount1/c/b", http.Header{"Date": {"Mon, 02 Jan 2006 15:04:05 GMT"}}, 0, false},
		{"both dates", "/devstoreaccount1/c/b", http.Header{"Date": {"d"}, "X-Ms-Date": {"x"}}, 0, false},
		{"length from body", "/devstoreaccount1/c/b", http.Header{"X-Ms-Version": {"2025-11-05"}}, 7, false},
		{"zero length, old version", "/devstoreaccount1/c/b", http.Header{"Content-Length": {"0"}, "X-Ms-Version": {"2014-02-14"}}, 0, false},
		{"zero length, new version", "/devstoreaccount1/c/b", http.Header{"Content-Length": {"0"}, "X-Ms-Version": {"2025-11-05"}}, 0, false},
		{"repeated values", "/devstoreaccount1/c/b", http.Header{"X-Ms-Meta-A": {"1", "2"}, "X-Ms-Meta-B": {""}}, 0, false},
		{"hyphen order", "/devstoreaccount1/c/b", http.Header{"X-Ms-Meta-A-B": {"1"}, "X-Ms-Meta-Ab": {"2"}, "X-Ms-Meta-A_b": {"3"}}, 0, false},
		{"query", "/devstoreaccount1/c?restype=container&comp=list&prefix=a+b&Include=x&include=y", http.Header{}, 0, false},
		{"escaped path", "/devstoreaccount1/c/a%20b%2Fc", http.Header{}, 0, false},
		{"secondary", "/devstoreaccount1-secondary/c/b", http.Header{"X-Ms-Version": {"2025-11-05"}}, 0, false},
		{"lower-case name", "/devstoreaccount1/c/b", http.Header{"x-ms-meta-a": {"1"}, "X-Ms-Meta-A": {"2"}}, 0, true},
		{"name with a space", "/devstoreaccount1/c/b", http.Header{" X-Ms-Meta-A": {"1"}}, 0, true},
		{"upper-case name", "/devstoreaccount1/c/b", http.Header{"X-MS-META-A": {"1"}}, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPut, "http://127.0.0.1:10000"+tt.target, nil)
			r.Header = tt.header
			r.ContentLength = tt.length
			req := authRequest(t, r)
			if got := checkFirstString(t, &req); got != tt.declined {
				t.Errorf("declined = %v, want %v", got, tt.declined)
			}
		})
	}
}

// TestParseRequestTime: the remembered time never answers for another text,
// and an invalid text is never remembered.
func TestParseRequestTime(t *testing.T) {
	for _, v := range []string{"Wed, 02 Dec 2026 03:04:05 GMT", "Wed, 02 Dec 2026 03:04:05 GMT", "Wed, 02 Dec 2026 03:04:06 GMT",
		"garbage", "garbage", "Wednesday, 02-Dec-26 03:04:05 GMT", "Wed, 02 Dec 2026 03:04:05 GMT"} {
		got, err := parseRequestTime(v)
		want, werr := http.ParseTime(v)
		if (err != nil) != (werr != nil) || !got.Equal(want) {
			t.Errorf("parseRequestTime(%q) = %v, %v; want %v, %v", v, got, err, want, werr)
		}
	}
}

// wireRequest parses raw HTTP/1.1 request text as net/http's server does
// (header names canonicalized, repeated headers kept in order).
func wireRequest(t *testing.T, raw string) *http.Request {
	t.Helper()
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(strings.ReplaceAll(raw, "\n", "\r\n") + "\r\n")))
	if err != nil {
		t.Fatalf("parse %q: %v", raw, err)
	}
	return r
}

// TestSharedKeyFastPathHostileRequests: whatever a client sends, the fast
// path's string-to-sign is the first candidate of the full computation or
// the fast path declines, so it never accepts a request the full check
// would refuse.
func TestSharedKeyFastPathHostileRequests(t *testing.T) {
	many := func(n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "x-ms-meta-k%02d: v%d\n", i, i)
		}
		return b.String()
	}
	tests := []struct {
		name     string
		raw      string
		declined bool
	}{
		{"header name cases", "PUT /devstoreaccount1/c/b HTTP/1.1\nHost: h\nx-MS-date: d\nX-ms-VERSION: 2025-11-05\nx-ms-meta-Ab: 1\n", false},
		{"duplicate headers, mixed case", "PUT /devstoreaccount1/c/b HTTP/1.1\nHost: h\nx-ms-meta-a: 1\nX-MS-META-A: 2\nx-ms-Meta-a: 3\n", false},
		{"values with commas and spaces", "PUT /devstoreaccount1/c/b HTTP/1.1\nHost: h\nx-ms-meta-a:  a, b ,c  \nx-ms-meta-b:\t x \n", false},
		{"empty values", "PUT /devstoreaccount1/c/b HTTP/1.1\nHost: h\nx-ms-meta-a:\nx-ms-date:\nDate: Mon, 02 Jan 2006 15:04:05 GMT\nContent-Type:\n", false},
		{"24 x-ms headers", "PUT /devstoreaccount1/c/b HTTP/1.1\nHost: h\n" + many(24), false},
		{"25 x-ms headers", "PUT /devstoreaccount1/c/b HTTP/1.1\nHost: h\n" + many(25), true},
		{"query name cases", "GET /devstoreaccount1/c?RESTYPE=container&Comp=list&comp=x&prefix=&marker HTTP/1.1\nHost: h\n", false},
		{"zero length, no version", "PUT /devstoreaccount1/c/b HTTP/1.1\nHost: h\nContent-Length: 0\n", false},
		{"zero length, old version", "PUT /devstoreaccount1/c/b HTTP/1.1\nHost: h\nContent-Length: 0\nx-ms-version: 2015-02-20\n", false},
		{"zero length, 2015-02-21", "PUT /devstoreaccount1/c/b HTTP/1.1\nHost: h\nContent-Length: 0\nx-ms-version: 2015-02-21\n", false},
		{"no length, old version", "PUT /devstoreaccount1/c/b HTTP/1.1\nHost: h\nx-ms-version: 2009-09-19\n", false},
		{"duplicate versions", "PUT /devstoreaccount1/c/b HTTP/1.1\nHost: h\nContent-Length: 0\nx-ms-version: 2025-11-05\nx-ms-version: 2009-09-19\n", false},
		{"x-ms prefix only", "PUT /devstoreaccount1/c/b HTTP/1.1\nHost: h\nx-ms-: 1\nX-MS-DATE: d\n", false},
		{"underscore name", "PUT /devstoreaccount1/c/b HTTP/1.1\nHost: h\nx_ms_meta: 1\nx-ms-meta_A: 2\n", false},
		{"absolute target", "PUT http://h/devstoreaccount1/c/b?comp=block&blockid=QQ%3D%3D HTTP/1.1\nHost: h\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := authRequest(t, wireRequest(t, tt.raw))
			if got := checkFirstString(t, &req); got != tt.declined {
				t.Errorf("declined = %v, want %v", got, tt.declined)
			}
		})
	}
}

// TestSharedKeyFastPathPooledSigners: concurrent checks under two keys,
// matching and not, never see each other's key or string-to-sign through
// the pooled signers (run with -race).
func TestSharedKeyFastPathPooledSigners(t *testing.T) {
	keys := [][]byte{devKeyBytes(t), []byte("another key, of another account")}
	type job struct {
		req  Request
		key  []byte
		want []byte
	}
	var jobs []job
	for i := range 8 {
		r := httptest.NewRequest(http.MethodGet, fmt.Sprintf("http://127.0.0.1:10000/devstoreaccount1/c/b%d?comp=x%d", i, i), nil)
		r.Header.Set("X-Ms-Meta-N", strings.Repeat("v", i*100))
		req := authRequest(t, r)
		key := keys[i%2]
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(sharedKeyStrings(&req)[0]))
		jobs = append(jobs, job{req, key, mac.Sum(nil)})
	}
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				j := jobs[(g+i)%len(jobs)]
				if !matchesFirstSharedKeyString(&j.req, j.key, j.want) {
					errs <- fmt.Sprintf("job %d refused under its own key", (g+i)%len(jobs))
					return
				}
				other := keys[0]
				if bytes.Equal(other, j.key) {
					other = keys[1]
				}
				if matchesFirstSharedKeyString(&j.req, other, j.want) {
					errs <- fmt.Sprintf("job %d accepted under the other key", (g+i)%len(jobs))
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
