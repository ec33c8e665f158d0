package geoblob

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Config tunes the breaker, the attempt bound, fail-back, staleness and
// hedging.
//
// One rule covers every field: the zero value means DefaultConfig's value,
// and where a feature that is on by default can be turned off, a negative
// value turns it off. So &Config{} is valid and behaves exactly like
// DefaultConfig(), and a nil *Config passed to a constructor means
// DefaultConfig() too. Fields whose default is "off" (FailureRatio,
// SlowCallThreshold, FailbackAfter, MaxStaleness, Hedge.Enabled) are
// turned on by a positive value.
type Config struct {
	// SecondaryURL is the secondary's service URL. When empty it is
	// derived from the primary: https://ACCOUNT-secondary.blob.SUFFIX for
	// real hosts, http://HOST:PORT/ACCOUNT-secondary for path-style
	// (IP address or localhost) URLs.
	SecondaryURL string

	// FailureThreshold is the number of consecutive failed primary reads
	// that trips the breaker. Default 5; negative disables the rule.
	FailureThreshold int

	// FailureRatio trips the breaker when, within Window, at least
	// MinThroughput primary reads were made and this fraction of them
	// failed. Default 0: the rule is off.
	FailureRatio float64
	// Window is the rolling window of the ratio rule, and the flap window:
	// a breaker that trips again within Window of closing needs twice as
	// many successful probes to close the next time (see ProbeSuccesses).
	// Default 30s.
	Window time.Duration
	// MinThroughput is the fewest reads in Window for the ratio rule to
	// apply. Default 20.
	MinThroughput int

	// SlowCallThreshold counts a primary read whose response headers took
	// longer than this as a failure for the trip rules (the response itself
	// is still returned), and makes a probe that slow fail. Default 0: off.
	SlowCallThreshold time.Duration

	// AttemptTimeout bounds the time from sending one routed read attempt
	// (primary or secondary) to its response headers. An attempt that
	// exceeds it is cancelled, counts as a failure of its location and
	// falls back to the other location within the same try. The bound does
	// not apply to reading the body, which failures count against in their
	// own way.
	//
	// Default 0: adaptive, four times the p99 of recent successful primary
	// reads' time to headers, at least 500ms and at most 1s (500ms until
	// 64 reads have been seen). Negative: no bound (only the SDK's
	// TryTimeout and the caller's context end an attempt).
	AttemptTimeout time.Duration

	// FailbackReads lets the primary be probed again after this many
	// successful secondary reads (the seed's secondary threshold).
	// Default 20; negative disables count-based fail-back.
	FailbackReads int
	// FailbackAfter lets the primary be probed again this long after the
	// breaker opened or the last probe failed. Default 0: off. With both
	// set, whichever comes first wins.
	FailbackAfter time.Duration
	// ProbeInterval is the background probe: while the breaker is open,
	// no read has been served for ProbeInterval and no probe has ended for
	// as long, the Router probes the primary
	// with Get Account Information (GET /?restype=account&comp=properties,
	// answered from the account's metadata and authorised like any
	// request), so that fail-back happens even with no read traffic. Any
	// answer other than 408, 429, 500, 502, 503 or 504 within the attempt
	// bound (a 403 for a SAS that lacks the permission included) counts as
	// a success. It needs the service client the constructors set
	// (SetStatsClient when wiring by hand). Default 1s; negative disables.
	ProbeInterval time.Duration
	// ProbeSuccesses is how many consecutive successful probes close the
	// breaker. Only one probe is in flight at a time; other reads keep
	// using the secondary meanwhile, and after a success the next read
	// probes again. Default 1. Flap damping doubles it each time the
	// breaker trips again within Window of closing, up to
	// MaxProbeSuccesses, and forgets after a calm Window.
	ProbeSuccesses int
	// MaxProbeSuccesses caps flap damping. Default 16.
	MaxProbeSuccesses int
	// ProbeBackoff multiplies the fail-back reads and interval after each
	// failed probe, while the primary stays down. Default 2; 1 disables.
	ProbeBackoff float64
	// MaxProbeBackoff caps the total multiplier. Default 2. A probe that
	// timed out (it waited the whole attempt bound) starts the back-off
	// over.
	MaxProbeBackoff float64

	// Mode is the initial routing mode. Default Auto.
	Mode Mode

	// DisableFallback stops a read that failed on its first location from
	// being retried at once on the other one. Failures still count.
	DisableFallback bool
	// AllowWritesWhileDown turns off ErrPrimaryUnavailable: writes are sent
	// to the primary even while the breaker holds it as down.
	AllowWritesWhileDown bool

	// MaxStaleness makes reads that would be served by the secondary fail
	// with ErrTooStale while its LastSyncTime is older than this.
	// Default 0: any staleness is accepted.
	MaxStaleness time.Duration
	// StatsRefresh is the longest the cached LastSyncTime is used before
	// Get Blob Service Stats is asked again, while reads use the
	// secondary. Default 15s. However many goroutines read, at most one
	// fetch is in flight; a failed fetch with no earlier statistics to
	// fall back on is retried after StatsRefresh/10, and with MaxStaleness
	// a secondary found too stale is re-checked at most that often.
	StatsRefresh time.Duration

	// SecondaryFailureThreshold is the number of consecutive failed
	// secondary attempts (a retryable status, a refused or broken
	// connection, a timeout, a broken body) that mark the secondary down,
	// as after an unplanned account failover: reads stop using it while
	// the primary serves them (see SecondaryState). Get Blob Service Stats
	// reporting "unavailable" marks it down too. Default 3; negative:
	// failures never mark it down.
	SecondaryFailureThreshold int
	// SecondaryRecheck is how long after the secondary was marked down the
	// background check first reads Get Blob Service Stats; the wait doubles
	// after every check that finds it still down, up to 5 minutes, and the
	// secondary is back in use once Stats reports "live" (or a read it
	// served succeeded). The check runs only while the secondary is down,
	// and pauses after 10 minutes in which no read wanted the secondary
	// (the next one that does resumes it). Default 5s; negative: no
	// background check (CheckSecondary, Staleness and RecoveryPoint still
	// bring it back).
	SecondaryRecheck time.Duration

	// Hedge configures hedged reads; off unless Hedge.Enabled.
	Hedge HedgeConfig

	// OnRetry is called after each retryable failure of a primary read
	// (probes included). Callbacks run on the reading goroutine, outside
	// every lock: they may call the Router and read through the client,
	// but a slow callback slows that read.
	OnRetry func(RetryEvent)
	// OnResponse is called once per routed read attempt that produced an
	// outcome, with the location that served it.
	OnResponse func(ResponseEvent)
	// OnStateChange is called once after every breaker transition
	// (closed -> open, open -> closed) and every Force that changes the
	// mode. A probe going out (half-open) is not a transition; State
	// reports it.
	OnStateChange func(StateChange)
	// OnProbe is called with the verdict of every probe of the primary,
	// failed ones included.
	OnProbe func(ProbeEvent)
	// OnSecondaryChange is called when the secondary is marked down and
	// when it is back in use.
	OnSecondaryChange func(SecondaryChange)

	// Logger receives state changes (Info), failed probes (Info), the
	// secondary marked down or back in use (Info), and reads that failed
	// on both locations (Warn), each kind at most once a second with a
	// count of the ones left out, and per-read decisions (Debug). nil
	// means slog.Default().
	Logger *slog.Logger

	// Now is the time source; time.Now when nil. Tests use it to drive
	// time-based fail-back.
	Now func() time.Time
}

