package otelgeoblob_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/geoblob/geoblob"
	"github.com/geoblob/geoblob/emulator"
	"github.com/geoblob/geoblob/fault"
	"github.com/geoblob/geoblob/otelgeoblob"
)

// collected is one collection, searchable by instrument and attributes.
type collected struct{ rm metricdata.ResourceMetrics }

func collect(t *testing.T, r *sdkmetric.ManualReader) collected {
	t.Helper()
	var c collected
	if err := r.Collect(context.Background(), &c.rm); err != nil {
		t.Fatal(err)
	}
	return c
}

// value returns the data point of name whose attributes are exactly attrs.
func (c collected) value(name string, attrs ...attribute.KeyValue) (float64, bool) {
	want := attribute.NewSet(attrs...)
	for _, sm := range c.rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					if p.Attributes.Equals(&want) {
						return float64(p.Value), true
					}
				}
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					if p.Attributes.Equals(&want) {
						return float64(p.Value), true
					}
				}
			case metricdata.Gauge[float64]:
				for _, p := range d.DataPoints {
					if p.Attributes.Equals(&want) {
						return p.Value, true
					}
				}
			}
		}
	}
	return 0, false
}

type want struct {
	name  string
	attrs []attribute.KeyValue
	value float64
}

func check(t *testing.T, c collected, phase string, wants []want) {
	t.Helper()
	for _, w := range wants {
		got, ok := c.value(w.name, w.attrs...)
		if !ok {
			t.Errorf("%s: %s%v not reported", phase, w.name, w.attrs)
			continue
		}
		if got != w.value {
			t.Errorf("%s: %s%v = %v, want %v", phase, w.name, w.attrs, got, w.value)
		}
	}
}

var (
	primaryServed   = []attribute.KeyValue{otelgeoblob.LocationKey.String("primary"), otelgeoblob.OutcomeKey.String("served")}
	secondaryServed = []attribute.KeyValue{otelgeoblob.LocationKey.String("secondary"), otelgeoblob.OutcomeKey.String("served")}
	failover        = []attribute.KeyValue{otelgeoblob.FromKey.String("closed"), otelgeoblob.ToKey.String("open")}
	failback        = []attribute.KeyValue{otelgeoblob.FromKey.String("open"), otelgeoblob.ToKey.String("closed")}
)

