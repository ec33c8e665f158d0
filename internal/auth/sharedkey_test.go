package auth

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
)

const (
	devAccount = "devstoreaccount1"
	devKey     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
	// otherKey is a valid base64 key that is not the development key.
	otherKey = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="
)

// devKeyBytes returns the decoded development key.
func devKeyBytes(t testing.TB) []byte {
	t.Helper()
	k, err := base64.StdEncoding.DecodeString(devKey)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// recorder is an http.Handler that keeps a body-less clone of every request
// it receives and answers 200, so an azblob client's requests can be fed to
// Authorize exactly as the server saw them.
type recorder struct {
	mu   sync.Mutex
	reqs []*http.Request
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	c := r.Clone(context.Background())
	c.Body = http.NoBody
	rec.mu.Lock()
	rec.reqs = append(rec.reqs, c)
	rec.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

func (rec *recorder) take() []*http.Request {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	out := rec.reqs
	rec.reqs = nil
	return out
}

// target splits a path-style URL path into account (without "-secondary"),
// container and blob, decoded, as the REST layer will.
func target(r *http.Request) (account, cont, blobName string) {
	parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 3)
	account = strings.TrimSuffix(parts[0], "-secondary")
	if len(parts) > 1 {
		cont = parts[1]
	}
	if len(parts) > 2 {
		blobName = parts[2]
	}
	return account, cont, blobName
}

// authRequest builds the Request the REST layer would pass for r.
func authRequest(t testing.TB, r *http.Request) Request {
	account, cont, b := target(r)
	return Request{HTTP: r, Account: account, Key: devKeyBytes(t), Container: cont, Blob: b, Now: time.Now()}
}

// newRecordingServer starts a recorder on 127.0.0.1.
func newRecordingServer(t *testing.T) (*recorder, *httptest.Server) {
	t.Helper()
	rec := &recorder{}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	return rec, srv
}

// noRetry makes every azblob call a single try.
var noRetry = &azblob.ClientOptions{ClientOptions: azcore.ClientOptions{Retry: policy.RetryOptions{MaxRetries: -1}}}

// driveSDK performs a representative set of operations with an azblob
// client built on serviceURL and credential (account, key). Their results
// are ignored: the recorder answers 200 with no body.
func driveSDK(t *testing.T, serviceURL, account, key string) {
	t.Helper()
	cred, err := azblob.NewSharedKeyCredential(account, key)
	if err != nil {
		t.Fatal(err)
	}
	client, err := azblob.NewClientWithSharedKeyCredential(serviceURL, cred, noRetry)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	data := []byte("hello, geoblob")
	sum := md5.Sum(data)
	etag := azcore.ETag(`"0x8DEADBEEF"`)
	since := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

	_, _ = client.CreateContainer(ctx, "c1", &azblob.CreateContainerOptions{
		Metadata: map[string]*string{"Hello-World": to.Ptr("x"), "a_b": to.Ptr("y"), "ab": to.Ptr("z"), "a": to.Ptr("")},
	})
	names := []string{"plain.txt", "dir/sub/b.bin", "with space+plus%percent#hash?q=1&x.txt", "ünïcödé/名前.txt", "quote'apos-hyphen_under~tilde!.txt"}
	for _, name := range names {
		bb := client.ServiceClient().NewContainerClient("c1").NewBlockBlobClient(name)
		_, _ = bb.Upload(ctx, streaming(data), &blockblob.UploadOptions{
			TransactionalValidation: blob.TransferValidationTypeMD5(sum[:]),
			HTTPHeaders:             &blob.HTTPHeaders{BlobContentType: to.Ptr("text/plain"), BlobContentLanguage: to.Ptr("en")},
			Metadata:                map[string]*string{"x-y": to.Ptr("1"), "xy": to.Ptr("2"), "x_y": to.Ptr("3")},
		})
		_, _ = client.DownloadStream(ctx, "c1", name, &azblob.DownloadStreamOptions{
			Range: azblob.HTTPRange{Offset: 2, Count: 5},
			AccessConditions: &azblob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{
				IfMatch: &etag, IfModifiedSince: &since,
			}},
		})
		_, _ = bb.GetProperties(ctx, &blob.GetPropertiesOptions{AccessConditions: &blob.AccessConditions{
			ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: to.Ptr(azcore.ETagAny), IfUnmodifiedSince: &since},
		}})
		_, _ = bb.SetMetadata(ctx, map[string]*string{"Upper": to.Ptr("v a l")}, nil)
		_, _ = bb.StageBlock(ctx, base64.StdEncoding.EncodeToString([]byte("block-0001")), streaming(data), nil)
		_, _ = client.DeleteBlob(ctx, "c1", name, nil)
	}
	pager := client.NewListBlobsFlatPager("c1", &azblob.ListBlobsFlatOptions{
		Prefix: to.Ptr("dir/a b+c=d&e"), Marker: to.Ptr("m/ark"), MaxResults: to.Ptr(int32(7)),
		Include: azblob.ListBlobsInclude{Metadata: true, Snapshots: true},
	})
	_, _ = pager.NextPage(ctx)
	_, _ = client.ServiceClient().GetProperties(ctx, nil)
	_, _ = client.ServiceClient().NewContainerClient("c1").SetAccessPolicy(ctx, &container.SetAccessPolicyOptions{})
	_, _ = client.DeleteContainer(ctx, "c1", nil)
}

