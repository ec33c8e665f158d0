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
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"

	"github.com/geoblob/geoblob/internal/breaker"
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
	br                 *breaker.Breaker
	c                  counters
	stats              staleness
	sec                secondaryHealth
	lat                latencies
	hedge              *hedger
	pins               pinTable
	steer              steerTable
	log                *slog.Logger
	logs               [numLogKinds]rateLimit
	hedgeTransport     atomic.Pointer[policy.Transporter]
	sharedKey          atomic.Pointer[accountKey]
	probeSvc           atomic.Pointer[service.Client]
	prober             atomic.Bool
	closed             atomic.Bool
	// life ends (Close cancels it) the background loops and their checks.
	life     context.Context
	endLife  context.CancelFunc
	lastRead atomic.Int64 // unix nanos of the last read the secondary served
	// bothSince is when the current double outage was first seen (unix
	// nanos), 0 while a location serves reads.
	bothSince atomic.Int64
}

var _ policy.Policy = (*Router)(nil)

// counters are the Router's own counters; the breaker keeps its own.
type counters struct {
	reads                                           [2]atomic.Uint64
	writes                                          atomic.Uint64
	fallbacks, notReplicated, hedges, hedgeWins     atomic.Uint64
	errors, rejectedWrites, tooStale                atomic.Uint64
	attemptTimeouts, bodyFailures, pinned, steered  atomic.Uint64
	probesOK, probesFailed, bgProbes, bothRetriable atomic.Uint64
	secondaryDowns, secondaryUps, secondaryChecks   atomic.Uint64
	secondarySkipped                                atomic.Uint64
}

// NewRouter returns a Router for the account whose primary service URL is
// primaryURL (e.g. https://acct.blob.core.windows.net or
// http://127.0.0.1:10000/devstoreaccount1). cfg nil means DefaultConfig(),
// as does every zero field of cfg.
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
	r := &Router{cfg: cfg.resolved()}
	r.life, r.endLife = context.WithCancel(context.Background())
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
	c := &r.cfg
	r.br = breaker.New(breaker.Config{
		FailureThreshold:  c.FailureThreshold,
		FailureRatio:      c.FailureRatio,
		Window:            c.Window,
		MinThroughput:     c.MinThroughput,
		FailbackReads:     c.FailbackReads,
		FailbackAfter:     c.FailbackAfter,
		ProbeSuccesses:    c.ProbeSuccesses,
		MaxProbeSuccesses: c.MaxProbeSuccesses,
		FlapWindow:        c.Window,
		MaxProbeHold:      maxProbeHold,
		ProbeBackoff:      c.ProbeBackoff,
		MaxProbeBackoff:   c.MaxProbeBackoff,
		Mode:              breaker.Mode(c.Mode),
		Now:               c.Now,
	})
	if r.cfg.Hedge.Enabled {
		r.hedge = newHedger(&r.cfg.Hedge, &r.lat)
	}
	r.pins.init()
	r.steer.init()
	return r, nil
}

// PrimaryURL returns the primary service URL.
func (r *Router) PrimaryURL() string { return r.primaryURL }

// SecondaryURL returns the secondary service URL, given or derived.
func (r *Router) SecondaryURL() string { return r.secondaryURL }

// State returns the breaker's state.
func (r *Router) State() State { return State(r.br.State()) }

// Mode returns the routing mode.
func (r *Router) Mode() Mode { return Mode(r.br.Mode()) }

// Force sets the routing mode: PrimaryOnly, SecondaryOnly, or Auto to hand
// control back to the breaker (which then starts closed).
func (r *Router) Force(m Mode) {
	if m < Auto || m > SecondaryOnly {
		return
	}
	r.emitState(r.br.Force(r.cfg.Now(), breaker.Mode(m)))
}

