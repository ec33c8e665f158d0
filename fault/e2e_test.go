package fault_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"

	"github.com/geoblob/geoblob/emulator"
	"github.com/geoblob/geoblob/fault"
	"github.com/geoblob/geoblob/internal/clock"
	"github.com/geoblob/geoblob/internal/control"
)

const (
	cont     = "faults"
	blobName = "HelloWorld.png"
)

// env is a running emulator with the official SDK pointed at it.
type env struct {
	t                  *testing.T
	emu                *emulator.Emulator
	primary, secondary *azblob.Client
}

// newEnv starts an emulator, creates the container and uploads blobName on
// the primary. The SDK clients make exactly one request per call (no
// retries, no connection reuse), so every call meets the rules exactly once.
func newEnv(t *testing.T, opts emulator.Options) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	emu, err := emulator.Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		emu.Faults().Close()
		if err := emu.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	e := &env{t: t, emu: emu}
	e.primary = e.client(emu.PrimaryURL())
	e.secondary = e.client(emu.SecondaryURL())
	if _, err := e.primary.CreateContainer(ctx, cont, nil); err != nil {
		t.Fatal(err)
	}
	e.upload(ctx, blobName, []byte("version 1"))
	return e
}

func (e *env) client(url string) *azblob.Client {
	e.t.Helper()
	cred, err := azblob.NewSharedKeyCredential(e.emu.AccountName(), e.emu.AccountKey())
	if err != nil {
		e.t.Fatal(err)
	}
	c, err := azblob.NewClientWithSharedKeyCredential(url, cred, &azblob.ClientOptions{ClientOptions: azcore.ClientOptions{
		Transport: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}},
		Retry:     policy.RetryOptions{MaxRetries: -1},
	}})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *env) upload(ctx context.Context, name string, data []byte) {
	e.t.Helper()
	if _, err := e.primary.UploadBuffer(ctx, cont, name, data, nil); err != nil {
		e.t.Fatalf("upload %s: %v", name, err)
	}
}

func (e *env) add(r fault.Rule) string {
	e.t.Helper()
	id, err := e.emu.Faults().Add(r)
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

func (e *env) fired(id string) int64 {
	e.t.Helper()
	st, err := e.emu.Faults().Get(id)
	if err != nil {
		e.t.Fatal(err)
	}
	return st.Fired
}

func (e *env) sync() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.emu.Replication().Wait(ctx); err != nil {
		e.t.Fatalf("replication wait: %v", err)
	}
}

