package emulator

import (
	"io"
	"net/http"
	"strings"
	"time"
)

// keepExpectContinue lets net/http answer a client that sent
// "Expect: 100-continue" at once when the emulator refuses its request
// without reading the body (a bad signature, a body too large).
//
// net/http decides what to do with an unread body by the type of the Body
// of the request it passed to the handler: its own 100-continue reader
// means "the body was never asked for", so it closes the connection after
// the answer. Any other type makes it read up to 256 KiB of the body
// before answering, which a client waiting for "100 Continue" never sends
// (the answer is sent only once curl's expect timeout passes, and a raw
// client waits for the read timeout). The emulator's middleware wraps the
// body to count and time it, so for such a request it works on a shallow
// copy and leaves net/http's own request untouched.
//
// Even then, after the answer net/http still tries to read a declared body
// of up to 256 KiB before it closes (to avoid resetting a client that sent
// it anyway), so a client that was never asked for it, and keeps the
// connection open, would hold it until the read timeout. When the handler
// never read the body, the read deadline is cut to expectGrace.
func keepExpectContinue(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength == 0 || !r.ProtoAtLeast(1, 1) || !expectsContinue(r.Header) {
			h.ServeHTTP(w, r)
			return
		}
		r = r.WithContext(r.Context()) // a shallow copy
		b := &touchedBody{ReadCloser: r.Body}
		r.Body = b
		h.ServeHTTP(w, r)
		if !b.touched {
			_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(expectGrace))
		}
	})
}

// expectGrace is how long net/http may still read a body that was never
// asked for after a refusal: long enough for a client that sent it anyway
// to finish (so it is not reset before it reads the answer), short enough
// not to hold a connection for the read timeout.
const expectGrace = time.Second

// touchedBody notes whether the handler read the body at all (the first
// read is what sends "100 Continue").
type touchedBody struct {
	io.ReadCloser
	touched bool
}

func (b *touchedBody) Read(p []byte) (int, error) {
	b.touched = true
	return b.ReadCloser.Read(p)
}

// expectsContinue reports whether the request asks for 100-continue, as
// net/http reads the Expect header (a token, in any case).
func expectsContinue(h http.Header) bool {
	for _, v := range h["Expect"] {
		for tok := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(tok), "100-continue") {
				return true
			}
		}
	}
	return false
}
