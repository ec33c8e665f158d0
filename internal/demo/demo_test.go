package demo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/geoblob/geoblob/emulator"
	"github.com/geoblob/geoblob/fault"
)

// fastConfig is the default demo with a short lag and replication checks,
// so a full 1000-read run with both outages takes about a second.
func fastConfig(t *testing.T) Config {
	cfg := DefaultConfig()
	cfg.Lag = 20 * time.Millisecond
	cfg.CheckInterval = 20 * time.Millisecond
	cfg.OutDir = t.TempDir()
	cfg.Stdout = &bytes.Buffer{}
	// Every scripted outage is a 503: the attempt bound has no part in
	// these tests, and under load the adaptive one would let a slow
	// healthy read be served by the secondary.
	cfg.attemptTimeout = time.Minute
	return cfg
}

// checkLocations asserts that secondary reads happen only inside an outage
// or within slack reads after one, and that no read inside an outage went
// to the primary.
func checkLocations(t *testing.T, s Summary, o Outages, slack int) {
	t.Helper()
	for i, loc := range s.Locations {
		switch {
		case loc == 'S' && !o.Near(i, slack):
			t.Errorf("read %d served by the secondary outside any outage (+%d)", i, slack)
		case loc == 'P' && o.Active(i):
			t.Errorf("read %d served by the primary during an outage", i)
		case loc == 'F':
			t.Errorf("read %d failed", i)
		}
	}
}

func TestRunDefaultOutages(t *testing.T) {
	cfg := fastConfig(t)
	// Replication stays paused until the first check has missed the blob,
	// so that "Attempt 1" is printed on every run, however fast the lag
	// passes.
	var emu *emulator.Emulator
	cfg.started = func(e *emulator.Emulator) {
		emu = e
		emu.Replication().Pause()
	}
	cfg.checked = func(n int) {
		if n == 1 {
			emu.Replication().Resume()
		}
	}
	sum, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	out := cfg.Stdout.(*bytes.Buffer).String()
	t.Logf("summary: %s", sum)
	if sum.Reads != 1000 || sum.Failed != 0 || sum.Primary+sum.Secondary != 1000 {
		t.Fatalf("summary %s", sum)
	}
	if sum.Failovers < 2 || sum.Failbacks < 2 {
		t.Fatalf("want at least 2 failovers and 2 failbacks: %s", sum)
	}
	// The breaker probes the primary every SecondaryThreshold secondary
	// reads, so reads return to it at most that many reads after an outage.
	checkLocations(t, sum, cfg.Outages, cfg.SecondaryThreshold+1)
	for _, want := range []string{
		"Attempt 1 to see if the blob has replicated to the secondary storage yet.",
		"Retrying event because of failure reading the primary. RetryCount= 5",
		"P0 ", "S200", "P999",
		"Deleted container democontainer",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	copyBytes, err := os.ReadFile(filepath.Join(cfg.OutDir, "HelloWorldCopy.png"))
	if err != nil || !bytes.Equal(copyBytes, HelloWorldPNG()) {
		t.Fatalf("HelloWorldCopy.png: %v", err)
	}
}

func TestRunThresholds(t *testing.T) {
	tests := []struct {
		retry, secondary int
		outages          string
	}{
		{1, 5, "100-200,300-400"},
		{3, 10, "50-150,300-400,700-900"},
		{10, 40, "0-500"},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%d-%d-%s", tc.retry, tc.secondary, tc.outages), func(t *testing.T) {
			cfg := fastConfig(t)
			cfg.RetryThreshold, cfg.SecondaryThreshold = tc.retry, tc.secondary
			var err error
			if cfg.Outages, err = ParseOutages(tc.outages, cfg.Reads); err != nil {
				t.Fatal(err)
			}
			sum, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if sum.Failed != 0 || sum.Failovers != len(cfg.Outages) || sum.Failbacks != len(cfg.Outages) {
				t.Fatalf("summary %s", sum)
			}
			checkLocations(t, sum, cfg.Outages, tc.secondary+1)
		})
	}
}

func TestRunNoOutage(t *testing.T) {
	cfg := fastConfig(t)
	cfg.Outages = nil
	cfg.Reads = 200
	sum, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Primary != 200 || sum.Secondary != 0 || sum.Failovers != 0 || sum.Failed != 0 {
		t.Fatalf("summary %s", sum)
	}
}

func TestRunInteractive(t *testing.T) {
	cfg := fastConfig(t)
	cfg.Interactive = true
	cfg.Outages = nil
	cfg.Stdin = strings.NewReader("\n\n\n\n")
	sum, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := ParseOutages(DefaultOutages, 1000)
	checkLocations(t, sum, want, cfg.SecondaryThreshold+1)
	if sum.Failovers != 2 || sum.Failbacks != 2 {
		t.Fatalf("summary %s", sum)
	}
	out := cfg.Stdout.(*bytes.Buffer).String()
	if strings.Count(out, "Press Enter") != 4 {
		t.Fatalf("want 4 pauses:\n%s", out)
	}
}

