package geoblob_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/geoblob/geoblob"
	"github.com/geoblob/geoblob/emulator"
	"github.com/geoblob/geoblob/fault"
	"github.com/geoblob/geoblob/internal/testenv"
)

// twoVersions is an emulator whose secondary holds v1 of a blob while the
// primary holds v2 (replication paused in between), and whose router flips
// to mid after the first response it reports.
type twoVersions struct {
	*env
	v1, v2  []byte
	flipped atomic.Bool
}

func newTwoVersions(t *testing.T, pathStyle bool, start, mid geoblob.Mode) *twoVersions {
	t.Helper()
	tv := &twoVersions{v1: bytes.Repeat([]byte("1"), 64*1024), v2: bytes.Repeat([]byte("2"), 64*1024)}
	var router atomic.Pointer[geoblob.Router]
	cfg := geoblob.DefaultConfig()
	cfg.OnResponse = func(geoblob.ResponseEvent) {
		if r := router.Load(); r != nil && tv.flipped.CompareAndSwap(false, true) {
			r.Force(mid)
		}
	}
	if pathStyle {
		tv.env = newPathStyleEnv(t, cfg)
	} else {
		tv.env = newEnv(t, emulator.Options{}, cfg)
	}
	tv.put(t, "v.bin", tv.v1)
	tv.emu.Replication().Pause()
	if _, err := tv.client.UploadBuffer(context.Background(), testContainer, "v.bin", tv.v2, nil); err != nil {
		t.Fatal(err)
	}
	tv.router.Force(start)
	router.Store(tv.router)
	return tv
}

// newPathStyleEnv is newEnv for an emulator whose secondary is reachable
// only at /ACCOUNT-secondary, with the secondary URL derived.
func newPathStyleEnv(t *testing.T, cfg *geoblob.Config) *env {
	t.Helper()
	ctx := context.Background()
	emu := testenv.Emulator(t, emulator.Options{NoSecondaryListener: true})
	cfg.Logger = quietLogger()
	boundForTests(cfg)
	client, router, err := geoblob.NewClientWithSharedKey(emu.PrimaryURL(), emu.AccountName(), emu.AccountKey(), cfg, clientOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = router.Close() })
	if _, err := client.CreateContainer(ctx, testContainer, nil); err != nil {
		t.Fatal(err)
	}
	return &env{emu: emu, client: client, router: router}
}

func (tv *twoVersions) blob() *blob.Client {
	return tv.client.ServiceClient().NewContainerClient(testContainer).NewBlobClient("v.bin")
}

// oneVersion fails unless got is entirely want.
func oneVersion(t *testing.T, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		ones, twos := bytes.Count(got, []byte("1")), bytes.Count(got, []byte("2"))
		t.Fatalf("got %d bytes: %d of v1, %d of v2; want %d bytes of v%c", len(got), ones, twos, len(want), want[0])
	}
}

var flips = []struct {
	name       string
	start, mid geoblob.Mode
	want       int // 1 or 2
}{
	// The secondary serves v1 first; fail-back mid-download: the rest must
	// stay on v1 (pinned to the secondary).
	{"secondary then primary", geoblob.SecondaryOnly, geoblob.Auto, 1},
	// The primary serves v2 first; reads move to the secondary, which
	// lacks v2: the rest comes from the primary.
	{"primary then secondary", geoblob.Auto, geoblob.SecondaryOnly, 2},
}

// TestDownloadBufferFlipKeepsOneVersion covers azblob's parallel download
// paths: the default (first chunk, then If-Match chunks) and an explicit
// Range, whose chunks azblob sends without any If-Match; host- and
// path-style secondaries.
func TestDownloadBufferFlipKeepsOneVersion(t *testing.T) {
	for _, pathStyle := range []bool{false, true} {
		for _, explicitRange := range []bool{false, true} {
			for _, tc := range flips {
				name := tc.name
				if pathStyle {
					name += "/path-style"
				}
				if explicitRange {
					name += "/range"
				}
				t.Run(name, func(t *testing.T) {
					tv := newTwoVersions(t, pathStyle, tc.start, tc.mid)
					want := tv.v1
					if tc.want == 2 {
						want = tv.v2
					}
					o := &blob.DownloadBufferOptions{BlockSize: 4096, Concurrency: 4}
					if explicitRange {
						o.Range = blob.HTTPRange{Offset: 0, Count: int64(len(want))}
					}
					buf := make([]byte, len(want))
					n, err := geoblob.DownloadBuffer(context.Background(), tv.client, testContainer, "v.bin", buf, o)
					if err != nil {
						t.Fatal(err)
					}
					oneVersion(t, buf[:n], want)
					if !tv.flipped.Load() {
						t.Fatal("never flipped")
					}
				})
			}
		}
	}
}

