package metrics

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestMiddlewareStatusLabels checks the status label of every way a
// request can end, and the bytes counted.
func TestMiddlewareStatusLabels(t *testing.T) {
	started := make(chan struct{}, 1)
	tests := []struct {
		name        string
		handler     http.HandlerFunc
		cancel      bool
		wantStatus  string
		wantCode    int
		wantIn      int64
		wantOut     int64
		requestBody string
	}{
		{"ok with body", func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			_, _ = w.Write(b)
		}, false, "200", 200, 5, 5, "hello"},
		{"explicit status", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }, false, "503", 503, 0, 0, ""},
		{"nothing written", func(w http.ResponseWriter, r *http.Request) {}, false, "200", 200, 0, 0, ""},
		{"client gone first", func(w http.ResponseWriter, r *http.Request) {
			started <- struct{}{}
			<-r.Context().Done()
		}, true, StatusAborted, 0, 0, 0, ""},
		{"hijacked", func(w http.ResponseWriter, r *http.Request) {
			c, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				c.Close()
			}
		}, false, StatusReset, 0, 0, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got Request
			done := make(chan struct{})
			m := New(Config{OnRequest: func(r Request) { got = r; close(done) }})
			h := m.Middleware(func(*http.Request) string { return "primary" }, tt.handler)
			srv := httptest.NewServer(h)
			defer srv.Close()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "PUT", srv.URL+"/acct/c/b", strings.NewReader(tt.requestBody))
			if tt.cancel {
				go func() {
					<-started // the handler is waiting: the request is in flight
					cancel()
				}()
			}
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			<-done
			if got.Status != tt.wantStatus || got.Code != tt.wantCode || got.BytesIn != tt.wantIn || got.BytesOut != tt.wantOut || got.Operation != "PutBlob" {
				t.Errorf("request %+v; want status %s code %d in %d out %d", got, tt.wantStatus, tt.wantCode, tt.wantIn, tt.wantOut)
			}
			if n := testutil.ToFloat64(m.requests.WithLabelValues("primary", "PutBlob", tt.wantStatus)); n != 1 {
				t.Errorf("requests_total{status=%q} = %v, want 1", tt.wantStatus, n)
			}
		})
	}
}

// BenchmarkMiddleware measures what the metrics add to one request, with
// the dashboard's hook attached.
func BenchmarkMiddleware(b *testing.B) {
	m := New(Config{OnRequest: func(Request) {}})
	h := m.Middleware(func(*http.Request) string { return "primary" }, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("hello"))
	}))
	req := httptest.NewRequest("GET", "/devstoreaccount1/c/b", nil)
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
}

// BenchmarkBare is the same request without the middleware.
func BenchmarkBare(b *testing.B) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("hello")) })
	req := httptest.NewRequest("GET", "/devstoreaccount1/c/b", nil)
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
}

// TestMiddlewareChildCacheBounded: requests a hostile client shapes at
// will (methods, paths, accounts, queries, hosts) add no entry to the
// middleware's cache of metric children beyond the fixed set of
// endpoints, operations and statuses.
func TestMiddlewareChildCacheBounded(t *testing.T) {
	m := New(Config{})
	h := m.Middleware(func(r *http.Request) string {
		if strings.Contains(r.Host, "secondary") {
			return "secondary"
		}
		return "primary"
	}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader([]int{200, 201, 400, 403, 404, 409, 500, 503}[len(r.URL.Path)%8])
	}))
	methods := []string{"GET", "PUT", "DELETE", "HEAD", "OPTIONS", "POST", "PATCH", "BREW", "X-ANY"}
	for i := range 3000 {
		target := fmt.Sprintf("/acct%d/c%d/b%d?comp=%s&restype=%s&x%d=1", i, i%7, i, []string{"list", "x" + fmt.Sprint(i), "block", ""}[i%4], []string{"container", "service", "r" + fmt.Sprint(i)}[i%3], i)
		r := httptest.NewRequest(methods[i%len(methods)], target, nil)
		r.Host = []string{"a.blob.localhost", fmt.Sprintf("acct%d-secondary.blob.localhost", i), "127.0.0.1"}[i%3]
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	count := func(sm *sync.Map) (n int) {
		sm.Range(func(any, any) bool { n++; return true })
		return n
	}
	ops, statuses := 0, 0
	m.byOperation.Range(func(_, v any) bool {
		ops++
		statuses += count(&v.(*operationMetrics).byStatus)
		return true
	})
	// About 50 operations and Other, two endpoints, eight statuses.
	if eps := count(&m.byEndpoint); eps > 2 || ops > 2*60 || statuses > 2*60*8 {
		t.Fatalf("cache grew with hostile input: %d endpoints, %d operations, %d statuses", eps, ops, statuses)
	}
}