func TestQuietPrintsNothing(t *testing.T) {
	cfg := fastConfig(t)
	cfg.Quiet = true
	cfg.Reads = 50
	cfg.Outages = Outages{{10, 40}}
	if _, err := Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	if out := cfg.Stdout.(*bytes.Buffer).String(); out != "" {
		t.Fatalf("quiet run printed %q", out)
	}
}

// startEmulator runs an emulator outside the demo, standing in for a real
// account: the demo then injects the outage client-side.
func startEmulator(t *testing.T) *emulator.Emulator {
	t.Helper()
	emu, err := emulator.Start(context.Background(), emulator.Options{Lag: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	return emu
}

func containers(t *testing.T, emu *emulator.Emulator) []string {
	t.Helper()
	client, err := azblob.NewClientFromConnectionString(emu.ConnectionString(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	pager := client.NewListContainersPager(nil)
	for pager.More() {
		page, err := pager.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range page.ContainerItems {
			names = append(names, *c.Name)
		}
	}
	return names
}

func TestRunAgainstAccountWithClientSideOutage(t *testing.T) {
	emu := startEmulator(t)
	cfg := fastConfig(t)
	cfg.ConnectionString = emu.ConnectionString()
	sum, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Embedded || sum.Failed != 0 || sum.Failovers < 2 || sum.Failbacks < 2 {
		t.Fatalf("summary %s", sum)
	}
	checkLocations(t, sum, cfg.Outages, cfg.SecondaryThreshold+1)
	if len(emu.Faults().List()) != 0 {
		t.Fatal("a client-side outage must not touch the server's rules")
	}
	if names := containers(t, emu); len(names) != 0 {
		t.Fatalf("containers left behind: %v", names)
	}
}

// cancelAfter cancels a context once the output shows a marker.
type cancelAfter struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	marker string
	cancel context.CancelFunc
}

func (c *cancelAfter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf.Write(p)
	if strings.Contains(c.buf.String(), c.marker) {
		c.cancel()
	}
	return len(p), nil
}

func TestInterruptDeletesContainer(t *testing.T) {
	// Interrupt before, during and after the first outage: the container
	// must go in every case, even while the breaker holds the primary down.
	for _, marker := range []string{"P50", "S250", "P450"} {
		t.Run(marker, func(t *testing.T) {
			emu := startEmulator(t)
			cfg := fastConfig(t)
			cfg.ConnectionString = emu.ConnectionString()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			cfg.Stdout = &cancelAfter{marker: marker, cancel: cancel}
			sum, err := Run(ctx, cfg)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("want context.Canceled, got %v", err)
			}
			if sum.Reads >= 1000 || sum.Failed != 0 || sum.Elapsed == 0 {
				t.Fatalf("summary after interrupt: %s", sum)
			}
			if names := containers(t, emu); len(names) != 0 {
				t.Fatalf("containers left behind after interrupt: %v", names)
			}
		})
	}
}

func TestSetupErrors(t *testing.T) {
	emu := startEmulator(t)
	wrongKey := strings.Replace(emu.ConnectionString(), "AccountKey="+emu.AccountKey(), "AccountKey=d3Jvbmcga2V5", 1)
	noSecondary := strings.Replace(emu.ConnectionString(), emu.SecondaryURL(), "http://127.0.0.1:1/devstoreaccount1", 1)
	tests := []struct {
		name string
		cfg  func(*Config)
		want error
	}{
		{"unreachable", func(c *Config) {
			c.ConnectionString = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:1/devstoreaccount1"
		}, ErrUnreachable},
		{"bad credentials", func(c *Config) { c.ConnectionString = wrongKey }, ErrCredentials},
		{"no readable secondary", func(c *Config) { c.ConnectionString = noSecondary }, ErrNotGeoRedundant},
		{"half an account", func(c *Config) { c.AccountName = "acct" }, ErrBadConfig},
		{"zero thresholds", func(c *Config) { c.RetryThreshold = 0 }, ErrBadConfig},
		{"quiet and interactive", func(c *Config) { c.Quiet, c.Interactive = true, true }, ErrBadConfig},
		{"bad connection string", func(c *Config) { c.ConnectionString = "garbage" }, ErrBadConfig},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := fastConfig(t)
			tc.cfg(&cfg)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_, err := Run(ctx, cfg)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if strings.Contains(err.Error(), emu.AccountKey()) || strings.Contains(err.Error(), "d3Jvbmcga2V5") {
				t.Fatalf("error leaks the key: %v", err)
			}
		})
	}
	if names := containers(t, emu); len(names) != 0 {
		t.Fatalf("containers left behind: %v", names)
	}
}

func TestConfigFromEnv(t *testing.T) {
	env := map[string]string{"accountname": "acct", "accountkey": "a2V5"}
	var c Config
	c.ConfigFromEnv(func(k string) string { return env[k] })
	if c.AccountName != "acct" || c.AccountKey != "a2V5" {
		t.Fatalf("accountname/accountkey: %+v", c)
	}
	env["AZURE_STORAGE_CONNECTION_STRING"] = "cs"
	c = Config{}
	c.ConfigFromEnv(func(k string) string { return env[k] })
	if c.ConnectionString != "cs" || c.AccountName != "" {
		t.Fatalf("connection string from env: %+v", c)
	}
	c = Config{ConnectionString: "flag"}
	c.ConfigFromEnv(func(k string) string { return env[k] })
	if c.ConnectionString != "flag" {
		t.Fatal("the flag must win over the environment")
	}
}

