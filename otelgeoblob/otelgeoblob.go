// Package otelgeoblob reports a geoblob Router's figures as OpenTelemetry
// metrics through the official go.opentelemetry.io/otel/metric API. It is
// a package of its own so that programs that do not use OpenTelemetry
// never compile it; the Router's Counters, State and event callbacks work
// the same with or without it.
//
// Instrument registers observable instruments read at every collection:
//
//	geoblob.reads               counter  {read}   geoblob.location, geoblob.outcome
//	geoblob.fallbacks           counter  {read}
//	geoblob.breaker.state       gauge    1        0 closed, 1 open, 2 half-open
//	geoblob.breaker.transitions counter  {transition} geoblob.from, geoblob.to
//	geoblob.probes              counter  {probe}
//	geoblob.hedges              counter  {request}
//	geoblob.hedge.wins          counter  {request}
//	geoblob.staleness           gauge    s        how far the secondary is behind
//	geoblob.writes              counter  {write}
//	geoblob.writes.rejected     counter  {write}
//	geoblob.errors              counter  {operation}
//
// geoblob.reads has the outcomes served (by geoblob.location primary or
// secondary: the location answered), not_replicated (the secondary lacked
// the blob and the primary was asked) and too_stale (refused by
// MaxStaleness). Counters are read from Router.Counters, so the figures
// always agree with it.
package otelgeoblob

import (
	"context"
	"errors"
	"fmt"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/geoblob/geoblob"
)

// ScopeName is the instrumentation scope of the meter.
const ScopeName = "github.com/geoblob/geoblob/otelgeoblob"

// Attribute keys.
const (
	LocationKey = attribute.Key("geoblob.location") // primary or secondary
	OutcomeKey  = attribute.Key("geoblob.outcome")  // served, not_replicated or too_stale
	FromKey     = attribute.Key("geoblob.from")     // breaker state before a transition
	ToKey       = attribute.Key("geoblob.to")       // breaker state after it
)

// ErrNilRouter is returned by Instrument without a router.
var ErrNilRouter = errors.New("otelgeoblob: nil router")

// Option configures Instrument.
type Option func(*config)

type config struct {
	provider  metric.MeterProvider
	attrs     []attribute.KeyValue
	staleness bool
}

// WithMeterProvider reports to mp instead of the global provider
// (otel.GetMeterProvider).
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) { c.provider = mp }
}

// WithAttributes adds attributes to every measurement, such as the account
// name when a program has routers for several accounts.
func WithAttributes(attrs ...attribute.KeyValue) Option {
	return func(c *config) { c.attrs = append(c.attrs, attrs...) }
}

// WithoutStaleness leaves out geoblob.staleness. Reading it calls
// Router.Staleness, which asks the secondary for its statistics (Get Blob
// Service Stats) when the cached ones are older than Config.StatsRefresh.
func WithoutStaleness() Option {
	return func(c *config) { c.staleness = false }
}

// point is one time series of a counter, read from the router's Counters.
type point struct {
	attrs []attribute.KeyValue
	get   func(geoblob.Counters) uint64
}

// counter is one observable counter. A new figure in geoblob.Counters is
// one more entry in counters.
type counter struct {
	name, unit, desc string
	points           []point
}

func one(get func(geoblob.Counters) uint64) []point { return []point{{get: get}} }