func get(ctx context.Context, c *azblob.Client, name string) ([]byte, error) {
	resp, err := c.DownloadStream(ctx, cont, name, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

func isConnErr(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) // the client's own write, after the reset closed its connection
}

func statusOf(err error) int {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	if err == nil {
		return 200
	}
	return -1
}

func TestE2EStatus(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	e.sync()
	ctx := context.Background()
	id := e.add(fault.Rule{Endpoint: fault.Primary, Match: fault.Match{Methods: []string{"GET"}, Blob: "HelloWorld"}, Action: fault.Action{Status: 503}})
	e.add(fault.Rule{Endpoint: fault.Secondary, Match: fault.Match{Blob: "other"}, Action: fault.Action{Status: 500, Code: "OperationTimedOut", Message: "too slow"}})

	if _, err := get(ctx, e.primary, blobName); !bloberror.HasCode(err, bloberror.ServerBusy) {
		t.Fatalf("primary read: %v, want 503 ServerBusy", err)
	}
	if b, err := get(ctx, e.secondary, blobName); err != nil || string(b) != "version 1" {
		t.Fatalf("secondary read during the primary outage: %q, %v", b, err)
	}
	// Writes still go through: the rule matches GET only.
	e.upload(ctx, "other", []byte("x"))
	e.sync()
	if _, err := get(ctx, e.secondary, "other"); statusOf(err) != 500 || !bloberror.HasCode(err, bloberror.OperationTimedOut) {
		t.Fatalf("secondary read of other: %v, want 500 OperationTimedOut", err)
	}
	if n := e.fired(id); n != 1 {
		t.Errorf("503 rule fired %d times, want 1", n)
	}
}

func TestE2ELatency(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	const d = 50 * time.Millisecond
	e.add(fault.Rule{Endpoint: fault.Primary, Match: fault.Match{Op: fault.Read}, Action: fault.Action{Latency: fault.Duration(d), Jitter: fault.Duration(10 * time.Millisecond)}})
	start := time.Now()
	b, err := get(context.Background(), e.primary, blobName)
	if err != nil || string(b) != "version 1" {
		t.Fatalf("read: %q, %v", b, err)
	}
	if el := time.Since(start); el < d {
		t.Errorf("answered after %v, before the latency of %v", el, d)
	}
	// Latency then a status: the status arrives, late.
	e.emu.Faults().Clear()
	e.add(fault.Rule{Endpoint: fault.Primary, Action: fault.Action{Latency: fault.Duration(d), Status: 500}})
	start = time.Now()
	if _, err := get(context.Background(), e.primary, blobName); !bloberror.HasCode(err, bloberror.InternalError) {
		t.Fatalf("read: %v, want 500 InternalError", err)
	}
	if el := time.Since(start); el < d {
		t.Errorf("answered after %v, before the latency of %v", el, d)
	}
}

func TestE2EResetRefuseHang(t *testing.T) {
	tests := []struct {
		name    string
		rule    fault.Rule
		client  func(e *env) *azblob.Client
		timeout time.Duration
		check   func(error) bool
	}{
		{"reset primary", fault.Rule{Endpoint: fault.Primary, Action: fault.Action{Reset: true}}, func(e *env) *azblob.Client { return e.primary }, 0, isConnErr},
		{"refuse primary", fault.Rule{Endpoint: fault.Primary, Action: fault.Action{Refuse: true}}, func(e *env) *azblob.Client { return e.primary }, 0, isConnErr},
		{"refuse secondary listener", fault.Rule{Endpoint: fault.Secondary, Action: fault.Action{Refuse: true}}, func(e *env) *azblob.Client { return e.secondary }, 0, isConnErr},
		{"refuse path-style secondary", fault.Rule{Endpoint: fault.Secondary, Action: fault.Action{Refuse: true}}, func(e *env) *azblob.Client {
			return e.client(e.emu.URL() + "/" + e.emu.AccountName() + "-secondary")
		}, 0, isConnErr},
		{"hang until the client gives up", fault.Rule{Endpoint: fault.Primary, Action: fault.Action{Hang: true}}, func(e *env) *azblob.Client { return e.primary }, 100 * time.Millisecond, func(err error) bool {
			return errors.Is(err, context.DeadlineExceeded)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, emulator.Options{})
			e.sync()
			c := tt.client(e)
			id := e.add(tt.rule)
			ctx := context.Background()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			if _, err := get(ctx, c, blobName); !tt.check(err) {
				t.Fatalf("read: %v", err)
			}
			if n := e.fired(id); n != 1 {
				t.Errorf("fired %d times, want 1", n)
			}
			// The other endpoint is untouched, and the faulted one recovers.
			other := e.secondary
			if tt.rule.Endpoint == fault.Secondary {
				other = e.primary
			}
			if b, err := get(context.Background(), other, blobName); err != nil || string(b) != "version 1" {
				t.Errorf("other endpoint: %q, %v", b, err)
			}
			if err := e.emu.Faults().Remove(id); err != nil {
				t.Fatal(err)
			}
			if b, err := get(context.Background(), c, blobName); err != nil || string(b) != "version 1" {
				t.Errorf("after removing the rule: %q, %v", b, err)
			}
		})
	}
}