// Counters returns a snapshot of the counters.
func (r *Router) Counters() Counters {
	c := &r.c
	b := r.br.Counts()
	return Counters{
		PrimaryReads:     c.reads[Primary].Load(),
		SecondaryReads:   c.reads[Secondary].Load(),
		Writes:           c.writes.Load(),
		Failovers:        b.Failovers,
		Failbacks:        b.Failbacks,
		Probes:           b.Probes,
		Fallbacks:        c.fallbacks.Load(),
		NotReplicated:    c.notReplicated.Load(),
		Hedges:           c.hedges.Load(),
		HedgeWins:        c.hedgeWins.Load(),
		Errors:           c.errors.Load(),
		RejectedWrites:   c.rejectedWrites.Load(),
		TooStale:         c.tooStale.Load(),
		AttemptTimeouts:  c.attemptTimeouts.Load(),
		BodyFailures:     c.bodyFailures.Load(),
		PinnedReads:      c.pinned.Load(),
		Steered:          c.steered.Load(),
		ProbesOK:         c.probesOK.Load(),
		ProbesFailed:     c.probesFailed.Load(),
		BackgroundProbes: c.bgProbes.Load(),
		BothRetriable:    c.bothRetriable.Load(),
		SecondaryDowns:   c.secondaryDowns.Load(),
		SecondaryUps:     c.secondaryUps.Load(),
		SecondaryChecks:  c.secondaryChecks.Load(),
		SecondarySkipped: c.secondarySkipped.Load(),
	}
}

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
		if !r.cfg.AllowWritesWhileDown && r.br.PrimaryDown() {
			r.c.rejectedWrites.Add(1)
			r.c.errors.Add(1)
			return nil, final(&Error{Kind: ErrPrimaryUnavailable})
		}
		r.c.writes.Add(1)
		return req.Next()
	}
	if len(r.primary.relPath(raw.URL)) <= 1 && strings.Contains(raw.URL.RawQuery, "restype=account") {
		if t, ok := raw.Context().Value(backgroundProbeKey{}).(*probeTicket); ok {
			return r.backgroundProbeTry(req, t)
		}
	}
	return r.read(req)
}

