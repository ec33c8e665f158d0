package geoblob

import (
	"context"
	"io"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
)

// hedger decides when to hedge and how much hedging the budget allows.
type hedger struct {
	cfg    *HedgeConfig
	lat    *latencies
	tokens atomic.Int64 // milli-tokens; a hedge costs 1000
	earn   int64        // milli-tokens earned per read
	max    int64
}

func newHedger(cfg *HedgeConfig, lat *latencies) *hedger {
	h := &hedger{cfg: cfg, lat: lat, earn: int64(cfg.Budget * 1000), max: int64(cfg.Burst) * 1000}
	h.tokens.Store(h.max)
	return h
}

// delay returns how long to wait for the primary before hedging, and false
// when no hedge should be sent (no p95 observed yet).
func (h *hedger) delay() (time.Duration, bool) {
	if h.cfg.Delay > 0 {
		return h.cfg.Delay, true
	}
	p := time.Duration(h.lat.p95.Load())
	if p == 0 {
		return 0, false
	}
	return max(p, h.cfg.MinDelay), true
}

// deposit adds one read's share of the hedge budget.
func (h *hedger) deposit() {
	for {
		t := h.tokens.Load()
		if t >= h.max || h.tokens.CompareAndSwap(t, min(t+h.earn, h.max)) {
			return
		}
	}
}

// take spends one hedge from the budget.
func (h *hedger) take() bool {
	for {
		t := h.tokens.Load()
		if t < 1000 {
			return false
		}
		if h.tokens.CompareAndSwap(t, t-1000) {
			return true
		}
	}
}

// cancelOnClose cancels an attempt's context once its body is closed, so
// a winning response stays readable after the hedge returns.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

func keep(a attempt, cancel context.CancelFunc) attempt {
	if a.resp != nil && a.resp.Body != nil {
		a.resp.Body = &cancelOnClose{ReadCloser: a.resp.Body, cancel: cancel}
	} else {
		cancel()
	}
	return a
}

// sendDirect sends a copy of req to loc straight through the transport.
// Hedges use it because the policies after the Router keep per-operation
// state in a map that clones share, so two concurrent Next calls on clones
// of one request would race. The hedge therefore skips the SDK's logging
// and tracing policies; the primary attempt still goes through them.
//
// The attempt bound applies to it as to any attempt: cancel, which cancels
// ctx, is called with ErrAttemptTimeout when no response headers came
// within the bound.
func (r *Router) sendDirect(req *policy.Request, ctx context.Context, cancel context.CancelCauseFunc, loc Location) attempt {
	raw := req.Raw().Clone(ctx)
	r.readdress(raw, loc)
	start := r.cfg.Now()
	var alarm *time.Timer
	if bound := r.bound(); bound > 0 {
		alarm = time.AfterFunc(bound, func() { cancel(ErrAttemptTimeout) })
	}
	resp, err := r.transport().Do(raw)
	a := attempt{loc: loc, resp: resp, err: err, end: r.cfg.Now()}
	a.dur = a.end.Sub(start)
	if alarm != nil && !alarm.Stop() && context.Cause(ctx) == ErrAttemptTimeout {
		// The bound fired: whatever arrived is too late to trust.
		if resp != nil {
			runtime.Drain(resp)
		}
		a.resp, a.err, a.timedOut, a.class = nil, ErrAttemptTimeout, true, retryable
		r.c.attemptTimeouts.Add(1)
		return a
	}
	a.class = classify(ctx, loc, resp, err)
	return a
}

// hedgedRead sends the read to the primary and, if it has not answered
// within the hedge delay and the budget allows, to the secondary as well.
// The first good answer wins and the other request is cancelled. sec is
// the secondary's attempt when it was sent and did not win.
func (r *Router) hedgedRead(req *policy.Request, ctx context.Context) (a attempt, hedged bool, sec *attempt) {
	h := r.hedge
	h.deposit()
	delay, ok := h.delay()
	if !ok {
		return r.send(req, ctx, Primary, false), false, nil
	}
	var cancels [2]context.CancelFunc
	var pctx context.Context
	pctx, cancels[Primary] = context.WithCancel(ctx)
	results := make(chan attempt, 2)
	go func() { results <- r.send(req, pctx, Primary, true) }()
	timer := time.NewTimer(delay)
	select {
	case a = <-results:
		timer.Stop()
		return keep(a, cancels[Primary]), false, nil
	case <-timer.C:
	}
	if r.stale(ctx) != nil || !h.take() {
		return keep(<-results, cancels[Primary]), false, nil
	}
	r.c.hedges.Add(1)
	sctx, cancelSecondary := context.WithCancelCause(ctx)
	cancels[Secondary] = func() { cancelSecondary(nil) }
	go func() { results <- r.sendDirect(req, sctx, cancelSecondary, Secondary) }()
	var lost [2]*attempt
	for range 2 {
		a := <-results
		if a.class == good {
			other := a.loc.other()
			cancels[other]()
			if o := lost[other]; o != nil {
				o.discard()
			} else {
				go func() { o := <-results; o.discard() }()
			}
			if a.loc == Secondary {
				r.c.hedgeWins.Add(1)
			}
			return keep(a, cancels[a.loc]), true, nil
		}
		lost[a.loc] = &a
	}
	s := keep(*lost[Secondary], cancels[Secondary])
	return keep(*lost[Primary], cancels[Primary]), true, &s
}
