package auth

import (
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

var bearerNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// jwt builds an unsigned compact JWT; header nil means alg none.
func jwt(t *testing.T, header, claims map[string]any) string {
	t.Helper()
	if header == nil {
		header = map[string]any{"alg": "none", "typ": "JWT"}
	}
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	c, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding
	return enc.EncodeToString(h) + "." + enc.EncodeToString(c) + "." + enc.EncodeToString([]byte("sig"))
}

// goodClaims are the claims of a valid token at bearerNow, changed by edit.
func goodClaims(edit func(map[string]any)) map[string]any {
	c := map[string]any{
		"aud": "https://storage.azure.com",
		"iss": "https://sts.windows.net/tenant-1/",
		"tid": "tenant-1",
		"iat": bearerNow.Add(-time.Minute).Unix(),
		"nbf": bearerNow.Add(-time.Minute).Unix(),
		"exp": bearerNow.Add(time.Hour).Unix(),
	}
	if edit != nil {
		edit(c)
	}
	return c
}

func TestVerifyBearer(t *testing.T) {
	enc := base64.RawURLEncoding
	tests := []struct {
		name    string
		token   string
		version string // x-ms-version; the newest layout when empty
		http    bool   // sent without TLS
		skew    time.Duration
		code    string // "" means accepted
		detail  string
	}{
		{name: "v1 issuer, storage resource", token: jwt(t, nil, goodClaims(nil))},
		{name: "resource with slash", token: jwt(t, nil, goodClaims(func(c map[string]any) { c["aud"] = "https://storage.azure.com/" }))},
		{name: "account endpoint", token: jwt(t, nil, goodClaims(func(c map[string]any) { c["aud"] = "https://acct.blob.core.windows.net" }))},
		{name: "sovereign account endpoint", token: jwt(t, nil, goodClaims(func(c map[string]any) { c["aud"] = "https://acct.blob.core.chinacloudapi.cn/" }))},
		{name: "emulator host-style endpoint", token: jwt(t, nil, goodClaims(func(c map[string]any) { c["aud"] = "https://acct.blob.localhost:10000" }))},
		{name: "audience array", token: jwt(t, nil, goodClaims(func(c map[string]any) { c["aud"] = []string{"api://x", "https://storage.azure.com"} }))},
		{name: "v2 issuer", token: jwt(t, nil, goodClaims(func(c map[string]any) { c["iss"] = "https://login.microsoftonline.com/tenant-1/v2.0" }))},
		{name: "expired within skew", token: jwt(t, nil, goodClaims(func(c map[string]any) { c["exp"] = bearerNow.Add(-4 * time.Minute).Unix() }))},
		{name: "expired beyond check turned off", skew: -1, token: jwt(t, nil, goodClaims(func(c map[string]any) { c["exp"] = bearerNow.Add(-time.Hour).Unix() }))},

		{name: "other account's endpoint", code: CodeInvalidAuthenticationInfo, detail: detailAudience,
			token: jwt(t, nil, goodClaims(func(c map[string]any) { c["aud"] = "https://other.blob.core.windows.net" }))},
		{name: "secondary endpoint is not an audience", code: CodeInvalidAuthenticationInfo, detail: detailAudience,
			token: jwt(t, nil, goodClaims(func(c map[string]any) { c["aud"] = "https://acct-secondary.blob.core.windows.net" }))},
		{name: "http audience", code: CodeInvalidAuthenticationInfo, detail: detailAudience,
			token: jwt(t, nil, goodClaims(func(c map[string]any) { c["aud"] = "http://storage.azure.com" }))},
		{name: "management audience", code: CodeInvalidAuthenticationInfo, detail: detailAudience,
			token: jwt(t, nil, goodClaims(func(c map[string]any) { c["aud"] = "https://management.azure.com/" }))},
		{name: "no audience", code: CodeInvalidAuthenticationInfo, detail: detailAudience,
			token: jwt(t, nil, goodClaims(func(c map[string]any) { delete(c, "aud") }))},
		{name: "foreign issuer", code: CodeInvalidAuthenticationInfo, detail: detailIssuer,
			token: jwt(t, nil, goodClaims(func(c map[string]any) { c["iss"] = "https://accounts.google.com/" }))},
		{name: "issuer without tenant", code: CodeInvalidAuthenticationInfo, detail: detailIssuer,
			token: jwt(t, nil, goodClaims(func(c map[string]any) { c["iss"] = "https://sts.windows.net/" }))},
		{name: "http issuer", code: CodeInvalidAuthenticationInfo, detail: detailIssuer,
			token: jwt(t, nil, goodClaims(func(c map[string]any) { c["iss"] = "http://sts.windows.net/t/" }))},
		{name: "issuer with userinfo", code: CodeInvalidAuthenticationInfo, detail: detailIssuer,
			token: jwt(t, nil, goodClaims(func(c map[string]any) { c["iss"] = "https://evil.example@sts.windows.net/t/" }))},
		{name: "issuer with a port", code: CodeInvalidAuthenticationInfo, detail: detailIssuer,
			token: jwt(t, nil, goodClaims(func(c map[string]any) { c["iss"] = "https://sts.windows.net:443/t/" }))},
		{name: "expired", code: CodeInvalidAuthenticationInfo, detail: detailExpired,
			token: jwt(t, nil, goodClaims(func(c map[string]any) { c["exp"] = bearerNow.Add(-6 * time.Minute).Unix() }))},
		{name: "not yet valid", code: CodeInvalidAuthenticationInfo, detail: detailNotYetValid,
			token: jwt(t, nil, goodClaims(func(c map[string]any) { c["nbf"] = bearerNow.Add(6 * time.Minute).Unix() }))},
		{name: "no exp", code: CodeInvalidAuthenticationInfo, detail: detailNoLifetime,
			token: jwt(t, nil, goodClaims(func(c map[string]any) { delete(c, "exp") }))},
		{name: "two parts", code: CodeInvalidAuthenticationInfo, detail: detailBearerMalformed, token: "a.b"},
		{name: "not base64", code: CodeInvalidAuthenticationInfo, detail: detailBearerMalformed, token: "!!.!!.!!"},
		{name: "claims not JSON", code: CodeInvalidAuthenticationInfo, detail: detailBearerMalformed,
			token: enc.EncodeToString([]byte(`{"alg":"none"}`)) + "." + enc.EncodeToString([]byte("nope")) + "."},
		{name: "header without alg", code: CodeInvalidAuthenticationInfo, detail: detailBearerMalformed,
			token: jwt(t, map[string]any{"typ": "JWT"}, goodClaims(nil))},
		{name: "too long", code: CodeInvalidAuthenticationInfo, detail: detailBearerMalformed, token: strings.Repeat("a", MaxBearerTokenBytes+1)},
		{name: "over HTTP", http: true, code: CodeAuthenticationFailed, detail: detailBearerHTTP, token: jwt(t, nil, goodClaims(nil))},
		{name: "old version", version: "2017-07-29", code: CodeAuthenticationFailed, detail: detailBearerVersion, token: jwt(t, nil, goodClaims(nil))},
		{name: "pre-challenge version", version: "2019-07-07", code: CodeAuthenticationFailed, detail: detailExpired,
			token: jwt(t, nil, goodClaims(func(c map[string]any) { c["exp"] = bearerNow.Add(-time.Hour).Unix() }))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "https://acct.blob.localhost/c/b", nil)
			if tt.http {
				r.TLS = nil
			} else if r.TLS == nil {
				r.TLS = &tls.ConnectionState{}
			}
			v := tt.version
			if v == "" {
				v = "2026-02-06"
			}
			r.Header.Set("x-ms-version", v)
			r.Header.Set("Authorization", "Bearer "+tt.token)
			m, err := Authorize(Request{HTTP: r, Account: "acct", Now: bearerNow, Bearer: true, MaxClockSkew: tt.skew})
			if tt.code == "" {
				if err != nil || m != Bearer {
					t.Fatalf("Authorize = %v, %v; want Bearer", m, err)
				}
				return
			}
			var ae *Error
			if !errors.As(err, &ae) || ae.Code != tt.code || ae.Detail != tt.detail {
				t.Fatalf("Authorize error = %v; want %s with detail %q", err, tt.code, tt.detail)
			}
			wantStatus, wantChallenge := http.StatusForbidden, false
			if tt.code == CodeInvalidAuthenticationInfo {
				wantStatus, wantChallenge = http.StatusUnauthorized, true
			}
			if ae.StatusCode() != wantStatus || (ae.Challenge != "") != wantChallenge {
				t.Fatalf("status %d challenge %q; want %d, challenge %v", ae.StatusCode(), ae.Challenge, wantStatus, wantChallenge)
			}
		})
	}
}