func isStatsQuery(q string) bool {
	return strings.Contains(q, "comp=stats") && strings.Contains(q, "restype=service")
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

func (r *Router) endpoint(loc Location) *endpoint {
	if loc == Secondary {
		return &r.secondary
	}
	return &r.primary
}

// how says how a read was served, for counters and events.
type how struct {
	fallback, hedged, probe, pinned bool
}

// read routes one try of a GET or HEAD: one path for both first
// locations. The first attempt goes where the breaker (or a broken body's
// steer) says; a retryable failure, a timeout, or a secondary that lacks
// the blob (version) sends the same try to the other location, and a
// primary lacking the version a download started on (412 on a pinned
// version) sends it to the secondary.
func (r *Router) read(req *policy.Request) (*http.Response, error) {
	ctx := req.Raw().Context()
	rt := r.br.Route()
	first := Location(rt.First)
	mode := r.Mode()
	if mode == Auto && !rt.Probe && r.steer.n.Load() > 0 {
		if loc, ok := r.steer.take(r.endpoint(Primary), req.Raw(), r.cfg.Now()); ok {
			first = loc
			r.c.steered.Add(1)
		}
	}
	if first == Secondary && mode == Auto && !rt.Probe && r.sec.down.Load() {
		// The secondary is marked down: the primary first (after a
		// failover it serves the promoted copy); the secondary is still
		// the fallback while the breaker holds the primary as down.
		first = Primary
		r.c.secondarySkipped.Add(1)
		r.needSecondary()
	}
	if first == Secondary {
		if err := r.checkStale(ctx); err != nil {
			return nil, final(err)
		}
	}
	// A failed first attempt falls back to the other location only in
	// Auto mode (a probe even with DisableFallback); a secondary lacking
	// the blob (version) always sends the read to the primary.
	fallbackOK := mode == Auto && (!r.cfg.DisableFallback || rt.Probe)

	var a attempt
	var sec *attempt
	h := how{probe: rt.Probe}
	if first == Primary && r.hedge != nil && !rt.Probe && mode == Auto && r.br.State() == breaker.Closed && !r.sec.down.Load() {
		a, h.hedged, sec = r.hedgedRead(req, ctx)
		if a.loc == Secondary {
			// The hedge won: the primary was slower than the hedge delay,
			// which counts as a slow call for the trip rules.
			r.emitState(r.br.Failure(a.end, "slow primary reads (hedges won): "))
			r.judge(&a, breaker.Route{})
			return r.deliver(req, &a, h), nil
		}
	} else {
		a = r.send(req, ctx, first, false)
	}
	r.judge(&a, rt)

	switch a.class {
	case good:
		if a.loc == Primary && Location(rt.First) == Secondary && !rt.Probe && mode == Auto {
			// The primary answered a read the breaker would have sent to
			// the secondary, marked down: the primary is evidently back.
			r.emitState(r.br.Recovered(a.end))
		}
		if a.loc == Primary && a.resp.StatusCode == http.StatusPreconditionFailed && fallbackOK && r.pins.n.Load() > 0 &&
			r.pins.pinned(r.endpoint(Primary), req.Raw(), r.cfg.Now()) && !r.skipSecondary() {
			// The primary lacks the version this download started on at
			// the secondary: finish it there.
			b := r.send(req, ctx, Secondary, true)
			if b.class == good {
				a.discard()
				sec.discard()
				r.c.pinned.Add(1)
				r.servedSecondary(&b)
				return r.deliver(req, &b, how{fallback: true, pinned: true}), nil
			}
			b.discard()
		}
		sec.discard()
		return r.deliver(req, &a, h), nil
	case neutral:
		sec.discard()
		return a.resp, a.err
	case notReplicated:
		r.c.notReplicated.Add(1)
	case retryable:
		if !fallbackOK || ctx.Err() != nil {
			// No fallback: not wanted, or the try's time is spent; the
			// retry policy decides what happens next.
			sec.discard()
			return r.undelivered(req, &a, h)
		}
	}
	other := first.other()
	if other == Secondary && a.class == retryable && sec == nil && r.skipSecondary() {
		// The secondary is down and the primary is held as up: no
		// fallback. The failure stays retriable by the SDK unless both
		// locations have been failing for a while (see both), so a
		// transient primary failure is ridden out by the next try.
		return nil, r.both(&a, &attempt{loc: Secondary, why: ErrSecondaryDown})
	}
	if other == Secondary && sec == nil {
		if err := r.checkStale(ctx); err != nil {
			var e *Error
			if errors.As(err, &e) {
				e.Primary = a.cause()
			}
			return nil, final(err)
		}
	}
	a.cause()
	var b attempt
	if sec != nil {
		b = *sec // the hedge already asked the secondary
	} else {
		b = r.send(req, ctx, other, true)
	}
	r.judge(&b, breaker.Route{})
	switch b.class {
	case good:
		if b.loc == Primary && a.class == retryable {
			// The secondary failed and the primary answered: it is back.
			r.emitState(r.br.Recovered(b.end))
		}
		a.discard()
		h.fallback, h.probe = true, false
		return r.deliver(req, &b, h), nil
	case neutral:
		a.discard()
		return b.resp, b.err
	case notReplicated:
		// The secondary cannot help; the primary's failure stands and the
		// retry policy decides what happens next.
		b.discard()
		return r.undelivered(req, &a, h)
	}
	if a.loc == Primary {
		return nil, r.both(&a, &b)
	}
	return nil, r.both(&b, &a)
}

// judge does the breaker's bookkeeping of one attempt: a primary attempt's
// outcome (a probe's verdict when rt.Probe), a good secondary answer
// towards fail-back, and the adaptive bound's latency sample.
func (r *Router) judge(a *attempt, rt breaker.Route) {
	if a.loc == Secondary {
		switch a.class {
		case good:
			r.servedSecondary(a)
			r.secondaryOK(a.end)
		case notReplicated:
			r.secondaryOK(a.end)
		case retryable:
			r.secondaryFailed(a.end, attemptErr(a))
		}
		return
	}
	slow := r.cfg.SlowCallThreshold > 0 && a.dur > r.cfg.SlowCallThreshold
	if rt.Probe {
		var w *watch
		watched := false
		if a.resp != nil {
			w, watched = a.resp.Body.(*watch)
		}
		switch {
		case a.class == neutral:
			r.br.ProbeAbandoned()
		case a.class == good && !slow && watched:
			// The verdict waits for the body: a primary that breaks
			// bodies after good headers must not close the breaker.
			at := *a
			at.resp = nil
			w.probe, w.gen, w.at = true, rt.Gen, &at
		case a.class == good && !slow:
			r.probeVerdict(rt.Gen, a, false, true, "")
		case a.class == good:
			r.probeVerdict(rt.Gen, a, false, false, "slow")
		default:
			r.probeVerdict(rt.Gen, a, false, false, "")
			r.emitRetry(a, true)
		}
		return
	}
	switch a.class {
	case good:
		if a.resp.StatusCode < 300 {
			if r.cfg.AttemptTimeout == 0 || (r.hedge != nil && r.cfg.Hedge.Delay == 0) {
				r.lat.observe(a.dur)
			}
			if r.pins.n.Load() > 0 {
				r.pins.drop(r.endpoint(Primary), a.resp)
			}
		}
		switch w, ok := a.resp.Body.(*watch); {
		case slow:
			r.emitState(r.br.Failure(a.end, "slow primary reads: "))
		case ok:
			// Good headers are half the story: the success counts once the
			// body has been read (or closed) without breaking.
			w.succeed = true
		default:
			r.br.Success(a.end)
		}
	case retryable:
		ev := r.br.Failure(a.end, "")
		r.emitRetry(a, false)
		r.emitState(ev)
	}
}

// maxProbeHold is how long a probe read's body may stay unfinished before
// the probe slot is released for another probe.
const maxProbeHold = 30 * time.Second

// probeVerdict ends a probe: it reports the verdict to the breaker, counts
// it and emits the event.
func (r *Router) probeVerdict(gen uint64, a *attempt, background, ok bool, reason string) {
	var tr *breaker.Transition
	if a.timedOut {
		tr = r.br.ProbeTimedOut(a.end, gen)
	} else {
		tr = r.br.ProbeResult(a.end, gen, ok)
	}
	ev := ProbeEvent{OK: ok, Background: background, Duration: a.dur, Reason: reason}
	if a.resp != nil {
		ev.StatusCode = a.resp.StatusCode
	}
	switch {
	case ok:
		r.c.probesOK.Add(1)
	case a.timedOut:
		ev.Err, ev.Reason = ErrAttemptTimeout, "attempt timeout"
	case a.err != nil:
		ev.Err, ev.Reason = redact.Err(a.err), "error"
	case reason == "":
		ev.Reason = "status"
	}
	if !ok {
		r.c.probesFailed.Add(1)
		r.logAt(logProbe, slog.LevelInfo, "geoblob: probe of the primary failed", "reason", ev.Reason, "status", ev.StatusCode, "background", background)
	}
	if r.cfg.OnProbe != nil {
		r.cfg.OnProbe(ev)
	}
	r.emitState(tr)
}

// undelivered returns a failed attempt's answer to the retry policy as it
// is (a 503 response, a transport error or a timeout), counting it.
func (r *Router) undelivered(req *policy.Request, a *attempt, h how) (*http.Response, error) {
	if a.resp != nil {
		return r.deliver(req, a, h), nil
	}
	r.report(req, a, h)
	if a.timedOut {
		return nil, fmt.Errorf("%s %s: %w", a.loc, req.Raw().Method, ErrAttemptTimeout)
	}
	return nil, a.err
}

// both builds ErrBothUnavailable from the primary and secondary attempts.
// During the first half second of a double outage the error is left to the
// SDK's retry policy (the secondary may be back by the next try); after
// that it is final, so reads end quickly while both locations are down.
func (r *Router) both(p, s *attempt) error {
	r.c.errors.Add(1)
	now := r.cfg.Now().UnixNano()
	since := r.bothSince.Load()
	if since == 0 && !r.bothSince.CompareAndSwap(0, now) {
		since = r.bothSince.Load()
	}
	if since == 0 {
		since = now
	}
	err := &Error{Kind: ErrBothUnavailable, Primary: p.cause(), Secondary: s.cause()}
	r.logAt(logBoth, slog.LevelWarn, "geoblob: read failed on both locations", "error", err.Error())
	if time.Duration(now-since) < bothRetryWindow {
		r.c.bothRetriable.Add(1)
		return err
	}
	return final(err)
}

// bothRetryWindow is how long after a double outage begins its
// ErrBothUnavailable errors stay retriable by the SDK. azcore's first retry
// comes 0.8 s (±20%) after a failed try by default, and its second 2.4 s
// after that, so a read that fails early in a short double outage gets one
// more try, and its second try, at least 0.64 s later, is final: reads in
// a long double outage end after two tries.
const bothRetryWindow = 500 * time.Millisecond

// servedSecondary does the bookkeeping of a good secondary answer.
func (r *Router) servedSecondary(a *attempt) {
	r.br.SecondarySuccess()
	r.lastRead.Store(a.end.UnixNano())
	if !r.prober.Load() && r.br.PrimaryDown() {
		r.startProber()
	}
	r.stats.maybeRefresh(r, a.end)
	if a.resp != nil && a.resp.Request != nil &&
		(a.resp.StatusCode == http.StatusOK || a.resp.StatusCode == http.StatusPartialContent) {
		if etag := a.resp.Header.Get("ETag"); etag != "" {
			r.pins.add(r.secondary.relPath(a.resp.Request.URL), etag, a.end)
		}
	}
}

// deliver counts a read's answer, reports it and returns its response.
func (r *Router) deliver(req *policy.Request, a *attempt, h how) *http.Response {
	if r.bothSince.Load() != 0 && a.class == good {
		r.bothSince.Store(0)
	}
	r.c.reads[a.loc].Add(1)
	if h.fallback {
		r.c.fallbacks.Add(1)
	}
	r.report(req, a, h)
	return a.resp
}

// report records an attempt's outcome in the caller's ReadInfo and emits
// OnResponse and the debug log.
func (r *Router) report(req *policy.Request, a *attempt, h how) {
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
		info.record(ReadStatus{Location: a.loc, Fallback: h.fallback, Hedged: h.hedged, StatusCode: status, LastSyncTime: lst})
	}
	if r.cfg.OnResponse != nil || debug {
		sent := req.Raw() // the URL the answer came from, not the one asked for
		if a.resp != nil && a.resp.Request != nil {
			sent = a.resp.Request
		}
		ev := ResponseEvent{
			Method: sent.Method, URL: redact.URL(sent.URL), Location: a.loc,
			StatusCode: status, Fallback: h.fallback, Pinned: h.pinned, Probe: h.probe, Hedged: h.hedged,
			Duration: a.dur, LastSyncTime: lst,
		}
		if a.timedOut {
			ev.Err = ErrAttemptTimeout
		} else if a.err != nil {
			ev.Err = redact.Err(a.err)
		}
		r.log.Debug("geoblob: read", "location", a.loc.String(), "status", status, "fallback", h.fallback, "probe", h.probe, "hedged", h.hedged, "url", ev.URL)
		if r.cfg.OnResponse != nil {
			r.cfg.OnResponse(ev)
		}
	}
}

