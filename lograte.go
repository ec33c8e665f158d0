package geoblob

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"
)

// Kinds of rate-limited log lines.
const (
	logState     = iota // breaker transitions
	logProbe            // failed probes
	logBoth             // reads failed on both locations
	logSecondary        // the secondary marked down or up
	numLogKinds
)

// logEvery is the most often one kind of line is logged; the lines left
// out in between are counted in the next one's "suppressed" attribute.
const logEvery = time.Second

// rateLimit lets one line of a kind through per logEvery.
type rateLimit struct {
	next       atomic.Int64 // unix nanos before which lines are suppressed
	suppressed atomic.Int64
}

// logAt logs msg at level unless a line of the same kind was logged less
// than logEvery ago; then it only counts it.
func (r *Router) logAt(kind int, level slog.Level, msg string, args ...any) {
	if !r.log.Enabled(context.Background(), level) {
		return
	}
	l := &r.logs[kind]
	now := r.cfg.Now().UnixNano()
	next := l.next.Load()
	if now < next || !l.next.CompareAndSwap(next, now+int64(logEvery)) {
		l.suppressed.Add(1)
		return
	}
	if n := l.suppressed.Swap(0); n > 0 {
		args = append(args, "suppressed", n)
	}
	r.log.Log(context.Background(), level, msg, args...)
}
