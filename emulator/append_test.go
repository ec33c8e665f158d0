package emulator_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"

	"github.com/geoblob/geoblob/emulator"
)

// TestAppendBlobReplicationLag: each append reaches the secondary only
// after the lag, the secondary showing the previous content meanwhile; the
// seal follows; the secondary refuses appends. A
// Put Blob From URL of an external source replicates the same way.
func TestAppendBlobReplicationLag(t *testing.T) {
	clk := emulator.NewManualClock(time.Now().Add(-time.Hour).Truncate(time.Second))
	emu := start(t, emulator.Options{Lag: 30 * time.Second, Clock: clk})
	ctx := context.Background()
	prim, sec := clients(t, emu, emu.SecondaryURL())
	if _, err := prim.CreateContainer(ctx, "logs", nil); err != nil {
		t.Fatal(err)
	}
	ab := prim.ServiceClient().NewContainerClient("logs").NewAppendBlobClient("app.log")
	if _, err := ab.Create(ctx, nil); err != nil {
		t.Fatal(err)
	}
	clk.Advance(31 * time.Second)
	waitReplicated(t, emu)
	// Each append stays off the secondary until its lag has passed, while
	// the secondary keeps showing the previous content.
	want := ""
	for _, l := range []string{"one\n", "two\n", "three\n"} {
		if _, err := ab.AppendBlock(ctx, streamOf(l), nil); err != nil {
			t.Fatal(err)
		}
		clk.Advance(29 * time.Second)
		if got, err := download(ctx, sec, "logs", "app.log"); err != nil || got != want {
			t.Fatalf("secondary mid-lag: %q (%v), want %q", got, err, want)
		}
		clk.Advance(2 * time.Second)
		waitReplicated(t, emu)
		want += l
		if got, err := download(ctx, sec, "logs", "app.log"); err != nil || got != want {
			t.Fatalf("secondary after lag: %q (%v), want %q", got, err, want)
		}
	}
	sab := sec.ServiceClient().NewContainerClient("logs").NewAppendBlobClient("app.log")
	p, err := sab.GetProperties(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if *p.BlobType != blob.BlobTypeAppendBlob || *p.BlobCommittedBlockCount != 3 || *p.IsSealed {
		t.Fatalf("secondary properties %+v", p)
	}
	if _, err := ab.Seal(ctx, nil); err != nil {
		t.Fatal(err)
	}
	clk.Advance(31 * time.Second)
	waitReplicated(t, emu)
	if p, err := sab.GetProperties(ctx, nil); err != nil || !*p.IsSealed {
		t.Fatalf("seal not replicated: %v %+v", err, p)
	}
	_, err = sab.AppendBlock(ctx, streamOf("x"), nil)
	if !bloberror.HasCode(err, "InsufficientAccountPermissions") {
		t.Fatalf("append on the secondary: %v", err)
	}

	// Put Blob From URL of an external (loopback) source.
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("fetched"))
	}))
	defer origin.Close()
	bb := prim.ServiceClient().NewContainerClient("logs").NewBlockBlobClient("fetched")
	if _, err := bb.UploadBlobFromURL(ctx, origin.URL+"/x", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := download(ctx, sec, "logs", "fetched"); !bloberror.HasCode(err, bloberror.BlobNotFound) {
		t.Fatalf("secondary before lag: %v", err)
	}
	clk.Advance(31 * time.Second)
	waitReplicated(t, emu)
	if got, err := download(ctx, sec, "logs", "fetched"); err != nil || got != "fetched" {
		t.Fatalf("secondary after lag: %q %v", got, err)
	}
}

type readSeekNopCloser struct{ *strings.Reader }

func (readSeekNopCloser) Close() error { return nil }

func streamOf(s string) readSeekNopCloser { return readSeekNopCloser{strings.NewReader(s)} }

// TestJavaScriptSDKAppend runs testdata/js/append-test.mjs: append blobs
// and the From URL operations through the official @azure/storage-blob.
func TestJavaScriptSDKAppend(t *testing.T) {
	dir, node := jsSDK(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	emu := start(t, emulator.Options{Lag: time.Hour})
	cmd := exec.CommandContext(ctx, node, "append-test.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GEOBLOB_CONNECTION_STRING="+emu.ConnectionString(),
		"GEOBLOB_SECONDARY_URL="+emu.SecondaryURL(),
		"GEOBLOB_ACCOUNT="+emu.AccountName(),
		"GEOBLOB_KEY="+emu.AccountKey(),
	)
	out, err := cmd.CombinedOutput()
	t.Logf("node output:\n%s", out)
	if err != nil {
		t.Fatalf("JavaScript SDK test failed: %v", err)
	}
	if got := strings.Count(string(out), "ok "); got != 7 {
		t.Fatalf("%d checks passed, want 7", got)
	}
}
