package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
)

// TestFailoverCLI drills both failovers against `geoblob serve` over
// loopback: a planned one loses nothing; with an hour of lag every later
// write stays pending, so an unplanned one must list exactly those; then
// geo-redundancy comes back with `replication enable`.
func TestFailoverCLI(t *testing.T) {
	bin := geoblobBinary(t)
	s := startServe(t, "--secondary-port", "0", "--lag", "1h", "--bootstrap-duration", "-1s")
	srv := []string{"--server", s.URL}
	run := func(code int, args ...string) string {
		t.Helper()
		res := ctlTestRun(t, bin, nil, append(args, srv...)...)
		if res.code != code {
			t.Fatalf("%v: exit %d, want %d\nstdout: %s\nstderr: %s", args, res.code, code, res.stdout, res.stderr)
		}
		return res.stdout + res.stderr
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	opts := &azblob.ClientOptions{ClientOptions: azcore.ClientOptions{Retry: policy.RetryOptions{MaxRetries: -1}}}
	prim, err := azblob.NewClientFromConnectionString(s.ConnectionString, opts)
	if err != nil {
		t.Fatal(err)
	}
	var secURL string
	for _, kv := range strings.Split(s.ConnectionString, ";") {
		if v, ok := strings.CutPrefix(kv, "BlobSecondaryEndpoint="); ok {
			secURL = v
		}
	}
	cred, err := azblob.NewSharedKeyCredential("devstoreaccount1", "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==")
	if err != nil {
		t.Fatal(err)
	}
	sec, err := azblob.NewClientWithSharedKeyCredential(secURL, cred, opts)
	if err != nil {
		t.Fatal(err)
	}
	read := func(c *azblob.Client, name string) (string, error) {
		resp, err := c.DownloadStream(ctx, "drill", name, nil)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}

	run(2, "failover")
	run(2, "failover", "--planned", "--unplanned")
	if _, err := prim.CreateContainer(ctx, "drill", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := prim.UploadBuffer(ctx, "drill", "keep", []byte("v1"), nil); err != nil {
		t.Fatal(err)
	}
	// Planned: the secondary catches up whatever the lag; nothing lost.
	out := run(0, "failover", "--planned")
	for _, want := range []string{"planned failover done: the primary endpoint now serves copy b (was a); epoch 2; account is RA-GRS", "lost writes: none"} {
		if !strings.Contains(out, want) {
			t.Fatalf("planned failover output lacks %q:\n%s", want, out)
		}
	}
	for _, c := range []*azblob.Client{prim, sec} {
		if got, err := read(c, "keep"); err != nil || got != "v1" {
			t.Fatalf("keep after the planned failover: %q %v", got, err)
		}
	}

	// Unplanned: the writes since (an hour of lag) are lost and listed.
	var lost []string
	for _, w := range []struct{ name, data string }{{"keep", "v2, lost"}, {"new", "never replicated"}} {
		resp, err := prim.UploadBuffer(ctx, "drill", w.name, []byte(w.data), nil)
		if err != nil {
			t.Fatal(err)
		}
		lost = append(lost, fmt.Sprintf("put-blob         devstoreaccount1/drill/%s  etag %s  %d bytes", w.name, *resp.ETag, len(w.data)))
	}
	out = run(0, "failover", "--unplanned")
	for _, want := range append([]string{"unplanned failover done: the primary endpoint now serves copy a (was b); epoch 3; account is LRS",
		fmt.Sprintf("lost writes: 2, %d bytes", len("v2, lost")+len("never replicated"))}, lost...) {
		if !strings.Contains(out, want) {
			t.Fatalf("unplanned failover output lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "put-blob"); n != 2 {
		t.Fatalf("%d lost writes listed, want 2:\n%s", n, out)
	}
	if got, err := read(prim, "keep"); err != nil || got != "v1" {
		t.Fatalf("keep after the unplanned failover: %q %v", got, err)
	}
	if _, err := read(prim, "new"); !bloberror.HasCode(err, bloberror.BlobNotFound) {
		t.Fatalf("new after the unplanned failover: %v", err)
	}
	if _, err := read(sec, "keep"); err == nil {
		t.Fatal("the secondary of an LRS account answered")
	}
	if out := run(0, "replication", "status"); !strings.Contains(out, "roles: primary copy a, LRS, epoch 3") {
		t.Fatalf("status after the unplanned failover:\n%s", out)
	}
	if out := run(1, "failover", "--planned"); !strings.Contains(out, "409") || !strings.Contains(out, "locally redundant") {
		t.Fatalf("planned failover of an LRS account:\n%s", out)
	}

	// Geo-redundancy back (no bootstrap wait with --bootstrap-duration -1s).
	if out := run(0, "replication", "enable"); !strings.Contains(out, "geo-redundancy enabled: status live") || !strings.Contains(out, "RA-GRS, epoch 4") {
		t.Fatalf("enable:\n%s", out)
	}
	if got, err := read(sec, "keep"); err != nil || got != "v1" {
		t.Fatalf("keep on the new secondary: %q %v", got, err)
	}
	if out := run(0, "replication", "secondary", "down"); !strings.Contains(out, "status unavailable") || !strings.Contains(out, "secondary down") {
		t.Fatalf("secondary down:\n%s", out)
	}
	if _, err := read(sec, "keep"); !bloberror.HasCode(err, bloberror.ServerBusy) {
		t.Fatalf("read of a down secondary: %v", err)
	}
	if out := run(0, "replication", "lag", "gpr", "--seed", "3"); !strings.Contains(out, "lag model tail:30s,15m0s,0.99,1h0m0s,seed=3") {
		t.Fatalf("lag:\n%s", out)
	}
	// The lag model replaces the --lag the server started with: status
	// must not show that one any more.
	if out := run(0, "replication", "status"); strings.Contains(out, "pending, lag") || !strings.Contains(out, "lag model tail:") {
		t.Fatalf("status names a lag the model replaced:\n%s", out)
	}
	run(1, "replication", "lag", "normal:1s")
}

func TestServeRefusesBadGeoFlags(t *testing.T) {
	bin := geoblobBinary(t)
	for _, args := range [][]string{
		{"serve", "--port", "0", "--lag-model", "normal:1s"},
		{"serve", "--port", "0", "--swap-duration", "-1s"},
	} {
		res := ctlTestRun(t, bin, nil, args...)
		if res.code != 2 || !strings.Contains(res.stderr, "--") {
			t.Errorf("%v: exit %d, stderr %q; want 2 naming the flag", args, res.code, res.stderr)
		}
	}
}