// TestBearerChallengeNamesTenant checks the challenge: the token's tenant
// when it has one, "common" for a token that could not be read.
func TestBearerChallengeNamesTenant(t *testing.T) {
	tests := []struct {
		name  string
		token string
		want  string
	}{
		{"tid", jwt(t, nil, goodClaims(func(c map[string]any) { c["aud"] = "x" })), "https://login.microsoftonline.com/tenant-1/oauth2/authorize"},
		{"issuer", jwt(t, nil, goodClaims(func(c map[string]any) { c["aud"] = "x"; delete(c, "tid") })), "https://login.microsoftonline.com/tenant-1/oauth2/authorize"},
		{"malformed", "x.y", "https://login.microsoftonline.com/common/oauth2/authorize"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodGet, "https://acct.blob.localhost/c", nil)
		r.Header.Set("x-ms-version", "2026-02-06")
		r.Header.Set("Authorization", "Bearer "+tt.token)
		_, err := Authorize(Request{HTTP: r, Account: "acct", Now: bearerNow, Bearer: true})
		var ae *Error
		if !errors.As(err, &ae) {
			t.Fatalf("%s: %v", tt.name, err)
		}
		want := "Bearer authorization_uri=" + tt.want + " resource_id=https://storage.azure.com"
		if ae.Challenge != want {
			t.Errorf("%s: challenge %q, want %q", tt.name, ae.Challenge, want)
		}
	}
}