// streaming wraps b as the io.ReadSeekCloser the SDK wants.
func streaming(b []byte) io.ReadSeekCloser {
	return nopCloser{bytes.NewReader(b)}
}

type nopCloser struct{ io.ReadSeeker }

func (nopCloser) Close() error { return nil }

func TestSharedKeyFromGoSDK(t *testing.T) {
	rec, srv := newRecordingServer(t)
	tests := []struct {
		name       string
		serviceURL string
		account    string
		key        string
		wantCode   string // "" means accepted as SharedKey
	}{
		{"primary", srv.URL + "/" + devAccount, devAccount, devKey, ""},
		{"secondary path", srv.URL + "/" + devAccount + "-secondary", devAccount, devKey, ""},
		{"wrong key", srv.URL + "/" + devAccount, devAccount, otherKey, CodeAuthenticationFailed},
		{"wrong account", srv.URL + "/" + devAccount, "otheraccount", devKey, CodeAuthenticationFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			driveSDK(t, tt.serviceURL, tt.account, tt.key)
			reqs := rec.take()
			if len(reqs) < 30 {
				t.Fatalf("recorded %d requests, want at least 30", len(reqs))
			}
			for _, r := range reqs {
				m, err := Authorize(authRequest(t, r))
				if tt.wantCode == "" {
					if err != nil || m != SharedKey {
						t.Errorf("%s %s: got (%v, %v), want SharedKey", r.Method, r.RequestURI, m, err)
					}
					continue
				}
				var ae *Error
				if !errors.As(err, &ae) || ae.Code != tt.wantCode {
					t.Errorf("%s %s: got (%v, %v), want %s", r.Method, r.RequestURI, m, err, tt.wantCode)
				}
			}
		})
	}
}

func TestSharedKeyTampered(t *testing.T) {
	rec, srv := newRecordingServer(t)
	driveSDK(t, srv.URL+"/"+devAccount, devAccount, devKey)
	var base *http.Request
	for _, r := range rec.take() {
		if r.Method == http.MethodGet && r.Header.Get("x-ms-range") != "" && strings.Contains(r.URL.Path, "plain.txt") {
			base = r
		}
	}
	if base == nil {
		t.Fatal("no ranged GET recorded")
	}
	if _, err := Authorize(authRequest(t, base)); err != nil {
		t.Fatalf("untampered request rejected: %v", err)
	}
	tests := []struct {
		name   string
		tamper func(r *http.Request)
	}{
		{"method", func(r *http.Request) { r.Method = http.MethodDelete }},
		{"x-ms-date", func(r *http.Request) { r.Header.Set("x-ms-date", "Mon, 01 Jan 2024 00:00:00 GMT") }},
		{"range", func(r *http.Request) { r.Header.Set("x-ms-range", "bytes=0-1000") }},
		{"if-match", func(r *http.Request) { r.Header.Set("If-Match", `"other"`) }},
		{"added x-ms header", func(r *http.Request) { r.Header.Set("x-ms-meta-extra", "1") }},
		{"query added", func(r *http.Request) { setURL(r, r.URL.Path, "comp=metadata") }},
		{"other blob", func(r *http.Request) { setURL(r, "/"+devAccount+"/c1/other.txt", r.URL.RawQuery) }},
		{"other container", func(r *http.Request) { setURL(r, "/"+devAccount+"/c2/plain.txt", r.URL.RawQuery) }},
		{"signature flipped", func(r *http.Request) {
			h := r.Header.Get("Authorization")
			i := strings.IndexByte(h, ':') + 1
			c := byte('A')
			if h[i] == 'A' {
				c = 'B'
			}
			r.Header.Set("Authorization", h[:i]+string(c)+h[i+1:])
		}},
		{"signature not base64", func(r *http.Request) { r.Header.Set("Authorization", "SharedKey "+devAccount+":***") }},
		{"no signature", func(r *http.Request) { r.Header.Set("Authorization", "SharedKey "+devAccount) }},
		{"bearer", func(r *http.Request) { r.Header.Set("Authorization", "Bearer abc.def.ghi") }},
		{"unknown scheme", func(r *http.Request) { r.Header.Set("Authorization", "Basic Zm9vOmJhcg==") }},
		{"no date", func(r *http.Request) { r.Header.Del("x-ms-date"); r.Header.Del("Date") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := base.Clone(context.Background())
			tt.tamper(r)
			m, err := Authorize(authRequest(t, r))
			if !errors.Is(err, ErrAuthenticationFailed) {
				t.Fatalf("got (%v, %v), want AuthenticationFailed", m, err)
			}
			sig := base.Header.Get("Authorization")
			sig = sig[strings.IndexByte(sig, ':')+1:]
			if strings.Contains(err.Error(), sig) || strings.Contains(err.Error(), devKey) {
				t.Fatalf("error message leaks a secret: %v", err)
			}
		})
	}
}

