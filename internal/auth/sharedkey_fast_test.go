package auth

import (
	"net/http"
	"net/http/httptest"
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
