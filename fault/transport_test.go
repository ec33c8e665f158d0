package fault

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
)

func TestTransportClassify(t *testing.T) {
	tr := &Transport{SecondaryHosts: []string{"127.0.0.1:10001", "backup.example.com", "http://127.0.0.1:10002", "https://[::1]:10003/devstoreaccount1"}}
	tests := []struct {
		method, url string
		want        Target
	}{
		{"GET", "https://acct.blob.core.windows.net/c/dir/b.png", Target{Primary, "GET", "acct", "c", "dir/b.png"}},
		{"PUT", "https://acct-secondary.blob.core.windows.net/c/b", Target{Secondary, "PUT", "acct", "c", "b"}},
		{"GET", "https://acct.blob.core.windows.net/?comp=list", Target{Primary, "GET", "acct", "", ""}},
		{"GET", "http://127.0.0.1:10000/devstoreaccount1/c/b", Target{Primary, "GET", "devstoreaccount1", "c", "b"}},
		{"GET", "http://127.0.0.1:10000/devstoreaccount1-secondary/c/b", Target{Secondary, "GET", "devstoreaccount1", "c", "b"}},
		{"GET", "http://127.0.0.1:10001/devstoreaccount1/c/b", Target{Secondary, "GET", "devstoreaccount1", "c", "b"}},
		{"GET", "http://localhost:10000/devstoreaccount1/c", Target{Primary, "GET", "devstoreaccount1", "c", ""}},
		{"GET", "http://[::1]:10000/acct/c/b", Target{Primary, "GET", "acct", "c", "b"}},
		{"GET", "https://backup.example.com/c/b", Target{Secondary, "GET", "backup", "c", "b"}},
		// Secondary hosts given as URLs.
		{"GET", "http://127.0.0.1:10002/devstoreaccount1/c/b", Target{Secondary, "GET", "devstoreaccount1", "c", "b"}},
		{"GET", "http://[::1]:10003/devstoreaccount1/c/b", Target{Secondary, "GET", "devstoreaccount1", "c", "b"}},
		// Real hosts, any case, with a port, and the -secondary suffix only in
		// the account: a container named like it stays on the primary.
		{"HEAD", "https://ACCT-Secondary.blob.core.windows.net:443/c/b", Target{Secondary, "HEAD", "acct", "c", "b"}},
		{"GET", "https://acct.blob.core.windows.net/logs-secondary/b", Target{Primary, "GET", "acct", "logs-secondary", "b"}},
		{"GET", "https://acct-secondary.privatelink.blob.core.windows.net/c/b", Target{Secondary, "GET", "acct", "c", "b"}},
		{"GET", "http://azurite:10000/devstoreaccount1-secondary/c/b", Target{Secondary, "GET", "devstoreaccount1", "c", "b"}},
		// A dotted loopback name is path-style, as the client's router reads it.
		{"GET", "http://emu.localhost:10000/devstoreaccount1-secondary/c/b", Target{Secondary, "GET", "devstoreaccount1", "c", "b"}},
		{"GET", "http://emu.localhost:10000/devstoreaccount1/c/b", Target{Primary, "GET", "devstoreaccount1", "c", "b"}},
	}
	for _, tt := range tests {
		req := httptest.NewRequest(tt.method, tt.url, nil)
		if got := tr.classify(req); got != tt.want {
			t.Errorf("%s %s: %+v, want %+v", tt.method, tt.url, got, tt.want)
		}
	}
}

