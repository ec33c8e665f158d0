package geoblob

import (
	"context"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
)

// backgroundProbeKey marks the context of a background probe request; its
// value is the *probeTicket.
type backgroundProbeKey struct{}

// probeTicket is a claimed background probe: the breaker generation it was
// claimed under, and whether the Router reported its verdict (a request
// that never reached the Router, say a credential failure, must still
// release the probe slot).
type probeTicket struct {
	gen      uint64
	reported atomic.Bool
}

// startProber starts the background prober, unless it runs already or is
// disabled. It runs while the breaker is open and ends when it closes (or
// a Force leaves Auto mode).
func (r *Router) startProber() {
	if r.cfg.ProbeInterval <= 0 || r.closed.Load() || r.probeSvc.Load() == nil || !r.prober.CompareAndSwap(false, true) {
		return
	}
	go r.probeLoop()
}

// Close stops the Router's background work (the background prober) and
// keeps it from starting again. Routing goes on as before: a closed Router
// still serves its clients, it only stops checking the primary without
// traffic. A Router nobody reads through stops that work on its own after
// ten minutes; Close ends it at once, as tests and short-lived programs
// want. Close always returns nil.
func (r *Router) Close() error {
	r.closed.Store(true)
	r.endLife() // wakes the background loops, which end at once
	return nil
}

// proberIdle stops the background prober of a Router nobody reads
// through, so that an abandoned client does not probe for ever.
const proberIdle = 10 * time.Minute

func (r *Router) probeLoop() {
	defer func() {
		r.prober.Store(false)
		if r.br.PrimaryDown() && !r.closed.Load() {
			r.startProber() // it opened again as this loop was ending
		}
	}()
	every := r.cfg.ProbeInterval
	t := time.NewTimer(every / 4)
	defer t.Stop()
	for {
		select {
		case <-r.life.Done():
			return
		case <-t.C:
		}
		if !r.br.PrimaryDown() || r.closed.Load() {
			return
		}
		idle := r.cfg.Now().UnixNano() - r.lastRead.Load()
		if idle > int64(proberIdle) {
			return // nobody reads through this Router: stop; the next read restarts it
		}
		// With traffic, reads probe the primary themselves, with the very
		// requests that failed; the background probe is for the quiet.
		if idle < int64(every) {
			t.Reset(every / 4)
			continue
		}
		if gen, ok := r.br.BackgroundProbe(every); ok {
			r.c.bgProbes.Add(1)
			r.sendBackgroundProbe(gen)
		}
		t.Reset(every / 4)
	}
}

// sendBackgroundProbe sends Get Account Information through the client's
// pipeline, in one try; the Router recognises it by its context.
func (r *Router) sendBackgroundProbe(gen uint64) {
	svc := r.probeSvc.Load()
	ticket := &probeTicket{gen: gen}
	ctx := context.WithValue(r.life, backgroundProbeKey{}, ticket)
	ctx = policy.WithRetryOptions(ctx, policy.RetryOptions{MaxRetries: -1})
	ctx, cancel := context.WithTimeout(ctx, max(r.bound(), maxAttemptTimeout)+time.Second)
	defer cancel()
	_, _ = svc.GetAccountInfo(ctx, nil) // the verdict is taken in backgroundProbeTry
	if !ticket.reported.Load() {
		r.br.ProbeAbandoned()
	}
}

// backgroundProbeTry sends a background probe to the primary, bounded like
// any attempt and with no fallback, and reports its verdict.
func (r *Router) backgroundProbeTry(req *policy.Request, t *probeTicket) (*http.Response, error) {
	if !t.reported.CompareAndSwap(false, true) {
		return req.Next() // reported already: the SDK retried after all
	}
	gen := t.gen
	a := r.send(req, req.Raw().Context(), Primary, false)
	switch {
	case a.class == neutral && !a.timedOut:
		r.br.ProbeAbandoned()
	case a.class == good && (r.cfg.SlowCallThreshold <= 0 || a.dur <= r.cfg.SlowCallThreshold):
		r.probeVerdict(gen, &a, true, true, "")
	case a.class == good:
		r.probeVerdict(gen, &a, true, false, "slow")
	default:
		r.probeVerdict(gen, &a, true, false, "")
	}
	if a.timedOut {
		return nil, ErrAttemptTimeout
	}
	return a.resp, a.err
}

// SetProbeClient sets the service client background probes are sent with:
// a client of the same account whose pipeline includes this router. The
// constructors and SetStatsClient set it.
func (r *Router) SetProbeClient(svc *service.Client) { r.probeSvc.Store(svc) }
