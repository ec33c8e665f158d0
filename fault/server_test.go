package fault

import (
	"context"
	"encoding/xml"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// pathClassify describes path-style requests /ACCOUNT[-secondary]/CONTAINER/BLOB.
func pathClassify(r *http.Request) (Target, bool) {
	p := strings.TrimPrefix(r.URL.Path, "/")
	account, rest, _ := strings.Cut(p, "/")
	if account == "" {
		return Target{}, false
	}
	t := Target{Endpoint: Primary, Method: r.Method, Account: account}
	if a, ok := strings.CutSuffix(account, "-secondary"); ok {
		t.Account, t.Endpoint = a, Secondary
	}
	t.Container, t.Blob, _ = strings.Cut(rest, "/")
	return t, true
}

const bodySize = 1000

// backend is a trivial blob server: GET answers bodySize bytes, PUT reads
// the body and reports what it read.
type backend struct {
	puts    chan struct{} // when set, receives after each PUT is handled
	mu      sync.Mutex
	calls   int
	readN   int64
	readErr error
}

func (b *backend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	b.calls++
	b.mu.Unlock()
	if r.Method == http.MethodPut {
		n, err := io.Copy(io.Discard, r.Body)
		b.mu.Lock()
		b.readN, b.readErr = n, err
		b.mu.Unlock()
		if b.puts != nil {
			defer func() { b.puts <- struct{}{} }()
		}
		if err != nil {
			http.Error(w, "broken body", http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusCreated)
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(bodySize))
	_, _ = w.Write([]byte(strings.Repeat("x", bodySize)))
}

func (b *backend) snapshot() (int, int64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.calls, b.readN, b.readErr
}

func newServer(t *testing.T) (*Set, *backend, *httptest.Server, *http.Client) {
	t.Helper()
	s := NewSet()
	be := &backend{}
	srv := httptest.NewServer(Middleware(s, pathClassify, be))
	t.Cleanup(func() {
		s.Close()
		srv.Close()
	})
	// A fresh connection per request, so that net/http never retries a
	// request on its own after a reset of a reused connection.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	return s, be, srv, client
}

func TestMiddlewarePassThrough(t *testing.T) {
	s, be, srv, client := newServer(t)
	mustAdd(t, s, Rule{Endpoint: Both, Action: Action{Status: 503}})
	// Unclassified requests pass through; every classified path is subject
	// to the rules: the middleware knows no server's special paths (the
	// emulator routes its control API around it).
	for _, tc := range []struct {
		path string
		want int
	}{{"/", http.StatusOK}, {"/_geoblob/faults", http.StatusServiceUnavailable}} {
		resp, err := client.Get(srv.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s: status %d, want %d", tc.path, resp.StatusCode, tc.want)
		}
	}
	if calls, _, _ := be.snapshot(); calls != 1 {
		t.Errorf("backend saw %d calls, want 1", calls)
	}
}

func TestMiddlewareStatus(t *testing.T) {
	s, be, srv, client := newServer(t)
	mustAdd(t, s, Rule{Endpoint: Primary, Match: Match{Blob: "HelloWorld"}, Action: Action{Status: 503}})
	mustAdd(t, s, Rule{Endpoint: Secondary, Action: Action{Status: 500, Code: "Custom", Message: "custom message"}})
	tests := []struct {
		path       string
		status     int
		code, text string
	}{
		{"/acct/c/HelloWorld.png", 503, "ServerBusy", "unable to receive requests"},
		{"/acct/c/other.png", 200, "", ""},
		{"/acct-secondary/c/other.png", 500, "Custom", "custom message"},
	}
	for _, tt := range tests {
		resp, err := client.Get(srv.URL + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Errorf("%s: status %d, want %d", tt.path, resp.StatusCode, tt.status)
			continue
		}
		if tt.code == "" {
			continue
		}
		var e struct{ Code, Message string }
		if err := xml.Unmarshal(body, &e); err != nil {
			t.Fatalf("%s: error body %q: %v", tt.path, body, err)
		}
		if e.Code != tt.code || resp.Header.Get("x-ms-error-code") != tt.code || !strings.Contains(e.Message, tt.text) {
			t.Errorf("%s: code %q (header %q), message %q", tt.path, e.Code, resp.Header.Get("x-ms-error-code"), e.Message)
		}
	}
	if calls, _, _ := be.snapshot(); calls != 1 {
		t.Errorf("backend saw %d calls, want only the unfaulted one", calls)
	}
}

func TestMiddlewareLatency(t *testing.T) {
	s, _, srv, client := newServer(t)
	const d = 50 * time.Millisecond
	mustAdd(t, s, Rule{Endpoint: Primary, Action: Action{Latency: Duration(d)}})
	mustAdd(t, s, Rule{Endpoint: Secondary, Action: Action{Latency: Duration(d), Status: 503}})
	for path, want := range map[string]int{"/acct/c/b": 200, "/acct-secondary/c/b": 503} {
		start := time.Now()
		resp, err := client.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s: status %d, want %d", path, resp.StatusCode, want)
		}
		if el := time.Since(start); el < d {
			t.Errorf("%s: answered after %v, before the %v latency", path, el, d)
		}
	}
}

func isConnError(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, net.ErrClosed)
}