// HedgeConfig configures hedged reads: when the primary has not answered a
// read within Delay (or the observed p95 when Delay is 0), the same read is
// sent to the secondary; the first good answer wins and the other is
// cancelled. A read the secondary won counts as a slow primary read for
// the trip rules.
type HedgeConfig struct {
	// Enabled turns hedging on. Only reads are hedged, only while the
	// breaker is closed in Auto mode, and never a half-open probe.
	Enabled bool
	// Delay is the fixed hedge delay; 0 uses the observed p95 latency of
	// primary reads (falling back to MinDelay until enough samples exist).
	Delay time.Duration
	// MinDelay is the lower bound of the p95-based delay. Default 5ms.
	MinDelay time.Duration
	// Budget caps hedged requests as a fraction of reads. Default 0.05.
	Budget float64
	// Burst is the most hedges allowed back to back. Default 10.
	Burst int
}

// Attempt bound defaults (Config.AttemptTimeout 0).
const (
	minAttemptTimeout = 500 * time.Millisecond
	maxAttemptTimeout = time.Second
	attemptTimeoutP99 = 4 // multiplier of the observed p99
)

// DefaultConfig returns the seed tutorial's behaviour with hang protection:
// 5 consecutive failed primary reads move reads to the secondary; after 20
// successful secondary reads (or a second without a probe) the primary is
// probed again; every attempt waits at most the adaptive attempt bound
// for its response headers.
func DefaultConfig() *Config {
	return &Config{
		FailureThreshold:  5,
		Window:            30 * time.Second,
		MinThroughput:     20,
		FailbackReads:     20,
		ProbeInterval:     time.Second,
		ProbeSuccesses:    1,
		MaxProbeSuccesses: 16,
		ProbeBackoff:      2,
		MaxProbeBackoff:   2,
		StatsRefresh:      15 * time.Second,

		SecondaryFailureThreshold: 3,
		SecondaryRecheck:          5 * time.Second,
		Hedge: HedgeConfig{
			MinDelay: 5 * time.Millisecond,
			Budget:   0.05,
			Burst:    10,
		},
	}
}