// setURL replaces the path and query of r, on the wire and parsed.
func setURL(r *http.Request, path, rawQuery string) {
	u := *r.URL
	u.Path, u.RawPath, u.RawQuery = path, "", rawQuery
	r.URL = &u
	r.RequestURI = u.RequestURI()
}

// signManually signs r with Shared Key over the given canonicalized
// resource path, laying out the string-to-sign from the specification
// (x-ms- headers in byte order), as a non-SDK client would.
func signManually(t *testing.T, r *http.Request, scheme, resourcePath string) {
	t.Helper()
	h := r.Header
	var names []string
	for k := range h {
		if lk := strings.ToLower(k); strings.HasPrefix(lk, "x-ms-") {
			names = append(names, lk)
		}
	}
	slices.Sort(names)
	var canon strings.Builder
	for _, n := range names {
		canon.WriteString(n + ":" + h.Get(n) + "\n")
	}
	res := "/" + devAccount + resourcePath
	var sts string
	if scheme == "SharedKeyLite" {
		if c := r.URL.Query().Get("comp"); c != "" {
			res += "?comp=" + c
		}
		sts = strings.Join([]string{r.Method, h.Get("Content-MD5"), h.Get("Content-Type"), ""}, "\n") + "\n" + canon.String() + res
	} else {
		q := r.URL.Query()
		var keys []string
		for k := range q {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			res += "\n" + strings.ToLower(k) + ":" + strings.Join(q[k], ",")
		}
		sts = strings.Join([]string{r.Method, "", "", "", "", "", "", "", "", "", "", ""}, "\n") + "\n" + canon.String() + res
	}
	mac := hmac.New(sha256.New, devKeyBytes(t))
	mac.Write([]byte(sts))
	h.Set("Authorization", scheme+" "+devAccount+":"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
}

func TestSharedKeyOtherClients(t *testing.T) {
	tests := []struct {
		name     string
		scheme   string
		path     string // request path
		signPath string // path signed into the canonicalized resource
		query    string
		want     Method
	}{
		{"spec layout, primary", "SharedKey", "/devstoreaccount1/c/b", "/devstoreaccount1/c/b", "comp=metadata&timeout=30", SharedKey},
		{"secondary signed without suffix", "SharedKey", "/devstoreaccount1-secondary/c/b", "/devstoreaccount1/c/b", "", SharedKey},
		{"secondary signed with suffix", "SharedKey", "/devstoreaccount1-secondary/c/b", "/devstoreaccount1-secondary/c/b", "", SharedKey},
		{"secondary container root", "SharedKey", "/devstoreaccount1-secondary", "/devstoreaccount1", "restype=service&comp=stats", SharedKey},
		{"escaped path signed decoded", "SharedKey", "/devstoreaccount1/c/a%20b", "/devstoreaccount1/c/a b", "", SharedKey},
		{"lite", "SharedKeyLite", "/devstoreaccount1/c/b", "/devstoreaccount1/c/b", "comp=metadata&timeout=30", SharedKeyLite},
		{"lite wrong comp", "SharedKeyLite", "/devstoreaccount1/c/b", "/devstoreaccount1/c/x", "comp=metadata", Anonymous},
		{"unrelated path", "SharedKey", "/devstoreaccount1/c/b", "/devstoreaccount1/c/other", "", Anonymous},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := "http://127.0.0.1:10000" + tt.path
			if tt.query != "" {
				target += "?" + tt.query
			}
			r := httptest.NewRequest(http.MethodGet, target, nil)
			r.Header.Set("x-ms-date", time.Now().UTC().Format(http.TimeFormat))
			r.Header.Set("x-ms-version", "2025-11-05")
			r.Header.Set("x-ms-meta-a-b", "1")
			r.Header.Set("x-ms-meta-ab", "2")
			signManually(t, r, tt.scheme, tt.signPath)
			m, err := Authorize(authRequest(t, r))
			if tt.want == Anonymous {
				if !errors.Is(err, ErrAuthenticationFailed) {
					t.Fatalf("got (%v, %v), want AuthenticationFailed", m, err)
				}
				return
			}
			if err != nil || m != tt.want {
				t.Fatalf("got (%v, %v), want %v", m, err, tt.want)
			}
		})
	}
}

