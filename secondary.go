package geoblob

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/geoblob/geoblob/internal/redact"
)

// The secondary's health. After an unplanned account failover the
// -secondary endpoint of the (now locally redundant) account stops
// serving: connections are refused, requests fail, or Get Blob Service
// Stats reports the geo-replication status "unavailable". The Router marks
// the secondary down when SecondaryFailureThreshold consecutive attempts
// there failed, or when Stats reports "unavailable", and then:
//
//   - while the breaker is closed, a failed primary attempt no longer falls
//     back to the secondary: its failure goes back to the SDK's retry
//     policy as it would without geoblob, so a dead secondary cannot turn a
//     transient primary error into ErrBothUnavailable; hedges and pinned
//     reads are not sent there either;
//   - while the breaker is open, reads go to the primary first (after a
//     failover the primary URL serves the promoted copy, and its first
//     good answer closes the breaker); the secondary is still tried when
//     the primary fails, since it is then the only hope, and a good answer
//     from it ends the mark at once;
//   - a background check, with back-off, reads Get Blob Service Stats
//     until the secondary reports "live" again.
//
// Secondary failures never count against the primary.

// secondaryHealth is what the Router knows of the secondary.
type secondaryHealth struct {
	down    atomic.Bool
	fails   atomic.Int32 // consecutive failed secondary attempts
	looping atomic.Bool  // the background check runs
	// lastNeed is when a read last wanted the secondary while it was down
	// (unix nanos): the background check stops after proberIdle without.
	lastNeed atomic.Int64

	mu      sync.Mutex
	since   time.Time
	reason  string
	err     error
	next    time.Time     // when the next background check is due
	backoff time.Duration // the wait after the next check that finds it down
	checks  int
	upAt    time.Time // when it was last marked up, for back-off memory
}

// SecondaryState is what the Router knows of the secondary's health.
type SecondaryState struct {
	// Down is true while reads are not routed to the secondary (see the
	// package documentation on failover).
	Down bool
	// Since is when the secondary was marked down; zero while it is up.
	Since time.Time
	// Reason says why it was marked down.
	Reason string
	// Err is the failure that marked it down, redacted; nil when Stats
	// reported it unavailable.
	Err error
	// Checks counts the checks made since it was marked down.
	Checks int
	// NextCheck is when the background check reads Get Blob Service
	// Stats next; zero while the secondary is up or the check is off.
	NextCheck time.Time
}

// maxSecondaryRecheck caps the background check's back-off.
const maxSecondaryRecheck = 5 * time.Minute

// SecondaryState returns the secondary's health as the Router sees it.
func (r *Router) SecondaryState() SecondaryState {
	s := &r.sec
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.down.Load() {
		return SecondaryState{}
	}
	st := SecondaryState{Down: true, Since: s.since, Reason: s.reason, Err: s.err, Checks: s.checks}
	if r.cfg.SecondaryRecheck > 0 {
		st.NextCheck = s.next
	}
	return st
}

// skipSecondary reports whether a read must not be sent to the secondary
// now: it is marked down and the breaker does not hold the primary as
// down (when it does, the secondary is still tried after the primary). It
// counts the skip and keeps the background check going.
func (r *Router) skipSecondary() bool {
	if !r.sec.down.Load() || r.br.PrimaryDown() {
		return false
	}
	r.c.secondarySkipped.Add(1)
	r.needSecondary()
	return true
}

// needSecondary notes that a read wanted the secondary while it was down,
// restarting the background check if it stopped for lack of traffic.
func (r *Router) needSecondary() {
	r.sec.lastNeed.Store(r.cfg.Now().UnixNano())
	r.startSecondaryCheck()
}

// secondaryOK records a good answer from the secondary.
func (r *Router) secondaryOK(at time.Time) {
	if r.sec.fails.Load() != 0 {
		r.sec.fails.Store(0)
	}
	if r.sec.down.Load() {
		r.markSecondaryUp(at, "the secondary answered a read")
	}
}