func TestHelloWorldPNG(t *testing.T) {
	a, b := HelloWorldPNG(), HelloWorldPNG()
	if !bytes.Equal(a, b) || !bytes.HasPrefix(a, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatal("HelloWorldPNG must be a stable PNG")
	}
}

func TestInteractiveWithoutInput(t *testing.T) {
	cfg := fastConfig(t)
	cfg.Interactive = true
	cfg.Stdin = strings.NewReader("")
	sum, err := Run(context.Background(), cfg)
	if !errors.Is(err, ErrInteractiveNoTerm) {
		t.Fatalf("want ErrInteractiveNoTerm, got %v", err)
	}
	if sum.Reads != 200 {
		t.Fatalf("stopped after %d reads, want 200", sum.Reads)
	}
}

// TestFailedReadsAreCounted makes both locations fail during the outage:
// the client-side outage takes the primary, a server-side rule answers 503
// to downloads (GET, not the HEAD of the replication check) on the
// secondary. Every such read is counted as failed and reported on one line.
func TestFailedReadsAreCounted(t *testing.T) {
	emu := startEmulator(t)
	if _, err := emu.Faults().Add(fault.Rule{
		Endpoint: fault.Secondary,
		Match:    fault.Match{Methods: []string{http.MethodGet}, Blob: BlobName},
		Action:   fault.Action{Status: http.StatusServiceUnavailable},
	}); err != nil {
		t.Fatal(err)
	}
	cfg := fastConfig(t)
	cfg.ConnectionString = emu.ConnectionString()
	cfg.Reads = 60
	cfg.Outages = Outages{{10, 40}}
	sum, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Reads != 60 || sum.Failed == 0 || sum.Primary+sum.Secondary+sum.Failed != 60 {
		t.Fatalf("summary %s", sum)
	}
	for i, loc := range sum.Locations {
		if loc == 'F' && !cfg.Outages.Active(i) {
			t.Errorf("read %d failed outside the outage", i)
		}
	}
	out := cfg.Stdout.(*bytes.Buffer).String()
	want := "Read 10 failed: both primary and secondary are unreachable (primary: 503 ServerBusy; secondary: 503 ServerBusy)\n"
	if !strings.Contains(out, want) {
		t.Errorf("output lacks the one-line failure %q", want)
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "RESPONSE") || strings.HasPrefix(l, "---") {
			t.Fatalf("a failed read dumped the whole response:\n%s", out)
		}
	}
	if names := containers(t, emu); len(names) != 0 {
		t.Fatalf("containers left behind: %v", names)
	}
}

// TestSetupErrorIsOneLine: a setup step the service refuses with an
// unexpected status is reported in one line, still reachable with
// errors.As.
func TestSetupErrorIsOneLine(t *testing.T) {
	emu := startEmulator(t)
	if _, err := emu.Faults().Add(fault.Rule{
		Endpoint: fault.Primary,
		Match:    fault.Match{Op: fault.Write},
		Action:   fault.Action{Status: http.StatusInternalServerError},
	}); err != nil {
		t.Fatal(err)
	}
	cfg := fastConfig(t)
	cfg.ConnectionString = emu.ConnectionString()
	_, err := Run(context.Background(), cfg)
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusInternalServerError {
		t.Fatalf("want the 500 response error, got %v", err)
	}
	if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, "500 InternalError") {
		t.Fatalf("want a one-line error naming the status, got:\n%s", msg)
	}
}

// TestReplicationWaitGivesUp: with replication paused the demo checks the
// secondary CheckAttempts times, printing the original's message for each
// attempt, then stops with ErrNotReplicated and deletes its container.
func TestReplicationWaitGivesUp(t *testing.T) {
	emu := startEmulator(t)
	emu.Replication().Pause()
	cfg := fastConfig(t)
	cfg.ConnectionString = emu.ConnectionString()
	cfg.CheckAttempts = 3
	_, err := Run(context.Background(), cfg)
	if !errors.Is(err, ErrNotReplicated) {
		t.Fatalf("want ErrNotReplicated, got %v", err)
	}
	var attempts []string
	for _, l := range strings.Split(cfg.Stdout.(*bytes.Buffer).String(), "\n") {
		if strings.HasPrefix(l, "Attempt ") {
			attempts = append(attempts, l)
		}
	}
	want := []string{
		"Attempt 1 to see if the blob has replicated to the secondary storage yet.",
		"Attempt 2 to see if the blob has replicated to the secondary storage yet.",
		"Attempt 3 to see if the blob has replicated to the secondary storage yet.",
	}
	if strings.Join(attempts, "\n") != strings.Join(want, "\n") {
		t.Fatalf("attempt lines:\n%s", strings.Join(attempts, "\n"))
	}
	if names := containers(t, emu); len(names) != 0 {
		t.Fatalf("containers left behind: %v", names)
	}
}