var counters = []counter{
	{"geoblob.reads", "{read}", "Reads by location and outcome: served (the location answered), not_replicated (the secondary lacked the blob; the primary was asked), too_stale (refused by MaxStaleness).", []point{
		{[]attribute.KeyValue{LocationKey.String("primary"), OutcomeKey.String("served")}, func(c geoblob.Counters) uint64 { return c.PrimaryReads }},
		{[]attribute.KeyValue{LocationKey.String("secondary"), OutcomeKey.String("served")}, func(c geoblob.Counters) uint64 { return c.SecondaryReads }},
		{[]attribute.KeyValue{LocationKey.String("secondary"), OutcomeKey.String("not_replicated")}, func(c geoblob.Counters) uint64 { return c.NotReplicated }},
		{[]attribute.KeyValue{LocationKey.String("secondary"), OutcomeKey.String("too_stale")}, func(c geoblob.Counters) uint64 { return c.TooStale }},
	}},
	{"geoblob.fallbacks", "{read}", "Reads served by their second-choice location.", one(func(c geoblob.Counters) uint64 { return c.Fallbacks })},
	{"geoblob.breaker.transitions", "{transition}", "Breaker transitions: closed to open (failover) and open to closed (failback).", []point{
		{[]attribute.KeyValue{FromKey.String("closed"), ToKey.String("open")}, func(c geoblob.Counters) uint64 { return c.Failovers }},
		{[]attribute.KeyValue{FromKey.String("open"), ToKey.String("closed")}, func(c geoblob.Counters) uint64 { return c.Failbacks }},
	}},
	{"geoblob.probes", "{probe}", "Half-open probes of the primary.", one(func(c geoblob.Counters) uint64 { return c.Probes })},
	{"geoblob.hedges", "{request}", "Hedged requests sent to the secondary.", one(func(c geoblob.Counters) uint64 { return c.Hedges })},
	{"geoblob.hedge.wins", "{request}", "Hedged requests that answered first.", one(func(c geoblob.Counters) uint64 { return c.HedgeWins })},
	{"geoblob.writes", "{write}", "Writes sent to the primary.", one(func(c geoblob.Counters) uint64 { return c.Writes })},
	{"geoblob.writes.rejected", "{write}", "Writes refused with ErrPrimaryUnavailable while the breaker held the primary as down.", one(func(c geoblob.Counters) uint64 { return c.RejectedWrites })},
	{"geoblob.errors", "{operation}", "Reads and writes that ended in an error from geoblob or from both locations.", one(func(c geoblob.Counters) uint64 { return c.Errors })},
}

// Registration undoes Instrument.
type Registration struct{ reg metric.Registration }

// Unregister stops reporting the router. The instruments stay with the
// meter and report nothing more.
func (r *Registration) Unregister() error { return r.reg.Unregister() }

// Instrument reports r's figures on a meter of the given provider until
// the returned Registration is unregistered.
func Instrument(r *geoblob.Router, opts ...Option) (*Registration, error) {
	if r == nil {
		return nil, ErrNilRouter
	}
	cfg := config{staleness: true}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.provider == nil {
		cfg.provider = otel.GetMeterProvider()
	}
	meter := cfg.provider.Meter(ScopeName)
	var (
		insts []metric.Observable
		obs   []metric.Int64ObservableCounter
	)
	for _, c := range counters {
		inst, err := meter.Int64ObservableCounter(c.name, metric.WithUnit(c.unit), metric.WithDescription(c.desc))
		if err != nil {
			return nil, fmt.Errorf("otelgeoblob: %s: %w", c.name, err)
		}
		obs = append(obs, inst)
		insts = append(insts, inst)
	}
	state, err := meter.Int64ObservableGauge("geoblob.breaker.state", metric.WithUnit("1"),
		metric.WithDescription("The breaker's state: 0 closed (reads go to the primary), 1 open (reads go to the secondary), 2 half-open (a probe is testing the primary)."))
	if err != nil {
		return nil, fmt.Errorf("otelgeoblob: geoblob.breaker.state: %w", err)
	}
	insts = append(insts, state)
	var stale metric.Float64ObservableGauge
	if cfg.staleness {
		stale, err = meter.Float64ObservableGauge("geoblob.staleness", metric.WithUnit("s"),
			metric.WithDescription("How far the secondary is behind the primary: now minus its LastSyncTime."))
		if err != nil {
			return nil, fmt.Errorf("otelgeoblob: geoblob.staleness: %w", err)
		}
		insts = append(insts, stale)
	}
	// Attribute sets are built once; only the values change.
	sets := make([][]metric.ObserveOption, len(counters))
	for i, c := range counters {
		for _, p := range c.points {
			kv := append(append([]attribute.KeyValue{}, cfg.attrs...), p.attrs...)
			sets[i] = append(sets[i], metric.WithAttributeSet(attribute.NewSet(kv...)))
		}
	}
	base := metric.WithAttributeSet(attribute.NewSet(cfg.attrs...))
	reg, err := meter.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		c := r.Counters()
		for i, spec := range counters {
			for j, p := range spec.points {
				o.ObserveInt64(obs[i], int64(p.get(c)), sets[i][j])
			}
		}
		o.ObserveInt64(state, int64(r.State()), base)
		if stale != nil {
			if st, err := r.Staleness(ctx); err == nil && !st.LastSyncTime.IsZero() {
				o.ObserveFloat64(stale, st.Lag.Seconds(), base)
			}
		}
		return nil
	}, insts...)
	if err != nil {
		return nil, fmt.Errorf("otelgeoblob: registering the callback: %w", err)
	}
	return &Registration{reg: reg}, nil
}
