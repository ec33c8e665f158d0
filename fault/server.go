package fault

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"syscall"
	"time"

	"github.com/geoblob/geoblob/internal/azerr"
)

// ErrInjected is wrapped by every error a fault rule causes on purpose, next
// to the system error it imitates (syscall.ECONNRESET, ECONNREFUSED).
var ErrInjected = errors.New("fault: injected")

// resetErr imitates a connection reset by the peer.
func resetErr() error {
	return fmt.Errorf("%w: %w", ErrInjected, &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)})
}

// refusedErr imitates a refused connection.
func refusedErr() error {
	return fmt.Errorf("%w: %w", ErrInjected, &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)})
}

// Middleware applies the rules of s to the requests next serves. classify
// describes a request as a Target; requests it rejects (ok false) pass
// through untouched. Middleware knows nothing of the server it wraps: a
// server with paths that must never be faulted (such as the emulator's
// control API) routes them around it, or has classify reject them. While s
// holds no rule, classify is not called.
//
// Actions: a status answers with an Azure error body; latency sleeps (until
// the client gives up or s is closed) before the fault or the real answer; a
// reset hijacks the connection and closes it with a TCP RST, before the
// handler runs, after the handler has read part of the request body
// (swallowing its answer), or after part of the answer's body; a hang reads
// the request, answers nothing until the client gives up, s is closed or
// the http.Server shuts down, then resets; refuse resets at once. Resets need an HTTP/1 connection;
// elsewhere the handler is aborted with http.ErrAbortHandler.
func Middleware(s *Set, classify func(*http.Request) (Target, bool), next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.count.Load() == 0 {
			// No rule at all: decide would find nothing, so the request
			// is not classified either (a parse of its address).
			next.ServeHTTP(w, r)
			return
		}
		t, ok := classify(r)
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		a, gone, ok := s.decide(t)
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		s.apply(w, r, a, gone, next)
	})
}

func (s *Set) apply(w http.ResponseWriter, r *http.Request, a Action, gone <-chan struct{}, next http.Handler) {
	if a.Latency > 0 {
		if err := holdBody(r); err != nil {
			reset(w) // the upload broke off: the client is gone
			return
		}
		if !s.sleep(r, time.Duration(a.Latency), gone) {
			reset(w) // the client gave up while we slept
			return
		}
	}
	switch {
	case a.Status != 0:
		azerr.Write(w, r, a.Status, a.Code, a.Message)
	case a.Reset, a.Refuse:
		reset(w)
	case a.ResetAfterBytes != nil:
		// An answer whose body is no longer than the limit passes whole.
		next.ServeHTTP(&truncWriter{ResponseWriter: w, left: *a.ResetAfterBytes}, r)
	case a.ResetAfterRequestBytes != nil:
		r2 := r.Clone(r.Context())
		r2.Body = &cutBody{rc: r.Body, left: *a.ResetAfterRequestBytes}
		next.ServeHTTP(&discardWriter{h: http.Header{}}, r2)
		reset(w)
	case a.Hang:
		// Take the whole request, as a stuck server would, so that the
		// connection notices when the client goes away.
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-s.closed:
		case <-gone:
		case <-s.shutdown(r):
		}
		reset(w)
	default: // latency alone
		next.ServeHTTP(w, r)
	}
}

// maxHeldBody is the largest request body holdBody reads ahead.
const maxHeldBody = 4 << 20

// holdBody reads a request body of known length up to maxHeldBody into
// memory before the request is delayed, and gives it back to the handler
// unchanged. net/http only watches the connection, and cancels the
// request's context when the client goes away, once the body has been read:
// without this, a delayed upload whose client gave up would hold its
// goroutine and connection for the whole delay. Larger bodies are left on
// the wire, and their clients' departure is noticed when the delay ends.
// An error means the body could not be read to its end.
func holdBody(r *http.Request) error {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength <= 0 || r.ContentLength > maxHeldBody {
		return nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, r.ContentLength))
	if err != nil {
		return err
	}
	if int64(len(b)) < r.ContentLength {
		return io.ErrUnexpectedEOF
	}
	r.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(b), r.Body), r.Body}
	return nil
}

// sleep waits d, and reports false if the client gave up first. Closing s,
// removing the rule (gone) or the server shutting down cuts the wait short.
func (s *Set) sleep(r *http.Request, d time.Duration, gone <-chan struct{}) bool {
	ctx := r.Context()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.closed:
		return ctx.Err() == nil
	case <-gone:
		return ctx.Err() == nil
	case <-s.shutdown(r):
		return ctx.Err() == nil
	case <-ctx.Done():
		return false
	}
}

