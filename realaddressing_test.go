package geoblob_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/geoblob/geoblob"
	"github.com/geoblob/geoblob/emulator"
	"github.com/geoblob/geoblob/fault"
	"github.com/geoblob/geoblob/internal/testenv"
)

// wireLog is a transport that records, for every request it sends, the
// host and the scheme of its Authorization header.
type wireLog struct {
	next policy.Transporter
	mu   sync.Mutex
	seen map[string]int // "host scheme" -> requests
}

func (w *wireLog) Do(req *http.Request) (*http.Response, error) {
	scheme, _, _ := strings.Cut(req.Header.Get("Authorization"), " ")
	if scheme == "" && req.URL.Query().Has("sig") {
		scheme = "SAS"
	}
	w.mu.Lock()
	w.seen[req.URL.Host+" "+scheme]++
	w.mu.Unlock()
	return w.next.Do(req)
}

func (w *wireLog) count(host, scheme string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.seen[host+" "+scheme]
}

func (w *wireLog) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return fmt.Sprint(w.seen)
}

// realOptions are client options for the emulator's host-style names and
// certificate, with short SDK retries and a wire log.
func realOptions(t *testing.T, emu *emulator.Emulator) (*azblob.ClientOptions, *wireLog) {
	hc := emu.HTTPClient()
	t.Cleanup(hc.CloseIdleConnections)
	w := &wireLog{next: hc, seen: map[string]int{}}
	o := &azblob.ClientOptions{ClientOptions: azcore.ClientOptions{
		Transport: w,
		Retry:     policy.RetryOptions{MaxRetries: 2, RetryDelay: time.Millisecond, MaxRetryDelay: 5 * time.Millisecond},
	}}
	return o, w
}

func realConfig() *geoblob.Config {
	cfg := geoblob.DefaultConfig()
	cfg.Logger = quietLogger()
	boundForTests(cfg)
	return cfg
}

func tlsOptions(t *testing.T) emulator.Options {
	t.Helper()
	cert, err := emulator.NewCertificate()
	if err != nil {
		t.Fatal(err)
	}
	// No distinct secondary listener: the -secondary host-style name on
	// the primary's port is the only way to the secondary, so a read it
	// serves proves the derived host.
	return emulator.Options{TLS: cert.ServerTLS(), OAuth: true, NoSecondaryListener: true}
}

func hostOf(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// readThroughOutage writes a blob, breaks the primary's reads with 503 and
// checks that every read is served, with the right bytes, by the secondary;
// then it ends the outage and checks Staleness through the secondary.
func readThroughOutage(t *testing.T, e *env) {
	t.Helper()
	ctx := context.Background()
	if _, err := e.client.CreateContainer(ctx, testContainer, nil); err != nil {
		t.Fatal(err)
	}
	e.put(t, "real.txt", []byte("real addressing"))
	if b, st, err := e.get(ctx, "real.txt"); err != nil || string(b) != "real addressing" || st.Location != geoblob.Primary {
		t.Fatalf("read before the outage: %q %+v %v", b, st, err)
	}
	id := e.fault(t, outage(fault.Primary, http.StatusServiceUnavailable))
	for i := range 7 {
		b, st, err := e.get(ctx, "real.txt")
		if err != nil || string(b) != "real addressing" || st.Location != geoblob.Secondary {
			t.Fatalf("read %d during the outage: %q %+v %v", i, b, st, err)
		}
	}
	if e.fired(t, id) == 0 {
		t.Fatal("the outage never fired")
	}
	if c := e.router.Counters(); c.SecondaryReads < 7 {
		t.Fatalf("counters %+v: want at least 7 secondary reads", c)
	}
	if s, err := e.router.Staleness(ctx); err != nil || s.Status != "live" {
		t.Fatalf("Staleness through the secondary: %+v %v", s, err)
	}
	// The outage ends: reads fail back to the primary (after
	// Config.FailbackReads secondary reads, the probe that follows).
	if err := e.emu.Faults().Remove(id); err != nil {
		t.Fatal(err)
	}
	for i := 0; e.router.State() != geoblob.Closed; i++ {
		if i > 40 {
			t.Fatalf("no fail-back after the outage: %v", e.router.State())
		}
		if b, st, err := e.get(ctx, "real.txt"); err != nil || string(b) != "real addressing" {
			t.Fatalf("read %d after the outage: %q %+v %v", i, b, st, err)
		}
	}
}

// readThroughPlannedFailover swaps the regions with a planned failover and
// checks that reads keep returning the right bytes and that writes after it
// land on the new primary and are read back.
func readThroughPlannedFailover(t *testing.T, e *env) {
	t.Helper()
	ctx := context.Background()
	e.put(t, "before.txt", []byte("before the failover"))
	rep, err := e.emu.Failover(ctx, emulator.Planned)
	if err != nil {
		t.Fatal(err)
	}
	if rep.From == rep.To || len(rep.Lost) != 0 {
		t.Fatalf("planned failover report %+v", rep)
	}
	want := map[string]string{"real.txt": "real addressing", "before.txt": "before the failover"}
	for i := range 10 {
		for name, w := range want {
			if b, st, err := e.get(ctx, name); err != nil || string(b) != w {
				t.Fatalf("read %d of %s after the failover: %q %+v %v", i, name, b, st, err)
			}
		}
	}
	e.put(t, "after.txt", []byte("after the failover"))
	if b, st, err := e.get(ctx, "after.txt"); err != nil || string(b) != "after the failover" {
		t.Fatalf("read of a write after the failover: %q %+v %v", b, st, err)
	}
}

// TestNewClientTokenOverHTTPS: NewClient with an Entra ID token credential
// on the emulator's HTTPS host-style endpoint, through a primary outage and
// a planned failover. The library derives ACCOUNT-secondary.blob.localhost
// and sends the bearer token there.
func TestNewClientTokenOverHTTPS(t *testing.T) {
	emu := testenv.Emulator(t, tlsOptions(t))
	opts, wire := realOptions(t, emu)
	primary := emu.HostStyleURL(emulator.Primary, "")
	client, router, err := geoblob.NewClient(primary, &emulator.DevTokenCredential{}, realConfig(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = router.Close() })
	if want := emu.HostStyleURL(emulator.Secondary, ""); router.SecondaryURL() != want {
		t.Fatalf("derived secondary %q, want %q", router.SecondaryURL(), want)
	}
	e := &env{emu: emu, client: client, router: router}
	readThroughOutage(t, e)
	readThroughPlannedFailover(t, e)
	if wire.count(hostOf(t, emu.HostStyleURL(emulator.Secondary, "")), "Bearer") < 7 {
		t.Fatalf("bearer token not sent to the secondary host: %v", wire)
	}
}

// TestNewClientWithSharedKeyHostStyle: NewClientWithSharedKey on host-style
// URLs, over HTTP and HTTPS, through a primary outage and a planned
// failover. The Shared Key signature made for the primary
// host stays valid on the secondary host, which verifies it.
func TestNewClientWithSharedKeyHostStyle(t *testing.T) {
	for _, https := range []bool{false, true} {
		t.Run(fmt.Sprintf("https=%v", https), func(t *testing.T) {
			eo := emulator.Options{NoSecondaryListener: true}
			if https {
				eo = tlsOptions(t)
			}
			emu := testenv.Emulator(t, eo)
			opts, wire := realOptions(t, emu)
			client, router, err := geoblob.NewClientWithSharedKey(emu.HostStyleURL(emulator.Primary, ""), emu.AccountName(), emu.AccountKey(), realConfig(), opts)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = router.Close() })
			if want := emu.HostStyleURL(emulator.Secondary, ""); router.SecondaryURL() != want {
				t.Fatalf("derived secondary %q, want %q", router.SecondaryURL(), want)
			}
			e := &env{emu: emu, client: client, router: router}
			readThroughOutage(t, e)
			readThroughPlannedFailover(t, e)
			readThroughUnplannedFailover(t, e, opts)
			if wire.count(hostOf(t, emu.HostStyleURL(emulator.Secondary, "")), "SharedKey") < 7 {
				t.Fatalf("no Shared Key reads on the secondary host: %v", wire)
			}
		})
	}
}

