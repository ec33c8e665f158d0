package failoverbench

import (
	"time"

	"github.com/geoblob/geoblob/fault"
)

// Config sizes a benchmark run. DefaultConfig and QuickConfig are the two
// the command offers; tests shorten the durations further.
type Config struct {
	// Readers is the number of concurrent readers per client.
	Readers int
	// Warmup is how long the readers run before the outage starts.
	Warmup time.Duration
	// Outage is how long each scenario's faults last, except the long
	// double outage.
	Outage time.Duration
	// LongOutage is how long the long double outage lasts.
	LongOutage time.Duration
	// Recovery is how long the readers run after the outage ends.
	Recovery time.Duration
	// AfterWindow is the window after recovery in which the primary's
	// share of wire reads is measured (2 s in the targets).
	AfterWindow time.Duration
	// ReadTimeout bounds every read, so that a client that would hang for
	// ever still ends.
	ReadTimeout time.Duration
	// ThinkTime is each reader's pause between two reads.
	ThinkTime time.Duration
	// SlowLatency is the primary's delay in the slow-primary scenario.
	SlowLatency time.Duration
	// Blip is how long the secondary fails during the blip scenario.
	Blip time.Duration
	// SmallSize is the size of the blobs read whole; LargeSize of those
	// read in BlockSize chunks.
	SmallSize, LargeSize int
	BlockSize            int64
	// Blobs is how many small blobs there are (and LargeBlobs large ones).
	Blobs, LargeBlobs int
	// Scenarios and Clients select what runs; empty means all.
	Scenarios []string
	Clients   []string
	// Parallel runs the clients of a scenario side by side against one
	// fault timeline, instead of one after the other; faster, but they
	// share the CPU, and goroutine growth is then per scenario.
	Parallel bool
	// Seed seeds the fault rules' random draws and the readers' choices.
	Seed uint64
	// Grace, when set, cuts the reads still running this long after the
	// run's end instead of waiting for them (a client in a long retry
	// back-off); they are reported as unfinished, not failed. 0 waits.
	Grace time.Duration
	// RetryDelay, when set, replaces the SDK's retry delay (800 ms, up to
	// 60 s) for every client; tests shorten it. 0 keeps the default.
	RetryDelay time.Duration
}

// DefaultConfig is the full run: a few minutes.
func DefaultConfig() Config {
	return Config{
		Readers:     16,
		Warmup:      time.Second,
		Outage:      4 * time.Second,
		LongOutage:  7 * time.Second,
		Recovery:    3 * time.Second,
		AfterWindow: 2 * time.Second,
		ReadTimeout: 20 * time.Second,
		ThinkTime:   10 * time.Millisecond,
		SlowLatency: 2 * time.Second,
		Blip:        300 * time.Millisecond,
		SmallSize:   64 << 10,
		LargeSize:   4 << 20,
		BlockSize:   1 << 20,
		Blobs:       16,
		LargeBlobs:  4,
		Seed:        1,
	}
}

// QuickConfig is the short run: every scenario, shorter outages, the
// clients side by side, 1 MiB blobs in the chunked scenarios, reads still
// running half a second after a run's end cut.
func QuickConfig() Config {
	c := DefaultConfig()
	c.Warmup = 250 * time.Millisecond
	c.Outage = time.Second
	c.LongOutage = 1500 * time.Millisecond
	c.Recovery = time.Second
	c.AfterWindow = time.Second
	c.ReadTimeout = 10 * time.Second
	c.Grace = 500 * time.Millisecond
	c.Parallel = true
	// Still four chunks a download, a quarter of the bytes: three
	// clients' readers side by side move 4 MiB blobs too slowly on a
	// small machine for a one-second outage.
	c.LargeSize, c.BlockSize = 1<<20, 256<<10
	return c
}

// Scenario names.
const (
	Scenario503            = "503"
	ScenarioRefused        = "refused"
	ScenarioHang           = "hang"
	Scenario503ThenHang    = "503-then-hang"
	ScenarioResetHeaders   = "reset-before-body"
	ScenarioResetMidBody   = "reset-mid-body"
	ScenarioSlow           = "slow-primary"
	ScenarioFlapping       = "flapping"
	ScenarioSecondaryBlip  = "secondary-blip"
	ScenarioDoubleOutage   = "double-outage"
	Scenario503Chunked     = "503-chunked"
	ScenarioMidBodyChunked = "reset-mid-body-chunked"
)

// scenario is one scripted outage.
type scenario struct {
	name    string
	what    string // one line for the table's legend
	chunked bool   // reads are DownloadBuffer of large blobs
	long    bool   // lasts LongOutage
	// secondaryHealthy: 0 failed reads is a target.
	secondaryHealthy bool
	// rules are added when the outage starts; each must end by itself
	// after d (Limits.For).
	rules func(c Config, d time.Duration) []fault.Rule
}