func TestMiddlewareResetAndRefuse(t *testing.T) {
	for _, a := range []Action{{Reset: true}, {Refuse: true}, {Latency: Duration(time.Millisecond), Reset: true}} {
		t.Run(a.String(), func(t *testing.T) {
			s, be, srv, client := newServer(t)
			mustAdd(t, s, Rule{Endpoint: Primary, Action: a})
			resp, err := client.Get(srv.URL + "/acct/c/b")
			if err == nil {
				resp.Body.Close()
				t.Fatalf("got status %d, want a connection error", resp.StatusCode)
			}
			if !isConnError(err) {
				t.Errorf("error %v is not a connection error", err)
			}
			if calls, _, _ := be.snapshot(); calls != 0 {
				t.Errorf("backend was called")
			}
		})
	}
}

func TestMiddlewareTruncatedBody(t *testing.T) {
	s, _, srv, client := newServer(t)
	mustAdd(t, s, Rule{Endpoint: Primary, Action: Action{ResetAfterBytes: new(int64(100))}})
	resp, err := client.Get(srv.URL + "/acct/c/b")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.ContentLength != bodySize {
		t.Fatalf("status %d, length %d", resp.StatusCode, resp.ContentLength)
	}
	got, err := io.ReadAll(resp.Body)
	if err == nil || len(got) != 100 {
		t.Fatalf("read %d bytes, err %v; want 100 bytes and an error", len(got), err)
	}
	if !isConnError(err) {
		t.Errorf("error %v is not a connection error", err)
	}
}

func TestMiddlewareResetMidRequest(t *testing.T) {
	s, be, srv, client := newServer(t)
	mustAdd(t, s, Rule{Endpoint: Primary, Match: Match{Op: Write}, Action: Action{ResetAfterRequestBytes: new(int64(300))}})
	req, _ := http.NewRequest(http.MethodPut, srv.URL+"/acct/c/b", strings.NewReader(strings.Repeat("y", 5000)))
	resp, err := client.Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("got status %d, want a connection error", resp.StatusCode)
	}
	_, n, rerr := be.snapshot()
	if n != 300 || !errors.Is(rerr, syscall.ECONNRESET) || !errors.Is(rerr, ErrInjected) {
		t.Errorf("handler read %d bytes then %v; want 300 then an injected reset", n, rerr)
	}
}

func TestMiddlewareHang(t *testing.T) {
	s, be, srv, client := newServer(t)
	mustAdd(t, s, Rule{Endpoint: Primary, Action: Action{Hang: true}})

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/acct/c/b", nil)
	if resp, err := client.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("hang answered %d", resp.StatusCode)
	} else if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v, want the client's deadline", err)
	}

	// Closing the set releases a hung request that has no deadline.
	done := make(chan error, 1)
	go func() {
		resp, err := client.Get(srv.URL + "/acct/c/b")
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	for i := 0; i < 1000; i++ { // wait until the request hangs
		if st := s.List(); st[0].Fired == 2 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	s.Close()
	if err := <-done; err == nil {
		t.Error("released hang answered")
	}
	if calls, _, _ := be.snapshot(); calls != 0 {
		t.Errorf("backend was called")
	}
}

func TestMiddlewareConcurrentRuleChanges(t *testing.T) {
	s, _, srv, _ := newServer(t)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 8 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := client.Get(srv.URL + "/acct/c/b")
				if err != nil {
					t.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 && resp.StatusCode != 503 {
					t.Errorf("status %d", resp.StatusCode)
				}
			}
		})
	}
	for i := range 200 {
		id := mustAdd(t, s, Rule{Endpoint: Primary, Action: Action{Status: 503}, Limits: Limits{Probability: new(0.5)}})
		if i%2 == 0 {
			if err := s.Remove(id); err != nil {
				t.Error(err)
			}
		}
		time.Sleep(100 * time.Microsecond)
	}
	close(stop)
	wg.Wait()
}

