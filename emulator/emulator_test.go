package emulator_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/lease"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"

	"github.com/geoblob/geoblob/emulator"
)

func start(t *testing.T, opts emulator.Options) *emulator.Emulator {
	t.Helper()
	if opts.DataDir == "" && os.Getenv("GEOBLOB_TEST_DATA_DIR") != "" {
		// Run the suite against a data directory instead of memory.
		opts.DataDir = t.TempDir()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	emu, err := emulator.Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := emu.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return emu
}

func credential(t *testing.T, emu *emulator.Emulator) *azblob.SharedKeyCredential {
	t.Helper()
	cred, err := azblob.NewSharedKeyCredential(emu.AccountName(), emu.AccountKey())
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

func clients(t *testing.T, emu *emulator.Emulator, secondaryURL string) (primary, secondary *azblob.Client) {
	t.Helper()
	cred := credential(t, emu)
	var err error
	if primary, err = azblob.NewClientWithSharedKeyCredential(emu.PrimaryURL(), cred, nil); err != nil {
		t.Fatal(err)
	}
	if secondary, err = azblob.NewClientWithSharedKeyCredential(secondaryURL, cred, nil); err != nil {
		t.Fatal(err)
	}
	return primary, secondary
}

func download(ctx context.Context, c *azblob.Client, cont, name string) (string, error) {
	resp, err := c.DownloadStream(ctx, cont, name, nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func TestStartAndConnectionString(t *testing.T) {
	emu := start(t, emulator.Options{})
	cs := emu.ConnectionString()
	for _, want := range []string{"AccountName=devstoreaccount1", "BlobEndpoint=" + emu.PrimaryURL(), "BlobSecondaryEndpoint=" + emu.SecondaryURL()} {
		if !strings.Contains(cs, want) {
			t.Errorf("connection string %q lacks %q", cs, want)
		}
	}
	if !strings.HasPrefix(emu.URL(), "http://127.0.0.1:") || !strings.HasPrefix(emu.SecondaryURL(), "http://127.0.0.1:") {
		t.Fatalf("not on loopback: %s %s", emu.URL(), emu.SecondaryURL())
	}
	client, err := azblob.NewClientFromConnectionString(cs, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := client.CreateContainer(ctx, "hello", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := client.UploadBuffer(ctx, "hello", "world.txt", []byte("hi"), nil); err != nil {
		t.Fatal(err)
	}
	if got, err := download(ctx, client, "hello", "world.txt"); err != nil || got != "hi" {
		t.Fatalf("download: %q %v", got, err)
	}
}

func TestOptionsValidation(t *testing.T) {
	tests := []struct {
		name string
		opts emulator.Options
	}{
		{"negative lag", emulator.Options{Lag: -time.Second}},
		{"bad account name", emulator.Options{Accounts: []emulator.Account{{Name: "Bad_Name", Key: emulator.DevAccountKey}}}},
		{"bad key", emulator.Options{Accounts: []emulator.Account{{Name: "acct1", Key: "not base64!"}}}},
		{"duplicate account", emulator.Options{Accounts: []emulator.Account{{Name: "acct1", Key: "a2V5"}, {Name: "acct1", Key: "a2V5"}}}},
		{"port range", emulator.Options{Port: 70000}},
	}
	for _, tc := range tests {
		if _, err := emulator.New(tc.opts); !errors.Is(err, emulator.ErrInvalidOptions) {
			t.Errorf("%s: got %v, want ErrInvalidOptions", tc.name, err)
		}
	}
	for _, s := range []string{"nokey", "x:", "UPPER:a2V5", "acct1:***"} {
		if _, err := emulator.ParseAccount(s); err == nil {
			t.Errorf("ParseAccount(%q) accepted", s)
		}
	}
	if a, err := emulator.ParseAccount("acct1:a2V5"); err != nil || a.Name != "acct1" {
		t.Fatalf("ParseAccount: %+v %v", a, err)
	}
}

// TestReplicationLag drives time by hand: a write is absent from the
// secondary until the lag has passed, the previous version stays visible
// meanwhile, and LastSyncTime reports exactly that.
func TestReplicationLag(t *testing.T) {
	clk := emulator.NewManualClock(time.Now().Add(-time.Hour).Truncate(time.Second))
	emu := start(t, emulator.Options{Lag: 30 * time.Second, Clock: clk})
	for _, secURL := range []string{emu.SecondaryURL(), emu.ServiceURL(emulator.SecondaryPathStyle, "")} {
		t.Run(secURL, func(t *testing.T) {
			ctx := context.Background()
			prim, sec := clients(t, emu, secURL)
			cont := "lag" + strings.ReplaceAll(strings.TrimPrefix(secURL, "http://127.0.0.1:"), "/", "")
			cont = strings.ToLower(strings.ReplaceAll(cont, "-", ""))
			if _, err := prim.CreateContainer(ctx, cont, nil); err != nil {
				t.Fatal(err)
			}
			if _, err := prim.UploadBuffer(ctx, cont, "b", []byte("v1"), nil); err != nil {
				t.Fatal(err)
			}
			if _, err := download(ctx, sec, cont, "b"); !bloberror.HasCode(err, bloberror.ContainerNotFound, bloberror.BlobNotFound) {
				t.Fatalf("secondary before lag: %v", err)
			}
			clk.Advance(31 * time.Second)
			waitReplicated(t, emu)
			if got, err := download(ctx, sec, cont, "b"); err != nil || got != "v1" {
				t.Fatalf("secondary after lag: %q %v", got, err)
			}
			// A newer version stays invisible until its own lag passes.
			if _, err := prim.UploadBuffer(ctx, cont, "b", []byte("v2"), nil); err != nil {
				t.Fatal(err)
			}
			clk.Advance(10 * time.Second)
			if got, err := download(ctx, sec, cont, "b"); err != nil || got != "v1" {
				t.Fatalf("secondary mid-lag: %q %v", got, err)
			}
			stats, err := sec.ServiceClient().GetStatistics(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			props, err := prim.ServiceClient().NewContainerClient(cont).NewBlobClient("b").GetProperties(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			lst := *stats.GeoReplication.LastSyncTime
			if string(*stats.GeoReplication.Status) != "live" || !lst.Before(*props.LastModified) {
				t.Fatalf("stats %s LastSyncTime %v, v2 written %v", *stats.GeoReplication.Status, lst, *props.LastModified)
			}
			clk.Advance(30 * time.Second)
			waitReplicated(t, emu)
			if got, err := download(ctx, sec, cont, "b"); err != nil || got != "v2" {
				t.Fatalf("secondary after second lag: %q %v", got, err)
			}
			stats, err = sec.ServiceClient().GetStatistics(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if lst := *stats.GeoReplication.LastSyncTime; lst.Before(props.LastModified.Truncate(time.Second)) {
				t.Fatalf("LastSyncTime %v does not cover v2 (%v)", lst, *props.LastModified)
			}
		})
	}
}

func waitReplicated(t *testing.T, emu *emulator.Emulator) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := emu.Replication().Wait(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestReplicatesEveryKindOfWrite checks that container operations, metadata,
// block commits and deletes all reach the secondary in order.
func TestReplicatesEveryKindOfWrite(t *testing.T) {
	emu := start(t, emulator.Options{})
	ctx := context.Background()
	prim, sec := clients(t, emu, emu.SecondaryURL())
	if _, err := prim.CreateContainer(ctx, "kinds", &azblob.CreateContainerOptions{Metadata: map[string]*string{"a": to.Ptr("1")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := prim.CreateContainer(ctx, "doomed", nil); err != nil {
		t.Fatal(err)
	}
	bb := prim.ServiceClient().NewContainerClient("kinds").NewBlockBlobClient("blocks")
	for _, id := range []string{"QUFB", "QkJC"} {
		if _, err := bb.StageBlock(ctx, id, streaming(id), nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := bb.CommitBlockList(ctx, []string{"QkJC", "QUFB"}, &blockblob.CommitBlockListOptions{Metadata: map[string]*string{"m": to.Ptr("x")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := prim.UploadBuffer(ctx, "kinds", "gone", []byte("x"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := prim.DeleteBlob(ctx, "kinds", "gone", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := prim.DeleteContainer(ctx, "doomed", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := prim.ServiceClient().NewContainerClient("kinds").SetMetadata(ctx, &container.SetMetadataOptions{Metadata: map[string]*string{"a": to.Ptr("2")}}); err != nil {
		t.Fatal(err)
	}
	waitReplicated(t, emu)
	if got, err := download(ctx, sec, "kinds", "blocks"); err != nil || got != "QkJCQUFB" {
		t.Fatalf("committed blocks on secondary: %q %v", got, err)
	}
	bp, err := sec.ServiceClient().NewContainerClient("kinds").NewBlobClient("blocks").GetProperties(ctx, nil)
	if err != nil || *firstValue(bp.Metadata) != "x" {
		t.Fatalf("blob metadata on secondary: %v", err)
	}
	if _, err := download(ctx, sec, "kinds", "gone"); !bloberror.HasCode(err, bloberror.BlobNotFound) {
		t.Fatalf("deleted blob on secondary: %v", err)
	}
	if _, err := sec.ServiceClient().NewContainerClient("doomed").GetProperties(ctx, nil); !bloberror.HasCode(err, bloberror.ContainerNotFound) {
		t.Fatalf("deleted container on secondary: %v", err)
	}
	cp, err := sec.ServiceClient().NewContainerClient("kinds").GetProperties(ctx, nil)
	if err != nil || cp.Metadata == nil || *firstValue(cp.Metadata) != "2" {
		t.Fatalf("container metadata on secondary: %v %v", cp.Metadata, err)
	}
}

func firstValue(m map[string]*string) *string {
	for _, v := range m {
		return v
	}
	return to.Ptr("")
}

func streaming(s string) *nopCloser { return &nopCloser{bytes.NewReader([]byte(s))} }

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }

// TestSecondaryIsReadOnly sends every kind of write to the secondary and
// expects a 4xx Azure error each time, with the data left untouched.
func TestSecondaryIsReadOnly(t *testing.T) {
	emu := start(t, emulator.Options{})
	ctx := context.Background()
	prim, _ := clients(t, emu, emu.SecondaryURL())
	if _, err := prim.CreateContainer(ctx, "readonly", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := prim.UploadBuffer(ctx, "readonly", "b", []byte("keep"), nil); err != nil {
		t.Fatal(err)
	}
	waitReplicated(t, emu)
	for _, secURL := range []string{emu.SecondaryURL(), emu.ServiceURL(emulator.SecondaryPathStyle, "")} {
		_, sec := clients(t, emu, secURL)
		sc := sec.ServiceClient()
		writes := map[string]func() error{
			"create container": func() error { _, err := sec.CreateContainer(ctx, "new", nil); return err },
			"delete container": func() error { _, err := sec.DeleteContainer(ctx, "readonly", nil); return err },
			"put blob":         func() error { _, err := sec.UploadBuffer(ctx, "readonly", "b", []byte("x"), nil); return err },
			"delete blob":      func() error { _, err := sec.DeleteBlob(ctx, "readonly", "b", nil); return err },
			"set metadata": func() error {
				_, err := sc.NewContainerClient("readonly").NewBlobClient("b").SetMetadata(ctx, map[string]*string{"a": to.Ptr("b")}, nil)
				return err
			},
			"set headers": func() error {
				_, err := sc.NewContainerClient("readonly").NewBlobClient("b").SetHTTPHeaders(ctx, blob.HTTPHeaders{BlobContentType: to.Ptr("x/y")}, nil)
				return err
			},
			"stage block": func() error {
				_, err := sc.NewContainerClient("readonly").NewBlockBlobClient("b").StageBlock(ctx, "QUFB", streaming("x"), nil)
				return err
			},
			"service properties": func() error {
				_, err := sc.SetProperties(ctx, &service.SetPropertiesOptions{})
				return err
			},
		}
		for name, write := range writes {
			err := write()
			var re *azcore.ResponseError
			if !errors.As(err, &re) || re.StatusCode < 400 || re.StatusCode >= 500 || re.ErrorCode == "" {
				t.Errorf("%s on %s: want a 4xx Azure error, got %v", name, secURL, err)
			}
		}
	}
	if got, err := download(ctx, prim, "readonly", "b"); err != nil || got != "keep" {
		t.Fatalf("data changed: %q %v", got, err)
	}
}

func TestGetStatisticsOnlyOnSecondary(t *testing.T) {
	emu := start(t, emulator.Options{})
	ctx := context.Background()
	prim, sec := clients(t, emu, emu.SecondaryURL())
	_, err := prim.ServiceClient().GetStatistics(ctx, nil)
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusBadRequest || re.ErrorCode != "InvalidQueryParameterValue" {
		t.Fatalf("stats on primary: %v", err)
	}
	for _, status := range []emulator.ReplicationStatus{emulator.StatusBootstrap, emulator.StatusUnavailable, emulator.StatusLive} {
		if err := emu.Replication().SetStatus(status); err != nil {
			t.Fatal(err)
		}
		st, err := sec.ServiceClient().GetStatistics(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if string(*st.GeoReplication.Status) != string(status) {
			t.Fatalf("status %s, want %s", *st.GeoReplication.Status, status)
		}
	}
}

// TestCloseWithUnusedConnection: net/http's Shutdown would wait five seconds
// for a connection that never sent a request; Close must not.
func TestCloseWithUnusedConnection(t *testing.T) {
	emu, err := emulator.Start(context.Background(), emulator.Options{})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", strings.TrimPrefix(emu.URL(), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	if err := emu.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d >= 4500*time.Millisecond {
		t.Fatalf("Close waited %v for a connection that never sent a request", d)
	}
}

// TestHandlersWithHTTPTest serves Handler and SecondaryHandler with
// httptest and drives them with the official client: path-style URLs work
// on any host, the -secondary path and the distinct secondary host both
// serve the replica, and both refuse writes.
func TestHandlersWithHTTPTest(t *testing.T) {
	emu, err := emulator.New(emulator.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	if cs := emu.ConnectionString(); cs != "" {
		t.Fatalf("an emulator that does not listen has no connection string, got %q", cs)
	}
	prim := httptest.NewServer(emu.Handler())
	defer prim.Close()
	sec := httptest.NewServer(emu.SecondaryHandler())
	defer sec.Close()
	cred, err := azblob.NewSharedKeyCredential(emulator.DevAccountName, emulator.DevAccountKey)
	if err != nil {
		t.Fatal(err)
	}
	newClient := func(u string) *azblob.Client {
		c, err := azblob.NewClientWithSharedKeyCredential(u, cred, nil)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	ctx := context.Background()
	pc := newClient(prim.URL + "/" + emulator.DevAccountName)
	if _, err := pc.CreateContainer(ctx, "httptest", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := pc.UploadBuffer(ctx, "httptest", "b", []byte("served"), nil); err != nil {
		t.Fatal(err)
	}
	waitReplicated(t, emu)
	for _, u := range []string{prim.URL + "/" + emulator.DevAccountName + "-secondary", sec.URL + "/" + emulator.DevAccountName} {
		sc := newClient(u)
		if got, err := download(ctx, sc, "httptest", "b"); err != nil || got != "served" {
			t.Fatalf("%s: %q %v", u, got, err)
		}
		var re *azcore.ResponseError
		if _, err := sc.UploadBuffer(ctx, "httptest", "b", []byte("x"), nil); !errors.As(err, &re) || re.StatusCode/100 != 4 {
			t.Fatalf("%s accepted a write: %v", u, err)
		}
	}
}

// TestSecondaryShowsStateAtLastSyncTime drives a manual clock through every
// kind of write, including a container deleted and re-created under the
// same name and a blob deleted and written again. Until the lag has passed
// the secondary serves exactly the earlier state, and once the clock has
// moved by exactly the lag it serves all of the later one.
func TestSecondaryShowsStateAtLastSyncTime(t *testing.T) {
	const lag = 10 * time.Second
	clk := emulator.NewManualClock(time.Now().Add(-time.Hour).Truncate(time.Second))
	emu := start(t, emulator.Options{Lag: lag, Clock: clk})
	ctx := context.Background()
	prim, sec := clients(t, emu, emu.SecondaryURL())
	ps, ss := prim.ServiceClient(), sec.ServiceClient()
	// Several writes at one instant of the clock.
	if _, err := prim.CreateContainer(ctx, "state", &azblob.CreateContainerOptions{Metadata: map[string]*string{"gen": to.Ptr("1")}}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"kept", "rewritten", "src"} {
		if _, err := prim.UploadBuffer(ctx, "state", name, []byte(name+"-v1"), nil); err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(lag)
	waitReplicated(t, emu)
	old := map[string]string{"kept": "kept-v1", "rewritten": "rewritten-v1", "src": "src-v1"}
	check := func(when string, blobs map[string]string, gen string) {
		t.Helper()
		for name, want := range blobs {
			got, err := download(ctx, sec, "state", name)
			if want == "" {
				if !bloberror.HasCode(err, bloberror.BlobNotFound) {
					t.Fatalf("%s: %s should be absent, got %q %v", when, name, got, err)
				}
				continue
			}
			if err != nil || got != want {
				t.Fatalf("%s: %s = %q %v, want %q", when, name, got, err, want)
			}
		}
		cp, err := ss.NewContainerClient("state").GetProperties(ctx, nil)
		if err != nil || cp.Metadata == nil || *firstValue(cp.Metadata) != gen {
			t.Fatalf("%s: container generation %v %v, want %s", when, cp.Metadata, err, gen)
		}
	}
	check("after the first lag", old, "1")

	// The second generation, all at the next instant.
	clk.Advance(time.Second)
	if _, err := prim.DeleteContainer(ctx, "state", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := prim.CreateContainer(ctx, "state", &azblob.CreateContainerOptions{Metadata: map[string]*string{"gen": to.Ptr("2")}}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"kept", "src"} {
		if _, err := prim.UploadBuffer(ctx, "state", name, []byte(name+"-v2"), nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := prim.UploadBuffer(ctx, "state", "rewritten", []byte("gone for a moment"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := prim.DeleteBlob(ctx, "state", "rewritten", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := prim.UploadBuffer(ctx, "state", "rewritten", []byte("rewritten-v2"), nil); err != nil {
		t.Fatal(err)
	}
	srcURL := ps.NewContainerClient("state").NewBlobClient("src").URL()
	if _, err := ps.NewContainerClient("state").NewBlobClient("copy").StartCopyFromURL(ctx, srcURL, nil); err != nil {
		t.Fatal(err)
	}
	bc := ps.NewContainerClient("state").NewBlobClient("kept")
	lc, err := lease.NewBlobClient(bc, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lc.AcquireLease(ctx, -1, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ps.NewContainerClient("state").SetAccessPolicy(ctx, &container.SetAccessPolicyOptions{Access: to.Ptr(container.PublicAccessTypeBlob)}); err != nil {
		t.Fatal(err)
	}
	if _, err := ps.SetProperties(ctx, &service.SetPropertiesOptions{DefaultServiceVersion: to.Ptr("2021-08-06")}); err != nil {
		t.Fatal(err)
	}
	props, err := bc.GetProperties(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}

	clk.Advance(lag - time.Nanosecond)
	check("a nanosecond before the lag", map[string]string{"kept": "kept-v1", "rewritten": "rewritten-v1", "src": "src-v1", "copy": ""}, "1")
	stats, err := ss.GetStatistics(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if lst := *stats.GeoReplication.LastSyncTime; !lst.Before(*props.LastModified) {
		t.Fatalf("LastSyncTime %v claims writes of %v", lst, *props.LastModified)
	}
	if sp, err := ss.GetProperties(ctx, nil); err != nil || sp.DefaultServiceVersion != nil {
		t.Fatalf("service properties ahead of time: %v %v", sp.DefaultServiceVersion, err)
	}

	clk.Advance(time.Nanosecond)
	waitReplicated(t, emu)
	check("after the second lag", map[string]string{"kept": "kept-v2", "rewritten": "rewritten-v2", "src": "src-v2", "copy": "src-v2"}, "2")
	kp, err := ss.NewContainerClient("state").NewBlobClient("kept").GetProperties(ctx, nil)
	if err != nil || kp.LeaseState == nil || *kp.LeaseState != "leased" {
		t.Fatalf("lease not replicated: %v", err)
	}
	ap, err := ss.NewContainerClient("state").GetAccessPolicy(ctx, nil)
	if err != nil || ap.BlobPublicAccess == nil || *ap.BlobPublicAccess != container.PublicAccessTypeBlob {
		t.Fatalf("ACL not replicated: %v", err)
	}
	if sp, err := ss.GetProperties(ctx, nil); err != nil || sp.DefaultServiceVersion == nil || *sp.DefaultServiceVersion != "2021-08-06" {
		t.Fatalf("service properties not replicated: %v", err)
	}
	stats, err = ss.GetStatistics(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if lst := *stats.GeoReplication.LastSyncTime; lst.Before(props.LastModified.Truncate(time.Second)) {
		t.Fatalf("LastSyncTime %v does not cover the writes of %v", lst, *props.LastModified)
	}
}

// TestCloseLeavesNoGoroutines starts and closes emulators that served
// requests and still hold unreplicated writes; Close twice is fine.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	for i := 0; i < 3; i++ {
		emu, err := emulator.Start(context.Background(), emulator.Options{Lag: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		c, err := azblob.NewClientFromConnectionString(emu.ConnectionString(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.CreateContainer(context.Background(), "pending", nil); err != nil {
			t.Fatal(err)
		}
		if err := emu.Close(); err != nil {
			t.Fatal(err)
		}
		if err := emu.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
	}
	// Idle client connections close asynchronously; give them a moment.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before+2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before+2 {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines before, %d after Close:\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
}

func TestStartOnBusyPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	for _, opts := range []emulator.Options{{Port: port}, {SecondaryPort: port}} {
		emu, err := emulator.Start(context.Background(), opts)
		if err == nil {
			emu.Close()
			t.Fatalf("%+v: started on a busy port", opts)
		}
		if !strings.Contains(err.Error(), "address already in use") || !strings.Contains(err.Error(), "listener") {
			t.Fatalf("%+v: unclear error %v", opts, err)
		}
	}
}

// TestDownloadDuringOverwrite: a download that is half read when the blob is
// overwritten (by Put Blob and by a block commit) still delivers the old
// bytes intact.
func TestDownloadDuringOverwrite(t *testing.T) {
	emu := start(t, emulator.Options{})
	ctx := context.Background()
	prim, _ := clients(t, emu, emu.SecondaryURL())
	if _, err := prim.CreateContainer(ctx, "stream", nil); err != nil {
		t.Fatal(err)
	}
	old := bytes.Repeat([]byte("0123456789abcdef"), 1<<19) // 8 MiB: larger than socket buffers
	if _, err := prim.UploadBuffer(ctx, "stream", "b", old, &azblob.UploadBufferOptions{BlockSize: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	resp, err := prim.DownloadStream(ctx, "stream", "b", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	head := make([]byte, 4096)
	if _, err := io.ReadFull(resp.Body, head); err != nil {
		t.Fatal(err)
	}
	if _, err := prim.UploadBuffer(ctx, "stream", "b", bytes.Repeat([]byte("X"), len(old)), &azblob.UploadBufferOptions{BlockSize: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	if _, err := prim.UploadBuffer(ctx, "stream", "b", []byte("small"), nil); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if got := append(head, rest...); !bytes.Equal(got, old) {
		t.Fatalf("the download changed under an overwrite: %d bytes, first difference at %d", len(got), firstDiff(got, old))
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