func primaryReads(a fault.Action, d time.Duration) fault.Rule {
	return fault.Rule{Endpoint: fault.Primary, Match: fault.Match{Op: fault.Read}, Action: a, Limits: fault.Limits{For: fault.Duration(d)}}
}

// scenarios lists every scenario in report order.
func scenarios() []scenario {
	// Every body is cut after an eighth of what it would carry, resumed
	// ones included: a primary that breaks every transfer, which
	// resumptions on the primary cannot get through with the retry
	// reader's default 3 retries.
	midBody := func(c Config, d time.Duration, size int64) []fault.Rule {
		n := max(1, size/8)
		return []fault.Rule{primaryReads(fault.Action{ResetAfterBytes: &n}, d)}
	}
	return []scenario{
		{name: Scenario503, what: "primary reads answer 503", secondaryHealthy: true,
			rules: func(_ Config, d time.Duration) []fault.Rule {
				return []fault.Rule{primaryReads(fault.Action{Status: 503}, d)}
			}},
		{name: ScenarioRefused, what: "primary refuses connections", secondaryHealthy: true,
			rules: func(_ Config, d time.Duration) []fault.Rule {
				return []fault.Rule{{Endpoint: fault.Primary, Action: fault.Action{Refuse: true}, Limits: fault.Limits{For: fault.Duration(d)}}}
			}},
		{name: ScenarioHang, what: "primary reads never answered", secondaryHealthy: true,
			rules: func(_ Config, d time.Duration) []fault.Rule {
				return []fault.Rule{primaryReads(fault.Action{Hang: true}, d)}
			}},
		{name: Scenario503ThenHang, what: "503 for half the outage, then hangs", secondaryHealthy: true,
			rules: func(_ Config, d time.Duration) []fault.Rule {
				h := primaryReads(fault.Action{Hang: true}, d-d/2)
				h.Limits.After = fault.Duration(d / 2)
				return []fault.Rule{primaryReads(fault.Action{Status: 503}, d/2), h}
			}},
		{name: ScenarioResetHeaders, what: "primary resets after the headers, before the body", secondaryHealthy: true,
			rules: func(_ Config, d time.Duration) []fault.Rule {
				return []fault.Rule{primaryReads(fault.Action{ResetAfterBytes: new(int64)}, d)}
			}},
		{name: ScenarioResetMidBody, what: "primary resets every body after 1/8 of the blob", secondaryHealthy: true,
			rules: func(c Config, d time.Duration) []fault.Rule { return midBody(c, d, int64(c.SmallSize)) }},
		{name: ScenarioSlow, what: "primary answers after SlowLatency", secondaryHealthy: true,
			rules: func(c Config, d time.Duration) []fault.Rule {
				return []fault.Rule{primaryReads(fault.Action{Latency: fault.Duration(c.SlowLatency)}, d)}
			}},
		{name: ScenarioFlapping, what: "half the primary reads answer 503", secondaryHealthy: true,
			rules: func(_ Config, d time.Duration) []fault.Rule {
				r := primaryReads(fault.Action{Status: 503}, d)
				r.Limits.Probability = new(0.5)
				return []fault.Rule{r}
			}},
		{name: ScenarioSecondaryBlip, what: "primary 503; the secondary also 503 for Blip mid-outage",
			rules: func(c Config, d time.Duration) []fault.Rule {
				blip := fault.Rule{Endpoint: fault.Secondary, Match: fault.Match{Op: fault.Read}, Action: fault.Action{Status: 503},
					Limits: fault.Limits{After: fault.Duration(d / 2), For: fault.Duration(c.Blip)}}
				return []fault.Rule{primaryReads(fault.Action{Status: 503}, d), blip}
			}},
		{name: ScenarioDoubleOutage, what: "both locations answer 503 for LongOutage", long: true,
			rules: func(_ Config, d time.Duration) []fault.Rule {
				r := primaryReads(fault.Action{Status: 503}, d)
				r.Endpoint = fault.Both
				return []fault.Rule{r}
			}},
		{name: Scenario503Chunked, what: "503, chunked downloads of the large blobs", chunked: true, secondaryHealthy: true,
			rules: func(_ Config, d time.Duration) []fault.Rule {
				return []fault.Rule{primaryReads(fault.Action{Status: 503}, d)}
			}},
		{name: ScenarioMidBodyChunked, what: "primary resets every body after 1/8 of a block, chunked downloads", chunked: true, secondaryHealthy: true,
			rules: func(c Config, d time.Duration) []fault.Rule { return midBody(c, d, c.BlockSize) }},
	}
}

// AllScenarios lists the scenario names in report order.
func AllScenarios() []string {
	var out []string
	for _, s := range scenarios() {
		out = append(out, s.name)
	}
	return out
}
