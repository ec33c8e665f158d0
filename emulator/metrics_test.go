package emulator_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/geoblob/geoblob/emulator"
	"github.com/geoblob/geoblob/fault"
)

// scrape is one read of /_geoblob/metrics.
type scrape map[string]*dto.MetricFamily

func scrapeMetrics(t *testing.T, emu *emulator.Emulator) scrape {
	t.Helper()
	resp, err := http.Get(emu.MetricsURL())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("metrics: status %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

// value is the sample of name whose labels are exactly labels (name=value
// pairs); for a histogram, its count. ok is false when there is none.
func (s scrape) value(name string, labels ...string) (float64, bool) {
	f := s[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.Metric {
		if len(m.Label) != len(labels)/2 {
			continue
		}
		for i := 0; i < len(labels); i += 2 {
			found := false
			for _, l := range m.Label {
				if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

type sample struct {
	name   string
	labels []string
	want   float64
}

func (s scrape) check(t *testing.T, phase string, samples []sample) {
	t.Helper()
	for _, w := range samples {
		got, ok := s.value(w.name, w.labels...)
		if !ok {
			t.Errorf("%s: %s%v missing", phase, w.name, w.labels)
		} else if got != w.want {
			t.Errorf("%s: %s%v = %v, want %v", phase, w.name, w.labels, got, w.want)
		}
	}
}

// TestMetricsDuringAnOutage makes a known set of requests before, during
// and after a scripted outage and checks every figure of the scrape
// against them.
func TestMetricsDuringAnOutage(t *testing.T) {
	ctx := context.Background()
	clk := emulator.NewManualClock(time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC))
	emu, err := emulator.Start(ctx, emulator.Options{Clock: clk, Lag: 10 * time.Second, NoSecondaryListener: true})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	opts := &azblob.ClientOptions{}
	opts.Retry = policy.RetryOptions{MaxRetries: -1}
	primary, err := azblob.NewClientWithSharedKeyCredential(emu.PrimaryURL(), mustCred(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	// A connection per request: net/http would resend a GET whose reused
	// connection was reset, hiding the reset from the test.
	sopts := *opts
	sopts.Transport = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	secondary, err := azblob.NewClientWithSharedKeyCredential(emu.ServiceURL(emulator.SecondaryPathStyle, ""), mustCred(t), &sopts)
	if err != nil {
		t.Fatal(err)
	}
	const container, blob, body = "metrics", "b.txt", "hello"
	if _, err := primary.CreateContainer(ctx, container, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := primary.UploadBuffer(ctx, container, blob, []byte(body), nil); err != nil {
		t.Fatal(err)
	}

	// Two writes wait out the 10 s lag: both queued, LastSyncTime still
	// where it was at the start.
	st := emu.Replication().State()
	s := scrapeMetrics(t, emu)
	s.check(t, "written", []sample{
		{"geoblob_requests_total", []string{"endpoint", "primary", "operation", "CreateContainer", "status", "201"}, 1},
		{"geoblob_requests_total", []string{"endpoint", "primary", "operation", "PutBlob", "status", "201"}, 1},
		{"geoblob_request_bytes_total", []string{"endpoint", "primary"}, float64(len(body))},
		{"geoblob_replication_queue_length", nil, 2},
		{"geoblob_replication_queue_length", nil, float64(st.Pending)},
		{"geoblob_replication_lag_seconds", nil, clk.Now().Sub(st.LastSyncTime).Seconds()},
		{"geoblob_replication_configured_lag_seconds", nil, 10},
		{"geoblob_replication_status", []string{"status", "live"}, 1},
		{"geoblob_replication_paused", nil, 0},
	})
	if n, _ := s.value("geoblob_connections_accepted_total"); n < 1 {
		t.Errorf("connections accepted %v", n)
	}
	clk.Advance(10 * time.Second)
	if err := emu.Replication().Wait(ctx); err != nil {
		t.Fatal(err)
	}

	// The outage: the primary answers 503 to reads, and the secondary
	// resets the first connection that reads.
	outage, err := emu.Faults().Add(fault.Rule{Endpoint: fault.Primary, Match: fault.Match{Op: fault.Read}, Action: fault.Action{Status: 503}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := emu.Faults().Add(fault.Rule{Endpoint: fault.Secondary, Action: fault.Action{Reset: true}, Limits: fault.Limits{Count: 1}}); err != nil {
		t.Fatal(err)
	}
	download := func(c *azblob.Client) error {
		resp, err := c.DownloadStream(ctx, container, blob, nil)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	const primaryReads, secondaryReads = 4, 3
	for range primaryReads {
		if err := download(primary); err == nil {
			t.Fatal("a primary read succeeded during the outage")
		}
	}
	if err := download(secondary); err == nil {
		t.Fatal("the reset read succeeded")
	}
	for range secondaryReads {
		if err := download(secondary); err != nil {
			t.Fatal(err)
		}
	}
	// The reset request is recorded when its handler returns, which can
	// come after the client has seen the reset and moved on: wait for it
	// (a bounded number of scrapes), then check everything.
	for i := 0; i < 200; i++ {
		s = scrapeMetrics(t, emu)
		if _, ok := s.value("geoblob_requests_total", "endpoint", "secondary", "operation", "GetBlob", "status", "reset"); ok {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	s.check(t, "outage", []sample{
		{"geoblob_requests_total", []string{"endpoint", "primary", "operation", "GetBlob", "status", "503"}, primaryReads},
		{"geoblob_requests_total", []string{"endpoint", "secondary", "operation", "GetBlob", "status", "200"}, secondaryReads},
		{"geoblob_requests_total", []string{"endpoint", "secondary", "operation", "GetBlob", "status", "reset"}, 1},
		{"geoblob_request_duration_seconds", []string{"endpoint", "primary", "operation", "GetBlob"}, primaryReads},
		{"geoblob_request_duration_seconds", []string{"endpoint", "secondary", "operation", "GetBlob"}, secondaryReads + 1},
		{"geoblob_response_bytes_total", []string{"endpoint", "secondary"}, secondaryReads * float64(len(body))},
		{"geoblob_fault_firings_total", []string{"endpoint", "primary"}, primaryReads},
		{"geoblob_fault_firings_total", []string{"endpoint", "secondary"}, 1},
		{"geoblob_fault_rule_fired", []string{"rule", outage, "endpoint", "primary", "action", "status", "state", "active"}, primaryReads},
		{"geoblob_fault_rules", []string{"state", "active"}, 1},
		{"geoblob_fault_rules", []string{"state", "exhausted"}, 1},
		{"geoblob_replication_queue_length", nil, 0},
		{"geoblob_requests_in_flight", []string{"endpoint", "primary"}, 0},
	})

	// Recovery: the rules go, their firings stay counted, reads succeed.
	emu.Faults().Clear()
	if err := download(primary); err != nil {
		t.Fatal(err)
	}
	s = scrapeMetrics(t, emu)
	s.check(t, "recovered", []sample{
		{"geoblob_requests_total", []string{"endpoint", "primary", "operation", "GetBlob", "status", "200"}, 1},
		{"geoblob_fault_firings_total", []string{"endpoint", "primary"}, primaryReads},
		{"geoblob_fault_rules", []string{"state", "active"}, 0},
	})
	if _, ok := s.value("geoblob_fault_rule_fired", "rule", outage, "endpoint", "primary", "action", "status", "state", "active"); ok {
		t.Error("a removed rule is still listed")
	}
}

// The metrics and the dashboard sit behind the control API's checks.
func TestMetricsAndDashboardNeedTheToken(t *testing.T) {
	ctx := context.Background()
	emu, err := emulator.Start(ctx, emulator.Options{ControlToken: "s3cret", NoSecondaryListener: true})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	tests := []struct {
		name   string
		url    string
		header func(*http.Request)
		status int
	}{
		{"metrics, loopback, no token: challenged", emu.MetricsURL(), nil, http.StatusUnauthorized},
		{"metrics, wrong bearer token", emu.MetricsURL(), func(r *http.Request) { r.Header.Set("Authorization", "Bearer nope") }, http.StatusForbidden},
		{"metrics, token as Basic password", emu.MetricsURL(), func(r *http.Request) { r.SetBasicAuth("any", "s3cret") }, http.StatusOK},
		{"dashboard, wrong Basic password", emu.DashboardURL(), func(r *http.Request) { r.SetBasicAuth("any", "nope") }, http.StatusUnauthorized},
		{"dashboard, token header", emu.DashboardURL(), func(r *http.Request) { r.Header.Set("x-geoblob-control-token", "s3cret") }, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, tt.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.header != nil {
				tt.header(req)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
		})
	}
}

func mustCred(t *testing.T) *azblob.SharedKeyCredential {
	t.Helper()
	cred, err := azblob.NewSharedKeyCredential(emulator.DevAccountName, emulator.DevAccountKey)
	if err != nil {
		t.Fatal(errors.Join(err))
	}
	return cred
}
