package fault

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
)

func TestTransportClassify(t *testing.T) {
	tr := &Transport{SecondaryHosts: []string{"127.0.0.1:10001", "backup.example.com"}}
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
