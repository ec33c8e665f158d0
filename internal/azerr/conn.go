package azerr

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
)

// net/http answers some malformed requests itself, before any handler
// runs, with a plain-text body that carries no x-ms-error-code: a request
// line or header it cannot parse, a missing or repeated Host, headers over
// http.Server.MaxHeaderBytes, an HTTP version it does not speak, a
// Transfer-Encoding it does not know (all written straight to the
// connection as "HTTP/1.1 <status>" + plainErrorHeaders + text), and an
// Expect other than 100-continue (417 with an empty body). Listener turns
// each of them into an Azure error. What it cannot improve: net/http gives
// no reason for a malformed request line or a repeated Host, so those are
// answered 400 InvalidInput; and a connection that closes before a full
// request arrives gets no answer at all, as with Azure.

// plainErrorHeaders follows the status line of net/http's own error
// answers. A handler's answer never starts this way, because net/http
// writes a handler's headers in sorted order (Connection before
// Content-Type).
const plainErrorHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

// expectFailed starts net/http's answer to an unsupported Expect header.
const expectFailed = "HTTP/1.1 417 Expectation Failed\r\n"

// Listener wraps l so that the errors net/http writes on its own are Azure
// XML errors with x-ms-error-code; everything else passes through.
func Listener(l net.Listener) net.Listener { return &listener{l} }

type listener struct{ net.Listener }

func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &conn{Conn: c}, nil
}

// conn rewrites net/http's own error answers. Those are written when a
// request cannot be read, so never while a response is going out: once a
// write has started a response, later writes (a response body, which may
// hold any bytes) pass untouched until net/http reads the next request.
// Its request reads ask for a buffer's worth; the one-byte reads of its
// background read, which run while a handler answers, do not end the
// response. Reads and writes of a connection come from its serving
// goroutine and that background read, so inResponse is atomic.
type conn struct {
	net.Conn
	inResponse atomic.Bool
}

func (c *conn) Read(p []byte) (int, error) {
	if len(p) > 1 {
		c.inResponse.Store(false)
	}
	return c.Conn.Read(p)
}

// NetConn returns the wrapped connection, as *tls.Conn does, so that code
// holding a hijacked connection can reach the *net.TCPConn (to reset it
// with SetLinger(0), say).
func (c *conn) NetConn() net.Conn { return c.Conn }

func (c *conn) Write(p []byte) (int, error) {
	if c.inResponse.Load() || !bytes.HasPrefix(p, []byte("HTTP/1.")) {
		return c.Conn.Write(p)
	}
	c.inResponse.Store(true)
	if out, ok := Rewrite(p); ok {
		if _, err := c.Conn.Write(out); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	return c.Conn.Write(p)
}

// plainError reports whether p may start one of net/http's own error
// answers: the Expect failure, or a status line followed at once by
// plainErrorHeaders. Rewrite looks no further into anything else.
func plainError(p []byte) bool {
	if bytes.HasPrefix(p, []byte(expectFailed)) {
		return true
	}
	i := bytes.Index(p, []byte("\r\n"))
	return i >= 0 && bytes.HasPrefix(p[i:], []byte(plainErrorHeaders))
}

// Rewrite turns one of net/http's own plain error answers into an Azure
// error answer. ok is false for anything else, which must be sent as is.
func Rewrite(p []byte) (out []byte, ok bool) {
	if !plainError(p) {
		return nil, false // without copying p, which may hold a whole answer
	}
	s := string(p)
	var status int
	var text string
	switch {
	case strings.HasPrefix(s, expectFailed) && strings.HasSuffix(s, "\r\n\r\n"):
		status, text = http.StatusExpectationFailed, "Expect"
	default:
		line, rest, found := strings.Cut(s, plainErrorHeaders)
		if !found || strings.Contains(line, "\r\n") {
			return nil, false
		}
		_, st, _ := strings.Cut(line, " ")
		codeStr, _, _ := strings.Cut(st, " ")
		n, err := strconv.Atoi(codeStr)
		if err != nil || n < 400 || n > 599 {
			return nil, false
		}
		status, text = n, rest
	}
	status, code, msg := classifyPlain(status, text)
	rec := &recorder{h: http.Header{}}
	rec.h.Set("Connection", "close")
	Write(rec, nil, status, code, msg)
	SetDate(rec.h) // written straight to the connection, past net/http
	var b bytes.Buffer
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\n", status, http.StatusText(status))
	rec.h.Set("Content-Length", strconv.Itoa(rec.body.Len()))
	_ = rec.h.Write(&b)
	b.WriteString("\r\n")
	b.Write(rec.body.Bytes())
	return b.Bytes(), true
}

// recorder captures what Write writes.
type recorder struct {
	h    http.Header
	body bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.h }
func (r *recorder) Write(p []byte) (int, error) { return r.body.Write(p) }
func (r *recorder) WriteHeader(int)             {}

// classifyPlain maps net/http's error to Azure's status, code and message.
func classifyPlain(status int, text string) (int, string, string) {
	detail := text
	if _, after, ok := strings.Cut(text, ": "); ok {
		detail = after
	}
	switch {
	case status == http.StatusRequestHeaderFieldsTooLarge:
		// As for headers over blobapi.RequestHeaderLimit.
		return http.StatusBadRequest, "InvalidHeaderValue", "The request headers are too large."
	case status == http.StatusNotImplemented:
		return http.StatusNotImplemented, "NotImplemented", "The Transfer-Encoding of the request is not supported."
	case status == http.StatusExpectationFailed:
		return http.StatusExpectationFailed, "UnsupportedHeader", "One of the HTTP headers specified in the request is not supported: Expect may only be 100-continue."
	case status == http.StatusHTTPVersionNotSupported:
		return http.StatusHTTPVersionNotSupported, "UnsupportedHttpVersion", "The HTTP version specified is not supported."
	case strings.Contains(detail, "missing required Host"):
		return http.StatusBadRequest, "MissingRequiredHeader", "An HTTP header that's mandatory for this request is not specified: Host."
	case strings.Contains(detail, "Host"), strings.Contains(detail, "header"):
		return http.StatusBadRequest, "InvalidHeaderValue", "The value for one of the HTTP headers is not in the correct format: " + detail + "."
	case strings.Contains(detail, "malformed HTTP"):
		return http.StatusBadRequest, "InvalidUri", "The request line is malformed: " + detail + "."
	}
	if status >= 500 {
		return status, "InternalError", "The server encountered an internal error."
	}
	return http.StatusBadRequest, "InvalidInput", "One of the request inputs is not valid."
}