// TestRetryReaderNeverSplices: DownloadStream's retry reader re-issues a
// ranged GET with If-Match after a body cut short. With the location
// flipped in between, the resumed bytes must come from the same version.
func TestRetryReaderNeverSplices(t *testing.T) {
	for _, pathStyle := range []bool{false, true} {
		for _, tc := range flips {
			name := tc.name
			if pathStyle {
				name += "/path-style"
			}
			t.Run(name, func(t *testing.T) {
				tv := newTwoVersions(t, pathStyle, tc.start, tc.mid)
				want, ep := tv.v1, fault.Secondary
				if tc.want == 2 {
					want, ep = tv.v2, fault.Primary
				}
				cut := int64(10_000)
				id := tv.fault(t, fault.Rule{Endpoint: ep, Match: fault.Match{Op: fault.Read, Blob: "v.bin"},
					Action: fault.Action{ResetAfterBytes: &cut}, Limits: fault.Limits{Count: 1}})
				ctx := context.Background()
				resp, err := tv.blob().DownloadStream(ctx, nil)
				if err != nil {
					t.Fatal(err)
				}
				body := resp.NewRetryReader(ctx, &blob.RetryReaderOptions{MaxRetries: 3})
				got, err := io.ReadAll(body)
				_ = body.Close()
				if err != nil {
					t.Fatalf("after %d bytes: %v", len(got), err)
				}
				oneVersion(t, got, want)
				if tv.fired(t, id) != 1 || !tv.flipped.Load() {
					t.Fatal("the body was never cut or the location never flipped")
				}
			})
		}
	}
}

// TestDownloadFileFlipKeepsOneVersion is the explicit-Range case for
// DownloadFile, whose options are a type of their own.
func TestDownloadFileFlipKeepsOneVersion(t *testing.T) {
	tv := newTwoVersions(t, false, geoblob.SecondaryOnly, geoblob.Auto)
	f, err := os.Create(filepath.Join(t.TempDir(), "v.bin"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, err = geoblob.DownloadFile(context.Background(), tv.client, testContainer, "v.bin", f, &blob.DownloadFileOptions{
		Range: blob.HTTPRange{Count: int64(len(tv.v1))}, BlockSize: 4096, Concurrency: 4,
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	oneVersion(t, got, tv.v1)
}

func TestDownloadStaysOnOneVersion(t *testing.T) {
	v1 := bytes.Repeat([]byte("1"), 64*1024)
	v2 := bytes.Repeat([]byte("2"), 64*1024)
	for _, tc := range []struct {
		name       string
		start, mid geoblob.Mode
		want       []byte
	}{
		// Starts on the secondary (v1); fail-back mid-download: chunks stay
		// pinned to the secondary's version.
		{"secondary then primary", geoblob.SecondaryOnly, geoblob.Auto, v1},
		// Starts on the primary (v2); flip to the secondary mid-download:
		// the secondary lacks v2 (412) and chunks go back to the primary.
		{"primary then secondary", geoblob.Auto, geoblob.SecondaryOnly, v2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var flipped atomic.Bool
			var router atomic.Pointer[geoblob.Router]
			cfg := geoblob.DefaultConfig()
			cfg.OnResponse = func(geoblob.ResponseEvent) {
				// Flip after the first response: a callback may call back
				// into the router.
				if r := router.Load(); r != nil && flipped.CompareAndSwap(false, true) {
					r.Force(tc.mid)
				}
			}
			e := newEnv(t, emulator.Options{}, cfg)
			e.put(t, "big.bin", v1)
			e.emu.Replication().Pause()
			if _, err := e.client.UploadBuffer(context.Background(), testContainer, "big.bin", v2, nil); err != nil {
				t.Fatal(err)
			}
			e.router.Force(tc.start)
			router.Store(e.router)
			buf := make([]byte, len(v1))
			n, err := geoblob.DownloadBuffer(context.Background(), e.client, testContainer, "big.bin", buf, &blob.DownloadBufferOptions{BlockSize: 4096, Concurrency: 4})
			if err != nil {
				t.Fatal(err)
			}
			if n != int64(len(buf)) || !bytes.Equal(buf, tc.want) {
				t.Fatalf("download mixed versions or wrong version: first %q last %q", buf[:1], buf[len(buf)-1:])
			}
			if !flipped.Load() {
				t.Fatal("location never flipped")
			}
		})
	}
}