func TestE2ETruncatedDownload(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	ctx := context.Background()
	data := bytes.Repeat([]byte("0123456789"), 1000)
	e.upload(ctx, "big", data)
	e.add(fault.Rule{Endpoint: fault.Primary, Match: fault.Match{Blob: "big"}, Action: fault.Action{ResetAfterBytes: new(int64(1234))}})
	resp, err := e.primary.DownloadStream(ctx, cont, "big", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.ContentLength == nil || *resp.ContentLength != int64(len(data)) {
		t.Errorf("Content-Length %v, want the full %d", resp.ContentLength, len(data))
	}
	b, err := io.ReadAll(resp.Body)
	if len(b) != 1234 || !isConnErr(err) || !bytes.Equal(b, data[:1234]) {
		t.Fatalf("read %d bytes, %v; want the first 1234 then a connection error", len(b), err)
	}
}

// TestE2EResetDuringUploadKeepsPreviousVersion: a connection that dies
// during an upload never leaves a partial or new version behind.
func TestE2EResetDuringUploadKeepsPreviousVersion(t *testing.T) {
	actions := map[string]fault.Action{
		"mid-request":   {ResetAfterRequestBytes: new(int64(1000))},
		"first byte":    {ResetAfterRequestBytes: new(int64(0))},
		"before answer": {Reset: true},
		"late reset":    {Latency: fault.Duration(10 * time.Millisecond), ResetAfterRequestBytes: new(int64(40000))},
	}
	for name, a := range actions {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, emulator.Options{})
			ctx := context.Background()
			v1 := bytes.Repeat([]byte("a"), 8<<10)
			e.upload(ctx, "doc", v1)
			id := e.add(fault.Rule{Endpoint: fault.Primary, Match: fault.Match{Op: fault.Write, Blob: "doc"}, Action: a})
			_, err := e.primary.UploadBuffer(ctx, cont, "doc", bytes.Repeat([]byte("b"), 64<<10), nil)
			if !isConnErr(err) {
				t.Fatalf("upload: %v, want a connection error", err)
			}
			if n := e.fired(id); n != 1 {
				t.Fatalf("fired %d times", n)
			}
			e.emu.Faults().Clear()
			b, err := get(ctx, e.primary, "doc")
			if err != nil || !bytes.Equal(b, v1) {
				t.Fatalf("after the broken upload the primary holds %d bytes (%.10q...), %v; want version 1", len(b), b, err)
			}
			e.sync()
			if b, err := get(ctx, e.secondary, "doc"); err != nil || !bytes.Equal(b, v1) {
				t.Fatalf("secondary holds %d bytes, %v; want version 1", len(b), err)
			}
		})
	}
}

func TestE2ECount(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	id := e.add(fault.Rule{Endpoint: fault.Primary, Action: fault.Action{Status: 503}, Limits: fault.Limits{Count: 3}})
	var got []int
	for range 5 {
		_, err := get(context.Background(), e.primary, blobName)
		got = append(got, statusOf(err))
	}
	if want := []int{503, 503, 503, 200, 200}; !slices.Equal(got, want) {
		t.Errorf("statuses %v, want %v", got, want)
	}
	if st, _ := e.emu.Faults().Get(id); st.State != fault.Exhausted || st.Fired != 3 {
		t.Errorf("rule %+v", st)
	}
}

func TestE2EForAndAfter(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	clk := clock.NewManual(time.Now())
	e.emu.Faults().SetClock(clk.Now)
	// An outage scheduled 10s from now, lasting 30s.
	e.add(fault.Rule{Endpoint: fault.Primary, Action: fault.Action{Status: 503}, Limits: fault.Limits{After: fault.Duration(10 * time.Second), For: fault.Duration(30 * time.Second)}})
	steps := []struct {
		advance time.Duration
		want    int
	}{{0, 200}, {9 * time.Second, 200}, {time.Second, 503}, {29 * time.Second, 503}, {time.Second, 200}}
	for i, s := range steps {
		clk.Advance(s.advance)
		_, err := get(context.Background(), e.primary, blobName)
		if got := statusOf(err); got != s.want {
			t.Errorf("step %d: status %d (%v), want %d", i, got, err, s.want)
		}
	}
}

func TestE2EProbabilitySeeded(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	rule := fault.Rule{Endpoint: fault.Primary, Action: fault.Action{Status: 503}, Limits: fault.Limits{Probability: new(0.5)}}
	e.emu.Faults().SetRand(rand.NewPCG(2024, 7))
	e.add(rule)
	// A twin set with the same seed predicts every draw.
	twin := fault.NewSet(fault.WithRand(rand.NewPCG(2024, 7)))
	if _, err := twin.Add(rule); err != nil {
		t.Fatal(err)
	}
	failures := 0
	for i := range 40 {
		_, want := twin.Decide(fault.Target{Endpoint: fault.Primary, Method: "GET"})
		_, err := get(context.Background(), e.primary, blobName)
		if got := statusOf(err) == 503; got != want {
			t.Fatalf("request %d: failed=%v, the seeded draw says %v", i, got, want)
		}
		if want {
			failures++
		}
	}
	if failures == 0 || failures == 40 {
		t.Errorf("%d of 40 failed at p=0.5", failures)
	}
}

