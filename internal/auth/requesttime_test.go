package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// signedAt builds a request signed with scheme whose x-ms-date (or, when
// dateHeader is set, Date) is the given value, verified at now.
func signedAt(t *testing.T, scheme, dateHeader, value string, now time.Time, skew time.Duration) Request {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, "/devstoreaccount1/c1/b.txt", nil)
	r.Header.Set(dateHeader, value)
	r.Header.Set("x-ms-version", "2026-12-06")
	key := devKeyBytes(t)
	req := Request{HTTP: r, Account: devAccount, Key: key, Container: "c1", Blob: "b.txt", Now: now, MaxClockSkew: skew,
		Permissions: []Permission{PermRead}}
	sts := sharedKeyStrings(&req)[0]
	if scheme == "SharedKeyLite" {
		sts = sharedKeyLiteStrings(&req)[0]
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(sts))
	r.Header.Set("Authorization", scheme+" "+devAccount+":"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	return req
}

// TestSharedKeyRequestTime: a correctly signed request is refused when its
// time is more than the allowed skew from the server clock, or is not a
// date at all, so that a captured request cannot be replayed for ever.
func TestSharedKeyRequestTime(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) string { return now.Add(d).Format(http.TimeFormat) }
	cases := []struct {
		name   string
		header string
		value  string
		skew   time.Duration
		ok     bool
		detail string
	}{
		{"now", "x-ms-date", at(0), 0, true, ""},
		{"14m59s old", "x-ms-date", at(-14*time.Minute - 59*time.Second), 0, true, ""},
		{"14m59s ahead", "x-ms-date", at(14*time.Minute + 59*time.Second), 0, true, ""},
		{"16m old", "x-ms-date", at(-16 * time.Minute), 0, false, "too old"},
		{"16m ahead", "x-ms-date", at(16 * time.Minute), 0, false, "future"},
		{"year 2000", "x-ms-date", "Sat, 01 Jan 2000 00:00:00 GMT", 0, false, "too old"},
		{"year 2100", "x-ms-date", "Fri, 01 Jan 2100 00:00:00 GMT", 0, false, "future"},
		{"garbage", "x-ms-date", "yesterday", 0, false, "not a valid HTTP date"},
		{"Date header too old", "Date", at(-time.Hour), 0, false, "too old"},
		{"Date header fresh", "Date", at(time.Minute), 0, true, ""},
		{"custom skew allows", "x-ms-date", at(-time.Hour), 2 * time.Hour, true, ""},
		{"custom skew refuses", "x-ms-date", at(-2 * time.Minute), time.Minute, false, "too old"},
		{"check off", "x-ms-date", "Sat, 01 Jan 2000 00:00:00 GMT", -1, true, ""},
	}
	for _, scheme := range []string{"SharedKey", "SharedKeyLite"} {
		for _, tc := range cases {
			t.Run(scheme+"/"+tc.name, func(t *testing.T) {
				m, err := Authorize(signedAt(t, scheme, tc.header, tc.value, now, tc.skew))
				if tc.ok {
					if err != nil || m == Anonymous {
						t.Fatalf("got (%v, %v), want accepted", m, err)
					}
					return
				}
				if !errors.Is(err, ErrAuthenticationFailed) {
					t.Fatalf("got (%v, %v), want AuthenticationFailed", m, err)
				}
				var ae *Error
				if errors.As(err, &ae); !strings.Contains(ae.Detail, tc.detail) {
					t.Errorf("detail %q does not mention %q", ae.Detail, tc.detail)
				}
			})
		}
	}
}

// TestParseQueryCase: names differing only in case are one parameter, as the
// signature treats them.
func TestParseQueryCase(t *testing.T) {
	q, err := ParseQuery("COMP=metadata&Restype=container&sig=a&SIG=b&prefix=X")
	if err != nil {
		t.Fatal(err)
	}
	if q.Get("comp") != "metadata" || q.Get("restype") != "container" || q.Get("prefix") != "X" {
		t.Errorf("got %v", q)
	}
	if got := q["sig"]; len(got) != 2 {
		t.Errorf("sig: got %v, want both values", got)
	}
	for k := range q {
		if k != strings.ToLower(k) {
			t.Errorf("name %q kept its case", k)
		}
	}
}

// TestSASNameCase: a SAS whose parameter names are upper-cased is still a
// SAS, not an anonymous request.
func TestSASNameCase(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/devstoreaccount1/c1/b.txt?SV=2020-12-06&SR=b&SP=r&SIG=AAAA", nil)
	m, err := Authorize(Request{HTTP: r, Account: devAccount, Key: devKeyBytes(t), Container: "c1", Blob: "b.txt", Now: time.Now()})
	if m != Anonymous || !errors.Is(err, ErrAuthenticationFailed) {
		t.Fatalf("got (%v, %v), want the SAS verified and refused", m, err)
	}
}

// TestRememberedRequestTimeAcrossAClockJump: the request time remembered
// from an accepted request does not let the same signed request in again
// once the server clock has jumped past the skew, forwards or backwards.
func TestRememberedRequestTimeAcrossAClockJump(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	date := now.Format(http.TimeFormat)
	for _, tc := range []struct {
		name string
		jump time.Duration
		ok   bool
	}{
		{"same second", 0, true},
		{"14m later", 14 * time.Minute, true},
		{"16m later", 16 * time.Minute, false},
		{"16m earlier", -16 * time.Minute, false},
		{"a day later", 24 * time.Hour, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Authorize(signedAt(t, "SharedKey", "x-ms-date", date, now, 0)); err != nil {
				t.Fatalf("first request: %v", err)
			}
			m, err := Authorize(signedAt(t, "SharedKey", "x-ms-date", date, now.Add(tc.jump), 0))
			if tc.ok != (err == nil) {
				t.Fatalf("replayed after a jump of %v: (%v, %v), want accepted %v", tc.jump, m, err, tc.ok)
			}
		})
	}
}
