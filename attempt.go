package geoblob

import (
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/geoblob/geoblob/internal/redact"
)

// ErrAttemptTimeout is the cause recorded for an attempt that got no
// response headers within Config.AttemptTimeout. It matches
// context.DeadlineExceeded as well.
var ErrAttemptTimeout = &attemptTimeoutError{}

type attemptTimeoutError struct{}

func (*attemptTimeoutError) Error() string {
	return "geoblob: no response headers within the attempt bound"
}
func (*attemptTimeoutError) Is(target error) bool { return target == context.DeadlineExceeded }

// outcome classifies one attempt.
type outcome uint8

const (
	good          outcome = iota // an answer to return: 2xx, 3xx, most 4xx
	retryable                    // 408, 429, 5xx, timeout, connection error
	notReplicated                // 404 or 412 from the secondary
	neutral                      // caller cancellation or a non-retriable error
)

type attempt struct {
	loc      Location
	resp     *http.Response
	err      error
	end      time.Time // when the answer (or error) arrived
	dur      time.Duration
	class    outcome
	timedOut bool  // the attempt bound cancelled it
	why      error // cause(), computed once
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
	case http.StatusForbidden:
		if loc == Secondary && resp.Header.Get("x-ms-error-code") == noSecondaryCode {
			// The account has no readable secondary (LRS after an
			// unplanned failover, a new secondary bootstrapping, or
			// GRS without read access): a failure of the secondary,
			// not an answer to the read.
			return retryable
		}
	}
	return good
}

// noSecondaryCode is Azure's error code for a request to the secondary of
// an account whose secondary cannot be read.
const noSecondaryCode = "InsufficientAccountPermissions"

