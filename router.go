package geoblob

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/geoblob/geoblob/internal/redact"
)

// Router is the geoblob pipeline policy and its control handle. Add it to
// an azblob client's ClientOptions.PerRetryPolicies (the constructors do
// this), then use the handle to observe and steer routing. A Router is safe
// for concurrent use and may be shared by clients of the same account.
type Router struct {
	cfg                Config
	primary, secondary endpoint
	primaryURL         string
	secondaryURL       string
	br                 *breaker
	c                  counters
	stats              staleness
	hedge              *hedger
	pins               pinTable
	log                *slog.Logger
	hedgeTransport     atomic.Pointer[policy.Transporter]
	sharedKey          atomic.Pointer[accountKey]
}

var _ policy.Policy = (*Router)(nil)

// NewRouter returns a Router for the account whose primary service URL is
// primaryURL (e.g. https://acct.blob.core.windows.net or
// http://127.0.0.1:10000/devstoreaccount1). cfg nil means DefaultConfig().
//
// Most programs use the NewClient* constructors instead; NewRouter is for
// wiring the policy into an existing client construction:
//
//	r, _ := geoblob.NewRouter(url, nil)
//	opts := &azblob.ClientOptions{}
//	opts.PerRetryPolicies = append(opts.PerRetryPolicies, r)
//	client, _ := azblob.NewClientWithSharedKeyCredential(url, cred, opts)
//	r.SetStatsClient(client.ServiceClient())
func NewRouter(primaryURL string, cfg *Config) (*Router, error) {
	if cfg == nil {
		cfg = DefaultConfig()
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := &Router{cfg: cfg.withDefaults()}
	p, _, err := parseEndpoint(primaryURL)
	if err != nil {
		return nil, err
	}
	secURL := r.cfg.SecondaryURL
	if secURL == "" {
		if secURL, err = deriveSecondary(primaryURL); err != nil {
			return nil, err
		}
	}
	s, su, err := parseEndpoint(secURL)
	if err != nil {
		return nil, err
	}
	if p == s && p.prefix == "" {
		// One host for both: the locations can only differ by their
		// account path segment, as with an emulator on a named host.
		if p, _, err = parseEndpointStyle(primaryURL, true); err != nil {
			return nil, err
		}
		if s, su, err = parseEndpointStyle(secURL, true); err != nil {
			return nil, err
		}
	}
	if p == s {
		return nil, fmt.Errorf("%w: primary and secondary are the same endpoint %s", ErrInvalidConfig, redact.URL(su))
	}
	r.primary, r.secondary = p, s
	r.primaryURL, r.secondaryURL = p.String(), s.String()
	r.log = r.cfg.Logger
	r.br = newBreaker(&r.cfg, &r.c)
	if r.cfg.Hedge.Enabled {
		r.hedge = newHedger(&r.cfg.Hedge)
	}
	r.pins.init()
	return r, nil
}

// PrimaryURL returns the primary service URL.
func (r *Router) PrimaryURL() string { return r.primaryURL }

// SecondaryURL returns the secondary service URL, given or derived.
func (r *Router) SecondaryURL() string { return r.secondaryURL }

// State returns the breaker's state.
func (r *Router) State() State { return r.br.current() }

// Mode returns the routing mode.
func (r *Router) Mode() Mode { return Mode(r.br.mode.Load()) }

// Force sets the routing mode: PrimaryOnly, SecondaryOnly, or Auto to hand
// control back to the breaker (which then starts closed).
func (r *Router) Force(m Mode) {
	if m < Auto || m > SecondaryOnly {
		return
	}
	r.emitState(r.br.force(r.cfg.Now(), m))
}

// Counters returns a snapshot of the counters.
func (r *Router) Counters() Counters { return r.c.snapshot() }

// Do implements policy.Policy. It must run once per try, i.e. in
// PerRetryPolicies; see the package documentation.
func (r *Router) Do(req *policy.Request) (*http.Response, error) {
	raw := req.Raw()
	if !r.primary.matches(raw.URL) {
		return req.Next() // another account, or explicitly the secondary
	}
	if raw.Method == http.MethodGet && len(r.primary.relPath(raw.URL)) <= 1 && isStatsQuery(raw.URL.RawQuery) {
		// Get Blob Service Stats is only answered by the secondary.
		r.readdress(raw, Secondary)
		return req.Next()
	}
	if raw.Method != http.MethodGet && raw.Method != http.MethodHead {
		if !r.cfg.AllowWritesWhileDown && r.br.primaryDown() {
			r.c.rejectedWrites.Add(1)
			r.c.errors.Add(1)
			return nil, &Error{Kind: ErrPrimaryUnavailable}
		}
		r.c.writes.Add(1)
		return req.Next()
	}
	return r.read(req)
}

func isStatsQuery(q string) bool {
	return strings.Contains(q, "comp=stats") && strings.Contains(q, "restype=service")
}

// outcome classifies one attempt.
type outcome uint8

const (
	good          outcome = iota // an answer to return: 2xx, 3xx, most 4xx
	retryable                    // 408, 429, 5xx, timeout, connection error
	notReplicated                // 404 or 412 from the secondary
	neutral                      // caller cancellation or a non-retriable error
)

type attempt struct {
	loc   Location
	resp  *http.Response
	err   error
	end   time.Time // when the answer (or error) arrived
	dur   time.Duration
	class outcome
	why   error // cause(), computed once
}

// send makes one attempt at loc. When clone is false req itself is sent
// (readdressed in place); the retry policy gives each try its own copy.
func (r *Router) send(req *policy.Request, ctx context.Context, loc Location, clone bool) attempt {
	if clone {
		req = req.Clone(ctx)
	}
	raw := req.Raw()
	r.readdress(raw, loc)
	start := r.cfg.Now()
	resp, err := req.Next()
	a := attempt{loc: loc, resp: resp, err: err, end: r.cfg.Now()}
	a.dur = a.end.Sub(start)
	a.class = classify(ctx, loc, resp, err)
	return a
}

// readdress points req at loc, signing it again when the signed path
// changes (path-style URLs with Shared Key).
func (r *Router) readdress(req *http.Request, loc Location) {
	from, to := &r.primary, &r.secondary
	if loc == Primary {
		from, to = to, from
	}
	if !from.matches(req.URL) {
		return
	}
	move(req, from, to)
	if from.prefix != to.prefix {
		r.resign(req)
	}
}

// classify sorts an attempt's result. Caller cancellation (context.Canceled)
// is neutral; a deadline (the SDK's TryTimeout, or the caller's) is a
// timeout, which counts against the location like any retryable failure.
func classify(ctx context.Context, loc Location, resp *http.Response, err error) outcome {
	if err != nil {
		var nre interface{ NonRetriable() }
		switch {
		case errors.Is(ctx.Err(), context.Canceled), errors.Is(err, context.Canceled), errors.As(err, &nre):
			return neutral
		}
		return retryable
	}
	switch resp.StatusCode {
	case http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
		http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return retryable
	case http.StatusNotFound, http.StatusPreconditionFailed:
		if loc == Secondary {
			return notReplicated
		}
	}
	return good
}

// cause turns a failed attempt into an error for ErrBothUnavailable,
// consuming its response.
func (a *attempt) cause() error {
	switch {
	case a.why != nil:
	case a.err != nil:
		a.why = redact.Err(a.err)
	case a.resp == nil:
		a.why = errors.New("no response")
	default:
		// Reads the (small) error body and leaves resp re-readable, which
		// also returns the connection to the pool before the next attempt.
		a.why = runtime.NewResponseError(a.resp)
	}
	return a.why
}

// discard drains and closes the attempt's response; a nil attempt is a
// no-op.
func (a *attempt) discard() {
	if a != nil && a.resp != nil {
		runtime.Drain(a.resp)
		a.resp = nil
	}
}

// read routes one try of a GET or HEAD.
func (r *Router) read(req *policy.Request) (*http.Response, error) {
	ctx := req.Raw().Context()
	var rt route
	if r.pins.pinned(&r.primary, req.Raw(), r.cfg.Now) && r.Mode() == Auto {
		// A conditional read of a version the secondary served (the rest
		// of a download): stay there, even as the breaker closes.
		rt.loc = Secondary
	} else {
		rt = r.br.route()
	}
	if rt.loc == Secondary {
		if err := r.checkStale(ctx); err != nil {
			return nil, err
		}
		return r.readSecondaryFirst(req, ctx)
	}
	var a attempt
	var sec *attempt
	hedged := false
	if r.hedge != nil && !rt.probe && r.Mode() == Auto && r.State() == Closed {
		a, hedged, sec = r.hedgedRead(req, ctx)
		if a.loc == Secondary {
			// The hedge won; the primary's verdict is unknown, not a failure.
			r.servedSecondary(&a)
			r.served(req, &a, false, true, false)
			return a.resp, a.err
		}
	} else {
		a = r.send(req, ctx, Primary, false)
	}
	now := a.end
	switch a.class {
	case good:
		if rt.probe {
			r.emitState(r.br.probeResult(now, rt.gen, true))
		} else {
			r.emitState(r.br.primarySuccess(now, a.dur))
		}
		if r.hedge != nil && a.resp != nil && a.resp.StatusCode < 300 {
			r.hedge.observe(a.dur)
		}
		r.served(req, &a, false, hedged, rt.probe)
		return a.resp, nil
	case neutral:
		if rt.probe {
			r.br.probeAbandoned()
		}
		sec.discard()
		return a.resp, a.err
	}
	// A retryable primary failure.
	var ev *StateChange
	if rt.probe {
		ev = r.br.probeResult(now, rt.gen, false)
	} else {
		ev = r.br.primaryFailure(now, "")
	}
	r.emitRetry(&a, rt.probe)
	r.emitState(ev)
	if (r.cfg.DisableFallback && !rt.probe) || r.Mode() == PrimaryOnly || ctx.Err() != nil {
		// No fallback: not wanted, or the try's time is spent (a timeout);
		// the retry policy decides what happens next.
		sec.discard()
		r.served(req, &a, false, hedged, rt.probe)
		return a.resp, a.err
	}
	if err := r.checkStale(ctx); err != nil {
		var e *Error
		if errors.As(err, &e) {
			e.Primary = a.cause()
		}
		sec.discard()
		return nil, err
	}
	a.cause()
	var b attempt
	if sec != nil {
		b = *sec // the hedge already asked the secondary
	} else {
		b = r.send(req, ctx, Secondary, true)
	}
	switch b.class {
	case good:
		a.discard()
		r.servedSecondary(&b)
		r.served(req, &b, true, hedged, false)
		return b.resp, nil
	case notReplicated:
		// The secondary cannot help; the primary's failure stands and the
		// retry policy decides what happens next.
		b.discard()
		r.served(req, &a, false, hedged, rt.probe)
		return a.resp, a.err
	case neutral:
		a.discard()
		return b.resp, b.err
	}
	return nil, r.both(&a, &b)
}

// readSecondaryFirst serves a read the breaker (or a pin) sent to the
// secondary, falling back to the primary on a failure or when the
// secondary does not have the blob (version) yet.
func (r *Router) readSecondaryFirst(req *policy.Request, ctx context.Context) (*http.Response, error) {
	a := r.send(req, ctx, Secondary, false)
	switch a.class {
	case good:
		r.servedSecondary(&a)
		r.served(req, &a, false, false, false)
		return a.resp, nil
	case neutral:
		return a.resp, a.err
	case notReplicated:
		r.c.notReplicated.Add(1)
	case retryable:
		if r.Mode() == SecondaryOnly || r.cfg.DisableFallback || ctx.Err() != nil {
			r.served(req, &a, false, false, false)
			return a.resp, a.err
		}
	}
	a.cause()
	b := r.send(req, ctx, Primary, true)
	now := b.end
	switch b.class {
	case good:
		if a.class == retryable {
			// The secondary failed and the primary answered: it is back.
			r.emitState(r.br.recovered(now))
		} else {
			// Not replicated yet: says nothing about the primary's health.
			r.emitState(r.br.primarySuccess(now, b.dur))
		}
		a.discard()
		r.served(req, &b, true, false, false)
		return b.resp, nil
	case neutral:
		a.discard()
		return b.resp, b.err
	}
	r.emitState(r.br.primaryFailure(now, ""))
	r.emitRetry(&b, false)
	return nil, r.both(&b, &a)
}

// both builds ErrBothUnavailable from the primary and secondary attempts.
func (r *Router) both(p, s *attempt) error {
	r.c.errors.Add(1)
	err := &Error{Kind: ErrBothUnavailable, Primary: p.cause(), Secondary: s.cause()}
	r.log.Warn("geoblob: read failed on both locations", "error", err.Error())
	return err
}

// servedSecondary does the bookkeeping of a good secondary answer.
func (r *Router) servedSecondary(a *attempt) {
	r.br.secondarySuccess()
	r.stats.maybeRefresh(r, a.end)
	if a.resp != nil && a.resp.Request != nil &&
		(a.resp.StatusCode == http.StatusOK || a.resp.StatusCode == http.StatusPartialContent) {
		if etag := a.resp.Header.Get("ETag"); etag != "" {
			r.pins.add(r.secondary.relPath(a.resp.Request.URL), etag, a.end)
		}
	}
}

// served counts a read's outcome and reports it.
func (r *Router) served(req *policy.Request, a *attempt, fallback, hedged, probe bool) {
	if a.resp != nil {
		r.c.reads[a.loc].Add(1)
		if fallback {
			r.c.fallbacks.Add(1)
		}
	}
	info, _ := req.Raw().Context().Value(readInfoKey{}).(*ReadInfo)
	debug := r.log.Enabled(context.Background(), slog.LevelDebug)
	if info == nil && r.cfg.OnResponse == nil && !debug {
		return
	}
	var lst time.Time
	if a.loc == Secondary {
		lst = r.stats.lastSyncTime()
	}
	status := 0
	if a.resp != nil {
		status = a.resp.StatusCode
	}
	if info != nil && a.resp != nil {
		info.record(ReadStatus{Location: a.loc, Fallback: fallback, Hedged: hedged, StatusCode: status, LastSyncTime: lst})
	}
	if r.cfg.OnResponse != nil || debug {
		sent := req.Raw() // the URL the answer came from, not the one asked for
		if a.resp != nil && a.resp.Request != nil {
			sent = a.resp.Request
		}
		ev := ResponseEvent{
			Method: sent.Method, URL: redact.URL(sent.URL), Location: a.loc,
			StatusCode: status, Fallback: fallback, Probe: probe, Hedged: hedged,
			Duration: a.dur, LastSyncTime: lst,
		}
		if a.err != nil {
			ev.Err = redact.Err(a.err)
		}
		r.log.Debug("geoblob: read", "location", a.loc.String(), "status", status, "fallback", fallback, "probe", probe, "hedged", hedged, "url", ev.URL)
		if r.cfg.OnResponse != nil {
			r.cfg.OnResponse(ev)
		}
	}
}

func (r *Router) emitRetry(a *attempt, probe bool) {
	if r.cfg.OnRetry == nil {
		return
	}
	ev := RetryEvent{Count: r.br.consecutive(), Probe: probe}
	if a.err != nil {
		ev.Err = redact.Err(a.err)
	} else if a.resp != nil {
		ev.StatusCode = a.resp.StatusCode
	}
	r.cfg.OnRetry(ev)
}

func (r *Router) emitState(ev *StateChange) {
	if ev == nil {
		return
	}
	r.log.Info("geoblob: breaker state change", "from", ev.From.String(), "to", ev.To.String(), "mode", ev.Mode.String(), "reason", ev.Reason)
	if r.cfg.OnStateChange != nil {
		r.cfg.OnStateChange(*ev)
	}
}