// bodyFailed counts a response body that broke while being read against
// the location that served it (caller cancellation is neutral), and steers
// the next read of that blob version (azblob's retry-reader resumption, or
// the download's next chunk) to the other location.
func (r *Router) bodyFailed(w *watch, err error) {
	if w.parent.Err() != nil || errors.Is(err, context.Canceled) {
		if w.probe {
			r.br.ProbeAbandoned()
		}
		return
	}
	r.c.bodyFailures.Add(1)
	now := r.cfg.Now()
	switch {
	case w.probe:
		w.at.end, w.at.err = now, err
		r.probeVerdict(w.gen, w.at, false, false, "body")
	case w.loc == Primary:
		r.emitState(r.br.Failure(now, "primary response bodies failing: "))
	default:
		r.secondaryFailed(now, redact.Err(err))
	}
	if etag := w.etag(); etag != "" && w.resp.Request != nil && r.Mode() == Auto && (w.loc == Secondary || !r.sec.down.Load()) {
		r.steer.add(r.endpoint(w.loc).relPath(w.resp.Request.URL), etag, w.loc.other(), now)
	}
}

// etag is the version the watched response belongs to: azblob's
// resumptions and later chunks ask for it with If-Match.
func (w *watch) etag() string {
	if e := w.resp.Header.Get("ETag"); e != "" {
		return e
	}
	if w.resp.Request != nil {
		return w.resp.Request.Header.Get("If-Match")
	}
	return ""
}

