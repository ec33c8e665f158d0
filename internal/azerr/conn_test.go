package azerr

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestListenerAzureErrors sends requests that net/http refuses before any
// handler runs; each answer must be an Azure XML error with
// x-ms-error-code, not net/http's plain text.
func TestListenerAzureErrors(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = io.WriteString(w, "handler")
		}),
		MaxHeaderBytes: 4 << 10,
	}
	go func() { _ = srv.Serve(Listener(l)) }()
	t.Cleanup(func() { _ = srv.Close() })
	tests := []struct {
		name, raw string
		status    int
		code      string
	}{
		{"malformed request line", "GARBAGE\r\n\r\n", 400, "InvalidInput"},
		{"missing Host", "GET /a HTTP/1.1\r\n\r\n", 400, "MissingRequiredHeader"},
		{"two Hosts", "GET /a HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "InvalidInput"},
		{"bad header name", "GET /a HTTP/1.1\r\nHost: a\r\nBad Header: x\r\n\r\n", 400, "InvalidHeaderValue"},
		{"bad Host", "GET /a HTTP/1.1\r\nHost: a b\r\n\r\n", 400, "InvalidHeaderValue"},
		{"headers too large", "GET /a HTTP/1.1\r\nHost: a\r\nX-Big: " + strings.Repeat("x", 8<<10) + "\r\n\r\n", 400, "InvalidHeaderValue"},
		{"unknown transfer encoding", "POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 501, "NotImplemented"},
		{"HTTP version", "GET /a HTTP/9.9\r\nHost: a\r\n\r\n", 505, "UnsupportedHttpVersion"},
		{"Expect", "GET /a HTTP/1.1\r\nHost: a\r\nExpect: telepathy\r\n\r\n", 417, "UnsupportedHeader"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.Dial("tcp", l.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.WriteString(c, tt.raw); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status || resp.Header.Get("x-ms-error-code") != tt.code {
				t.Fatalf("got %d %q, want %d %q: %s", resp.StatusCode, resp.Header.Get("x-ms-error-code"), tt.status, tt.code, body)
			}
			if resp.Header.Get("Content-Type") != "application/xml" || !strings.Contains(string(body), "<Code>"+tt.code+"</Code>") || resp.Header.Get("x-ms-request-id") == "" {
				t.Errorf("not an Azure error: %v %s", resp.Header, body)
			}
			// These answers bypass net/http's response writer, which
			// would otherwise add Date: Rewrite must write it itself.
			if d, err := http.ParseTime(resp.Header.Get("Date")); err != nil || time.Since(d) > time.Hour || time.Until(d) > time.Hour {
				t.Errorf("Date %q is not the current time (%v): %v", resp.Header.Get("Date"), err, resp.Header)
			}
		})
	}
	// The wrapped connection stays reachable, for resets.
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if nc, ok := (&conn{Conn: c}).NetConn().(*net.TCPConn); !ok || nc == nil {
		t.Error("NetConn does not reach the *net.TCPConn")
	}
	// A handler's own answer, text/plain included, passes untouched.
	resp, err := http.Get("http://" + l.Addr().String() + "/ok")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "handler" {
		t.Errorf("handler answer changed: %d %q", resp.StatusCode, body)
	}
}

// TestListenerLeavesResponseBodiesAlone: a handler's response body that
// happens to hold one of net/http's plain error answers at the start of a
// write (a blob can hold anything) reaches the client byte for byte; and a
// malformed request after it on the same connection is still answered
// with an Azure error.
func TestListenerLeavesResponseBodiesAlone(t *testing.T) {
	plain := "HTTP/1.1 400 Bad Request" + plainErrorHeaders + "400 Bad Request"
	filler := strings.Repeat("A", 8<<10)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(filler)+len(plain)))
		_, _ = io.WriteString(w, filler)
		w.(http.Flusher).Flush()
		_, _ = io.WriteString(w, plain) // one write on the connection
		w.(http.Flusher).Flush()
	})}
	go func() { _ = srv.Serve(Listener(l)) }()
	t.Cleanup(func() { _ = srv.Close() })
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	if _, err := io.WriteString(c, "GET /blob HTTP/1.1\r\nHost: a\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil || string(body) != filler+plain {
		t.Fatalf("body altered: %d bytes, %v; ends %q", len(body), err, body[max(0, len(body)-40):])
	}
	// Same connection, now a malformed request.
	if _, err := io.WriteString(c, "GARBAGE\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err = http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 400 || resp.Header.Get("x-ms-error-code") != "InvalidInput" {
		t.Fatalf("malformed request after a response: %d %q", resp.StatusCode, resp.Header.Get("x-ms-error-code"))
	}
}
