// Package connlimit bounds what an HTTP server's connections may hold: a
// cap on concurrent connections that makes room by closing idle ones, and
// per-request deadlines that follow a body's progress instead of limiting
// the whole request.
//
// # The connection cap
//
// A Limiter counts the connections of every listener it wraps. When a new
// connection would exceed the cap, the Limiter closes the connection that
// has been idle longest: one that has not yet sent a complete request
// header (net/http's StateNew) or waits between requests (StateIdle). Only
// when every connection is busy serving a request is the new one closed
// instead. So connections that sit idle, whether kept alive by a client
// pool or opened and left silent by a hostile one, can never lock
// legitimate clients out; at worst they are recycled oldest first. Busy
// connections are bounded in time by the deadlines below. The first
// eviction or refusal is logged at once, later ones at most once per
// LogInterval with their count.
//
// # Progress deadlines
//
// Deadlines wraps a handler so that a request body must keep arriving and
// a response must keep being accepted: each Read of the body extends the
// connection's read deadline by the read timeout, each Write extends the
// write deadline by the write timeout (through http.ResponseController).
// A body that stops arriving, or a client that stops reading its answer,
// is dropped once the timeout passes without progress, while a large
// upload or download that keeps moving is never cut off.
package connlimit

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// LogInterval is the least time between two log lines about the cap.
const LogInterval = 10 * time.Second

// Limiter caps the concurrent connections of the listeners it wraps. Pass
// its ConnState method to every http.Server that serves them. It is safe
// for concurrent use.
type Limiter struct {
	max int
	log *slog.Logger
	now func() time.Time

	mu       sync.Mutex
	conns    map[*conn]struct{}
	seq      uint64 // orders idle periods: the smallest idleSeq is the oldest
	lastLog  time.Time
	evicted  int // since the last log line
	refused  int
	everFull bool
}

// NewLimiter returns a Limiter for at most max connections (max >= 1).
// log receives the rate-limited notices; now is the clock for their rate
// (time.Now when nil).
func NewLimiter(max int, log *slog.Logger, now func() time.Time) *Limiter {
	if max < 1 {
		max = 1
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	return &Limiter{max: max, log: log, now: now, conns: map[*conn]struct{}{}}
}

// Max is the cap.
func (l *Limiter) Max() int { return l.max }

// Count is the number of connections held now.
func (l *Limiter) Count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}

type conn struct {
	net.Conn
	l       *Limiter
	idle    bool   // guarded by l.mu
	idleSeq uint64 // guarded by l.mu
	once    sync.Once
}

// NetConn returns the wrapped connection, as *tls.Conn does, so that a
// fault reset can reach the TCP connection underneath.
func (c *conn) NetConn() net.Conn { return c.Conn }

func (c *conn) Close() error {
	c.l.release(c)
	return c.Conn.Close()
}

// Listener wraps inner so that its connections count against the cap.
func (l *Limiter) Listener(inner net.Listener) net.Listener {
	return &listener{Listener: inner, l: l}
}

type listener struct {
	net.Listener
	l *Limiter
}

func (ln *listener) Accept() (net.Conn, error) {
	for {
		nc, err := ln.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if c := ln.l.admit(nc); c != nil {
			return c, nil
		}
	}
}

// admit counts nc in, making room by closing the oldest idle connection
// when at the cap. It returns nil (and closes nc) when every connection is
// busy.
func (l *Limiter) admit(nc net.Conn) net.Conn {
	c := &conn{Conn: nc, l: l}
	l.mu.Lock()
	var victim *conn
	if len(l.conns) >= l.max {
		for o := range l.conns {
			if o.idle && (victim == nil || o.idleSeq < victim.idleSeq) {
				victim = o
			}
		}
		if victim == nil {
			l.refused++
			l.noteFullLocked()
			l.mu.Unlock()
			_ = nc.Close()
			return nil
		}
		delete(l.conns, victim)
		l.evicted++
		l.noteFullLocked()
	}
	l.seq++
	c.idle, c.idleSeq = true, l.seq // not serving a request yet
	l.conns[c] = struct{}{}
	l.mu.Unlock()
	if victim != nil {
		_ = victim.Conn.Close()
	}
	return c
}

