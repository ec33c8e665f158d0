// Package dashboard serves the emulator's live dashboard at /_geoblob/ui/:
// an embedded page (vanilla JavaScript, no external resources) fed by
// Server-Sent Events.
//
// A Hub gathers what the page shows: every Blob API request the emulator
// answers (Record, from the metrics middleware), the reads of a geoblob
// client and its breaker's transitions (ClientRead and Breaker, or Observe
// on a geoblob.Config), the replication state and the fault rules. Every
// Interval it closes a bucket and sends it to the subscribed pages as one
// "tick" event; a page that connects first gets a "snapshot" of the
// history kept.
//
// Everything is bounded: the history (Options.History ticks, MaxReads
// client reads, MaxTransitions transitions), the subscribers
// (MaxSubscribers; more are refused with 503) and each subscriber's queue
// (Buffer events; a subscriber that falls behind is dropped and its stream
// ends, and the browser reconnects). Close ends every stream and the
// ticker goroutine.
//
// The page's buttons call the control API (/_geoblob/faults,
// /_geoblob/replication) exactly as geoblob fault and geoblob replication
// do; the Hub itself changes nothing.
package dashboard

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/geoblob/geoblob/fault"
	"github.com/geoblob/geoblob/internal/control"
	"github.com/geoblob/geoblob/internal/metrics"
)

// Sources are what the hub reads at every tick. Each may be nil.
type Sources struct {
	Faults      *fault.Set
	Replication func() control.ReplicationStatus
	// FaultFirings returns the firings so far by endpoint, removed rules
	// included (metrics.Metrics.FaultFirings).
	FaultFirings func() map[fault.Endpoint]int64
	// Now is the emulator's clock, for the replication lag.
	Now func() time.Time
}

// Options bound the hub. Zero values take the defaults in brackets.
type Options struct {
	Interval       time.Duration // between ticks [500ms]; negative: no ticker, call Tick
	History        int           // ticks kept for the snapshot [240]
	MaxReads       int           // client reads kept for the snapshot [10000]
	MaxTransitions int           // breaker transitions kept [100]
	MaxSubscribers int           // concurrent event streams [8]
	Buffer         int           // events queued per subscriber [32]
	Logger         *slog.Logger  // nil discards
}

func (o *Options) defaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	if o.Interval == 0 {
		o.Interval = 500 * time.Millisecond
	}
	def(&o.History, 240)
	def(&o.MaxReads, 10000)
	def(&o.MaxTransitions, 100)
	def(&o.MaxSubscribers, 8)
	def(&o.Buffer, 32)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// maxRules bounds the fault rules listed in a tick.
const maxRules = 50

// maxSamples bounds the latencies kept per endpoint and tick for the p95.
const maxSamples = 2048

// EndpointTick is one endpoint's requests during a tick.
type EndpointTick struct {
	Requests int     `json:"requests"`
	S2xx     int     `json:"s2xx"`
	S3xx     int     `json:"s3xx"`
	S4xx     int     `json:"s4xx"`
	S5xx     int     `json:"s5xx"`
	Reset    int     `json:"reset"` // resets and aborts: no HTTP answer
	AvgMs    float64 `json:"avgMs"`
	P95Ms    float64 `json:"p95Ms"`
	MaxMs    float64 `json:"maxMs"`
	BytesIn  int64   `json:"bytesIn"`
	BytesOut int64   `json:"bytesOut"`

	sum     time.Duration
	samples []time.Duration
}

// Errors counts the requests answered 5xx or not at all.
func (e *EndpointTick) Errors() int { return e.S5xx + e.Reset }

func (e *EndpointTick) add(r metrics.Request) {
	e.Requests++
	switch {
	case r.Code == 0:
		e.Reset++
	case r.Code < 300:
		e.S2xx++
	case r.Code < 400:
		e.S3xx++
	case r.Code < 500:
		e.S4xx++
	default:
		e.S5xx++
	}
	e.sum += r.Duration
	if len(e.samples) < maxSamples {
		e.samples = append(e.samples, r.Duration)
	}
	e.BytesIn += r.BytesIn
	e.BytesOut += r.BytesOut
}