func (r *Router) emitRetry(a *attempt, probe bool) {
	if r.cfg.OnRetry == nil {
		return
	}
	ev := RetryEvent{Count: r.br.Consecutive(), Probe: probe}
	switch {
	case a.timedOut:
		ev.Err = ErrAttemptTimeout
	case a.err != nil:
		ev.Err = redact.Err(a.err)
	case a.resp != nil:
		ev.StatusCode = a.resp.StatusCode
	}
	r.cfg.OnRetry(ev)
}

func (r *Router) emitState(tr *breaker.Transition) {
	if tr == nil {
		return
	}
	ev := StateChange{From: State(tr.From), To: State(tr.To), Mode: Mode(tr.Mode), Reason: tr.Reason, At: tr.At}
	r.logAt(logState, slog.LevelInfo, "geoblob: breaker state change", "from", ev.From.String(), "to", ev.To.String(), "mode", ev.Mode.String(), "reason", ev.Reason)
	if ev.To == Open && ev.Mode == Auto {
		r.lastRead.Store(ev.At.UnixNano())
		r.startProber()
	}
	if r.cfg.OnStateChange != nil {
		r.cfg.OnStateChange(ev)
	}
}

// final marks a Router error as final for azcore's retry policy.
func final(err error) error { return &finalError{err} }

// finalError is a Router error the SDK must not retry. errors.Is and
// errors.As reach the *Error inside.
type finalError struct{ err error }

func (e *finalError) Error() string { return e.err.Error() }
func (e *finalError) Unwrap() error { return e.err }

// NonRetriable marks the error as final for azcore's retry policy.
func (e *finalError) NonRetriable() {}
