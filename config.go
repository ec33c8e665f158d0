package geoblob

import (
	"fmt"
	"log/slog"
	"time"
)

// Config tunes the breaker, fail-back, staleness and hedging. Start from
// DefaultConfig, which matches the seed tutorial's circuit breaker, and
// change what you need; Validate reports unusable values. A nil *Config
// passed to a constructor means DefaultConfig().
type Config struct {
	// SecondaryURL is the secondary's service URL. When empty it is
	// derived from the primary: https://ACCOUNT-secondary.blob.SUFFIX for
	// real hosts, http://HOST:PORT/ACCOUNT-secondary for path-style
	// (IP address or localhost) URLs.
	SecondaryURL string

	// FailureThreshold is the number of consecutive retryable primary read
	// failures that trips the breaker. 0 disables the rule. Default 5.
	FailureThreshold int

	// FailureRatio trips the breaker when, within Window, at least
	// MinThroughput primary reads were made and this fraction of them
	// failed. 0 (the default) disables the rule.
	FailureRatio float64
	// Window is the rolling window of the ratio rule. Default 30s.
	Window time.Duration
	// MinThroughput is the fewest reads in Window for the ratio rule to
	// apply. Default 20.
	MinThroughput int

	// SlowCallThreshold counts a primary read slower than this as a failure
	// for the trip rules (the response itself is still returned).
	// 0 (the default) disables it.
	SlowCallThreshold time.Duration

	// FailbackReads lets the primary be probed again after this many
	// successful secondary reads (the seed's secondary threshold).
	// Default 20. 0 disables count-based fail-back.
	FailbackReads int
	// FailbackAfter lets the primary be probed again this long after the
	// breaker opened or the last probe failed. 0 (the default) disables
	// time-based fail-back. With both set, whichever comes first wins.
	FailbackAfter time.Duration
	// ProbeSuccesses is how many consecutive successful probes close the
	// breaker. Only one probe is in flight at a time; other reads keep
	// using the secondary meanwhile. Default 1.
	ProbeSuccesses int
	// ProbeBackoff multiplies the fail-back reads and interval after each
	// failed probe, while the primary stays down. Default 2; 1 disables.
	ProbeBackoff float64
	// MaxProbeBackoff caps the total multiplier. Default 4; 0 means
	// ProbeBackoff (a single step).
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
	// 0 (the default) accepts any staleness.
	MaxStaleness time.Duration
	// StatsRefresh is the longest the cached LastSyncTime is used before
	// Get Blob Service Stats is asked again, while reads use the
	// secondary. Default 15s. However many goroutines read, at most one
	// fetch is in flight; a failed fetch with no earlier statistics to
	// fall back on is retried after StatsRefresh/10, and with MaxStaleness
	// a secondary found too stale is re-checked at most that often.
	StatsRefresh time.Duration

	// Hedge configures hedged reads; off unless Hedge.Enabled.
	Hedge HedgeConfig

	// OnRetry is called after each retryable failure of a primary read.
	// Callbacks run on the reading goroutine, outside every lock: they may
	// call the Router and read through the client, but a slow callback
	// slows that read.
	OnRetry func(RetryEvent)
	// OnResponse is called once per routed read attempt that produced an
	// outcome, with the location that served it.
	OnResponse func(ResponseEvent)
	// OnStateChange is called once after every breaker transition
	// (closed -> open, open -> closed) and every Force that changes the
	// mode. A probe going out (half-open) is not a transition; State
	// reports it.
	OnStateChange func(StateChange)

	// Logger receives state changes (Info) and per-read decisions (Debug).
	// nil means slog.Default().
	Logger *slog.Logger

	// Now is the time source; time.Now when nil. Tests use it to drive
	// time-based fail-back.
	Now func() time.Time
}

// HedgeConfig configures hedged reads: when the primary has not answered a
// read within Delay (or the observed p95 when Delay is 0), the same read is
// sent to the secondary; the first good answer wins and the other is
// cancelled.
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

// DefaultConfig returns the seed tutorial's behaviour: 5 consecutive
// retryable primary failures move reads to the secondary; after 20
// successful secondary reads the primary is probed again.
func DefaultConfig() *Config {
	return &Config{
		FailureThreshold: 5,
		Window:           30 * time.Second,
		MinThroughput:    20,
		FailbackReads:    20,
		ProbeSuccesses:   1,
		ProbeBackoff:     2,
		MaxProbeBackoff:  4,
		StatsRefresh:     15 * time.Second,
		Hedge: HedgeConfig{
			MinDelay: 5 * time.Millisecond,
			Budget:   0.05,
			Burst:    10,
		},
	}
}

// Validate reports the first unusable setting, wrapping ErrInvalidConfig.
func (c *Config) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, a...)...)
	}
	switch {
	case c.FailureThreshold < 0:
		return bad("FailureThreshold %d < 0", c.FailureThreshold)
	case c.FailureRatio < 0 || c.FailureRatio > 1:
		return bad("FailureRatio %v outside [0,1]", c.FailureRatio)
	case c.FailureRatio > 0 && c.Window <= 0:
		return bad("FailureRatio needs a positive Window")
	case c.MinThroughput < 0:
		return bad("MinThroughput %d < 0", c.MinThroughput)
	case c.SlowCallThreshold < 0:
		return bad("SlowCallThreshold < 0")
	case c.FailbackReads < 0 || c.FailbackAfter < 0:
		return bad("FailbackReads and FailbackAfter must not be negative")
	case c.FailbackReads == 0 && c.FailbackAfter == 0:
		return bad("one of FailbackReads or FailbackAfter must be set, or reads never return to the primary")
	case c.ProbeSuccesses < 1:
		return bad("ProbeSuccesses %d < 1", c.ProbeSuccesses)
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
	}
	return nil
}

// withDefaults returns a copy with zero-valued optional knobs filled in.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Window <= 0 {
		c.Window = d.Window
	}
	if c.ProbeBackoff == 0 {
		c.ProbeBackoff = 1
	}
	if c.MaxProbeBackoff == 0 {
		c.MaxProbeBackoff = c.ProbeBackoff
	}
	if c.StatsRefresh == 0 {
		c.StatsRefresh = d.StatsRefresh
	}
	if c.Hedge.MinDelay == 0 {
		c.Hedge.MinDelay = d.Hedge.MinDelay
	}
	if c.Hedge.Budget == 0 {
		c.Hedge.Budget = d.Hedge.Budget
	}
	if c.Hedge.Burst == 0 {
		c.Hedge.Burst = d.Hedge.Burst
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}
