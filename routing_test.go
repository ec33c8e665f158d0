package geoblob_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	azruntime "github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/geoblob/geoblob"
	"github.com/geoblob/geoblob/emulator"
	"github.com/geoblob/geoblob/fault"
	"github.com/geoblob/geoblob/internal/testenv"
)

func TestForceModes(t *testing.T) {
	f, c, r := newFake(t, nil)
	r.Force(geoblob.SecondaryOnly)
	if got, _ := read(c); got != "data-secondary" {
		t.Fatalf("SecondaryOnly read %q", got)
	}
	r.Force(geoblob.PrimaryOnly)
	f.status[geoblob.Primary].Store(503)
	before := f.calls[geoblob.Secondary].Load()
	if _, err := read(c); err == nil {
		t.Fatal("PrimaryOnly must not fall back")
	}
	if f.calls[geoblob.Secondary].Load() != before {
		t.Fatal("PrimaryOnly touched the secondary")
	}
	r.Force(geoblob.Auto)
	if got, err := read(c); err != nil || got != "data-secondary" {
		t.Fatalf("Auto read: %q %v", got, err)
	}
}

// TestWritesNeverReachSecondary sends every kind of write in every mode;
// none may reach the secondary.
func TestWritesNeverReachSecondary(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(*geoblob.Config)
		prep  func(*fakeStorage, *azblob.Client, *geoblob.Router)
	}{
		{"auto closed", nil, nil},
		{"auto open, writes allowed", func(c *geoblob.Config) { c.AllowWritesWhileDown = true }, func(f *fakeStorage, c *azblob.Client, r *geoblob.Router) {
			f.status[geoblob.Primary].Store(503)
			for r.State() == geoblob.Closed {
				_, _ = read(c)
			}
		}},
		{"secondary-only", nil, func(_ *fakeStorage, _ *azblob.Client, r *geoblob.Router) { r.Force(geoblob.SecondaryOnly) }},
		{"primary-only", nil, func(_ *fakeStorage, _ *azblob.Client, r *geoblob.Router) { r.Force(geoblob.PrimaryOnly) }},
		{"hedging, slow primary", func(c *geoblob.Config) {
			c.Hedge = geoblob.HedgeConfig{Enabled: true, Delay: time.Millisecond, Budget: 1, Burst: 100}
		}, func(f *fakeStorage, _ *azblob.Client, _ *geoblob.Router) {
			f.delay[geoblob.Primary].Store(int64(5 * time.Millisecond))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := geoblob.DefaultConfig()
			if tc.setup != nil {
				tc.setup(cfg)
			}
			f, c, r := newFake(t, cfg)
			if tc.prep != nil {
				tc.prep(f, c, r)
			}
			ctx := context.Background()
			bc := c.ServiceClient().NewContainerClient("c").NewBlockBlobClient("b")
			_, _ = c.UploadBuffer(ctx, "c", "b", []byte("x"), nil)
			_, _ = bc.SetMetadata(ctx, map[string]*string{"k": ptr("v")}, nil)
			_, _ = bc.Delete(ctx, nil)
			_, _ = c.CreateContainer(ctx, "c2", nil)
			_, _ = c.ServiceClient().SetProperties(ctx, nil)
			// Not a real operation, but it must not be mistaken for Get Blob
			// Service Stats and sent to the secondary.
			pl := azruntime.NewPipeline("t", "v", azruntime.PipelineOptions{}, &policy.ClientOptions{
				Transport: f, PerRetryPolicies: []policy.Policy{r}, Retry: policy.RetryOptions{MaxRetries: -1},
			})
			req, err := azruntime.NewRequest(ctx, http.MethodPut, fakeURL+"?restype=service&comp=stats")
			if err != nil {
				t.Fatal(err)
			}
			if resp, err := pl.Do(req); err == nil {
				azruntime.Drain(resp)
			}
			if n := f.secWrites.Load(); n != 0 {
				t.Fatalf("%d writes reached the secondary", n)
			}
		})
	}
}

