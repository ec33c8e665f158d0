package blobapi_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
)

// setCORS stores the given <CorsRule> elements with a raw Set Blob Service
// Properties.
func (e *env) setCORS(rules ...string) {
	e.t.Helper()
	body := "<StorageServiceProperties><Cors>" + strings.Join(rules, "") + "</Cors></StorageServiceProperties>"
	resp := e.do(http.MethodPut, spPath, nil, strings.NewReader(body))
	if resp.StatusCode != http.StatusAccepted {
		b, _ := io.ReadAll(resp.Body)
		e.t.Fatalf("set service properties: %d %s", resp.StatusCode, b)
	}
}

func rule(origins, methods, allowed, exposed, maxAge string) string {
	return "<CorsRule><AllowedOrigins>" + origins + "</AllowedOrigins><AllowedMethods>" + methods +
		"</AllowedMethods><AllowedHeaders>" + allowed + "</AllowedHeaders><ExposedHeaders>" + exposed +
		"</ExposedHeaders><MaxAgeInSeconds>" + maxAge + "</MaxAgeInSeconds></CorsRule>"
}

// preflight sends an OPTIONS request to u with the given headers (Host,
// when given, replaces the request's host).
func preflight(t *testing.T, u string, hdr map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodOptions, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp
}

// TestCORSPreflight runs the preflight matrix: the rules of Azure's
// "CORS rules evaluation" example (the first rule matching origin and
// method decides, header check included), prefixed allowed headers, the
// required headers, and every way of addressing the account.
func TestCORSPreflight(t *testing.T) {
	e := newEnv(t)
	blobURL := e.srv.URL + "/" + devAccount + "/ct1/b"

	// No rules yet: every preflight fails, and none is an auth failure.
	resp := preflight(t, blobURL, map[string]string{"Origin": "http://www.contoso.com", "Access-Control-Request-Method": "GET"})
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("x-ms-error-code") != "CorsPreflightFailure" {
		t.Fatalf("no rules: %d %s, want 403 CorsPreflightFailure", resp.StatusCode, resp.Header.Get("x-ms-error-code"))
	}

	e.setCORS(
		rule("http://www.contoso.com", "PUT,HEAD", "x-ms-blob-content-type, x-ms-blob-content-disposition", "x-ms-*", "5"),
		rule("*", "PUT,GET", "x-ms-blob-content-type, x-ms-blob-content-disposition", "x-ms-*", "10"),
		rule("http://www.contoso.com", "GET", "x-ms-client-request-id", "x-ms-*", "15"),
		rule("https://app.example,http://127.0.0.1:8080", "DELETE,MERGE,POST", "x-ms-meta-data*,x-ms-meta-target*,content-type", "", "20"),
	)
	e.sync()

	tests := []struct {
		name    string
		url     string // blobURL when empty
		host    string
		origin  string
		method  string
		headers string
		status  int
		code    string
		maxAge  string // the rule that answered
	}{
		{name: "first rule", origin: "http://www.contoso.com", method: "PUT", headers: "x-ms-blob-content-type", status: 200, maxAge: "5"},
		{name: "second rule by method", origin: "http://www.contoso.com", method: "GET", headers: "x-ms-blob-content-type", status: 200, maxAge: "10"},
		{name: "selected rule refuses a header; later rules not tried", origin: "http://www.contoso.com", method: "GET", headers: "x-ms-client-request-id", status: 403, code: "CorsPreflightFailure"},
		{name: "no request headers", origin: "http://www.contoso.com", method: "HEAD", status: 200, maxAge: "5"},
		{name: "header names in any case, several", origin: "http://www.contoso.com", method: "PUT", headers: "X-MS-Blob-Content-Type , x-ms-blob-content-disposition", status: 200, maxAge: "5"},
		{name: "one header of several refused", origin: "http://www.contoso.com", method: "PUT", headers: "x-ms-blob-content-type,x-ms-version", status: 403, code: "CorsPreflightFailure"},
		{name: "wildcard origin", origin: "https://elsewhere.example", method: "PUT", status: 200, maxAge: "10"},
		{name: "origin is case-sensitive", origin: "http://WWW.contoso.com", method: "HEAD", status: 403, code: "CorsPreflightFailure"},
		{name: "method not allowed by any rule", origin: "http://www.contoso.com", method: "DELETE", status: 403, code: "CorsPreflightFailure"},
		{name: "second origin of a list", origin: "http://127.0.0.1:8080", method: "DELETE", headers: "content-type", status: 200, maxAge: "20"},
		{name: "prefixed header", origin: "https://app.example", method: "POST", headers: "x-ms-meta-data-1,x-ms-meta-targetname", status: 200, maxAge: "20"},
		{name: "prefix does not match", origin: "https://app.example", method: "POST", headers: "x-ms-meta-other", status: 403, code: "CorsPreflightFailure"},
		{name: "no Origin", method: "GET", status: 400, code: "InvalidHeaderValue"},
		{name: "no Access-Control-Request-Method", origin: "http://www.contoso.com", status: 400, code: "InvalidHeaderValue"},
		{name: "service level", url: e.srv.URL + "/" + devAccount + "/?comp=list", origin: "https://x.example", method: "GET", status: 200, maxAge: "10"},
		{name: "invalid resource name still evaluated", url: e.srv.URL + "/" + devAccount + "/A_B/c", origin: "https://x.example", method: "GET", status: 200, maxAge: "10"},
		{name: "unknown account is no auth failure", url: e.srv.URL + "/nosuchaccount/ct1/b", origin: "https://x.example", method: "GET", status: 403, code: "CorsPreflightFailure"},
		{name: "secondary path-style", url: e.srv.URL + "/" + devAccount + "-secondary/ct1/b", origin: "https://x.example", method: "GET", status: 200, maxAge: "10"},
		{name: "secondary host", url: e.secSrv.URL + "/" + devAccount + "/ct1/b", origin: "https://x.example", method: "GET", status: 200, maxAge: "10"},
		{name: "host-style primary", url: e.srv.URL + "/ct1/b", host: devAccount + ".blob.localhost", origin: "https://x.example", method: "GET", status: 200, maxAge: "10"},
		{name: "host-style secondary", url: e.srv.URL + "/ct1/b", host: devAccount + "-secondary.blob.localhost", origin: "https://x.example", method: "GET", status: 200, maxAge: "10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := tt.url
			if u == "" {
				u = blobURL
			}
			hdr := map[string]string{}
			for k, v := range map[string]string{"Host": tt.host, "Origin": tt.origin, "Access-Control-Request-Method": tt.method, "Access-Control-Request-Headers": tt.headers} {
				if v != "" {
					hdr[k] = v
				}
			}
			// Credentials are ignored, even wrong ones.
			hdr["Authorization"] = "SharedKey " + devAccount + ":bm90IGEgc2lnbmF0dXJl"
			resp := preflight(t, u, hdr)
			h := resp.Header
			if resp.StatusCode != tt.status || h.Get("x-ms-error-code") != tt.code {
				t.Fatalf("%d %q, want %d %q", resp.StatusCode, h.Get("x-ms-error-code"), tt.status, tt.code)
			}
			if tt.status != 200 {
				if h.Get("Access-Control-Allow-Origin") != "" {
					t.Errorf("refused preflight carries Access-Control-Allow-Origin %q", h.Get("Access-Control-Allow-Origin"))
				}
				return
			}
			want := map[string]string{
				"Access-Control-Allow-Origin":      tt.origin,
				"Access-Control-Allow-Methods":     tt.method,
				"Access-Control-Allow-Headers":     tt.headers,
				"Access-Control-Max-Age":           tt.maxAge,
				"Access-Control-Allow-Credentials": "true",
				"Content-Length":                   "0",
			}
			for k, v := range want {
				if got := h.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if h.Get("x-ms-request-id") == "" {
				t.Error("no x-ms-request-id")
			}
		})
	}
}