// Errors Validate wraps, besides ErrInvalidConfig, for configurations that
// are well-formed but useless.
var (
	// ErrNeverTrips: every trip rule is off, so reads never leave a
	// failing primary.
	ErrNeverTrips = errors.New("geoblob: the breaker can never trip")
	// ErrNeverFailsBack: every fail-back trigger is off, so reads never
	// return to the primary once the breaker opened.
	ErrNeverFailsBack = errors.New("geoblob: the breaker can never fail back")
)

// Validate reports the first unusable setting. Every error wraps
// ErrInvalidConfig; a config that can never trip also wraps ErrNeverTrips,
// and one that can never fail back ErrNeverFailsBack.
func (c *Config) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, a...)...)
	}
	switch {
	case c.FailureRatio < 0 || c.FailureRatio > 1:
		return bad("FailureRatio %v outside [0,1]", c.FailureRatio)
	case c.Window < 0:
		return bad("Window %v < 0", c.Window)
	case c.MinThroughput < 0:
		return bad("MinThroughput %d < 0", c.MinThroughput)
	case c.SlowCallThreshold < 0:
		return bad("SlowCallThreshold %v < 0", c.SlowCallThreshold)
	case c.FailbackAfter < 0:
		return bad("FailbackAfter %v < 0", c.FailbackAfter)
	case c.ProbeSuccesses < 0 || c.MaxProbeSuccesses < 0:
		return bad("ProbeSuccesses and MaxProbeSuccesses must not be negative")
	case c.MaxProbeSuccesses > 0 && c.MaxProbeSuccesses < c.ProbeSuccesses:
		return bad("MaxProbeSuccesses %d < ProbeSuccesses %d", c.MaxProbeSuccesses, c.ProbeSuccesses)
	case c.ProbeBackoff != 0 && c.ProbeBackoff < 1:
		return bad("ProbeBackoff %v < 1", c.ProbeBackoff)
	case c.MaxProbeBackoff != 0 && c.MaxProbeBackoff < 1:
		return bad("MaxProbeBackoff %v < 1", c.MaxProbeBackoff)
	case c.Mode < Auto || c.Mode > SecondaryOnly:
		return bad("unknown Mode %d", c.Mode)
	case c.MaxStaleness < 0 || c.StatsRefresh < 0:
		return bad("MaxStaleness and StatsRefresh must not be negative")
	case c.Hedge.Delay < 0 || c.Hedge.MinDelay < 0:
		return bad("hedge delays must not be negative")
	case c.Hedge.Budget < 0 || c.Hedge.Budget > 1:
		return bad("Hedge.Budget %v outside [0,1]", c.Hedge.Budget)
	case c.Hedge.Burst < 0:
		return bad("Hedge.Burst < 0")
	case c.FailureThreshold < 0 && c.FailureRatio == 0:
		// Slow calls and hedge wins feed these rules; they cannot trip
		// the breaker on their own.
		return fmt.Errorf("%w: %w: FailureThreshold is disabled and FailureRatio is not set", ErrInvalidConfig, ErrNeverTrips)
	case c.FailbackReads < 0 && c.FailbackAfter == 0 && c.ProbeInterval < 0:
		return fmt.Errorf("%w: %w: FailbackReads and ProbeInterval are disabled and FailbackAfter is not set", ErrInvalidConfig, ErrNeverFailsBack)
	}
	return nil
}

// resolved returns a copy with every zero value replaced by its default;
// disabled features stay negative (or zero where zero is the default).
func (c Config) resolved() Config {
	d := DefaultConfig()
	set := func(v *int, def int) {
		if *v == 0 {
			*v = def
		}
	}
	setD := func(v *time.Duration, def time.Duration) {
		if *v == 0 {
			*v = def
		}
	}
	setF := func(v *float64, def float64) {
		if *v == 0 {
			*v = def
		}
	}
	set(&c.FailureThreshold, d.FailureThreshold)
	setD(&c.Window, d.Window)
	set(&c.MinThroughput, d.MinThroughput)
	set(&c.FailbackReads, d.FailbackReads)
	setD(&c.ProbeInterval, d.ProbeInterval)
	set(&c.ProbeSuccesses, d.ProbeSuccesses)
	set(&c.MaxProbeSuccesses, max(d.MaxProbeSuccesses, c.ProbeSuccesses))
	setF(&c.ProbeBackoff, d.ProbeBackoff)
	setF(&c.MaxProbeBackoff, max(d.MaxProbeBackoff, c.ProbeBackoff))
	setD(&c.StatsRefresh, d.StatsRefresh)
	set(&c.SecondaryFailureThreshold, d.SecondaryFailureThreshold)
	setD(&c.SecondaryRecheck, d.SecondaryRecheck)
	setD(&c.Hedge.MinDelay, d.Hedge.MinDelay)
	setF(&c.Hedge.Budget, d.Hedge.Budget)
	set(&c.Hedge.Burst, d.Hedge.Burst)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}