// readThroughUnplannedFailover promotes the secondary with nothing pending:
// nothing is lost, reads keep returning the right bytes from the new
// primary, and the host-style secondary name answers as an LRS account's
// would.
func readThroughUnplannedFailover(t *testing.T, e *env, opts *azblob.ClientOptions) {
	t.Helper()
	ctx := context.Background()
	rep, err := e.emu.Failover(ctx, emulator.Unplanned)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Lost) != 0 {
		t.Fatalf("unplanned failover with nothing pending lost %+v", rep.Lost)
	}
	for i := range 10 {
		if b, st, err := e.get(ctx, "after.txt"); err != nil || string(b) != "after the failover" {
			t.Fatalf("read %d after the unplanned failover: %q %+v %v", i, b, st, err)
		}
	}
	cred, err := azblob.NewSharedKeyCredential(e.emu.AccountName(), e.emu.AccountKey())
	if err != nil {
		t.Fatal(err)
	}
	sec, err := azblob.NewClientWithSharedKeyCredential(e.emu.HostStyleURL(emulator.Secondary, ""), cred, opts)
	if err != nil {
		t.Fatal(err)
	}
	_, err = sec.DownloadStream(ctx, testContainer, "after.txt", nil)
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusForbidden {
		t.Fatalf("host-style secondary of an LRS account: %v, want 403", err)
	}
}

// TestNewClientFromConnectionStringHostStyle: connection strings that name
// host-style endpoints, explicitly (BlobEndpoint and BlobSecondaryEndpoint)
// or through EndpointSuffix (the secondary then derived), over HTTPS,
// through a primary outage and a planned failover.
func TestNewClientFromConnectionStringHostStyle(t *testing.T) {
	tests := []struct {
		name string
		cs   func(*emulator.Emulator) string
	}{
		{"endpoints", func(emu *emulator.Emulator) string { return emu.HostStyleConnectionString() }},
		{"endpoint suffix", func(emu *emulator.Emulator) string {
			return "DefaultEndpointsProtocol=https;AccountName=" + emu.AccountName() + ";AccountKey=" + emu.AccountKey() +
				";EndpointSuffix=localhost:" + strings.TrimPrefix(hostOf(t, emu.URL()), "127.0.0.1:")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			emu := testenv.Emulator(t, tlsOptions(t))
			cs := tt.cs(emu)
			if !strings.Contains(cs, "https") {
				t.Fatalf("connection string %q is not https", cs)
			}
			opts, wire := realOptions(t, emu)
			client, router, err := geoblob.NewClientFromConnectionString(cs, realConfig(), opts)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = router.Close() })
			if want := emu.HostStyleURL(emulator.Secondary, ""); router.SecondaryURL() != want {
				t.Fatalf("secondary %q, want %q", router.SecondaryURL(), want)
			}
			e := &env{emu: emu, client: client, router: router}
			readThroughOutage(t, e)
			readThroughPlannedFailover(t, e)
			if wire.count(hostOf(t, emu.HostStyleURL(emulator.Secondary, "")), "SharedKey") < 7 {
				t.Fatalf("no Shared Key reads on the secondary host: %v", wire)
			}
		})
	}
}