// TestCORSActualRequests checks the headers added to actual requests, as
// Azure's Vary table gives them, on successes and errors alike.
func TestCORSActualRequests(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("ct1")
	if _, err := e.client.UploadBuffer(ctx(), "ct1", "b", []byte("hello"), &azblob.UploadBufferOptions{Metadata: map[string]*string{"colour": to.Ptr("blue")}}); err != nil {
		t.Fatal(err)
	}
	const exact = "https://exact.example"

	// Without rules nothing is added, whatever the request.
	resp := e.do(http.MethodGet, "/"+devAccount+"/ct1/b", map[string]string{"Origin": exact}, nil)
	for _, k := range []string{"Access-Control-Allow-Origin", "Access-Control-Expose-Headers", "Vary"} {
		if v := resp.Header.Get(k); v != "" {
			t.Errorf("no rules: %s = %q", k, v)
		}
	}

	e.setCORS(
		rule(exact, "GET,PUT,DELETE", "*", "x-ms-meta-*,x-ms-request-id,Content-Length", "60"),
		rule("*", "HEAD", "", "x-ms-version", "60"),
	)
	sas := e.accountSAS()
	tests := []struct {
		name         string
		method, path string
		query        string // replaces the account SAS when set
		version      string // x-ms-version, when set
		origin       string
		status       int
		allowOrigin  string
		credentials  string
		vary         string
		exposeHas    []string
		exposeAbsent []string
	}{
		{name: "exact origin GET", method: "GET", path: "/ct1/b", origin: exact, status: 200, allowOrigin: exact, credentials: "true", vary: "Origin",
			exposeHas: []string{"x-ms-meta-colour", "x-ms-request-id", "content-length"}, exposeAbsent: []string{"x-ms-version", "Etag"}},
		{name: "exact origin, error answer", method: "GET", path: "/ct1/missing", origin: exact, status: 404, allowOrigin: exact, credentials: "true", vary: "Origin",
			exposeHas: []string{"x-ms-request-id"}},
		{name: "exact origin, auth failure", method: "GET", path: "/ct1/b", query: "sig=bad&sv=2022-11-02&ss=b&srt=o&sp=r&se=2099-01-01T00:00:00Z", origin: exact, status: 403, allowOrigin: exact, credentials: "true", vary: "Origin"},
		{name: "exact origin, malformed x-ms-version", method: "GET", path: "/ct1/b", version: "banana", origin: exact, status: 400, allowOrigin: exact, credentials: "true", vary: "Origin"},
		{name: "exact origin PUT: no Vary", method: "PUT", path: "/ct1/p", origin: exact, status: 201, allowOrigin: exact, credentials: "true", exposeHas: []string{"x-ms-request-id"}},
		{name: "wildcard rule HEAD", method: "HEAD", path: "/ct1/b", origin: "https://other.example", status: 200, allowOrigin: "*", exposeHas: []string{"x-ms-version"}, exposeAbsent: []string{"x-ms-meta-colour"}},
		{name: "HEAD without Origin matches the wildcard rule", method: "HEAD", path: "/ct1/b", status: 200, allowOrigin: "*", exposeHas: []string{"x-ms-version"}},
		{name: "no rule matches GET: Vary only", method: "GET", path: "/ct1/b", origin: "https://other.example", status: 200, vary: "Origin"},
		{name: "GET without Origin, no wildcard GET rule: Vary only", method: "GET", path: "/ct1/b", status: 200, vary: "Origin"},
		{name: "no rule matches DELETE: nothing", method: "DELETE", path: "/ct1/nothing", origin: "https://other.example", status: 404},
		{name: "secondary before replication: no rules", method: "GET", path: "-secondary/ct1/b", origin: exact, status: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := tt.query
			if q == "" {
				q = sas
			}
			hdr := map[string]string{}
			if tt.origin != "" {
				hdr["Origin"] = tt.origin
			}
			if tt.method == http.MethodPut {
				hdr["x-ms-blob-type"] = "BlockBlob"
			}
			if tt.version != "" {
				hdr["x-ms-version"] = tt.version
			}
			resp := e.raw(tt.method, e.srv.URL+"/"+devAccount+tt.path+"?"+q, hdr, nil)
			h := resp.Header
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, h.Get("x-ms-error-code"), tt.status)
			}
			for k, v := range map[string]string{"Access-Control-Allow-Origin": tt.allowOrigin, "Access-Control-Allow-Credentials": tt.credentials, "Vary": tt.vary} {
				if got := strings.Join(h.Values(k), ","); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			expose := strings.Split(strings.ToLower(h.Get("Access-Control-Expose-Headers")), ",")
			for _, n := range tt.exposeHas {
				if !contains(expose, strings.ToLower(n)) {
					t.Errorf("Access-Control-Expose-Headers %v lacks %s", expose, n)
				}
			}
			for _, n := range tt.exposeAbsent {
				if contains(expose, strings.ToLower(n)) {
					t.Errorf("Access-Control-Expose-Headers %v has %s", expose, n)
				}
			}
			if tt.allowOrigin == "" && h.Get("Access-Control-Expose-Headers") != "" {
				t.Errorf("Access-Control-Expose-Headers %q without a matching rule", h.Get("Access-Control-Expose-Headers"))
			}
		})
	}

	// After replication the secondary answers with the same rules.
	e.sync()
	resp = e.raw(http.MethodGet, e.secondaryURL()+"ct1/b?"+sas, map[string]string{"Origin": exact}, nil)
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != exact {
		t.Fatalf("secondary after sync: %d, Access-Control-Allow-Origin %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if strings.TrimSpace(v) == s {
			return true
		}
	}
	return false
}