// noteFullLocked logs that the cap was reached, at most once per
// LogInterval. Callers hold l.mu.
func (l *Limiter) noteFullLocked() {
	now := l.now()
	if l.everFull && now.Sub(l.lastLog) < LogInterval {
		return
	}
	l.log.Warn("connection limit reached: closing the longest-idle connections to make room, and new connections while every one is busy",
		"limit", l.max, "idle_closed", l.evicted, "refused", l.refused)
	l.everFull, l.lastLog, l.evicted, l.refused = true, now, 0, 0
}

func (l *Limiter) release(c *conn) {
	c.once.Do(func() {
		l.mu.Lock()
		delete(l.conns, c)
		l.mu.Unlock()
	})
}

// ConnState tracks whether each connection is serving a request. Set it
// as http.Server.ConnState (calling it from your own hook is fine).
func (l *Limiter) ConnState(nc net.Conn, st http.ConnState) {
	c, ok := nc.(*conn)
	if !ok || c.l != l {
		return
	}
	switch st {
	case http.StateNew, http.StateIdle:
		l.mu.Lock()
		l.seq++
		c.idle, c.idleSeq = true, l.seq
		l.mu.Unlock()
	case http.StateActive, http.StateHijacked:
		l.mu.Lock()
		c.idle = false
		l.mu.Unlock()
	case http.StateClosed:
		l.release(c)
	}
}

// Deadlines wraps h with progress deadlines: each read of a request body
// must make progress within read, each write of the response within write.
// A zero or negative duration disables that deadline.
func Deadlines(h http.Handler, read, write time.Duration) http.Handler {
	if read <= 0 && write <= 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The controller lives in the progressWriter, so that a request
		// costs one allocation here, not two.
		pw := &progressWriter{ResponseWriter: w, rc: *http.NewResponseController(w), d: write}
		rc := &pw.rc
		if write > 0 {
			// A deadline left by an earlier request on this connection
			// must not cut this one short; the first Write sets a new one.
			_ = rc.SetWriteDeadline(time.Time{})
			w = pw
		}
		if read > 0 && r.Body != nil && r.Body != http.NoBody {
			pr := &progressReader{ReadCloser: r.Body, rc: rc, d: read}
			pr.extend(time.Now())
			r.Body = pr
			// The deadline stays after the handler when the body was not
			// read to its end: net/http then discards what is left of it,
			// and a client that stalled must not hold it there.
		}
		h.ServeHTTP(w, r)
	})
}

// deadlineSlack is the share of a timeout that may pass before a deadline
// is moved again: extending on every call would reset a timer per read.
const deadlineSlack = 8

type progressReader struct {
	io.ReadCloser
	rc   *http.ResponseController
	d    time.Duration
	set  time.Time // when the deadline was last moved
	done bool
}

func (p *progressReader) extend(now time.Time) {
	p.set = now
	_ = p.rc.SetReadDeadline(now.Add(p.d))
}

func (p *progressReader) Read(b []byte) (int, error) {
	if now := time.Now(); now.Sub(p.set) > p.d/deadlineSlack {
		p.extend(now)
	}
	n, err := p.ReadCloser.Read(b)
	if errors.Is(err, io.EOF) && !p.done {
		// The body is over: lift the deadline, so that net/http's own
		// read of the connection after the body is not cut off by it. A
		// failed read (a timeout) keeps it, so nothing waits on a stalled
		// client afterwards.
		p.done = true
		_ = p.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

type progressWriter struct {
	http.ResponseWriter
	rc  http.ResponseController
	d   time.Duration
	set time.Time
}

// writePiece is the most a progressWriter hands the connection at once: one
// Write of a large buffer (a 4 MiB chunk of a blob) blocks until the client
// has taken nearly all of it, so a deadline moved only per Write would cut
// off a slow reader that keeps reading.
const writePiece = 64 << 10

func (p *progressWriter) Write(b []byte) (int, error) {
	written := 0
	for {
		if now := time.Now(); now.Sub(p.set) > p.d/deadlineSlack {
			p.set = now
			if err := p.rc.SetWriteDeadline(now.Add(p.d)); err != nil && !errors.Is(err, http.ErrNotSupported) {
				return written, err
			}
		}
		piece := b[:min(len(b), writePiece)]
		n, err := p.ResponseWriter.Write(piece)
		written += n
		b = b[n:]
		if err != nil || len(b) == 0 {
			return written, err
		}
	}
}

// Flush sends buffered data to the client.
func (p *progressWriter) Flush() { _ = p.rc.Flush() }

// Unwrap lets http.ResponseController reach the underlying writer.
func (p *progressWriter) Unwrap() http.ResponseWriter { return p.ResponseWriter }