// secondaryFailed records a failed secondary attempt (a retryable status,
// a transport error, a timeout or a broken body): the threshold-th in a
// row marks the secondary down.
func (r *Router) secondaryFailed(at time.Time, cause error) {
	n := r.cfg.SecondaryFailureThreshold
	if r.sec.fails.Add(1) < int32(n) || n <= 0 || r.sec.down.Load() {
		return
	}
	r.markSecondaryDown(at, fmt.Sprintf("%d consecutive failed secondary attempts", n), cause)
}

// attemptErr describes a failed attempt without consuming its response.
func attemptErr(a *attempt) error {
	switch {
	case a.timedOut:
		return ErrAttemptTimeout
	case a.err != nil:
		return redact.Err(a.err)
	case a.resp != nil:
		return fmt.Errorf("status %d", a.resp.StatusCode)
	}
	return errors.New("no response")
}

// noteStats takes the secondary's health from a Get Blob Service Stats
// fetch: "unavailable", or 403 InsufficientAccountPermissions (no readable
// secondary: the account is locally redundant), marks it down, "live" up;
// a fetch that failed the way a read does (refused, timed out, 5xx) counts
// as a failed secondary attempt.
func (r *Router) noteStats(st GeoStats, err error, at time.Time) {
	var re *azcore.ResponseError
	switch {
	case err == nil && st.Status == "unavailable":
		if !r.sec.down.Load() {
			r.markSecondaryDown(at, "the secondary reports geo-replication status unavailable", nil)
		}
	case err != nil && errors.As(err, &re) && re.StatusCode == http.StatusForbidden && re.ErrorCode == noSecondaryCode:
		if !r.sec.down.Load() {
			r.markSecondaryDown(at, "the account has no readable secondary (Get Blob Service Stats: "+noSecondaryCode+")", err)
		}
	case err == nil && st.Status == "live":
		r.sec.fails.Store(0)
		if r.sec.down.Load() {
			r.markSecondaryUp(at, "the secondary reports geo-replication status live")
		}
	case err != nil && statsFault(err):
		r.secondaryFailed(at, err)
	}
}

// statsFault reports whether a failed Stats fetch says the secondary is
// failing: no HTTP answer, or 408, 429 or a 5xx. A 403 (a SAS without the
// permission) or a 400 says nothing about its health.
func statsFault(err error) bool {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		switch re.StatusCode {
		case http.StatusRequestTimeout, http.StatusTooManyRequests:
			return true
		}
		return re.StatusCode >= 500
	}
	return !errors.Is(err, context.Canceled) && !errors.Is(err, ErrNoSecondary)
}

func (r *Router) markSecondaryDown(at time.Time, reason string, cause error) {
	s := &r.sec
	s.mu.Lock()
	if s.down.Load() {
		s.mu.Unlock()
		return
	}
	base := r.cfg.SecondaryRecheck
	switch {
	case base <= 0:
	case s.backoff == 0 || at.Sub(s.upAt) > maxSecondaryRecheck:
		// First time, or up long enough to forget: start the back-off over.
		s.backoff = base
	default:
		// Down again soon after coming back: keep backing off.
		s.backoff = min(2*s.backoff, max(base, maxSecondaryRecheck))
	}
	s.since, s.reason, s.err, s.checks = at, reason, cause, 0
	s.next = at.Add(s.backoff)
	s.down.Store(true)
	s.lastNeed.Store(at.UnixNano())
	s.mu.Unlock()
	r.c.secondaryDowns.Add(1)
	r.logAt(logSecondary, slog.LevelInfo, "geoblob: secondary marked down; reads no longer use it", "reason", reason, "error", errText(cause))
	if r.cfg.OnSecondaryChange != nil {
		r.cfg.OnSecondaryChange(SecondaryChange{Down: true, Reason: reason, Err: cause, At: at})
	}
	r.startSecondaryCheck()
}