// TestCORSThroughSDK sets the rules with the official SDK
// (service.Client.SetProperties), reads them back, then sends the raw
// preflight a browser would, to the primary and, once replicated, to the
// secondary.
func TestCORSThroughSDK(t *testing.T) {
	e := newEnv(t)
	rules := []*service.CORSRule{
		{AllowedOrigins: to.Ptr("http://127.0.0.1:5173"), AllowedMethods: to.Ptr("GET,PUT,OPTIONS"), AllowedHeaders: to.Ptr("x-ms-*,content-type,authorization"), ExposedHeaders: to.Ptr("*"), MaxAgeInSeconds: to.Ptr[int32](86400)},
	}
	if _, err := svc(e.client).SetProperties(ctx(), &service.SetPropertiesOptions{CORS: rules}); err != nil {
		t.Fatal(err)
	}
	got, err := svc(e.client).GetProperties(ctx(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.CORS) != 1 || *got.CORS[0].AllowedOrigins != "http://127.0.0.1:5173" || *got.CORS[0].MaxAgeInSeconds != 86400 {
		t.Fatalf("CORS rules read back: %+v", got.CORS)
	}
	hdr := map[string]string{
		"Origin":                         "http://127.0.0.1:5173",
		"Access-Control-Request-Method":  "PUT",
		"Access-Control-Request-Headers": "x-ms-blob-type,x-ms-client-request-id,x-ms-date,x-ms-version,authorization,content-type",
	}
	secondary := e.secondaryURL() + "ct1/b"
	if resp := preflight(t, secondary, hdr); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("secondary before replication: %d, want 403", resp.StatusCode)
	}
	e.sync()
	for _, u := range []string{e.primaryURL() + "ct1/b", secondary} {
		resp := preflight(t, u, hdr)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Access-Control-Allow-Origin") != "http://127.0.0.1:5173" || resp.Header.Get("Access-Control-Max-Age") != "86400" {
			t.Fatalf("%s: %d %v", u, resp.StatusCode, resp.Header)
		}
	}
	// A header outside the rule's AllowedHeaders: the browser would not
	// send the request.
	u, _ := url.Parse(e.primaryURL())
	hdr["Access-Control-Request-Headers"] = "x-custom-header,x-ms-version"
	hdr["Access-Control-Request-Method"] = "GET"
	if resp := preflight(t, u.String(), hdr); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("header outside the rule: %d, want 403", resp.StatusCode)
	}
	// New rules replace the old ones at once.
	rules[0].AllowedOrigins = to.Ptr("https://new.example")
	if _, err := svc(e.client).SetProperties(ctx(), &service.SetPropertiesOptions{CORS: rules}); err != nil {
		t.Fatal(err)
	}
	hdr["Access-Control-Request-Headers"] = "x-ms-version"
	if resp := preflight(t, u.String(), hdr); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("old origin after the rules changed: %d, want 403", resp.StatusCode)
	}
	hdr["Origin"] = "https://new.example"
	if resp := preflight(t, u.String(), hdr); resp.StatusCode != http.StatusOK {
		t.Fatalf("new origin after the rules changed: %d, want 200", resp.StatusCode)
	}
}

