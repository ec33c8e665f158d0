package emulator

import (
	"net/http"
	"strings"
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
func keepExpectContinue(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength != 0 && expectsContinue(r.Header) {
			r = r.WithContext(r.Context()) // a shallow copy
		}
		h.ServeHTTP(w, r)
	})
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
