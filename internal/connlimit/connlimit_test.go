package connlimit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// bound is how long a test waits for an event before failing; the events
// come far sooner unless the behaviour under test is broken.
const bound = 10 * time.Second

type logCounter struct {
	mu    sync.Mutex
	lines []string
}

func (c *logCounter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lines = append(c.lines, string(p))
	return len(p), nil
}

func (c *logCounter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.lines)
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (f *fakeClock) now() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.t }
func (f *fakeClock) add(d time.Duration) {
	f.mu.Lock()
	f.t = f.t.Add(d)
	f.mu.Unlock()
}

// serve runs h behind a Limiter of max connections and returns its address.
func serve(t *testing.T, max int, h http.Handler) (string, *Limiter, *logCounter, *fakeClock) {
	t.Helper()
	logs := &logCounter{}
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := NewLimiter(max, slog.New(slog.NewTextHandler(logs, nil)), clk.now)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ConnState: l.ConnState, ReadHeaderTimeout: time.Minute}
	go func() { _ = srv.Serve(l.Listener(ln)) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String(), l, logs, clk
}

// waitClosed waits until the server closes c.
func waitClosed(t *testing.T, c net.Conn) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(bound))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the server did not close the connection")
	}
	if err == nil {
		t.Fatal("the server answered on a connection it should have closed")
	}
}

func get(addr string) (string, error) {
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	cl := &http.Client{Transport: tr, Timeout: bound}
	resp, err := cl.Get("http://" + addr + "/")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// TestIdleConnectionsDoNotLockOut fills the cap with connections that never
// send a request; a real request still gets in, and the oldest idle
// connection is the one closed for it.
func TestIdleConnectionsDoNotLockOut(t *testing.T) {
	addr, l, logs, _ := serve(t, 4, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }))
	var idle []net.Conn
	for range 4 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		idle = append(idle, c)
	}
	// Wait until the server has accepted all four.
	for deadline := time.Now().Add(bound); l.Count() < 4; {
		if time.Now().After(deadline) {
			t.Fatalf("server holds %d connections, want 4", l.Count())
		}
		time.Sleep(time.Millisecond)
	}
	for i := range 3 {
		if got, err := get(addr); err != nil || got != "ok" {
			t.Fatalf("request %d with the cap full of idle connections: %q, %v", i, got, err)
		}
	}
	waitClosed(t, idle[0])
	if l.Count() > 4 {
		t.Fatalf("%d connections held, cap 4", l.Count())
	}
	if logs.count() != 1 {
		t.Fatalf("%d log lines, want one for the first time the cap was reached", logs.count())
	}
}

// TestBusyConnectionsRefuseNewOnes holds every connection in a request: a
// new connection is closed, logged at most once per LogInterval, and
// requests are served again once the busy ones finish.
func TestBusyConnectionsRefuseNewOnes(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 8)
	addr, _, logs, clk := serve(t, 2, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hold" {
			entered <- struct{}{}
			<-release
		}
		_, _ = io.WriteString(w, "ok")
	}))
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tr := &http.Transport{DisableKeepAlives: true}
			defer tr.CloseIdleConnections()
			resp, err := (&http.Client{Transport: tr}).Get("http://" + addr + "/hold")
			if err == nil {
				resp.Body.Close()
			}
		}()
	}
	<-entered
	<-entered
	for range 3 {
		if _, err := get(addr); err == nil {
			t.Fatal("a request got in while every connection was busy")
		}
	}
	if logs.count() != 1 {
		t.Fatalf("%d log lines for 3 refusals within LogInterval, want 1", logs.count())
	}
	clk.add(LogInterval)
	if _, err := get(addr); err == nil {
		t.Fatal("a request got in while every connection was busy")
	}
	if logs.count() != 2 {
		t.Fatalf("%d log lines after LogInterval, want 2", logs.count())
	}
	close(release)
	wg.Wait()
	if got, err := get(addr); err != nil || got != "ok" {
		t.Fatalf("after the busy requests: %q, %v", got, err)
	}
}

