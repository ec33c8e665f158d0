package geoblob

import (
	"context"
	"sync"
	"time"

	"github.com/geoblob/geoblob/internal/breaker"
)

// Location is one of the two endpoints of a geo-redundant account.
type Location uint8

// Locations.
const (
	Primary Location = iota
	Secondary
)

// String returns "primary" or "secondary".
func (l Location) String() string {
	if l == Secondary {
		return "secondary"
	}
	return "primary"
}

func (l Location) other() Location { return 1 - l }

// Mode is the routing mode set with Router.Force.
type Mode int32

// Modes.
const (
	// Auto lets the breaker decide where reads go.
	Auto Mode = iota
	// PrimaryOnly sends every read to the primary, never falling back.
	PrimaryOnly
	// SecondaryOnly sends every read to the secondary (except reads that
	// must go to the primary because the secondary lacks the blob).
	SecondaryOnly
)

// String returns the mode's name: auto, primary-only or secondary-only.
func (m Mode) String() string { return breaker.Mode(m).String() }

// State is the breaker's state.
type State int32

// States.
const (
	// Closed: reads go to the primary.
	Closed State = iota
	// Open: the primary is held as down; reads go to the secondary and
	// writes fail fast with ErrPrimaryUnavailable.
	Open
	// HalfOpen: the breaker is open and one probe read is testing the
	// primary; all other reads still use the secondary.
	HalfOpen
)

// String returns "closed", "open" or "half-open".
func (s State) String() string {
	switch s {
	case Open:
		return "open"
	case HalfOpen:
		return "half-open"
	default:
		return "closed"
	}
}

// RetryEvent reports a retryable failure of a primary read, like the seed's
// retry_callback. Count is the number of consecutive primary failures.
type RetryEvent struct {
	Count      int
	StatusCode int   // 0 for transport errors
	Err        error // transport error, redacted; nil for HTTP statuses
	Probe      bool  // the read was a half-open probe
}

// ResponseEvent reports where a read was served, like the seed's
// response_callback.
type ResponseEvent struct {
	Method     string
	URL        string // redacted
	Location   Location
	StatusCode int
	Err        error // redacted; set when no response was obtained
	// Fallback is true when the read was served by the location other than
	// the one the breaker chose first (after a failure or a 404/412 from
	// the secondary).
	Fallback bool
	Pinned   bool // served by the secondary because the primary lacks the version the download started on
	Probe    bool // a half-open probe of the primary
	Hedged   bool // a hedged request was sent for this read
	Duration time.Duration
	// LastSyncTime is the secondary's last known sync time, set when the
	// read was served by the secondary and statistics are available.
	LastSyncTime time.Time
}

// ProbeEvent reports the verdict of a probe of the primary: a read the
// breaker let through while open (half-open), or a background probe.
type ProbeEvent struct {
	OK         bool
	Background bool // a background probe (Get Account Information), not a read
	StatusCode int  // 0 when no response arrived
	Err        error
	Duration   time.Duration // to the response headers
	// Reason says why a probe failed: "status", "error", "attempt
	// timeout" or "slow".
	Reason string
}

// StateChange reports a breaker transition.
type StateChange struct {
	From, To State
	Mode     Mode
	Reason   string
	At       time.Time
}

// SecondaryChange reports that the Router stopped routing reads to the
// secondary (Down) or resumed (see SecondaryState).
type SecondaryChange struct {
	Down   bool
	Reason string
	// Err is the failure that marked the secondary down, redacted; nil when
	// Stats reported it unavailable, and when it came back.
	Err error
	At  time.Time
}

// ReadStatus is how one read was served. The zero value, with Served
// false, stands for "no read was served" (Location is then meaningless).
type ReadStatus struct {
	// Served is true when a location answered the read (with any
	// status); false when nothing did.
	Served       bool
	Location     Location
	Fallback     bool
	Hedged       bool
	StatusCode   int
	LastSyncTime time.Time
}

// ReadInfo collects the status of the reads made with a context returned
// by WithReadInfo. It is safe for concurrent use (parallel downloads).
type ReadInfo struct {
	mu    sync.Mutex
	last  ReadStatus
	reads [2]int
}

// Last returns the status of the most recent read that a location
// served; its Served field is false when none was.
func (i *ReadInfo) Last() ReadStatus {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.last
}

// Reads returns how many reads each location served.
func (i *ReadInfo) Reads() (primary, secondary int) {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.reads[Primary], i.reads[Secondary]
}

func (i *ReadInfo) record(s ReadStatus) {
	i.mu.Lock()
	s.Served = true
	i.last = s
	i.reads[s.Location]++
	i.mu.Unlock()
}

type readInfoKey struct{}

// WithReadInfo returns a context that makes geoblob record into info how
// every read made with it was served.
//
//	var info geoblob.ReadInfo
//	resp, err := client.DownloadStream(geoblob.WithReadInfo(ctx, &info), "c", "b", nil)
//	fmt.Println(info.Last().Location)
func WithReadInfo(ctx context.Context, info *ReadInfo) context.Context {
	return context.WithValue(ctx, readInfoKey{}, info)
}

// Counters is a snapshot of the router's counters.
type Counters struct {
	PrimaryReads   uint64 // reads served by the primary
	SecondaryReads uint64 // reads served by the secondary
	Writes         uint64 // writes sent to the primary
	Failovers      uint64 // closed -> open transitions
	Failbacks      uint64 // open -> closed transitions
	Probes         uint64 // half-open probes sent to the primary
	Fallbacks      uint64 // reads served by their second-choice location
	NotReplicated  uint64 // 404/412 from the secondary retried on the primary
	Hedges         uint64 // hedged requests sent
	HedgeWins      uint64 // hedged requests that won
	Errors         uint64 // reads and writes that ended in an error from geoblob or both locations
	RejectedWrites uint64 // writes refused with ErrPrimaryUnavailable
	TooStale       uint64 // reads refused with ErrTooStale

	AttemptTimeouts  uint64 // attempts cancelled by the attempt bound (either location)
	BodyFailures     uint64 // response bodies that broke while being read (either location)
	PinnedReads      uint64 // reads served by the secondary because the primary lacks the version they read
	Steered          uint64 // reads (resumptions) sent to the other location after a broken body
	ProbesOK         uint64 // probes that succeeded
	ProbesFailed     uint64 // probes that failed
	BackgroundProbes uint64 // background probes sent (also counted in Probes)
	BothRetriable    uint64 // ErrBothUnavailable errors left to the SDK's retry

	SecondaryDowns   uint64 // times the secondary was marked down
	SecondaryUps     uint64 // times it came back into use
	SecondaryChecks  uint64 // health checks of the secondary (background and CheckSecondary)
	SecondarySkipped uint64 // reads, fallbacks and pinned reads not sent to the secondary because it was down
}