func (e *EndpointTick) finish() {
	if e.Requests == 0 {
		return
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	e.AvgMs = ms(e.sum / time.Duration(e.Requests))
	slices.Sort(e.samples)
	e.P95Ms = ms(e.samples[(len(e.samples)*95+99)/100-1])
	e.MaxMs = ms(e.samples[len(e.samples)-1])
	e.samples = nil
}

// ReadCounts counts a client's reads in a tick by where they were served.
type ReadCounts struct {
	Primary   int `json:"primary"`
	Secondary int `json:"secondary"`
	Failed    int `json:"failed"`
}

// Tick is what one interval brought. It is the payload of a "tick" event.
type Tick struct {
	At          int64                    `json:"at"`        // end of the interval, Unix milliseconds
	Seconds     float64                  `json:"seconds"`   // its length
	Endpoints   map[string]*EndpointTick `json:"endpoints"` // "primary", "secondary"
	Reads       ReadCounts               `json:"reads"`
	Stream      string                   `json:"stream"` // the client's reads in order: P, S or F each
	Transitions []Transition             `json:"transitions,omitempty"`
	Status      Status                   `json:"status"`
}

// Transition is a breaker transition of the observed client.
type Transition struct {
	From   string `json:"from"`
	To     string `json:"to"`
	Reason string `json:"reason"`
	At     int64  `json:"at"`   // Unix milliseconds
	Read   int    `json:"read"` // client reads before it
}

// Rule is a fault rule as the page lists it.
type Rule struct {
	ID       string `json:"id"`
	Endpoint string `json:"endpoint"`
	Text     string `json:"text"`
	Kind     string `json:"kind"`
	Outage   bool   `json:"outage"` // matches every request of its endpoint
	State    string `json:"state"`
	Fired    int64  `json:"fired"`
}

// Replication is the replication state as the page shows it.
type Replication struct {
	Status       string  `json:"status"`
	Paused       bool    `json:"paused"`
	LastSyncTime string  `json:"lastSyncTime"`
	BehindSec    float64 `json:"behindSeconds"`
	Pending      int     `json:"pending"`
	Lag          string  `json:"lag"`
	// Roles sums up which copy is primary and the account's redundancy.
	Roles string `json:"roles,omitempty"`
}

// Status is the current state of everything a tick reports.
type Status struct {
	Breaker     string           `json:"breaker,omitempty"` // the observed client's breaker, "" without one
	Client      bool             `json:"client"`            // a client is being observed
	ClientReads ReadCounts       `json:"clientReads"`       // since the start
	Replication *Replication     `json:"replication,omitempty"`
	Faults      []Rule           `json:"faults"`               // the first maxRules
	MoreFaults  int              `json:"moreFaults,omitempty"` // rules not listed
	Firings     map[string]int64 `json:"firings,omitempty"`
}

// Snapshot is the payload of the "snapshot" event a new page gets.
type Snapshot struct {
	Ticks       []Tick       `json:"ticks"`
	Stream      string       `json:"stream"`      // the last MaxReads client reads
	StreamFirst int          `json:"streamFirst"` // index of its first read
	Transitions []Transition `json:"transitions"`
	Status      Status       `json:"status"`
	IntervalMs  int64        `json:"intervalMs"`
}

// Hub gathers the dashboard's figures and streams them to subscribers.
type Hub struct {
	src  Sources
	opts Options
	log  *slog.Logger

	mu          sync.Mutex
	cur         map[string]*EndpointTick
	curReads    ReadCounts
	curStream   []byte
	curTrans    []Transition
	last        time.Time
	ticks       []Tick // ring of the last History ticks, oldest first
	stream      []byte // last MaxReads reads
	streamFirst int
	reads       int
	totals      ReadCounts
	transitions []Transition
	breaker     func() string
	client      bool
	subs        map[*subscriber]struct{}
	closed      bool

	done     chan struct{}
	wg       sync.WaitGroup
	closeOne sync.Once
}

// New returns a hub; Start begins its ticks.
func New(src Sources, opts Options) *Hub {
	opts.defaults()
	if src.Now == nil {
		src.Now = time.Now
	}
	return &Hub{
		src: src, opts: opts, log: opts.Logger,
		cur:  newBucket(),
		last: time.Now(),
		subs: map[*subscriber]struct{}{},
		done: make(chan struct{}),
	}
}

func newBucket() map[string]*EndpointTick {
	return map[string]*EndpointTick{"primary": {}, "secondary": {}}
}

// Start runs the ticker until Close, unless Options.Interval is negative.
func (h *Hub) Start() {
	if h.opts.Interval < 0 {
		return
	}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		t := time.NewTicker(h.opts.Interval)
		defer t.Stop()
		for {
			select {
			case <-h.done:
				return
			case <-t.C:
				h.Tick()
			}
		}
	}()
}