// TestBearerRefusedWithoutOAuth: without Request.Bearer a bearer token is
// refused as before, whatever it holds.
func TestBearerRefusedWithoutOAuth(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "https://acct.blob.localhost/c", nil)
	r.Header.Set("x-ms-version", "2026-02-06")
	r.Header.Set("Authorization", "Bearer "+jwt(t, nil, goodClaims(nil)))
	_, err := Authorize(Request{HTTP: r, Account: "acct", Now: bearerNow})
	if !errors.Is(err, ErrAuthenticationFailed) {
		t.Fatalf("Authorize = %v, want AuthenticationFailed", err)
	}
}

// FuzzVerifyBearer: no token makes the verifier panic, and every refusal is
// an *Error with a code.
func FuzzVerifyBearer(f *testing.F) {
	f.Add("a.b.c")
	f.Add("eyJhbGciOiJub25lIn0.eyJhdWQiOlsxLDJdLCJleHAiOiJ4In0.")
	f.Add("eyJhbGciOiJub25lIn0.eyJleHAiOjFlMzA4LCJuYmYiOi0xZTMwOH0.")
	f.Fuzz(func(t *testing.T, token string) {
		r := httptest.NewRequest(http.MethodGet, "https://acct.blob.localhost/c", nil)
		r.Header.Set("x-ms-version", "2026-02-06")
		r.Header.Set("Authorization", "Bearer "+token)
		m, err := Authorize(Request{HTTP: r, Account: "acct", Now: bearerNow, Bearer: true})
		if err == nil {
			if m != Bearer {
				t.Fatalf("accepted as %v", m)
			}
			return
		}
		var ae *Error
		if !errors.As(err, &ae) || ae.Code == "" {
			t.Fatalf("refusal %v (%T)", err, err)
		}
	})
}