// cause turns a failed attempt into an error for ErrBothUnavailable,
// consuming its response.
func (a *attempt) cause() error {
	switch {
	case a.why != nil:
	case a.timedOut:
		a.why = ErrAttemptTimeout
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

// send makes one attempt at loc, bounded by the attempt bound, and wraps
// the response body so that a failure while it is read counts against loc.
// When clone is false req itself is sent (readdressed in place; the retry
// policy gives each try its own copy), else a copy.
func (r *Router) send(req *policy.Request, ctx context.Context, loc Location, clone bool) attempt {
	bound := r.bound()
	var w *watch
	sendCtx := ctx
	if bound > 0 {
		w = &watch{r: r, loc: loc, parent: ctx, bounded: true}
		if ctx.Done() != nil {
			// parentDone may already be running (a parent done by now):
			// stopParent is shared with it under mu.
			stop := context.AfterFunc(ctx, w.parentDone)
			w.mu.Lock()
			w.stopParent = stop
			w.mu.Unlock()
		}
		sendCtx = w
	}
	switch {
	case clone:
		req = req.Clone(sendCtx)
	case w != nil:
		// The retry policy gives every try its own *http.Request, which
		// this try alone uses: set its context in place rather than
		// copying the policy.Request too (WithContext).
		raw := req.Raw()
		*raw = *raw.WithContext(sendCtx)
	}
	r.readdress(req.Raw(), loc)
	start := r.cfg.Now()
	if w != nil {
		if r.bothSince.Load() != 0 && (!r.sec.down.Load() || r.br.PrimaryDown()) {
			// Both locations failed lately: give each half the time, so
			// a try that tries both still ends within one bound (a
			// secondary marked down is not tried while the primary is
			// held as up).
			bound /= 2
		}
		w.alarm = startAlarm(w, bound)
	}
	resp, err := req.Next()
	a := attempt{loc: loc, resp: resp, err: err, end: r.cfg.Now()}
	a.dur = a.end.Sub(start)
	if w != nil && !w.alarm.stop() {
		// The bound fired: whatever arrived is too late to trust.
		a.timedOut = true
		a.class = retryable
		if resp != nil {
			runtime.Drain(resp)
			a.resp = nil
		}
		a.err = ErrAttemptTimeout
		w.cancel()
		if ctx.Err() != nil {
			a.class = classify(ctx, loc, nil, ctx.Err())
			a.err = ctx.Err()
		} else {
			r.c.attemptTimeouts.Add(1)
		}
		return a
	}
	a.class = classify(ctx, loc, resp, err)
	if resp == nil || resp.Body == nil || resp.Body == http.NoBody {
		if w != nil {
			w.cancel()
		}
		return a
	}
	if w == nil {
		w = &watch{r: r, loc: loc, parent: ctx}
	}
	w.body, w.resp = resp.Body, resp
	resp.Body = w
	return a
}

// bound returns the attempt bound: Config.AttemptTimeout, or the adaptive
// one.
func (r *Router) bound() time.Duration {
	if r.cfg.AttemptTimeout != 0 {
		return r.cfg.AttemptTimeout
	}
	p99 := time.Duration(r.lat.p99.Load())
	return min(max(attemptTimeoutP99*p99, minAttemptTimeout), maxAttemptTimeout)
}

// AttemptTimeout returns the attempt bound in force: Config.AttemptTimeout,
// or the adaptive one computed from recent primary latencies. Zero or
// negative means no bound.
func (r *Router) AttemptTimeout() time.Duration { return r.bound() }

// watch bounds one attempt's time to response headers (through its
// context) and then, as the response body, watches the body: an error
// while it is read counts against the location that served it.
type watch struct {
	r      *Router
	parent context.Context
	loc    Location
	// bounded: the watch is the attempt's context too (see Done).
	bounded bool
	// succeed makes the end of an unbroken body count as a primary
	// success; probe makes it the successful verdict of the probe sent
	// under gen (at is the probe's attempt, allocated for probes only, to
	// keep the watch of every other read small). Both are set before the
	// response is handed on. (The small fields sit together: the watch is
	// allocated for every read and fits the 160-byte size class.)
	succeed    bool
	probe      bool
	done       atomic.Bool
	mu         sync.Mutex
	stopParent func() bool // unregisters parentDone from the parent
	ch         chan struct{}
	err        error
	after      func()   // the first AfterFunc
	more       []func() // the others
	alarm      *alarm
	body       io.ReadCloser
	resp       *http.Response
	gen        uint64
	at         *attempt
}

// alarm is a reusable timer that cancels the attempt it is set for. The
// healthy path stops it before it fires and returns it to alarms, so that
// bounding an attempt costs no timer allocation.
type alarm struct {
	t      *time.Timer
	target atomic.Pointer[watch]
}

var alarms = sync.Pool{New: func() any {
	a := &alarm{}
	a.t = time.AfterFunc(time.Hour, a.fire)
	a.t.Stop()
	return a
}}

// startAlarm sets an alarm to cancel w's attempt after d.
func startAlarm(w *watch, d time.Duration) *alarm {
	a := alarms.Get().(*alarm)
	a.target.Store(w)
	a.t.Reset(d)
	return a
}

func (a *alarm) fire() {
	if w := a.target.Load(); w != nil {
		w.cancel()
	}
}

// The attempt's context is its watch: a bounded attempt's request carries
// the watch as its context, which costs no allocation of its own on the
// healthy path (context.WithCancelCause would cost a context, its cancel
// function and, once net/http asks for Done, the registration of
// net/http's own context in it). It is done when the attempt bound fires,
// when the attempt ends (its body finished, or the attempt failed), or
// when the parent (the try's context) is done. context.Cause of it is the
// parent's cause (nil while the parent runs): neither azcore, azblob nor
// the Router asks for it.

// Deadline is the parent's.
func (w *watch) Deadline() (time.Time, bool) { return w.parent.Deadline() }

// Value is the parent's.
func (w *watch) Value(key any) any { return w.parent.Value(key) }

// Done returns a channel closed when the attempt's context is cancelled;
// it is made on first use.
func (w *watch) Done() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ch == nil {
		if w.err != nil {
			return closedChan
		}
		w.ch = make(chan struct{})
	}
	return w.ch
}

// Err is context.Canceled once the attempt's context was cancelled
// (whatever the cause), or the parent's error when the parent ended it.
func (w *watch) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// AfterFunc is how a context derived from the attempt's (net/http derives
// one for every request) learns that it is done without a goroutine of
// its own: f runs once the attempt's context is cancelled. The stop
// function returned does not unregister f; the context package calls it
// only when the derived context ends, after which f is a no-op.
func (w *watch) AfterFunc(f func()) func() bool {
	w.mu.Lock()
	if w.err != nil {
		w.mu.Unlock()
		go f()
		return stopNothing
	}
	if w.after == nil {
		w.after = f
	} else {
		w.more = append(w.more, f)
	}
	w.mu.Unlock()
	return stopNothing
}

func stopNothing() bool { return false }

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// cancel ends the attempt's context: the bound fired, or the attempt
// ended. Send tells a fired bound by its alarm, not by the context's
// error.
func (w *watch) cancel() { w.cancelWith(context.Canceled) }

// parentDone ends the attempt's context when the try's ends.
func (w *watch) parentDone() { w.cancelWith(w.parent.Err()) }

func (w *watch) cancelWith(err error) {
	w.mu.Lock()
	if w.err != nil {
		w.mu.Unlock()
		return
	}
	w.err = err
	if w.ch == nil {
		w.ch = closedChan
	} else {
		close(w.ch)
	}
	after, more, stop := w.after, w.more, w.stopParent
	w.after, w.more = nil, nil
	w.mu.Unlock()
	if stop != nil {
		stop()
	}
	if after != nil {
		after()
	}
	for _, f := range more {
		f()
	}
}

// stop stops the alarm and reports whether it had not fired. A stopped
// alarm goes back to the pool; one that fired (or is firing) is dropped.
func (a *alarm) stop() bool {
	if !a.t.Stop() {
		return false
	}
	a.target.Store(nil)
	alarms.Put(a)
	return true
}

// Read reads the body; an error other than EOF ends the watch as a body
// failure unless the caller cancelled.
func (w *watch) Read(p []byte) (int, error) {
	n, err := w.body.Read(p)
	if err != nil {
		if err == io.EOF {
			w.finish()
		} else if w.done.CompareAndSwap(false, true) {
			w.r.bodyFailed(w, err)
			if w.bounded {
				w.cancel()
			}
		}
	}
	return n, err
}

// Close closes the body and releases the attempt's context.
func (w *watch) Close() error {
	err := w.body.Close()
	w.finish()
	return err
}

func (w *watch) finish() {
	if !w.done.CompareAndSwap(false, true) {
		return
	}
	if w.bounded {
		w.cancel()
	}
	switch {
	case w.probe:
		w.at.end = w.r.cfg.Now()
		w.r.probeVerdict(w.gen, w.at, false, true, "")
	case w.succeed:
		w.r.br.Success(w.r.cfg.Now())
	}
}

// latencies keeps a ring of recent successful primary read latencies (time
// to response headers) and their p95 and p99, recomputed every p95Every
// samples.
type latencies struct {
	ring [latencySamples]atomic.Int64
	n    atomic.Uint64
	p95  atomic.Int64 // 0 until enough samples
	p99  atomic.Int64

	sortMu  sync.Mutex // guards scratch; a busy recompute is skipped
	scratch [latencySamples]int64
}

const (
	latencySamples = 512 // ring of recent primary read latencies
	p95Every       = 64  // recompute the quantiles every this many samples
)

func (l *latencies) observe(d time.Duration) {
	i := l.n.Add(1)
	l.ring[(i-1)%latencySamples].Store(int64(d))
	if i%p95Every == 0 && l.sortMu.TryLock() {
		s := l.scratch[:min(i, latencySamples)]
		for j := range s {
			s[j] = l.ring[j].Load()
		}
		slices.Sort(s)
		l.p95.Store(s[len(s)*95/100])
		l.p99.Store(s[len(s)*99/100])
		l.sortMu.Unlock()
	}
}
