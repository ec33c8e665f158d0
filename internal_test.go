package geoblob

import (
	"bufio"
	"context"
	"errors"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
)

func TestParseConnectionString(t *testing.T) {
	f, err := os.Open("testdata/connstrings.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		n++
		fields := strings.Split(line, " | ")
		if len(fields) != 5 {
			t.Fatalf("bad fixture line %q", line)
		}
		in, account, primary, secondary, wantErr := fields[0], fields[1], fields[2], fields[3], fields[4]
		t.Run(in, func(t *testing.T) {
			cs, err := ParseConnectionString(in)
			if wantErr != "-" {
				if err == nil || !strings.Contains(err.Error(), wantErr) || !errors.Is(err, ErrInvalidConfig) {
					t.Fatalf("err = %v, want %q", err, wantErr)
				}
				if strings.Contains(err.Error(), "a2V5") {
					t.Fatal("error quotes the key")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if secondary == "-" {
				secondary = ""
			}
			if cs.AccountName != account || cs.PrimaryURL != primary || cs.SecondaryURL != secondary {
				t.Fatalf("got %+v", cs)
			}
			if s := cs.String(); strings.Contains(s, "a2V5") || strings.Contains(s, "sig=abc") || strings.Contains(s, DevAccountKey) {
				t.Fatalf("String leaks a secret: %s", s)
			}
		})
	}
	if n == 0 {
		t.Fatal("no fixtures")
	}
}

func TestDeriveSecondary(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://acct.blob.core.windows.net", "https://acct-secondary.blob.core.windows.net"},
		{"https://acct.blob.core.windows.net/?sv=1&sig=x", "https://acct-secondary.blob.core.windows.net"},
		{"https://acct.blob.core.usgovcloudapi.net:443/", "https://acct-secondary.blob.core.usgovcloudapi.net:443"},
		{"http://127.0.0.1:10000/devstoreaccount1", "http://127.0.0.1:10000/devstoreaccount1-secondary"},
		{"http://localhost:10000/devstoreaccount1/", "http://localhost:10000/devstoreaccount1-secondary"},
		{"http://[::1]:10000/acct", "http://[::1]:10000/acct-secondary"},
	} {
		got, err := deriveSecondary(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("deriveSecondary(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "ftp://x/y", "http://127.0.0.1:10000/", "https://nodots/"} {
		if _, err := deriveSecondary(bad); err == nil {
			t.Errorf("deriveSecondary(%q) succeeded", bad)
		}
	}
}

func TestMoveRewritesHostAndPath(t *testing.T) {
	p, _, _ := parseEndpoint("http://127.0.0.1:10000/devstoreaccount1")
	s, _, _ := parseEndpoint("http://127.0.0.1:10000/devstoreaccount1-secondary")
	u, _ := url.Parse("http://127.0.0.1:10000/devstoreaccount1/c/b%20x?comp=x")
	if !p.matches(u) || s.matches(u) {
		t.Fatal("matches")
	}
	req := &http.Request{URL: u, Host: u.Host}
	move(req, &p, &s)
	if got := u.String(); got != "http://127.0.0.1:10000/devstoreaccount1-secondary/c/b%20x?comp=x" {
		t.Fatalf("moved to %s", got)
	}
	other, _ := url.Parse("http://127.0.0.1:10000/devstoreaccount12/c")
	if p.matches(other) {
		t.Fatal("a longer account name must not match")
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		want []error // nil: valid
	}{
		{"default", func(*Config) {}, nil},
		{"zero value", func(c *Config) { *c = Config{} }, nil},
		{"threshold disabled, ratio on", func(c *Config) { c.FailureThreshold, c.FailureRatio = -1, 0.5 }, nil},
		{"never trips", func(c *Config) { c.FailureThreshold = -1 }, []error{ErrInvalidConfig, ErrNeverTrips}},
		{"slow calls alone trip", func(c *Config) { c.FailureThreshold, c.SlowCallThreshold = -1, time.Second }, nil},
		{"ratio above 1", func(c *Config) { c.FailureRatio = 1.5 }, []error{ErrInvalidConfig}},
		{"count failback off, background probe on", func(c *Config) { c.FailbackReads = -1 }, nil},
		{"never fails back", func(c *Config) { c.FailbackReads, c.ProbeInterval = -1, -1 }, []error{ErrInvalidConfig, ErrNeverFailsBack}},
		{"time failback", func(c *Config) { c.FailbackReads, c.ProbeInterval, c.FailbackAfter = -1, -1, time.Second }, nil},
		{"backoff below 1", func(c *Config) { c.ProbeBackoff = 0.5 }, []error{ErrInvalidConfig}},
		{"negative probes", func(c *Config) { c.ProbeSuccesses = -1 }, []error{ErrInvalidConfig}},
		{"max probes below probes", func(c *Config) { c.ProbeSuccesses, c.MaxProbeSuccesses = 4, 2 }, []error{ErrInvalidConfig}},
		{"bad mode", func(c *Config) { c.Mode = 7 }, []error{ErrInvalidConfig}},
		{"bad budget", func(c *Config) { c.Hedge.Budget = 2 }, []error{ErrInvalidConfig}},
		{"negative staleness", func(c *Config) { c.MaxStaleness = -1 }, []error{ErrInvalidConfig}},
		{"negative window", func(c *Config) { c.Window = -1 }, []error{ErrInvalidConfig}},
	} {
		c := DefaultConfig()
		tc.mod(c)
		err := c.Validate()
		if (err == nil) != (tc.want == nil) {
			t.Errorf("%s: Validate() = %v", tc.name, err)
		}
		for _, w := range tc.want {
			if !errors.Is(err, w) {
				t.Errorf("%s: Validate() = %v, want it to wrap %v", tc.name, err, w)
			}
		}
	}
}

// TestZeroConfigIsDefault: every zero field of a Config resolves to
// DefaultConfig's value, and negative values stay (disabled).
func TestZeroConfigIsDefault(t *testing.T) {
	got, want := Config{}.resolved(), DefaultConfig().resolved()
	got.Logger, want.Logger, got.Now, want.Now = nil, nil, nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Config{} resolves to\n%+v\nDefaultConfig() to\n%+v", got, want)
	}
	off := Config{FailureThreshold: -1, FailbackReads: -1, ProbeInterval: -1, AttemptTimeout: -1}.resolved()
	if off.FailureThreshold != -1 || off.FailbackReads != -1 || off.ProbeInterval != -1 || off.AttemptTimeout != -1 {
		t.Fatalf("negative values changed: %+v", off)
	}
	// The ratio rule with the default MinThroughput does not trip on the
	// first failure.
	r, err := NewRouter("https://a.blob.core.windows.net", &Config{FailureThreshold: -1, FailureRatio: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	if tr := r.br.Failure(time.Now(), ""); tr != nil {
		t.Fatalf("ratio rule tripped on the first failure: %+v", tr)
	}
}

// captureTransport records requests and answers 200.
type captureTransport struct{ reqs []*http.Request }

func (c *captureTransport) Do(req *http.Request) (*http.Response, error) {
	c.reqs = append(c.reqs, req.Clone(req.Context()))
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Length": {"0"}}, Body: http.NoBody, Request: req}, nil
}

// TestResignMatchesAzblob checks the router's Shared Key signer against
// the signature azblob computes for the very same request, then that a
// moved request is signed for its new path.
func TestResignMatchesAzblob(t *testing.T) {
	const base = "http://127.0.0.1:10000/" + DevAccountName
	cred, err := azblob.NewSharedKeyCredential(DevAccountName, DevAccountKey)
	if err != nil {
		t.Fatal(err)
	}
	ct := &captureTransport{}
	o := &azblob.ClientOptions{}
	o.Transport = ct
	c, err := azblob.NewClientWithSharedKeyCredential(base, cred, o)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	etag := azcore.ETag(`"0x8D"`)
	_, _ = c.DownloadStream(ctx, "cont", "dir/b x.txt", &blob.DownloadStreamOptions{
		Range:            blob.HTTPRange{Offset: 10, Count: 100},
		AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: &etag}},
	})
	_, _ = c.ServiceClient().GetStatistics(ctx, nil)
	pager := c.NewListBlobsFlatPager("cont", &azblob.ListBlobsFlatOptions{Prefix: ptr("p/")})
	_, _ = pager.NextPage(ctx)
	_, _ = c.ServiceClient().NewContainerClient("cont").NewBlobClient("b").GetProperties(ctx, nil)
	if len(ct.reqs) < 4 {
		t.Fatalf("captured %d requests", len(ct.reqs))
	}
	r, err := NewRouter(base, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.SetAccountKey(DevAccountName, DevAccountKey); err != nil {
		t.Fatal(err)
	}
	for _, req := range ct.reqs {
		want := req.Header.Get("Authorization")
		r.resign(req)
		if got := req.Header.Get("Authorization"); got != want {
			t.Errorf("%s %s: signature %q, azblob's %q", req.Method, req.URL, got, want)
		}
		r.readdress(req, Secondary)
		if !strings.HasPrefix(req.URL.Path, "/"+DevAccountName+"-secondary") || req.Header.Get("Authorization") == want {
			t.Errorf("moved request %s not re-signed", req.URL)
		}
		sts, _ := stringToSign(DevAccountName, req)
		if !strings.Contains(sts, "/"+DevAccountName+"/"+DevAccountName+"-secondary") {
			t.Errorf("string to sign lacks the secondary path: %q", sts)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// TestPathStyleHosts: emulators reached by a single-label host name (a
// docker-compose service such as "azurite") are path-style, and two
// explicit URLs on one host that differ by their account segment are too.
func TestPathStyleHosts(t *testing.T) {
	for _, tc := range []struct{ primary, secondary, wantSecondary string }{
		{"http://azurite:10000/devstoreaccount1", "", "http://azurite:10000/devstoreaccount1-secondary"},
		{"http://blobs.internal:10000/acct", "http://blobs.internal:10000/acct-secondary", "http://blobs.internal:10000/acct-secondary"},
		{"https://acct.blob.core.windows.net", "", "https://acct-secondary.blob.core.windows.net"},
	} {
		cfg := DefaultConfig()
		cfg.SecondaryURL = tc.secondary
		r, err := NewRouter(tc.primary, cfg)
		if err != nil {
			t.Errorf("NewRouter(%q, %q): %v", tc.primary, tc.secondary, err)
			continue
		}
		if r.SecondaryURL() != tc.wantSecondary {
			t.Errorf("secondary %q, want %q", r.SecondaryURL(), tc.wantSecondary)
		}
		u, _ := url.Parse(tc.primary + "/c/b")
		req := &http.Request{URL: u, Host: u.Host, Header: http.Header{}}
		r.readdress(req, Secondary)
		if want := tc.wantSecondary + "/c/b"; req.URL.String() != want {
			t.Errorf("moved to %s, want %s", req.URL, want)
		}
	}
	cfg := DefaultConfig()
	cfg.SecondaryURL = "http://blobs.internal:10000/acct/"
	if _, err := NewRouter("http://blobs.internal:10000/acct", cfg); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("same endpoint twice: %v", err)
	}
}

// TestLatencies checks the quantiles and that recording latencies
// allocates nothing.
func TestLatencies(t *testing.T) {
	var l latencies
	for i := range 1000 {
		l.observe(time.Duration(i%100+1) * time.Millisecond)
	}
	if p := time.Duration(l.p95.Load()); p < 90*time.Millisecond || p > 100*time.Millisecond {
		t.Fatalf("p95 = %v", p)
	}
	if p := time.Duration(l.p99.Load()); p < 98*time.Millisecond || p > 100*time.Millisecond {
		t.Fatalf("p99 = %v", p)
	}
	// One allocation per p95Every calls would round to 0 in
	// testing.AllocsPerRun; count them all.
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 100 * p95Every {
		l.observe(time.Millisecond)
	}
	runtime.ReadMemStats(&after)
	if n := after.Mallocs - before.Mallocs; n > 10 {
		t.Fatalf("%d allocations for %d observations", n, 100*p95Every)
	}
}

// TestHedgeDelay: no hedge before a p95 exists, then the p95, at least
// MinDelay.
func TestHedgeDelay(t *testing.T) {
	var l latencies
	h := newHedger(&HedgeConfig{MinDelay: 5 * time.Millisecond, Budget: 0.05, Burst: 10}, &l)
	if _, ok := h.delay(); ok {
		t.Fatal("a delay before any sample")
	}
	for range p95Every {
		l.observe(time.Millisecond)
	}
	if d, ok := h.delay(); !ok || d != 5*time.Millisecond {
		t.Fatalf("delay = %v, %v", d, ok)
	}
}

// TestAdaptiveAttemptBound: four times the p99, between 500ms and 1s; a
// configured bound wins.
func TestAdaptiveAttemptBound(t *testing.T) {
	for _, tc := range []struct {
		name    string
		sample  time.Duration
		samples int
		want    time.Duration
	}{
		{"no samples", 0, 0, minAttemptTimeout},
		{"fast primary: floor", 10 * time.Millisecond, 512, minAttemptTimeout},
		{"200ms primary", 200 * time.Millisecond, 512, 800 * time.Millisecond},
		{"slow primary: cap", 2 * time.Second, 512, maxAttemptTimeout},
	} {
		r, err := NewRouter("https://a.blob.core.windows.net", nil)
		if err != nil {
			t.Fatal(err)
		}
		for range tc.samples {
			r.lat.observe(tc.sample)
		}
		if got := r.AttemptTimeout(); got != tc.want {
			t.Errorf("%s: bound %v, want %v", tc.name, got, tc.want)
		}
	}
	r, _ := NewRouter("https://a.blob.core.windows.net", &Config{AttemptTimeout: 42 * time.Millisecond})
	if got := r.AttemptTimeout(); got != 42*time.Millisecond {
		t.Errorf("configured bound: %v", got)
	}
}