func stats(t *testing.T, c *azblob.Client) (string, time.Time) {
	t.Helper()
	resp, err := c.ServiceClient().GetStatistics(context.Background(), &service.GetStatisticsOptions{})
	if err != nil {
		t.Fatalf("GetStatistics: %v", err)
	}
	g := resp.GeoReplication
	if g == nil || g.Status == nil || g.LastSyncTime == nil {
		t.Fatalf("GetStatistics: incomplete answer %+v", g)
	}
	return string(*g.Status), *g.LastSyncTime
}

func TestE2EReplicationPauseResume(t *testing.T) {
	clk := emulator.NewManualClock(time.Now())
	e := newEnv(t, emulator.Options{Clock: clk, Lag: time.Second})
	ctx := context.Background()
	clk.Advance(2 * time.Second)
	e.sync()
	if b, err := get(ctx, e.secondary, blobName); err != nil || string(b) != "version 1" {
		t.Fatalf("replicated blob: %q, %v", b, err)
	}

	ctl := &control.Client{BaseURL: e.emu.URL()}
	st, err := ctl.PauseReplication(ctx)
	if err != nil || !st.Paused {
		t.Fatalf("pause: %+v, %v", st, err)
	}
	_, frozen := stats(t, e.secondary)
	e.upload(ctx, "late", []byte("written while paused"))
	for range 3 {
		clk.Advance(10 * time.Second)
		if _, lst := stats(t, e.secondary); !lst.Equal(frozen) {
			t.Fatalf("LastSyncTime moved from %v to %v while paused", frozen, lst)
		}
		if _, err := get(ctx, e.secondary, "late"); !bloberror.HasCode(err, bloberror.BlobNotFound) {
			t.Fatalf("write made while paused is on the secondary: %v", err)
		}
	}

	if st, err = ctl.ResumeReplication(ctx); err != nil || st.Paused {
		t.Fatalf("resume: %+v, %v", st, err)
	}
	e.sync()
	if _, lst := stats(t, e.secondary); !lst.After(frozen) {
		t.Fatalf("LastSyncTime %v did not advance past %v after resume", lst, frozen)
	}
	if b, err := get(ctx, e.secondary, "late"); err != nil || string(b) != "written while paused" {
		t.Fatalf("after resume: %q, %v", b, err)
	}

	// The Go API pauses too.
	e.emu.Replication().Pause()
	if s, _ := ctl.Replication(ctx); !s.Paused {
		t.Error("Go API pause not seen by the control API")
	}
	e.emu.Replication().Resume()
}

func TestE2EReplicationStatus(t *testing.T) {
	e := newEnv(t, emulator.Options{ControlToken: "tok"})
	ctx := context.Background()
	if s, _ := stats(t, e.secondary); s != "live" {
		t.Fatalf("initial status %q", s)
	}
	ctl := &control.Client{BaseURL: e.emu.URL(), Token: "tok"}
	for _, want := range []string{"bootstrap", "unavailable", "live"} {
		if _, err := ctl.SetReplicationStatus(ctx, want); err != nil {
			t.Fatal(err)
		}
		if s, _ := stats(t, e.secondary); s != want {
			t.Errorf("status %q, want %q", s, want)
		}
	}
	if err := e.emu.Replication().SetStatus(emulator.StatusBootstrap); err != nil {
		t.Fatal(err)
	}
	if s, _ := stats(t, e.secondary); s != "bootstrap" {
		t.Errorf("status %q after the Go API set bootstrap", s)
	}
	var ae *control.APIError
	if _, err := ctl.SetReplicationStatus(ctx, "sideways"); !errors.As(err, &ae) || ae.StatusCode != 400 {
		t.Errorf("invalid status: %v", err)
	}
	// A loopback client with a wrong token, or none, is refused.
	bad := &control.Client{BaseURL: e.emu.URL(), Token: "wrong"}
	if _, err := bad.PauseReplication(ctx); !errors.As(err, &ae) || ae.StatusCode != 403 {
		t.Errorf("wrong token: %v", err)
	}
	none := &control.Client{BaseURL: e.emu.URL()}
	if _, err := none.PauseReplication(ctx); !errors.As(err, &ae) || ae.StatusCode != 403 {
		t.Errorf("no token: %v", err)
	}
}

func TestE2EControlAPIIsNeverFaulted(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	e.add(fault.Rule{Endpoint: fault.Both, Action: fault.Action{Refuse: true}})
	ctl := &control.Client{BaseURL: e.emu.URL()}
	list, err := ctl.Faults(context.Background())
	if err != nil || len(list) != 1 {
		t.Fatalf("control API under a refuse-everything rule: %v, %v", list, err)
	}
	if n, err := ctl.ClearFaults(context.Background()); err != nil || n != 1 {
		t.Fatalf("clear: %d, %v", n, err)
	}
	if _, err := get(context.Background(), e.primary, blobName); err != nil {
		t.Fatal(err)
	}
}

