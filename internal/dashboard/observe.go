package dashboard

import (
	"net/http"

	"github.com/geoblob/geoblob"
)

// ObserveReads chains the hub into cfg.OnResponse: every read the router
// serves becomes one entry of the client read stream, P or S for the
// location that answered, F for a read that failed. A callback already set
// runs first.
func (h *Hub) ObserveReads(cfg *geoblob.Config) {
	prev := cfg.OnResponse
	cfg.OnResponse = func(ev geoblob.ResponseEvent) {
		if prev != nil {
			prev(ev)
		}
		h.ClientRead(readLetter(ev))
	}
}

// ObserveBreaker chains the hub into cfg.OnStateChange, recording every
// transition. A callback already set runs first.
func (h *Hub) ObserveBreaker(cfg *geoblob.Config) {
	prev := cfg.OnStateChange
	cfg.OnStateChange = func(ev geoblob.StateChange) {
		if prev != nil {
			prev(ev)
		}
		if ev.From != ev.To {
			h.Breaker(ev.From.String(), ev.To.String(), ev.Reason, ev.At)
		}
	}
}

// ObserveRouter makes every tick report r's breaker state, half-open
// included (which is not a transition).
func (h *Hub) ObserveRouter(r *geoblob.Router) {
	h.SetBreakerState(func() string { return r.State().String() })
}

func readLetter(ev geoblob.ResponseEvent) byte {
	switch c := ev.StatusCode; {
	case ev.Err != nil || c == 0 || c >= 500 || c == http.StatusRequestTimeout || c == http.StatusTooManyRequests:
		return ReadFailed
	case ev.Location == geoblob.Secondary:
		return ReadSecondary
	}
	return ReadPrimary
}