// TestInstrumentFollowsAnOutage reads through an outage of the primary on
// the emulator and checks every figure, collected with the SDK's manual
// reader, against the reads made and against Router.Counters.
func TestInstrumentFollowsAnOutage(t *testing.T) {
	ctx := context.Background()
	clk := emulator.NewManualClock(time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC))
	emu, err := emulator.Start(ctx, emulator.Options{Clock: clk, NoSecondaryListener: true})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()

	cfg := geoblob.DefaultConfig()
	cfg.Now = clk.Now
	cfg.ProbeBackoff, cfg.MaxProbeBackoff = 1, 1
	// The figures are checked exactly: no attempt bound a loaded machine
	// could reach on a healthy read, and no background probe, whose real
	// timer would meet the manual clock's 90 s jump at a random moment.
	cfg.AttemptTimeout = time.Minute
	cfg.ProbeInterval = -1
	opts := &azblob.ClientOptions{}
	opts.Retry = policy.RetryOptions{MaxRetries: -1}
	client, router, err := geoblob.NewClientFromConnectionString(emu.ConnectionString(), cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	reader := sdkmetric.NewManualReader()
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer provider.Shutdown(ctx)
	reg, err := otelgeoblob.Instrument(router, otelgeoblob.WithMeterProvider(provider))
	if err != nil {
		t.Fatal(err)
	}

	if _, err := client.CreateContainer(ctx, "otel", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := client.UploadBuffer(ctx, "otel", "b", []byte("hello"), nil); err != nil {
		t.Fatal(err)
	}
	if err := emu.Replication().Wait(ctx); err != nil {
		t.Fatal(err)
	}
	read := func(n int) {
		t.Helper()
		for range n {
			resp, err := client.DownloadStream(ctx, "otel", "b", nil)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}

	read(3)
	check(t, collect(t, reader), "healthy", []want{
		{"geoblob.reads", primaryServed, 3},
		{"geoblob.reads", secondaryServed, 0},
		{"geoblob.fallbacks", nil, 0},
		{"geoblob.breaker.state", nil, 0},
		{"geoblob.breaker.transitions", failover, 0},
		{"geoblob.writes", nil, 2},
		{"geoblob.writes.rejected", nil, 0},
	})

	// The primary answers 503 to reads: five fall back, the breaker opens
	// and the next three go straight to the secondary.
	if _, err := emu.Faults().Add(fault.Rule{Endpoint: fault.Primary, Match: fault.Match{Op: fault.Read}, Action: fault.Action{Status: 503}}); err != nil {
		t.Fatal(err)
	}
	read(8)
	if _, err := client.UploadBuffer(ctx, "otel", "new", []byte("x"), nil); !errors.Is(err, geoblob.ErrPrimaryUnavailable) {
		t.Fatalf("write during the outage: %v, want ErrPrimaryUnavailable", err)
	}
	// Replication pauses and 90 s pass: LastSyncTime stands still and the
	// secondary falls behind by at least that much.
	emu.Replication().Pause()
	clk.Advance(90 * time.Second)
	st, err := router.Staleness(ctx)
	if err != nil {
		t.Fatal(err)
	}
	check(t, collect(t, reader), "outage", []want{
		{"geoblob.reads", primaryServed, 3},
		{"geoblob.reads", secondaryServed, 8},
		{"geoblob.fallbacks", nil, 5},
		{"geoblob.breaker.state", nil, 1},
		{"geoblob.breaker.transitions", failover, 1},
		{"geoblob.breaker.transitions", failback, 0},
		{"geoblob.writes.rejected", nil, 1},
		{"geoblob.staleness", nil, st.Lag.Seconds()},
	})
	if st.Lag < 90*time.Second {
		t.Errorf("staleness %v after the clock moved 90s past the last sync", st.Lag)
	}

	// Recovery: after FailbackReads secondary reads a probe finds the
	// primary healthy and the breaker closes.
	emu.Faults().Clear()
	emu.Replication().Resume()
	n := 0
	for router.State() != geoblob.Closed && n < 100 {
		read(1)
		n++
	}
	if router.State() != geoblob.Closed {
		t.Fatalf("breaker still %v after %d reads", router.State(), n)
	}
	c := router.Counters()
	final := collect(t, reader)
	check(t, final, "recovered", []want{
		{"geoblob.breaker.state", nil, 0},
		{"geoblob.breaker.transitions", failback, 1},
		{"geoblob.probes", nil, 1},
		{"geoblob.reads", primaryServed, float64(c.PrimaryReads)},
		{"geoblob.reads", secondaryServed, float64(c.SecondaryReads)},
		{"geoblob.reads", []attribute.KeyValue{otelgeoblob.LocationKey.String("secondary"), otelgeoblob.OutcomeKey.String("not_replicated")}, float64(c.NotReplicated)},
		{"geoblob.reads", []attribute.KeyValue{otelgeoblob.LocationKey.String("secondary"), otelgeoblob.OutcomeKey.String("too_stale")}, 0},
		{"geoblob.hedges", nil, 0},
		{"geoblob.hedge.wins", nil, 0},
		{"geoblob.errors", nil, float64(c.Errors)},
	})
	if got := c.PrimaryReads + c.SecondaryReads; got != uint64(3+8+n) {
		t.Errorf("reads served %d, want the %d made", got, 3+8+n)
	}

	if err := reg.Unregister(); err != nil {
		t.Fatal(err)
	}
	read(1)
	if _, ok := collect(t, reader).value("geoblob.reads", primaryServed...); ok {
		t.Error("reads still reported after Unregister")
	}
}

func TestInstrumentOptions(t *testing.T) {
	router, err := geoblob.NewRouter("http://127.0.0.1:1/devstoreaccount1", nil)
	if err != nil {
		t.Fatal(err)
	}
	reader := sdkmetric.NewManualReader()
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer provider.Shutdown(context.Background())
	acct := attribute.String("geoblob.account", "devstoreaccount1")
	if _, err := otelgeoblob.Instrument(router, otelgeoblob.WithMeterProvider(provider), otelgeoblob.WithAttributes(acct), otelgeoblob.WithoutStaleness()); err != nil {
		t.Fatal(err)
	}
	c := collect(t, reader)
	tests := []struct {
		name  string
		attrs []attribute.KeyValue
		found bool
	}{
		{"geoblob.reads", append([]attribute.KeyValue{acct}, primaryServed...), true},
		{"geoblob.breaker.state", []attribute.KeyValue{acct}, true},
		{"geoblob.reads", primaryServed, false}, // every point carries the account
		{"geoblob.staleness", []attribute.KeyValue{acct}, false},
	}
	for _, tt := range tests {
		if _, ok := c.value(tt.name, tt.attrs...); ok != tt.found {
			t.Errorf("%s%v reported: %v, want %v", tt.name, tt.attrs, ok, tt.found)
		}
	}
	if _, err := otelgeoblob.Instrument(nil); !errors.Is(err, otelgeoblob.ErrNilRouter) {
		t.Errorf("Instrument(nil) = %v, want ErrNilRouter", err)
	}
}