// TestE2EClientTransport runs the client-side injector against the
// emulator: the same rules, no server involvement.
func TestE2EClientTransport(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	e.sync()
	rules := fault.NewSet()
	if _, err := rules.Add(fault.Rule{Endpoint: fault.Primary, Match: fault.Match{Op: fault.Read}, Action: fault.Action{Status: 503}}); err != nil {
		t.Fatal(err)
	}
	cred, err := azblob.NewSharedKeyCredential(e.emu.AccountName(), e.emu.AccountKey())
	if err != nil {
		t.Fatal(err)
	}
	hosts := []string{e.emu.ServiceURL(emulator.Secondary, "")}
	opts := &azblob.ClientOptions{ClientOptions: azcore.ClientOptions{
		Transport: &http.Client{Transport: &fault.Transport{Rules: rules, SecondaryHosts: hosts}},
		Retry:     policy.RetryOptions{MaxRetries: -1},
	}}
	for url, want := range map[string]int{
		e.emu.PrimaryURL():   503,
		e.emu.SecondaryURL(): 200,
		e.emu.URL() + "/" + e.emu.AccountName() + "-secondary": 200,
	} {
		c, err := azblob.NewClientWithSharedKeyCredential(url, cred, opts)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := get(context.Background(), c, blobName); statusOf(err) != want {
			t.Errorf("%s: %v, want %d", url, err, want)
		}
	}
	if n := len(e.emu.Faults().List()); n != 0 {
		t.Errorf("server has %d rules", n)
	}
}