// TestStalledBodyIsDropped: a body that stops arriving fails the handler's
// read after the read timeout; without Deadlines it would wait forever.
func TestStalledBodyIsDropped(t *testing.T) {
	readErr := make(chan error, 1)
	h := Deadlines(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		readErr <- err
	}), 100*time.Millisecond, time.Minute)
	addr, _, _, _ := serve(t, 8, h)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhalf")
	select {
	case err := <-readErr:
		if err == nil {
			t.Fatal("the stalled body read completed")
		}
	case <-time.After(bound):
		t.Fatal("a stalled body was not dropped")
	}
}

// TestSlowBodyKeepsGoing: a body that keeps arriving is read whole even
// when the upload takes longer than the read timeout.
func TestSlowBodyKeepsGoing(t *testing.T) {
	got := make(chan string, 1)
	h := Deadlines(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			got <- "error: " + err.Error()
			return
		}
		got <- string(b)
	}), time.Second, time.Minute)
	addr, _, _, _ := serve(t, 8, h)
	pr, pw := io.Pipe()
	go func() {
		for range 100 {
			time.Sleep(20 * time.Millisecond) // 2 s in all, 20 ms apart
			if _, err := pw.Write([]byte("x")); err != nil {
				return
			}
		}
		pw.Close()
	}()
	req, _ := http.NewRequestWithContext(context.Background(), "PUT", "http://"+addr+"/", pr)
	req.ContentLength = 100
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if b := <-got; b != strings.Repeat("x", 100) {
		t.Fatalf("handler read %q", b)
	}
}

// TestStalledReaderIsDropped: a client that stops reading its answer
// fails the handler's writes after the write timeout.
func TestStalledReaderIsDropped(t *testing.T) {
	writeErr := make(chan error, 1)
	h := Deadlines(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := bytes.Repeat([]byte("x"), 64<<10)
		for range 4096 { // 256 MiB, far more than socket buffers hold
			if _, err := w.Write(chunk); err != nil {
				writeErr <- err
				return
			}
		}
		writeErr <- nil
	}), time.Minute, 100*time.Millisecond)
	addr, _, _, _ := serve(t, 8, h)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	select {
	case err := <-writeErr:
		if err == nil {
			t.Fatal("256 MiB were written to a client that reads nothing")
		}
	case <-time.After(bound):
		t.Fatal("a stalled reader was not dropped")
	}
}

// pieceRecorder is a ResponseWriter that records the size of every write
// it is handed and every deadline set on it.
type pieceRecorder struct {
	http.ResponseWriter
	writes    []int
	deadlines int
}

func (p *pieceRecorder) Write(b []byte) (int, error) {
	p.writes = append(p.writes, len(b))
	return len(b), nil
}

func (p *pieceRecorder) SetWriteDeadline(time.Time) error {
	p.deadlines++
	return nil
}

// TestOneLargeWriteGoesOutInPieces: one large Write (a 4 MiB chunk of a
// blob) reaches the connection in pieces of at most writePiece bytes, each
// of which may move the write deadline, so a client that reads slowly but
// steadily is never cut off in the middle of it. One connection write of
// the whole buffer must finish within a single write timeout.
func TestOneLargeWriteGoesOutInPieces(t *testing.T) {
	rec := &pieceRecorder{}
	pw := &progressWriter{ResponseWriter: rec, rc: *http.NewResponseController(rec), d: time.Minute}
	const size = 4<<20 + 123
	n, err := pw.Write(make([]byte, size))
	if err != nil || n != size {
		t.Fatalf("Write: %d, %v", n, err)
	}
	total := 0
	for _, w := range rec.writes {
		if w > writePiece {
			t.Fatalf("a write of %d bytes reached the connection (at most %d)", w, writePiece)
		}
		total += w
	}
	if total != size || rec.deadlines == 0 {
		t.Fatalf("%d bytes in %d writes, %d deadlines set", total, len(rec.writes), rec.deadlines)
	}
}
