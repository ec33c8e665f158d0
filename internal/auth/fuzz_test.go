package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Fuzz targets of the Shared Key and query parsing. `go test` runs their
// seeds (below and in testdata/fuzz); run one for real with
//
//	go test -fuzz=FuzzSharedKey -fuzztime=60s ./internal/auth/

// FuzzSharedKey signs an arbitrary request correctly and verifies it: it
// must be accepted exactly when its date is a valid HTTP date within the
// allowed skew, and refused once the signature is altered.
func FuzzSharedKey(f *testing.F) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for _, s := range []struct {
		method, path, query, hname, hvalue, date string
		lite                                     bool
	}{
		{"GET", "/devstoreaccount1/c/b", "", "x-ms-version", "2026-12-06", now.Format(http.TimeFormat), false},
		{"PUT", "/devstoreaccount1/c/dir%5Cb", "comp=block&blockid=YQ%3D%3D", "x-ms-meta-a", "1", now.Add(-14 * time.Minute).Format(http.TimeFormat), false},
		{"GET", "/devstoreaccount1-secondary/c", "restype=container&COMP=list&prefix=a+b", "x-ms-client-request-id", "x", now.Add(16 * time.Minute).Format(http.TimeFormat), true},
		{"DELETE", "/devstoreaccount1/c/b", "", "Range", "bytes=0-1", "Sat, 01 Jan 2000 00:00:00 GMT", false},
		{"HEAD", "/devstoreaccount1/c/b", "", "x-ms-range", "bytes=0-", "garbage", true},
		{"GET", "/devstoreaccount1/c/%zz", "a=%zz", "X-MS-DATE-EXTRA", "", "Monday, 01-May-26 12:00:00 GMT", false},
	} {
		f.Add(s.method, s.path, s.query, s.hname, s.hvalue, s.date, s.lite)
	}
	key := []byte("0123456789abcdef0123456789abcdef")
	f.Fuzz(func(t *testing.T, method, path, query, hname, hvalue, date string, lite bool) {
		if method == "" || strings.ContainsAny(method, " \r\n\t") || !strings.HasPrefix(path, "/") {
			return
		}
		u, err := url.Parse("http://127.0.0.1:10000" + path)
		if err != nil {
			return
		}
		u.RawQuery = query
		r, err := http.NewRequest(method, u.String(), nil)
		if err != nil {
			return
		}
		r.RequestURI = u.RequestURI()
		if hname != "" && !strings.ContainsAny(hname, ":\r\n \t") && !strings.ContainsAny(hvalue, "\r\n") {
			r.Header.Set(hname, hvalue)
		}
		r.Header.Set("x-ms-date", date)
		req := Request{HTTP: r, Account: devAccount, Key: key, Container: "c", Blob: "b", Now: now, Permissions: []Permission{PermRead}}
		scheme, sts := "SharedKey", sharedKeyStrings(&req)
		if lite {
			scheme, sts = "SharedKeyLite", sharedKeyLiteStrings(&req)
		}
		if len(sts) == 0 {
			t.Fatal("no string-to-sign")
		}
		if !lite {
			checkFirstString(t, &req)
		}
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(sts[0]))
		sig := mac.Sum(nil)
		r.Header.Set("Authorization", scheme+" "+devAccount+":"+base64.StdEncoding.EncodeToString(sig))
		m, err := Authorize(req)
		d := r.Header.Get("x-ms-date") // x-ms-date wins over Date, as in Azure
		if d == "" {
			d = r.Header.Get("Date")
		}
		at, perr := http.ParseTime(d)
		fresh := perr == nil && at.Sub(now) <= DefaultMaxClockSkew && now.Sub(at) <= DefaultMaxClockSkew
		switch {
		case fresh && err != nil:
			t.Fatalf("fresh, correctly signed request refused: %v (date %q)", err, d)
		case !fresh && err == nil:
			t.Fatalf("accepted as %v with date %q", m, d)
		case err != nil:
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error of type %T", err)
			}
			return
		}
		sig[0] ^= 1
		r.Header.Set("Authorization", scheme+" "+devAccount+":"+base64.StdEncoding.EncodeToString(sig))
		if _, err := Authorize(req); err == nil {
			t.Fatal("accepted an altered signature")
		}
	})
}

// FuzzParseQuery: every name comes out in lower case, and no value is lost
// or invented.
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{"", "comp=list", "COMP=list&comp=metadata", "a=1&A=2&a=3", "%zz=1&b=2", "sig=a+b%2B&SIG=", "=x&&y", "%41=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := ParseQuery(raw)
		ref, rerr := url.ParseQuery(raw)
		if (err == nil) != (rerr == nil) {
			t.Fatalf("error %v, url.ParseQuery %v", err, rerr)
		}
		n, rn := 0, 0
		for k, vs := range q {
			if k != strings.ToLower(k) {
				t.Fatalf("name %q kept upper case", k)
			}
			n += len(vs)
		}
		for k, vs := range ref {
			rn += len(vs)
			if got := q[strings.ToLower(k)]; len(got) < len(vs) {
				t.Fatalf("values of %q lost: %v", k, got)
			}
		}
		if n != rn {
			t.Fatalf("%d values, url.ParseQuery has %d", n, rn)
		}
	})
}