// newBlobClient returns an azblob client for container c, blob b on the
// path-style account at base, with faults from s and no SDK retries.
func newBlobClient(t *testing.T, base string, s *Set) *azblob.Client {
	t.Helper()
	tr := &Transport{Base: &http.Transport{DisableKeepAlives: true}, Rules: s}
	c, err := azblob.NewClientWithNoCredential(base, &azblob.ClientOptions{ClientOptions: azcore.ClientOptions{
		Transport: &http.Client{Transport: tr},
		Retry:     policy.RetryOptions{MaxRetries: -1},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestTransportWithAzblob(t *testing.T) {
	be := &backend{}
	srv := httptest.NewServer(be)
	defer srv.Close()

	download := func(c *azblob.Client, ctx context.Context) ([]byte, error) {
		resp, err := c.DownloadStream(ctx, "c", "HelloWorld.png", nil)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		return io.ReadAll(resp.Body)
	}

	tests := []struct {
		name    string
		rule    Rule
		base    string // account path
		timeout time.Duration
		check   func(t *testing.T, body []byte, err error)
	}{
		{"no fault", Rule{Endpoint: Secondary, Action: Action{Status: 503}}, "/acct", 0, func(t *testing.T, body []byte, err error) {
			if err != nil || len(body) != bodySize {
				t.Errorf("%d bytes, %v", len(body), err)
			}
		}},
		{"503 on primary", Rule{Endpoint: Primary, Match: Match{Blob: "HelloWorld"}, Action: Action{Status: 503}}, "/acct", 0, func(t *testing.T, _ []byte, err error) {
			if !bloberror.HasCode(err, bloberror.ServerBusy) {
				t.Errorf("error %v, want ServerBusy", err)
			}
		}},
		{"500 on path-style secondary", Rule{Endpoint: Secondary, Action: Action{Status: 500}}, "/acct-secondary", 0, func(t *testing.T, _ []byte, err error) {
			var re *azcore.ResponseError
			if !errors.As(err, &re) || re.StatusCode != 500 || re.ErrorCode != "InternalError" {
				t.Errorf("error %v, want a 500 InternalError", err)
			}
		}},
		{"latency", Rule{Endpoint: Primary, Action: Action{Latency: Duration(20 * time.Millisecond)}}, "/acct", 0, func(t *testing.T, body []byte, err error) {
			if err != nil || len(body) != bodySize {
				t.Errorf("%d bytes, %v", len(body), err)
			}
		}},
		{"reset", Rule{Endpoint: Primary, Action: Action{Reset: true}}, "/acct", 0, func(t *testing.T, _ []byte, err error) {
			if !errors.Is(err, syscall.ECONNRESET) || !errors.Is(err, ErrInjected) {
				t.Errorf("error %v, want an injected ECONNRESET", err)
			}
		}},
		{"refuse", Rule{Endpoint: Primary, Action: Action{Refuse: true}}, "/acct", 0, func(t *testing.T, _ []byte, err error) {
			if !errors.Is(err, syscall.ECONNREFUSED) {
				t.Errorf("error %v, want ECONNREFUSED", err)
			}
		}},
		{"truncated body", Rule{Endpoint: Primary, Action: Action{ResetAfterBytes: new(int64(10))}}, "/acct", 0, func(t *testing.T, body []byte, err error) {
			if len(body) != 10 || !errors.Is(err, syscall.ECONNRESET) {
				t.Errorf("%d bytes, %v; want 10 bytes then ECONNRESET", len(body), err)
			}
		}},
		{"hang", Rule{Endpoint: Primary, Action: Action{Hang: true}}, "/acct", 30 * time.Millisecond, func(t *testing.T, _ []byte, err error) {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("error %v, want the deadline", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewSet()
			mustAdd(t, s, tt.rule)
			ctx := context.Background()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			body, err := download(newBlobClient(t, srv.URL+tt.base, s), ctx)
			tt.check(t, body, err)
		})
	}
}

func TestTransportResetMidUpload(t *testing.T) {
	be := &backend{puts: make(chan struct{}, 1)}
	srv := httptest.NewServer(be)
	defer srv.Close()
	s := NewSet()
	mustAdd(t, s, Rule{Endpoint: Primary, Match: Match{Op: Write}, Action: Action{ResetAfterRequestBytes: new(int64(100))}})
	c := newBlobClient(t, srv.URL+"/acct", s)
	_, err := c.UploadBuffer(context.Background(), "c", "b", []byte(strings.Repeat("z", 4096)), nil)
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("upload error %v, want ECONNRESET", err)
	}
	// The server either never saw the request or saw a broken body.
	calls, _, _ := be.snapshot()
	if calls == 0 {
		return
	}
	select {
	case <-be.puts:
	case <-time.After(10 * time.Second):
		t.Fatal("the server never finished the request")
	}
	if _, n, rerr := be.snapshot(); rerr == nil || n > 100 {
		t.Errorf("server read %d bytes, err %v; want a broken body of at most 100 bytes", n, rerr)
	}
}

func TestTransportCountFallsThrough(t *testing.T) {
	be := &backend{}
	srv := httptest.NewServer(be)
	defer srv.Close()
	s := NewSet()
	id := mustAdd(t, s, Rule{Endpoint: Primary, Action: Action{Status: 503}, Limits: Limits{Count: 2}})
	c := newBlobClient(t, srv.URL+"/acct", s)
	var codes []int
	for range 4 {
		resp, err := c.DownloadStream(context.Background(), "c", "b", nil)
		var re *azcore.ResponseError
		switch {
		case err == nil:
			resp.Body.Close()
			codes = append(codes, 200)
		case errors.As(err, &re):
			codes = append(codes, re.StatusCode)
		default:
			t.Fatal(err)
		}
	}
	if want := []int{503, 503, 200, 200}; !slices.Equal(codes, want) {
		t.Errorf("statuses %v, want %v", codes, want)
	}
	if st, _ := s.Get(id); st.Fired != 2 || st.State != Exhausted {
		t.Errorf("rule %+v", st)
	}
}

// trackedBody records whether it was closed.
type trackedBody struct {
	io.Reader
	closed atomic.Bool
}

func (b *trackedBody) Close() error { b.closed.Store(true); return nil }

// failTransport fails the test if a request reaches it.
type failTransport struct{ t *testing.T }

func (f failTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	f.t.Errorf("%s %s reached the network", r.Method, r.URL)
	return nil, errors.New("unexpected")
}

// TestTransportShortCircuit: actions that never reach the network close
// the request body (the http.RoundTripper contract) and, for a status,
// synthesize a response azcore can use.
func TestTransportShortCircuit(t *testing.T) {
	tests := []struct {
		name   string
		action Action
		method string
	}{
		{"status", Action{Status: 503}, http.MethodPut},
		{"status on HEAD", Action{Status: 404}, http.MethodHead},
		{"reset", Action{Reset: true}, http.MethodPut},
		{"refuse", Action{Refuse: true}, http.MethodPut},
		{"hang", Action{Hang: true}, http.MethodPut},
		{"latency then status", Action{Latency: Duration(time.Millisecond), Status: 500}, http.MethodPut},
		{"latency cut short", Action{Latency: MaxDelay}, http.MethodPut},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewSet()
			mustAdd(t, s, Rule{Endpoint: Primary, Action: tt.action})
			tr := &Transport{Base: failTransport{t}, Rules: s}
			body := &trackedBody{Reader: strings.NewReader("payload")}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, tt.method, "https://acct.blob.core.windows.net/c/b", body)
			resp, err := tr.RoundTrip(req)
			if !body.closed.Load() {
				t.Error("request body not closed")
			}
			if tt.action.Status == 0 {
				if err == nil {
					t.Fatalf("answer %d, want an error", resp.StatusCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.action.Status || resp.Request != req || resp.ContentLength != int64(len(b)) ||
				resp.Header.Get("Content-Length") != strconv.Itoa(len(b)) || resp.Header.Get("x-ms-error-code") == "" || resp.Header.Get("x-ms-request-id") == "" {
				t.Errorf("response %+v, body %q", resp, b)
			}
			if (len(b) > 0) == (tt.method == http.MethodHead) {
				t.Errorf("%s: body %q", tt.method, b)
			}
			// As every Azure answer, and the server-side status fault's.
			if d, err := http.ParseTime(resp.Header.Get("Date")); err != nil || time.Since(d) > time.Hour || time.Until(d) > time.Hour {
				t.Errorf("Date %q is not the current time (%v)", resp.Header.Get("Date"), err)
			}
		})
	}
}

// TestTransportRemoveReleasesHang: removing the rule, or clearing the Set,
// ends the client-side hangs it caused.
func TestTransportRemoveReleasesHang(t *testing.T) {
	for _, how := range []string{"remove", "clear"} {
		t.Run(how, func(t *testing.T) {
			s := NewSet()
			id := mustAdd(t, s, Rule{Endpoint: Primary, Action: Action{Hang: true}})
			tr := &Transport{Base: failTransport{t}, Rules: s}
			done := make(chan error, 1)
			go func() {
				req, _ := http.NewRequest(http.MethodGet, "https://acct.blob.core.windows.net/c/b", nil) // no deadline
				_, err := tr.RoundTrip(req)
				done <- err
			}()
			waitFired(t, s, id, 1)
			if how == "remove" {
				if err := s.Remove(id); err != nil {
					t.Fatal(err)
				}
			} else {
				s.Clear()
			}
			select {
			case err := <-done:
				if !errors.Is(err, syscall.ECONNRESET) {
					t.Errorf("released hang: %v, want a reset", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the hang outlived its rule")
			}
		})
	}
}

// TestTransportTruncateAtExactLength: as on the server, a body no longer
// than the limit arrives whole.
func TestTransportTruncateAtExactLength(t *testing.T) {
	srv := httptest.NewServer(&backend{})
	defer srv.Close()
	for limit, wantErr := range map[int64]bool{bodySize: false, bodySize + 1: false, bodySize - 1: true} {
		s := NewSet()
		mustAdd(t, s, Rule{Endpoint: Primary, Action: Action{ResetAfterBytes: new(limit)}})
		c := &http.Client{Transport: &Transport{Rules: s}}
		resp, err := c.Get(srv.URL + "/acct/c/b")
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if (err != nil) != wantErr || int64(len(b)) != min(limit, bodySize) {
			t.Errorf("limit %d: read %d bytes, %v", limit, len(b), err)
		}
	}
}

// TestTransportClientGivesUp: latency and hangs end with the request's
// context and leave no goroutine behind.
func TestTransportClientGivesUp(t *testing.T) {
	s := NewSet()
	mustAdd(t, s, Rule{Endpoint: Primary, Action: Action{Latency: MaxDelay}})
	mustAdd(t, s, Rule{Endpoint: Secondary, Action: Action{Hang: true}})
	tr := &Transport{Base: failTransport{t}, Rules: s}
	before := runtime.NumGoroutine()
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			host := "acct.blob.core.windows.net"
			if i%2 == 1 {
				host = "acct-secondary.blob.core.windows.net"
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+host+"/c/b", nil)
			if _, err := tr.RoundTrip(req); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("%s: %v", host, err)
			}
		})
	}
	wg.Wait()
	if after := settledGoroutines(before); after > before {
		t.Errorf("%d goroutines before, %d after", before, after)
	}
}

// roundTripFunc adapts a function to http.RoundTripper.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestTransportDottedLoopbackSecondary: for emu.localhost, which the router
// reads path-style, a rule for the secondary fires on /ACCOUNT-secondary
// and not on the primary. Before the shared classifier the Transport read
// the host as ACCOUNT.DOMAIN and called every such request the primary.
func TestTransportDottedLoopbackSecondary(t *testing.T) {
	s := NewSet()
	t.Cleanup(s.Close)
	if _, err := s.Add(Rule{Endpoint: Secondary, Action: Action{Status: 503}}); err != nil {
		t.Fatal(err)
	}
	var passed []string
	tr := &Transport{Rules: s, Base: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		passed = append(passed, r.URL.Path)
		return &http.Response{StatusCode: 200, Body: http.NoBody, Header: http.Header{}, Request: r}, nil
	})}
	for _, tc := range []struct {
		path string
		want int
	}{{"/devstoreaccount1-secondary/c/b", 503}, {"/devstoreaccount1/c/b", 200}} {
		req := httptest.NewRequest("GET", "http://emu.localhost:10000"+tc.path, nil)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s: %d, want %d", tc.path, resp.StatusCode, tc.want)
		}
	}
	if len(passed) != 1 || passed[0] != "/devstoreaccount1/c/b" {
		t.Errorf("reached the network: %v", passed)
	}
}