// shutdown returns a channel closed when the http.Server serving r starts
// shutting down, so that held requests do not stall Shutdown. It is nil
// (never ready) when r carries no server.
func (s *Set) shutdown(r *http.Request) <-chan struct{} {
	srv, _ := r.Context().Value(http.ServerContextKey).(*http.Server)
	if srv == nil {
		return nil
	}
	if ch, ok := s.shutdowns.Load(srv); ok {
		return ch.(chan struct{})
	}
	ch := make(chan struct{})
	if prev, loaded := s.shutdowns.LoadOrStore(srv, ch); loaded {
		return prev.(chan struct{})
	}
	srv.RegisterOnShutdown(func() { close(ch) })
	return ch
}

// reset hijacks the connection behind w and closes it with a TCP RST.
func reset(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// Not hijackable (HTTP/2, a recorder): abort the response the
		// way net/http provides for it.
		panic(http.ErrAbortHandler)
	}
	abort(conn)
}

// abort closes c so that the peer sees a reset rather than an orderly end.
func abort(c net.Conn) {
	// Unwrap every layer (*tls.Conn and listener wrappers expose NetConn)
	// down to the TCP connection; the depth bound guards a wrapper that
	// returns itself.
	inner := c
	for i := 0; i < 8; i++ {
		t, ok := inner.(interface{ NetConn() net.Conn })
		if !ok {
			break
		}
		inner = t.NetConn()
	}
	if tc, ok := inner.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

// truncWriter passes the header and the first left bytes of the body, then
// resets the connection.
type truncWriter struct {
	http.ResponseWriter
	left int64
	cut  bool
}

func (t *truncWriter) Write(p []byte) (int, error) {
	if t.cut {
		return 0, resetErr()
	}
	if len(p) == 0 || int64(len(p)) <= t.left {
		n, err := t.ResponseWriter.Write(p)
		t.left -= int64(n)
		return n, err
	}
	n, _ := t.ResponseWriter.Write(p[:t.left])
	t.left = 0
	t.cutNow()
	return n, resetErr()
}

// cutNow sends what has been written so far and resets the connection.
func (t *truncWriter) cutNow() {
	t.cut = true
	_ = http.NewResponseController(t.ResponseWriter).Flush()
	reset(t.ResponseWriter)
}

// Unwrap lets http.ResponseController reach the real writer.
func (t *truncWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }

// cutBody ends a body with a reset after left bytes; a body no longer than
// that ends normally.
type cutBody struct {
	rc   io.ReadCloser
	left int64
	cut  bool
}

func (b *cutBody) Read(p []byte) (int, error) {
	if b.cut {
		return 0, resetErr()
	}
	if b.left <= 0 {
		// Is there more? Only then is anything cut.
		var one [1]byte
		n, err := b.rc.Read(one[:])
		if n == 0 && err != nil {
			return 0, err
		}
		if n == 0 {
			return 0, nil
		}
		b.cut = true
		return 0, resetErr()
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *cutBody) Close() error { return b.rc.Close() }

// discardWriter swallows an answer that will never be sent.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}

// RefuseListener wraps l so that, while s holds an active refuse rule for ep
// with an empty match and no probability below 1, the endpoint behind l
// looks down: connections are closed with a reset as soon as they are
// accepted, and a connection accepted earlier is reset as soon as it sends
// anything more (the next request on a kept-alive connection, or the rest
// of an upload). Every request the listener carries goes down with it, for
// whichever endpoint it is addressed to, as on a host that is down.
// Each refused connection counts as a firing of that rule. Middleware
// handles refuse rules with a match or a probability.
func RefuseListener(l net.Listener, s *Set, ep Endpoint) net.Listener {
	return &refuseListener{Listener: l, s: s, ep: ep}
}

// RefuseListenerExcept is RefuseListener for a listener that also carries
// traffic no rule may break, such as the emulator's control API. A new
// connection is then judged on the first bytes it sends (the start of its
// first request) rather than when it is accepted: when keep reports true
// for them, the connection is never refused.
func RefuseListenerExcept(l net.Listener, s *Set, ep Endpoint, keep func(first []byte) bool) net.Listener {
	return &refuseListener{Listener: l, s: s, ep: ep, keep: keep}
}

type refuseListener struct {
	net.Listener
	s    *Set
	ep   Endpoint
	keep func([]byte) bool
}

func (l *refuseListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.keep == nil && l.s.refuseConn(l.ep) {
			abort(c)
			continue
		}
		return &refusableConn{Conn: c, l: l, first: l.keep != nil}, nil
	}
}

// refusableConn is an accepted connection that is reset when it sends data
// while its endpoint is refused.
type refusableConn struct {
	net.Conn
	l     *refuseListener
	first bool // the first bytes are still to be shown to l.keep
	kept  bool // l.keep let the connection through: never refused
}

func (c *refusableConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n == 0 || c.kept {
		return n, err
	}
	if c.first {
		c.first = false
		if c.l.keep(p[:n]) {
			c.kept = true
			return n, err
		}
	}
	if c.l.s.refuseConn(c.l.ep) {
		abort(c.Conn)
		return 0, resetErr()
	}
	return n, err
}

// NetConn returns the connection c wraps, so that a reset reaches it.
func (c *refusableConn) NetConn() net.Conn { return c.Conn }