func TestWriteFastFail(t *testing.T) {
	for _, allow := range []bool{false, true} {
		t.Run(fmt.Sprint("allow=", allow), func(t *testing.T) {
			cfg := geoblob.DefaultConfig()
			cfg.AllowWritesWhileDown = allow
			e := newEnv(t, emulator.Options{}, cfg)
			e.put(t, "w.txt", []byte("w"))
			e.fault(t, outage(fault.Primary, 503)) // reads only
			ctx := context.Background()
			for range 5 {
				if _, _, err := e.get(ctx, "w.txt"); err != nil {
					t.Fatal(err)
				}
			}
			if e.router.State() != geoblob.Open {
				t.Fatal("breaker did not open")
			}
			_, err := e.client.UploadBuffer(ctx, testContainer, "w2.txt", []byte("w2"), nil)
			if allow {
				if err != nil {
					t.Fatalf("write with AllowWritesWhileDown: %v", err)
				}
				return
			}
			if !errors.Is(err, geoblob.ErrPrimaryUnavailable) {
				t.Fatalf("write err = %v, want ErrPrimaryUnavailable", err)
			}
			if c := e.router.Counters(); c.RejectedWrites != 1 {
				t.Fatalf("counters = %+v", c)
			}
		})
	}
}

func TestStatsGoToSecondary(t *testing.T) {
	f, _, r := newFake(t, nil)
	s, err := r.Staleness(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if s.Status != "live" || !s.LastSyncTime.Equal(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("stats = %+v", s)
	}
	if f.stats[geoblob.Primary].Load() != 0 || f.stats[geoblob.Secondary].Load() != 1 {
		t.Fatal("Get Blob Service Stats must go to the secondary only")
	}
}

func TestSecondaryNotReplicatedFallsBackToPrimary(t *testing.T) {
	for _, tc := range []struct {
		name     string
		old      bool // an old version is on the secondary
		ifMatch  bool
		wantBody string
	}{
		{"missing blob 404", false, false, "new"},
		{"old version with If-Match 412", true, true, "new"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, emulator.Options{}, nil)
			ctx := context.Background()
			if tc.old {
				e.put(t, "n.txt", []byte("old"))
			}
			e.emu.Replication().Pause()
			up, err := e.client.UploadBuffer(ctx, testContainer, "n.txt", []byte("new"), nil)
			if err != nil {
				t.Fatal(err)
			}
			e.router.Force(geoblob.SecondaryOnly)
			var o *blob.DownloadStreamOptions
			if tc.ifMatch {
				o = &blob.DownloadStreamOptions{AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: up.ETag}}}
			}
			var info geoblob.ReadInfo
			resp, err := e.client.DownloadStream(geoblob.WithReadInfo(ctx, &info), testContainer, "n.txt", o)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if string(b) != tc.wantBody {
				t.Fatalf("got %q, want %q", b, tc.wantBody)
			}
			if st := info.Last(); st.Location != geoblob.Primary || !st.Fallback {
				t.Fatalf("status = %+v, want a fallback to the primary", st)
			}
			if c := e.router.Counters(); c.NotReplicated == 0 || c.Errors != 0 {
				t.Fatalf("counters = %+v", c)
			}
		})
	}
}

// TestPathStyleSecondary runs against an emulator whose secondary is only
// reachable path-style (/ACCOUNT-secondary): the secondary URL is derived,
// and requests moved there are signed again for that path.
func TestPathStyleSecondary(t *testing.T) {
	ctx := context.Background()
	emu := testenv.Emulator(t, emulator.Options{NoSecondaryListener: true})
	cfg := geoblob.DefaultConfig()
	cfg.Logger = quietLogger()
	boundForTests(cfg)
	client, router, err := geoblob.NewClientWithSharedKey(emu.PrimaryURL(), emu.AccountName(), emu.AccountKey(), cfg, clientOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = router.Close() })
	if want := emu.PrimaryURL() + "-secondary"; router.SecondaryURL() != want {
		t.Fatalf("derived secondary %q, want %q", router.SecondaryURL(), want)
	}
	e := &env{emu: emu, client: client, router: router}
	if _, err := client.CreateContainer(ctx, testContainer, nil); err != nil {
		t.Fatal(err)
	}
	e.put(t, "p.txt", []byte("path-style"))
	e.fault(t, outage(fault.Primary, 503))
	for i := range 7 {
		b, st, err := e.get(ctx, "p.txt")
		if err != nil || string(b) != "path-style" || st.Location != geoblob.Secondary {
			t.Fatalf("read %d: %q %+v %v", i, b, st, err)
		}
	}
	if s, err := router.Staleness(ctx); err != nil || s.Status != "live" {
		t.Fatalf("Staleness: %+v %v", s, err)
	}
}