func TestRefuseListener(t *testing.T) {
	s := NewSet()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &httptest.Server{Listener: RefuseListener(l, s, Secondary), Config: &http.Server{Handler: &backend{}}}
	srv.Start()
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	get := func() error {
		resp, err := client.Get(srv.URL + "/acct/c/b")
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	if err := get(); err != nil {
		t.Fatalf("before the rule: %v", err)
	}
	id := mustAdd(t, s, Rule{Endpoint: Secondary, Action: Action{Refuse: true}})
	for range 3 {
		if err := get(); err == nil || !isConnError(err) {
			t.Fatalf("with the rule: %v, want a connection error", err)
		}
	}
	if st, _ := s.Get(id); st.Fired != 3 {
		t.Errorf("fired %d, want 3", st.Fired)
	}
	if err := s.Remove(id); err != nil {
		t.Fatal(err)
	}
	if err := get(); err != nil {
		t.Fatalf("after the rule: %v", err)
	}
}

// waitFired polls until rule id has fired n times, for at most 10 s.
func waitFired(t *testing.T, s *Set, id string, n int64) {
	t.Helper()
	for range 10000 {
		if st, err := s.Get(id); err == nil && st.Fired >= n {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("rule %s never fired %d times", id, n)
}

// TestMiddlewareRemoveReleasesHang: ending an outage (removing the rule or
// clearing them all) lets go of the requests it holds, as a real endpoint
// coming back would drop its stuck connections; they are not left hanging
// until their clients give up.
func TestMiddlewareRemoveReleasesHang(t *testing.T) {
	for _, how := range []string{"remove", "clear"} {
		t.Run(how, func(t *testing.T) {
			s, be, srv, client := newServer(t)
			id := mustAdd(t, s, Rule{Endpoint: Primary, Action: Action{Hang: true}})
			lat := mustAdd(t, s, Rule{Endpoint: Secondary, Action: Action{Latency: MaxDelay}})
			done := make(chan error, 2)
			for _, path := range []string{"/acct/c/b", "/acct-secondary/c/b"} {
				go func() {
					resp, err := client.Get(srv.URL + path) // no deadline
					if err == nil {
						resp.Body.Close()
						if resp.StatusCode != 200 {
							err = errors.New(resp.Status)
						}
					}
					done <- err
				}()
			}
			waitFired(t, s, id, 1)
			waitFired(t, s, lat, 1)
			if how == "remove" {
				for _, r := range []string{id, lat} {
					if err := s.Remove(r); err != nil {
						t.Fatal(err)
					}
				}
			} else {
				s.Clear()
			}
			var hangErr, latErr error
			for range 2 {
				select {
				case err := <-done:
					if err == nil {
						latErr = errors.New("answered")
					} else {
						hangErr = err
					}
				case <-time.After(10 * time.Second):
					t.Fatal("a held request was not released")
				}
			}
			if hangErr == nil || latErr == nil || latErr.Error() != "answered" {
				t.Errorf("hang: %v (want a connection error); delayed request: %v (want an answer)", hangErr, latErr)
			}
			if calls, _, _ := be.snapshot(); calls != 1 {
				t.Errorf("backend saw %d calls, want the delayed one only", calls)
			}
		})
	}
}

// TestMiddlewareTruncateAtExactLength: a body no longer than the limit
// arrives whole; only a longer one is cut.
func TestMiddlewareTruncateAtExactLength(t *testing.T) {
	s, _, srv, client := newServer(t)
	mustAdd(t, s, Rule{Endpoint: Primary, Action: Action{ResetAfterBytes: new(int64(bodySize))}})
	resp, err := client.Get(srv.URL + "/acct/c/b")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || len(got) != bodySize {
		t.Fatalf("read %d bytes, %v; want the whole %d", len(got), err, bodySize)
	}
}

// TestMiddlewareHeadStatus: an injected error on HEAD carries the Azure
// error code in a header and no body, as Azure answers HEAD.
func TestMiddlewareHeadStatus(t *testing.T) {
	s, _, srv, client := newServer(t)
	mustAdd(t, s, Rule{Endpoint: Primary, Action: Action{Status: 503}})
	for _, method := range []string{http.MethodHead, http.MethodGet} {
		req, _ := http.NewRequest(method, srv.URL+"/acct/c/b", nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 503 || resp.Header.Get("x-ms-error-code") != "ServerBusy" || resp.Header.Get("x-ms-request-id") == "" {
			t.Errorf("%s: %d %v", method, resp.StatusCode, resp.Header)
		}
		if hasBody := len(body) > 0; hasBody != (method == http.MethodGet) {
			t.Errorf("%s: body %q", method, body)
		}
	}
}

// TestMiddlewareCountExactUnderLoad: 64 goroutines race for a rule
// limited to N firings; exactly N requests fail.
func TestMiddlewareCountExactUnderLoad(t *testing.T) {
	s, _, srv, _ := newServer(t)
	const n, workers, each = 25, 64, 4
	id := mustAdd(t, s, Rule{Endpoint: Primary, Action: Action{Status: 503}, Limits: Limits{Count: n}})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	var mu sync.Mutex
	codes := map[int]int{}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				resp, err := client.Get(srv.URL + "/acct/c/b")
				if err != nil {
					t.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				mu.Lock()
				codes[resp.StatusCode]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if codes[503] != n || codes[200] != workers*each-n {
		t.Errorf("statuses %v, want %d x 503", codes, n)
	}
	if st, _ := s.Get(id); st.Fired != n || st.State != Exhausted {
		t.Errorf("rule %+v", st)
	}
}

// settledGoroutines waits (bounded) for the goroutine count to fall to at
// most limit and returns it.
func settledGoroutines(limit int) int {
	n := runtime.NumGoroutine()
	for i := 0; i < 500 && n > limit; i++ {
		time.Sleep(10 * time.Millisecond)
		n = runtime.NumGoroutine()
	}
	return n
}

// TestMiddlewareClientGivesUp: requests held by latency or a hang end on
// the server as soon as their clients give up, leaving no goroutine
// behind; uploads included (net/http notices a departed client only once
// the body is read).
func TestMiddlewareClientGivesUp(t *testing.T) {
	s, _, srv, client := newServer(t)
	mustAdd(t, s, Rule{Endpoint: Primary, Match: Match{Blob: "slow"}, Action: Action{Latency: MaxDelay, Jitter: Duration(time.Second)}})
	mustAdd(t, s, Rule{Endpoint: Primary, Match: Match{Blob: "busy"}, Action: Action{Latency: MaxDelay, Status: 503}})
	mustAdd(t, s, Rule{Endpoint: Primary, Match: Match{Blob: "cut"}, Action: Action{Latency: MaxDelay, ResetAfterRequestBytes: new(int64(10))}})
	mustAdd(t, s, Rule{Endpoint: Secondary, Action: Action{Hang: true}})
	before := runtime.NumGoroutine()
	requests := []struct{ method, path string }{
		{"GET", "/acct/c/slow"}, {"PUT", "/acct/c/slow"}, {"PUT", "/acct/c/busy"}, {"PUT", "/acct/c/cut"},
		{"GET", "/acct-secondary/c/b"}, {"PUT", "/acct-secondary/c/b"},
	}
	var wg sync.WaitGroup
	for i := range 4 * len(requests) {
		wg.Go(func() {
			r := requests[i%len(requests)]
			path := r.path
			var body io.Reader
			if r.method == "PUT" {
				body = strings.NewReader(strings.Repeat("u", 100<<10))
			}
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, r.method, srv.URL+path, body)
			if resp, err := client.Do(req); err == nil {
				resp.Body.Close()
				t.Errorf("%s answered %d", path, resp.StatusCode)
			}
		})
	}
	// An upload broken off mid-body while it is delayed.
	for range 4 {
		c, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.WriteString(c, "PUT /acct/c/slow HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\npartial")
		c.Close()
	}
	wg.Wait()
	client.CloseIdleConnections()
	if after := settledGoroutines(before + 2); after > before+2 {
		t.Errorf("%d goroutines before, %d after the clients gave up", before, after)
	}
}

// TestMiddlewareClassifiesOnlyWithRules: a request is classified only while
// the set holds a rule, and still passes through to the handler.
func TestMiddlewareClassifiesOnlyWithRules(t *testing.T) {
	s := NewSet()
	var calls atomic.Int64
	classify := func(r *http.Request) (Target, bool) {
		calls.Add(1)
		return pathClassify(r)
	}
	srv := httptest.NewServer(Middleware(s, classify, &backend{}))
	t.Cleanup(srv.Close)
	get := func() int {
		t.Helper()
		resp, err := http.Get(srv.URL + "/acct/c/b")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := get(); st != http.StatusOK || calls.Load() != 0 {
		t.Fatalf("no rule: status %d, %d classify calls; want 200 and none", st, calls.Load())
	}
	if _, err := s.Add(Rule{Endpoint: Secondary, Action: Action{Status: http.StatusServiceUnavailable}}); err != nil {
		t.Fatal(err)
	}
	if st := get(); st != http.StatusOK || calls.Load() != 1 {
		t.Fatalf("one rule: status %d, %d classify calls; want 200 and one", st, calls.Load())
	}
}
