package fault

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/geoblob/geoblob/internal/azerr"
	"github.com/geoblob/geoblob/internal/location"
)

// Transport is an http.RoundTripper that applies a Set's rules on the
// client side, in front of any other transport. As the Transport of an
// azblob client (through an *http.Client, see the example) it simulates an
// outage of a real storage account's primary, as a Fiddler rule would.
//
// It tells the endpoints apart by host: <account>-secondary.<domain> is the
// secondary, as is any host in SecondaryHosts. For path-style URLs (an IP
// address, localhost or a name under .localhost, or a single-label host, as
// with the emulator or Azurite) the first path segment is the account, and
// an account ending in -secondary is the secondary. The rules are those of
// the geoblob client's router, so both agree on every URL.
//
// Client-side actions: a status returns a synthesized Azure error response
// without any network call; latency sleeps (until the request's context
// ends, the rule is removed or the Set closed) and then goes on; a reset
// returns an error wrapping syscall.ECONNRESET, before sending, after
// sending part of the request body, or while reading the response body (a
// truncated download); a hang blocks until the request's context ends,
// then returns its error, or until the rule is removed or the Set closed,
// then returns a reset; refuse returns an error wrapping
// syscall.ECONNREFUSED. Every such error also wraps ErrInjected. Whenever
// the request does not reach Base, its body is closed.
type Transport struct {
	// Base sends the requests that go through; http.DefaultTransport when
	// nil.
	Base http.RoundTripper
	// Rules decides the faults; with a nil Set every request goes through.
	Rules *Set
	// Classify, when set, replaces the built-in description of requests.
	Classify func(*http.Request) Target
	// SecondaryHosts are hosts ("host" or "host:port", or a URL whose host
	// is taken) that serve the secondary, such as the emulator's distinct
	// secondary listener.
	SecondaryHosts []string
}

// RoundTrip applies the first rule that fires, or sends req unchanged.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	if t.Rules == nil {
		return base.RoundTrip(req)
	}
	var target Target
	if t.Classify != nil {
		target = t.Classify(req)
	} else {
		target = t.classify(req)
	}
	a, gone, ok := t.Rules.decide(target)
	if !ok {
		return base.RoundTrip(req)
	}
	ctx := req.Context()
	if a.Latency > 0 {
		timer := time.NewTimer(time.Duration(a.Latency))
		select {
		case <-timer.C:
		case <-gone: // the rule was removed: no more delay
			timer.Stop()
		case <-t.Rules.closed:
			timer.Stop()
		case <-ctx.Done():
			timer.Stop()
			closeBody(req)
			return nil, ctx.Err()
		}
	}
	switch {
	case a.Status != 0:
		closeBody(req)
		return synthesize(req, a), nil
	case a.Reset:
		closeBody(req)
		return nil, resetErr()
	case a.Refuse:
		closeBody(req)
		return nil, refusedErr()
	case a.Hang:
		closeBody(req)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-gone:
			return nil, resetErr()
		case <-t.Rules.closed:
			return nil, resetErr()
		}
	case a.ResetAfterBytes != nil:
		resp, err := base.RoundTrip(req)
		if err != nil {
			return nil, err
		}
		resp.Body = &cutBody{rc: resp.Body, left: *a.ResetAfterBytes}
		return resp, nil
	case a.ResetAfterRequestBytes != nil:
		r2 := req.Clone(ctx)
		if req.Body != nil && req.Body != http.NoBody {
			r2.Body = &cutBody{rc: req.Body, left: *a.ResetAfterRequestBytes}
			r2.GetBody = nil
		}
		if resp, err := base.RoundTrip(r2); err == nil {
			resp.Body.Close() // the answer is lost to the reset
		}
		return nil, resetErr()
	}
	return base.RoundTrip(req) // latency alone
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}

// classify is the built-in description of a request; see Transport.
func (t *Transport) classify(r *http.Request) Target {
	tg := Target{Endpoint: Primary, Method: r.Method}
	host := r.URL.Host
	if host == "" {
		host = r.Host
	}
	hostname := location.Hostname(host)
	for _, h := range t.SecondaryHosts {
		if _, rest, ok := strings.Cut(h, "://"); ok { // a URL, such as the emulator's secondary listener
			h, _, _ = strings.Cut(rest, "/")
		}
		if strings.EqualFold(h, host) || strings.EqualFold(h, hostname) {
			tg.Endpoint = Secondary
		}
	}
	a := location.Classify(host, r.URL.Path, false)
	if a.Secondary {
		tg.Endpoint = Secondary
	}
	tg.Account, tg.Container, tg.Blob = a.Account, a.Container, a.Blob
	return tg
}

// synthesize builds the Azure error response a status action stands for.
func synthesize(req *http.Request, a Action) *http.Response {
	rec := &recorder{h: http.Header{}}
	azerr.Write(rec, req, a.Status, a.Code, a.Message)
	azerr.SetDate(rec.h) // net/http is not there to write it
	body := rec.buf.Bytes()
	rec.h.Set("Content-Length", strconv.Itoa(len(body)))
	return &http.Response{
		Status:        strconv.Itoa(a.Status) + " " + http.StatusText(a.Status),
		StatusCode:    a.Status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        rec.h,
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       req,
	}
}

// recorder captures what azerr.Write writes.
type recorder struct {
	h   http.Header
	buf bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.h }
func (r *recorder) Write(p []byte) (int, error) { return r.buf.Write(p) }
func (r *recorder) WriteHeader(int)             {}