// Close ends every event stream and the ticker, and waits for the ticker.
// It is safe to call more than once.
func (h *Hub) Close() {
	h.closeOne.Do(func() {
		h.mu.Lock()
		h.closed = true
		for s := range h.subs {
			s.drop()
		}
		clear(h.subs)
		h.mu.Unlock()
		close(h.done)
	})
	h.wg.Wait()
}

// Record counts one Blob API request (metrics.Config.OnRequest).
func (h *Hub) Record(r metrics.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	e := h.cur[r.Endpoint]
	if e == nil {
		return
	}
	e.add(r)
}

// Location letters of the client read stream.
const (
	ReadPrimary   = 'P'
	ReadSecondary = 'S'
	ReadFailed    = 'F'
)

// ClientRead records one read of the observed client: ReadPrimary,
// ReadSecondary or ReadFailed.
func (h *Hub) ClientRead(where byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.client = true
	switch where {
	case ReadPrimary:
		h.curReads.Primary++
		h.totals.Primary++
	case ReadSecondary:
		h.curReads.Secondary++
		h.totals.Secondary++
	default:
		where = ReadFailed
		h.curReads.Failed++
		h.totals.Failed++
	}
	h.reads++
	if len(h.curStream) < h.opts.MaxReads {
		h.curStream = append(h.curStream, where)
	}
	// Trimmed in halves, not per read: the snapshot takes the last
	// MaxReads.
	h.stream = append(h.stream, where)
	if len(h.stream) >= 2*h.opts.MaxReads {
		over := len(h.stream) - h.opts.MaxReads
		h.stream = slices.Delete(h.stream, 0, over)
		h.streamFirst += over
	}
}

// Breaker records a transition of the observed client's breaker.
func (h *Hub) Breaker(from, to, reason string, at time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.client = true
	t := Transition{From: from, To: to, Reason: reason, At: at.UnixMilli(), Read: h.reads}
	if len(h.curTrans) < h.opts.MaxTransitions {
		h.curTrans = append(h.curTrans, t)
	}
	h.transitions = append(h.transitions, t)
	if over := len(h.transitions) - h.opts.MaxTransitions; over > 0 {
		h.transitions = slices.Delete(h.transitions, 0, over)
	}
}

// SetBreakerState sets how the hub reads the observed client's breaker
// state ("closed", "open", "half-open") at every tick.
func (h *Hub) SetBreakerState(f func() string) {
	h.mu.Lock()
	h.breaker = f
	h.client = true
	h.mu.Unlock()
}

// Tick closes the current interval and sends it to every subscriber.
func (h *Hub) Tick() {
	st := h.status() // reads the sources without holding h.mu
	h.mu.Lock()
	now := time.Now()
	t := Tick{
		At: now.UnixMilli(), Seconds: now.Sub(h.last).Seconds(),
		Endpoints: h.cur, Reads: h.curReads, Stream: string(h.curStream), Transitions: h.curTrans,
	}
	for _, e := range t.Endpoints {
		e.finish()
	}
	h.last = now
	h.cur, h.curReads, h.curStream, h.curTrans = newBucket(), ReadCounts{}, nil, nil
	st.Client, st.ClientReads = h.client, h.totals
	t.Status = st
	kept := t
	kept.Status.Faults, kept.Status.Firings = nil, nil // the snapshot carries the current ones
	h.ticks = append(h.ticks, kept)
	if over := len(h.ticks) - h.opts.History; over > 0 {
		h.ticks = slices.Delete(h.ticks, 0, over)
	}
	// Sent under the lock that adds it to the history: a stream opening
	// now gets it either in its snapshot or as an event, never both.
	frame, err := encodeEvent("tick", t)
	if err != nil {
		h.mu.Unlock()
		h.log.Error("dashboard: cannot encode a tick", "err", err)
		return
	}
	h.sendLocked(frame)
	h.mu.Unlock()
}