func TestAnonymous(t *testing.T) {
	for _, target := range []string{
		"/devstoreaccount1/c/b",
		"/devstoreaccount1/c?restype=container&comp=list",
		"/devstoreaccount1-secondary/c/b?snapshot=x",
	} {
		r := httptest.NewRequest(http.MethodGet, target, nil)
		m, err := Authorize(authRequest(t, r))
		if m != Anonymous || err != nil {
			t.Errorf("%s: got (%v, %v), want (Anonymous, nil)", target, m, err)
		}
	}
	if _, err := Authorize(Request{}); !errors.Is(err, ErrAuthenticationFailed) {
		t.Errorf("nil HTTP request: got %v, want AuthenticationFailed", err)
	}
}

func TestCompareHeaderNames(t *testing.T) {
	// The order the Azure SDKs produce: hyphens are ignored at first and
	// only break ties, '_' sorts before letters, so "x-ms-meta-a_b" comes
	// before "x-ms-meta-ab", which comes before "x-ms-meta-a-b".
	want := []string{
		"x-ms-blob-content-type",
		"x-ms-blob-type",
		"x-ms-date",
		"x-ms-meta-a_b",
		"x-ms-meta-ab",
		"x-ms-meta-a-b",
		"x-ms-meta-abc",
		"x-ms-version",
	}
	got := slices.Clone(want)
	slices.Reverse(got)
	slices.SortFunc(got, compareHeaderNames)
	if !slices.Equal(got, want) {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	for _, n := range want {
		if c := compareHeaderNames(n, n); c != 0 {
			t.Errorf("compare(%q, itself) = %d", n, c)
		}
	}
}

func TestCanonicalQueryPlus(t *testing.T) {
	raw := "prefix=a+b%2Bc&comp=list&Restype=container"
	if got, want := canonicalQuery(raw, true), "\ncomp:list\nprefix:a b+c\nrestype:container"; got != want {
		t.Errorf("form decoding: got %q, want %q", got, want)
	}
	if got, want := canonicalQuery(raw, false), "\ncomp:list\nprefix:a+b+c\nrestype:container"; got != want {
		t.Errorf("percent decoding: got %q, want %q", got, want)
	}
}

func BenchmarkAuthorizeSharedKey(b *testing.B) {
	r := httptest.NewRequest(http.MethodGet, "/devstoreaccount1/c1/dir/blob.txt", nil)
	r.Header.Set("x-ms-date", time.Now().UTC().Format(http.TimeFormat))
	r.Header.Set("x-ms-version", "2026-12-06")
	r.Header.Set("x-ms-client-request-id", "00000000-0000-0000-0000-000000000000")
	r.Header.Set("x-ms-range", "bytes=0-4095")
	r.Header.Set("Accept", "application/xml")
	// Sign with the first (SDK-order) candidate, as the Go SDK would.
	key := devKeyBytes(b)
	req := Request{HTTP: r, Account: devAccount, Key: key, Container: "c1", Blob: "dir/blob.txt", Now: time.Now()}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(sharedKeyStrings(&req)[0]))
	r.Header.Set("Authorization", "SharedKey "+devAccount+":"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Authorize(req); err != nil {
			b.Fatal(err)
		}
	}
}