// TestE2EHangReleasedOnClose: closing the emulator ends hung requests at
// once instead of waiting for their clients to give up.
func TestE2EHangReleasedOnClose(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	emu, err := emulator.Start(ctx, emulator.Options{})
	if err != nil {
		t.Fatal(err)
	}
	id, err := emu.Faults().Add(fault.Rule{Endpoint: fault.Primary, Action: fault.Action{Hang: true}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		resp, err := http.Get(emu.PrimaryURL() + "/cont/blob") // no deadline: only Close can end it
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	for i := 0; i < 2000; i++ { // bounded wait until the request hangs
		if st, _ := emu.Faults().Get(id); st.Fired == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if err := emu.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := <-done; err == nil {
		t.Error("hung request was answered")
	}
}

// TestE2ERefuseListenerKeepsRuleOrder: on the distinct secondary listener,
// which refuses connections before any request is read, a refuse rule
// still comes after the rules before it.
func TestE2ERefuseListenerKeepsRuleOrder(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	e.sync()
	first := e.add(fault.Rule{Endpoint: fault.Secondary, Action: fault.Action{Status: 503}, Limits: fault.Limits{Count: 2}})
	refuse := e.add(fault.Rule{Endpoint: fault.Secondary, Action: fault.Action{Refuse: true}})
	for _, c := range []*azblob.Client{e.secondary, e.client(e.emu.ServiceURL(emulator.SecondaryPathStyle, ""))} {
		if _, err := get(context.Background(), c, blobName); !bloberror.HasCode(err, bloberror.ServerBusy) {
			t.Fatalf("read from the secondary: %v, want the first rule's 503", err)
		}
	}
	if n := e.fired(refuse); n != 0 {
		t.Fatalf("the second rule fired %d times", n)
	}
	// The first rule is exhausted: now the secondary is down.
	if _, err := get(context.Background(), e.secondary, blobName); !isConnErr(err) {
		t.Fatalf("read after the 503s: %v, want a connection error", err)
	}
	if e.fired(first) != 2 || e.fired(refuse) != 1 {
		t.Errorf("fired %d and %d, want 2 and 1", e.fired(first), e.fired(refuse))
	}
}

// TestE2EScheduledOutageOnEmulatorClock: limits are measured on the
// emulator's own clock, so an outage scheduled through the control API
// starts and ends exactly when a manual clock is advanced.
func TestE2EScheduledOutageOnEmulatorClock(t *testing.T) {
	clk := emulator.NewManualClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	e := newEnv(t, emulator.Options{Clock: clk})
	ctx := context.Background()
	ctl := &control.Client{BaseURL: e.emu.URL()}
	st, err := ctl.AddFault(ctx, fault.Rule{Endpoint: fault.Primary, Action: fault.Action{Status: 503},
		Limits: fault.Limits{After: fault.Duration(10 * time.Second), For: fault.Duration(30 * time.Second)}})
	if err != nil {
		t.Fatal(err)
	}
	if !st.Added.Equal(clk.Now()) || st.State != fault.Pending {
		t.Fatalf("added %v in state %s; want the emulator's time %v, pending", st.Added, st.State, clk.Now())
	}
	steps := []struct {
		advance time.Duration
		status  int
		state   fault.State
	}{
		{0, 200, fault.Pending},
		{10*time.Second - time.Nanosecond, 200, fault.Pending},
		{time.Nanosecond, 503, fault.Active},
		{30*time.Second - time.Nanosecond, 503, fault.Active},
		{time.Nanosecond, 200, fault.Expired},
	}
	for i, s := range steps {
		clk.Advance(s.advance)
		_, err := get(ctx, e.primary, blobName)
		if got := statusOf(err); got != s.status {
			t.Errorf("step %d: status %d (%v), want %d", i, got, err, s.status)
		}
		list, err := ctl.Faults(ctx)
		if err != nil || len(list) != 1 || list[0].State != s.state {
			t.Errorf("step %d: list %+v, %v; want state %s", i, list, err, s.state)
		}
	}
}

// TestE2EResetDuringBlockUploadKeepsPreviousVersion: Put Block and Put
// Block List broken by a reset leave the committed blob as it was, on the
// primary and, after replication, on the secondary; a block whose upload
// was cut is not staged.
func TestE2EResetDuringBlockUploadKeepsPreviousVersion(t *testing.T) {
	blockID := func(i int) string { return base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "block-%03d", i)) }
	body := func(b byte) io.ReadSeekCloser {
		return streaming.NopCloser(bytes.NewReader(bytes.Repeat([]byte{b}, 16<<10)))
	}
	tests := []struct {
		name   string
		match  fault.Match
		action fault.Action
	}{
		{"put block cut mid-body", fault.Match{Methods: []string{"PUT"}}, fault.Action{ResetAfterRequestBytes: new(int64(1000))}},
		{"put block list cut mid-body", fault.Match{Methods: []string{"PUT"}}, fault.Action{ResetAfterRequestBytes: new(int64(40))}},
		{"put block list reset before the answer", fault.Match{Methods: []string{"PUT"}}, fault.Action{Reset: true}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, emulator.Options{})
			ctx := context.Background()
			bb := e.primary.ServiceClient().NewContainerClient(cont).NewBlockBlobClient("doc")
			if _, err := bb.StageBlock(ctx, blockID(0), body('a'), nil); err != nil {
				t.Fatal(err)
			}
			if _, err := bb.CommitBlockList(ctx, []string{blockID(0)}, nil); err != nil {
				t.Fatal(err)
			}
			v1 := bytes.Repeat([]byte{'a'}, 16<<10)
			if _, err := bb.StageBlock(ctx, blockID(1), body('b'), nil); err != nil {
				t.Fatal(err)
			}
			id := e.add(fault.Rule{Endpoint: fault.Primary, Match: tt.match, Action: tt.action, Limits: fault.Limits{Count: 1}})
			var err error
			if i == 0 {
				_, err = bb.StageBlock(ctx, blockID(2), body('c'), nil)
			} else {
				_, err = bb.CommitBlockList(ctx, []string{blockID(1)}, nil)
			}
			if !isConnErr(err) || e.fired(id) != 1 {
				t.Fatalf("faulted request: %v (fired %d), want a connection error", err, e.fired(id))
			}
			if i == 0 {
				// The cut block is not staged: committing it is refused.
				if _, err := bb.CommitBlockList(ctx, []string{blockID(1), blockID(2)}, nil); !bloberror.HasCode(err, bloberror.InvalidBlockList) {
					t.Fatalf("commit of the cut block: %v, want InvalidBlockList", err)
				}
			}
			e.sync()
			for name, c := range map[string]*azblob.Client{"primary": e.primary, "secondary": e.secondary} {
				if b, err := get(ctx, c, "doc"); err != nil || !bytes.Equal(b, v1) {
					t.Errorf("%s holds %d bytes (%.8q...), %v; want version 1", name, len(b), b, err)
				}
			}
		})
	}
}