// status reads the sources.
func (h *Hub) status() Status {
	h.mu.Lock()
	breaker := h.breaker
	h.mu.Unlock()
	var st Status
	if breaker != nil {
		st.Breaker = breaker()
	}
	if h.src.Replication != nil {
		r := h.src.Replication()
		st.Replication = &Replication{
			Status: r.Status, Paused: r.Paused, Pending: r.Pending, Lag: r.Lag.String(),
			LastSyncTime: r.LastSyncTime.UTC().Format(time.RFC3339Nano),
			BehindSec:    max(h.src.Now().Sub(r.LastSyncTime), 0).Seconds(),
		}
		if ro := r.Roles; ro != nil {
			st.Replication.Roles = fmt.Sprintf("primary copy %s, %s, epoch %d", ro.Primary, ro.Redundancy, ro.Epoch)
			if !ro.BootstrapUntil.IsZero() {
				st.Replication.Roles += ", bootstrapping"
			}
			if ro.SecondaryDown {
				st.Replication.Roles += ", secondary down"
			}
		}
	}
	st.Faults = []Rule{}
	if h.src.Faults != nil {
		rules := h.src.Faults.List()
		if len(rules) > maxRules {
			st.MoreFaults = len(rules) - maxRules
			rules = rules[:maxRules]
		}
		for _, r := range rules {
			st.Faults = append(st.Faults, Rule{
				ID: r.ID, Endpoint: string(r.Endpoint), Text: r.Rule.String(), Kind: metrics.ActionKind(r.Action),
				Outage: isOutage(r.Rule), State: string(r.State), Fired: r.Fired,
			})
		}
	}
	if h.src.FaultFirings != nil {
		st.Firings = map[string]int64{}
		for ep, n := range h.src.FaultFirings() {
			st.Firings[string(ep)] = n
		}
	}
	return st
}

// isOutage reports whether a rule breaks its whole endpoint, as the page's
// outage buttons add them.
func isOutage(r fault.Rule) bool {
	m := r.Match
	return len(m.Methods) == 0 && m.Op == "" && m.Account == "" && m.Container == "" && m.Blob == "" &&
		r.Limits == (fault.Limits{}) && r.Action.Latency == 0 && r.Action.Jitter == 0 &&
		(r.Action.Status != 0 || r.Action.Hang || r.Action.Refuse)
}

// snapshot is the history a new subscriber gets first.
func (h *Hub) snapshot() Snapshot {
	st := h.status()
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.snapshotLocked(st)
}

// snapshotLocked completes st with the history. h.mu is held.
func (h *Hub) snapshotLocked(st Status) Snapshot {
	st.Client, st.ClientReads = h.client, h.totals
	stream, first := h.stream, h.streamFirst
	if over := len(stream) - h.opts.MaxReads; over > 0 {
		stream, first = stream[over:], first+over
	}
	return Snapshot{
		Ticks:       slices.Clone(h.ticks),
		Stream:      string(stream),
		StreamFirst: first,
		Transitions: slices.Clone(h.transitions),
		Status:      st,
		IntervalMs:  h.opts.Interval.Milliseconds(),
	}
}

// sendLocked queues an event for every subscriber, dropping those whose
// queue is full. h.mu is held.
func (h *Hub) sendLocked(frame []byte) {
	for s := range h.subs {
		select {
		case s.ch <- frame:
		default:
			h.log.Warn("dashboard: dropping a subscriber that fell behind")
			s.drop()
			delete(h.subs, s)
		}
	}
}

// Subscribers is the number of open event streams.
func (h *Hub) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

// subscriber is one event stream's queue.
type subscriber struct {
	ch      chan []byte
	gone    chan struct{} // closed when the hub drops it
	dropped sync.Once
}

func (s *subscriber) drop() { s.dropped.Do(func() { close(s.gone) }) }

// errFull is reported when MaxSubscribers streams are open.
type errFull struct{}

func (errFull) Error() string { return "dashboard: too many event streams open" }

// subscribe registers a subscriber and returns the snapshot it starts
// from: its queue gets the ticks after the snapshot's history. It fails
// when the hub is closed or full.
func (h *Hub) subscribe() (*subscriber, Snapshot, error) {
	st := h.status() // reads the sources without holding h.mu
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, Snapshot{}, errClosed
	}
	if len(h.subs) >= h.opts.MaxSubscribers {
		return nil, Snapshot{}, errFull{}
	}
	s := &subscriber{ch: make(chan []byte, h.opts.Buffer), gone: make(chan struct{})}
	h.subs[s] = struct{}{}
	return s, h.snapshotLocked(st), nil
}

func (h *Hub) unsubscribe(s *subscriber) {
	h.mu.Lock()
	delete(h.subs, s)
	h.mu.Unlock()
	s.drop()
}

func encodeEvent(event string, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(b)+len(event)+16)
	out = append(out, "event: "...)
	out = append(out, event...)
	out = append(out, "\ndata: "...)
	out = append(out, b...) // JSON has no raw newlines
	return append(out, "\n\n"...), nil
}
