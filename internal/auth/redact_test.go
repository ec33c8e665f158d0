package auth

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestRedactURL(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"http://127.0.0.1:10000/devstoreaccount1/c/b?sv=2020-12-06&sr=b&sp=r&sig=abc%2Bdef%3D&se=2025-01-01",
			"http://127.0.0.1:10000/devstoreaccount1/c/b?sv=2020-12-06&sr=b&sp=r&sig=REDACTED&se=2025-01-01"},
		{"http://h/a/c?restype=container&comp=list", "http://h/a/c?restype=container&comp=list"},
		{"http://h/a?SIG=x&Signature=y&sig", "http://h/a?SIG=REDACTED&Signature=REDACTED&sig"},
		{"http://user:pass@h/a?sig=x", "http://user:REDACTED@h/a?sig=REDACTED"},
		{"/devstoreaccount1/c/b?sig=secret", "/devstoreaccount1/c/b?sig=REDACTED"},
	}
	for _, tt := range tests {
		u, err := url.Parse(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := RedactURL(u); got != tt.want {
			t.Errorf("RedactURL(%s)\n got  %s\n want %s", tt.in, got, tt.want)
		}
		if u.String() != tt.in {
			t.Errorf("RedactURL modified its argument: %s", u)
		}
	}
	if RedactURL(nil) != "" {
		t.Error("RedactURL(nil) is not empty")
	}
}

func TestErrorSentinels(t *testing.T) {
	tests := []struct {
		sentinel *Error
		code     string
		status   int
	}{
		{ErrAuthenticationFailed, "AuthenticationFailed", 403},
		{ErrAuthorizationFailure, "AuthorizationFailure", 403},
		{ErrPermissionMismatch, "AuthorizationPermissionMismatch", 403},
		{ErrResourceTypeMismatch, "AuthorizationResourceTypeMismatch", 403},
		{ErrServiceMismatch, "AuthorizationServiceMismatch", 403},
		{ErrProtocolMismatch, "AuthorizationProtocolMismatch", 403},
		{ErrSourceIPMismatch, "AuthorizationSourceIPMismatch", 403},
		{ErrNoAuthenticationInformation, "NoAuthenticationInformation", 401},
	}
	for _, tt := range tests {
		if tt.sentinel.Code != tt.code || tt.sentinel.StatusCode() != tt.status || tt.sentinel.Message == "" {
			t.Errorf("%s: got code %s status %d", tt.code, tt.sentinel.Code, tt.sentinel.StatusCode())
		}
		e := fail(tt.code, "why")
		if !strings.HasSuffix(e.Message, " why") || e.Detail != "why" || !strings.HasPrefix(e.Error(), tt.code+": ") {
			t.Errorf("%s: fail built %+v", tt.code, e)
		}
	}
	if ErrPermissionMismatch.Is(ErrAuthenticationFailed) {
		t.Error("different codes match")
	}
}

// FuzzAuthorize checks that no Authorization header or query string makes
// Authorize panic or accept a request signed with nothing.
func FuzzAuthorize(f *testing.F) {
	for _, s := range [][2]string{
		{"SharedKey devstoreaccount1:AAAA", ""},
		{"SharedKey", ""},
		{"SharedKey :", ""},
		{"SharedKeyLite devstoreaccount1:a:b", "comp=list"},
		{"", "sig=&sv="},
		{"", "sig=%zz&sv=2020-12-06&sr=b"},
		{"", "sig=AAAA&sv=2020-12-06&sr=c&sip=1.2.3.4-1.2.3.0&se=x"},
		{"", "sig=AAAA&sv=2020-12-06&ss=b&srt=o&sp=r&se=2999-01-01&sip=::1"},
		{"", "sig=AAAA&sv=1999-01-01&sr=b"},
		{"", "sig=AAAA&sv=2020-12-06&sr=b&si=p&sp=r"},
	} {
		f.Add(s[0], s[1])
	}
	key := []byte("0123456789abcdef")
	f.Fuzz(func(t *testing.T, authz, query string) {
		r := httptest.NewRequest(http.MethodGet, "/devstoreaccount1/c/b", nil)
		r.URL.RawQuery = query
		if authz != "" {
			r.Header.Set("Authorization", authz)
		}
		r.Header.Set("x-ms-date", "Mon, 01 Jan 2024 00:00:00 GMT")
		m, err := Authorize(Request{HTTP: r, Account: devAccount, Key: key, Container: "c", Blob: "b", Now: time.Now(),
			Permissions: []Permission{PermRead},
			LookupPolicy: func(string, string) (Policy, bool) {
				return Policy{Permission: "r", Expiry: time.Now().Add(time.Hour)}, true
			}})
		if err == nil && m != Anonymous {
			t.Fatalf("accepted a forged request as %v", m)
		}
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error of type %T", err)
			}
		}
	})
}
