package blobapi

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// FuzzAddressNormalised: whatever the path and query, a parsed address
// holds no backslash (Azure reads it as a slash), a blob name has at most
// MaxBlobPathSegments segments, the -secondary suffix is never part of the
// account, and query names route the same in any case. Run with
//
//	go test -fuzz=FuzzAddressNormalised -fuzztime=60s ./internal/blobapi/
func FuzzAddressNormalised(f *testing.F) {
	for _, s := range []struct{ path, query string }{
		{"/devstoreaccount1/ctr/dir\\file", ""},
		{"/devstoreaccount1\\ctr\\a\\b", ""},
		{"/devstoreaccount1/ctr/" + strings.Repeat("a/", 253) + "a", ""},
		{"/devstoreaccount1/ctr/" + strings.Repeat("a/", 254) + "a", ""},
		{"/devstoreaccount1/ctr", "RESTYPE=container"},
		{"/devstoreaccount1/ctr", "Restype=container&restype=service"},
		{"/devstoreaccount1-secondary/ctr/b", "COMP=metadata"},
		{"/devstoreaccount1/top", "restype=%zz"},
	} {
		f.Add(s.path, s.query)
	}
	f.Fuzz(func(t *testing.T, path, query string) {
		q, _ := url.ParseQuery(query)
		lower := url.Values{}
		for k, vs := range q {
			lower[strings.ToLower(k)] = append(lower[strings.ToLower(k)], vs...)
		}
		for k := range lower {
			if asciiUpper(k) != strings.ToUpper(k) || strings.ToLower(asciiUpper(k)) != k {
				return // a name whose case does not round-trip through ASCII
			}
		}
		a, err := parseAddress("127.0.0.1", path, lower, false)
		upperQ := url.Values{}
		for k, vs := range lower {
			upperQ[asciiUpper(k)] = vs
		}
		b, err2 := ParseAddress(requestFor(path, upperQ.Encode()), false)
		if (err == nil) != (err2 == nil) || a != b {
			t.Fatalf("query name case changed the address: %+v %v / %+v %v", a, err, b, err2)
		}
		if err != nil {
			var ae *AddressError
			if !errors.As(err, &ae) {
				t.Fatalf("error %T", err)
			}
			return
		}
		for _, s := range []string{a.Account, a.Container, a.Blob} {
			if strings.Contains(s, "\\") {
				t.Fatalf("backslash kept in %+v", a)
			}
		}
		if strings.Count(a.Blob, "/") >= MaxBlobPathSegments {
			t.Fatalf("%d segments accepted", strings.Count(a.Blob, "/")+1)
		}
		if strings.HasSuffix(a.Account, SecondarySuffix) {
			t.Fatalf("suffix kept in account %q", a.Account)
		}
	})
}

// requestFor builds a GET request for a decoded path and a raw query.
func requestFor(path, rawQuery string) *http.Request {
	return &http.Request{Method: http.MethodGet, URL: &url.URL{Path: path, RawQuery: rawQuery}, Header: http.Header{}}
}

// asciiUpper upper-cases the ASCII letters of s.
func asciiUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}
