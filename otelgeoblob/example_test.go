package otelgeoblob_test

import (
	"context"
	"fmt"
	"io"
	"log"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/geoblob/geoblob"
	"github.com/geoblob/geoblob/emulator"
	"github.com/geoblob/geoblob/otelgeoblob"
)

// Report a router's reads and breaker to OpenTelemetry. A program would
// pass its own MeterProvider (or set the global one) with a periodic reader
// and an exporter; the manual reader here shows what is recorded.
func ExampleInstrument() {
	ctx := context.Background()
	emu, err := emulator.Start(ctx, emulator.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer emu.Close()
	client, router, err := geoblob.NewClientFromConnectionString(emu.ConnectionString(), nil, nil)
	if err != nil {
		log.Fatal(err)
	}

	reader := sdkmetric.NewManualReader()
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer provider.Shutdown(ctx)
	reg, err := otelgeoblob.Instrument(router, otelgeoblob.WithMeterProvider(provider),
		otelgeoblob.WithAttributes(attribute.String("geoblob.account", emu.AccountName())))
	if err != nil {
		log.Fatal(err)
	}
	defer reg.Unregister()

	if _, err := client.CreateContainer(ctx, "otel", nil); err != nil {
		log.Fatal(err)
	}
	if _, err := client.UploadBuffer(ctx, "otel", "b", []byte("hello"), nil); err != nil {
		log.Fatal(err)
	}
	for range 3 {
		resp, err := client.DownloadStream(ctx, "otel", "b", nil)
		if err != nil {
			log.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		log.Fatal(err)
	}
	for _, m := range rm.ScopeMetrics[0].Metrics {
		switch m.Name {
		case "geoblob.reads":
			for _, p := range m.Data.(metricdata.Sum[int64]).DataPoints {
				loc, _ := p.Attributes.Value(otelgeoblob.LocationKey)
				out, _ := p.Attributes.Value(otelgeoblob.OutcomeKey)
				if out.AsString() == "served" {
					fmt.Printf("%s %s: %d\n", m.Name, loc.AsString(), p.Value)
				}
			}
		case "geoblob.breaker.state", "geoblob.writes":
			switch d := m.Data.(type) {
			case metricdata.Gauge[int64]:
				fmt.Printf("%s: %d\n", m.Name, d.DataPoints[0].Value)
			case metricdata.Sum[int64]:
				fmt.Printf("%s: %d\n", m.Name, d.DataPoints[0].Value)
			}
		}
	}
	// Unordered output:
	// geoblob.reads primary: 3
	// geoblob.reads secondary: 0
	// geoblob.writes: 2
	// geoblob.breaker.state: 0
}
