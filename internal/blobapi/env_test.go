package blobapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"

	"github.com/geoblob/geoblob/internal/blobapi"
	"github.com/geoblob/geoblob/internal/clock"
	"github.com/geoblob/geoblob/internal/store"
)

const (
	devAccount = "devstoreaccount1"
	devKey     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// env is an emulator under test: a primary and a secondary store behind
// httptest servers, with replication applied on demand by sync.
type env struct {
	t         testing.TB
	clock     *clock.Manual
	primary   *store.Store
	secondary *store.Store
	srv       *httptest.Server // path-style primary and -secondary
	secSrv    *httptest.Server // distinct secondary host
	cred      *azblob.SharedKeyCredential
	client    *azblob.Client // primary
	secClient *azblob.Client // path-style secondary
	syncStats string

	mu      sync.Mutex
	pending []store.Change
	synced  time.Time
}

type envOptions struct {
	manualClock bool
	// clockStart, when set, is where the manual clock starts.
	clockStart time.Time
	// maxClockSkew, when set, replaces the skew check's setting (which is
	// off with a manual clock).
	maxClockSkew time.Duration
	maxBlobSize  int64
	// maxStagedBytes is the primary store's cap on staged bytes.
	maxStagedBytes int64
	// keys replaces the account lookup; used to inject a panic.
	keys func(string) ([]byte, bool)
	// copySourceTimeout bounds external copy source fetches.
	copySourceTimeout time.Duration
}

func newEnv(t testing.TB, opts ...envOptions) *env {
	t.Helper()
	var o envOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	e := &env{t: t, syncStats: "live"}
	now := time.Now
	if o.manualClock {
		start := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
		if !o.clockStart.IsZero() {
			start = o.clockStart
		}
		e.clock = clock.NewManual(start)
		now = e.clock.Now
	}
	e.secondary = store.New(store.Options{Now: now})
	e.primary = store.New(store.Options{Now: now, MaxStagedBytes: o.maxStagedBytes, OnCommit: func(ch store.Change) {
		e.mu.Lock()
		e.pending = append(e.pending, ch)
		e.mu.Unlock()
	}})
	key, err := base64.StdEncoding.DecodeString(devKey)
	if err != nil {
		t.Fatal(err)
	}
	keys := func(a string) ([]byte, bool) {
		if a == devAccount {
			return key, true
		}
		return nil, false
	}
	if o.keys != nil {
		inner := o.keys
		keys = func(a string) ([]byte, bool) {
			if k, ok := inner(a); ok {
				return k, true
			}
			if a == devAccount {
				return key, true
			}
			return nil, false
		}
	}
	skew := time.Duration(0)
	if o.manualClock {
		// The SDK signs with the wall clock, which the manual clock does
		// not follow.
		skew = -1
	}
	if o.maxClockSkew != 0 {
		skew = o.maxClockSkew
	}
	api := blobapi.New(blobapi.Config{
		MaxClockSkew:      skew,
		Primary:           e.primary,
		Secondary:         e.secondary,
		Keys:              keys,
		MaxBlobSize:       o.maxBlobSize,
		CopySourceTimeout: o.copySourceTimeout,
		Stats: func(string) (string, time.Time) {
			e.mu.Lock()
			defer e.mu.Unlock()
			return e.syncStats, e.synced
		},
		Now:    now,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	e.srv = newServer(api)
	e.secSrv = newServer(api.SecondaryHandler())
	t.Cleanup(func() {
		e.srv.Close()
		e.secSrv.Close()
	})
	e.cred, err = azblob.NewSharedKeyCredential(devAccount, devKey)
	if err != nil {
		t.Fatal(err)
	}
	e.client = e.newClient(e.primaryURL())
	e.secClient = e.newClient(e.secondaryURL())
	return e
}

// newServer starts h on loopback with the MaxHeaderBytes the emulator uses.
func newServer(h http.Handler) *httptest.Server {
	srv := httptest.NewUnstartedServer(h)
	srv.Config.MaxHeaderBytes = blobapi.MaxHeaderBytes
	srv.Start()
	return srv
}

func clientOptions() *azblob.ClientOptions {
	return &azblob.ClientOptions{ClientOptions: azcore.ClientOptions{
		Retry: policy.RetryOptions{MaxRetries: -1},
	}}
}

func (e *env) newClient(u string) *azblob.Client {
	e.t.Helper()
	c, err := azblob.NewClientWithSharedKeyCredential(u, e.cred, clientOptions())
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *env) primaryURL() string   { return e.srv.URL + "/" + devAccount + "/" }
func (e *env) secondaryURL() string { return e.srv.URL + "/" + devAccount + "-secondary/" }

// sync applies every change committed on the primary to the secondary.
func (e *env) sync() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, ch := range e.pending {
		e.secondary.Apply(ch)
		e.synced = ch.Time
	}
	e.pending = nil
}

// accountSAS returns an account SAS query string granting everything.
func (e *env) accountSAS() string {
	e.t.Helper()
	perms := sas.AccountPermissions{Read: true, Write: true, Delete: true, List: true, Add: true, Create: true, Tag: true, FilterByTags: true}
	qp, err := sas.AccountSignatureValues{
		Protocol:      sas.ProtocolHTTPSandHTTP,
		ExpiryTime:    time.Now().Add(time.Hour).UTC(),
		Permissions:   perms.String(),
		ResourceTypes: (&sas.AccountResourceTypes{Service: true, Container: true, Object: true}).String(),
	}.SignWithSharedKey(e.cred)
	if err != nil {
		e.t.Fatal(err)
	}
	return qp.Encode()
}

// do sends a hand-made request authorized with an account SAS. path is
// relative to the server root and may carry a query.
func (e *env) do(method, path string, hdr map[string]string, body io.Reader) *http.Response {
	e.t.Helper()
	u := e.srv.URL + path
	if strings.Contains(u, "?") {
		u += "&" + e.accountSAS()
	} else {
		u += "?" + e.accountSAS()
	}
	return e.raw(method, u, hdr, body)
}

// raw sends a hand-made request as is.
func (e *env) raw(method, u string, hdr map[string]string, body io.Reader) *http.Response {
	e.t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, u, body)
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range hdr {
		if strings.EqualFold(k, "Content-Length") {
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func ctx() context.Context { return context.Background() }

// mustCreate creates a container on the primary.
func (e *env) mustCreate(name string) {
	e.t.Helper()
	if _, err := e.client.CreateContainer(ctx(), name, nil); err != nil {
		e.t.Fatalf("create container %s: %v", name, err)
	}
}

func (e *env) mustUpload(cont, blob string, data []byte) {
	e.t.Helper()
	if _, err := e.client.UploadBuffer(ctx(), cont, blob, data, nil); err != nil {
		e.t.Fatalf("upload %s/%s: %v", cont, blob, err)
	}
}

func (e *env) mustDownload(c *azblob.Client, cont, blob string) []byte {
	e.t.Helper()
	resp, err := c.DownloadStream(ctx(), cont, blob, nil)
	if err != nil {
		e.t.Fatalf("download %s/%s: %v", cont, blob, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

// wantCode fails unless err is an Azure error with the given status and code.
func wantCode(t testing.TB, err error, status int, code bloberror.Code) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %d %s", status, code)
	}
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("got %v, want a ResponseError %d %s", err, status, code)
	}
	if re.StatusCode != status || (code != "" && re.ErrorCode != string(code)) {
		t.Fatalf("got %d %s, want %d %s", re.StatusCode, re.ErrorCode, status, code)
	}
}

func svc(c *azblob.Client) *service.Client { return c.ServiceClient() }

func base64Std(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// streamOf wraps b for SDK calls that take an io.ReadSeekCloser.
func streamOf(b []byte) io.ReadSeekCloser { return nopCloser{bytes.NewReader(b)} }

type nopCloser struct{ io.ReadSeeker }

func (nopCloser) Close() error { return nil }