// TestCORSExposesDate: a rule exposing every header (*), or a prefix that
// takes in Date, names Date in Access-Control-Expose-Headers like the
// answer's other headers, although net/http adds Date only once the
// headers are written; a browser hides a header not named there.
func TestCORSExposesDate(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("ct1")
	e.mustUpload("ct1", "b", []byte("hello"))
	const origin = "https://app.example"
	sas := e.accountSAS()
	for _, tt := range []struct {
		exposed string
		want    bool
	}{{"*", true}, {"d*", true}, {"Date", true}, {"x-ms-*", false}} {
		e.setCORS(rule(origin, "GET", "*", tt.exposed, "60"))
		for _, path := range []string{"/ct1/b", "/ct1/missing"} {
			resp := e.raw(http.MethodGet, e.srv.URL+"/"+devAccount+path+"?"+sas, map[string]string{"Origin": origin}, nil)
			expose := strings.Split(strings.ToLower(resp.Header.Get("Access-Control-Expose-Headers")), ",")
			if _, err := http.ParseTime(resp.Header.Get("Date")); err != nil {
				t.Errorf("exposed %q, %s: Date %q", tt.exposed, path, resp.Header.Get("Date"))
			}
			if contains(expose, "date") != tt.want {
				t.Errorf("exposed %q, %s: Access-Control-Expose-Headers %v, want Date named: %v", tt.exposed, path, expose, tt.want)
			}
		}
	}
}