func (r *Router) markSecondaryUp(at time.Time, reason string) {
	s := &r.sec
	s.mu.Lock()
	if !s.down.Load() {
		s.mu.Unlock()
		return
	}
	s.down.Store(false)
	s.fails.Store(0)
	since := s.since
	s.since, s.reason, s.err, s.upAt = time.Time{}, "", nil, at
	s.mu.Unlock()
	r.c.secondaryUps.Add(1)
	r.logAt(logSecondary, slog.LevelInfo, "geoblob: secondary back in use", "reason", reason, "down_for", at.Sub(since).String())
	if r.cfg.OnSecondaryChange != nil {
		r.cfg.OnSecondaryChange(SecondaryChange{Down: false, Reason: reason, At: at})
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return redact.Text(err.Error())
}

// CheckSecondary checks the secondary's health now, as the background
// check does: it reads Get Blob Service Stats (fresh, in one try) and
// marks the secondary up when it reports "live", down when it reports
// "unavailable" or the request fails the way a read would. It returns the
// state afterwards, and the fetch's error.
func (r *Router) CheckSecondary(ctx context.Context) (SecondaryState, error) {
	err := r.checkSecondary(ctx, false)
	return r.SecondaryState(), err
}

// checkSecondary makes one check; background checks also set the next
// one's time, doubling the back-off while the secondary stays down.
func (r *Router) checkSecondary(ctx context.Context, background bool) error {
	s := &r.sec
	var err error
	wasDown := s.down.Load()
	if r.stats.src.Load() == nil {
		// Nothing to ask: give the secondary another chance on trial; one
		// more failure marks it down again, with a longer back-off.
		if s.down.Load() {
			r.markSecondaryUp(r.cfg.Now(), "back-off over (no statistics source to ask)")
			s.fails.Store(int32(max(r.cfg.SecondaryFailureThreshold-1, 0)))
		}
		err = ErrNoSecondary
	} else {
		_, err = r.stats.get(ctx, r, 0)
	}
	s.mu.Lock()
	if wasDown && s.down.Load() {
		s.checks++
		if background {
			s.backoff = min(2*s.backoff, max(r.cfg.SecondaryRecheck, maxSecondaryRecheck))
			s.next = r.cfg.Now().Add(s.backoff)
		}
	}
	s.mu.Unlock()
	r.c.secondaryChecks.Add(1)
	return err
}

// startSecondaryCheck starts the background check of a secondary marked
// down, unless it runs already or is off.
func (r *Router) startSecondaryCheck() {
	if r.cfg.SecondaryRecheck <= 0 || r.closed.Load() || !r.sec.down.Load() || !r.sec.looping.CompareAndSwap(false, true) {
		return
	}
	go r.secondaryLoop()
}

// secondaryLoop checks a secondary marked down whenever its back-off has
// passed, doubling the back-off (up to maxSecondaryRecheck) after each
// check that finds it still down. It ends when the secondary is up, the
// Router is closed, or nothing wanted the secondary for proberIdle (the
// next read that does restarts it).
func (r *Router) secondaryLoop() {
	s := &r.sec
	defer func() {
		s.looping.Store(false)
		if s.down.Load() && !r.closed.Load() && r.cfg.Now().UnixNano()-s.lastNeed.Load() <= int64(proberIdle) {
			r.startSecondaryCheck() // marked down again as this loop was ending
		}
	}()
	poll := r.cfg.SecondaryRecheck / 4
	t := time.NewTimer(poll)
	defer t.Stop()
	for {
		select {
		case <-r.life.Done():
			return
		case <-t.C:
		}
		if !s.down.Load() || r.closed.Load() {
			return
		}
		now := r.cfg.Now()
		if now.UnixNano()-s.lastNeed.Load() > int64(proberIdle) {
			return
		}
		s.mu.Lock()
		due := !now.Before(s.next)
		s.mu.Unlock()
		if due {
			ctx, cancel := context.WithTimeout(r.life, maxStatsWait)
			err := r.checkSecondary(ctx, true)
			cancel()
			if err != nil {
				r.log.Debug("geoblob: secondary check failed", "error", errText(err))
			}
		}
		t.Reset(poll)
	}
}
