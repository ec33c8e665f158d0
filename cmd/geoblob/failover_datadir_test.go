package main

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
)

// TestFailoverDataDirCLI: failovers of `serve --data-dir` survive a
// restart of the process: `replication status` reports the roles they
// left, and the primary serves the copy they chose.
func TestFailoverDataDirCLI(t *testing.T) {
	bin := geoblobBinary(t)
	dir := t.TempDir()
	args := []string{"--data-dir", dir, "--secondary-port", "0", "--lag", "1h"}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var s *served
	var prim *azblob.Client
	restart := func() {
		t.Helper()
		if s != nil {
			if err := s.stop(); err != nil {
				t.Fatalf("stop: %v", err)
			}
		}
		s = startServe(t, args...)
		var err error
		if prim, err = azblob.NewClientFromConnectionString(s.ConnectionString, nil); err != nil {
			t.Fatal(err)
		}
	}
	run := func(args ...string) string {
		t.Helper()
		res := ctlTestRun(t, bin, nil, append(args, "--server", s.URL)...)
		if res.code != 0 {
			t.Fatalf("%v: exit %d\nstdout: %s\nstderr: %s", args, res.code, res.stdout, res.stderr)
		}
		return res.stdout + res.stderr
	}
	read := func(name string) (string, error) {
		resp, err := prim.DownloadStream(ctx, "drill", name, nil)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	put := func(name, data string) {
		t.Helper()
		if _, err := prim.UploadBuffer(ctx, "drill", name, []byte(data), nil); err != nil {
			t.Fatal(err)
		}
	}

	restart()
	if _, err := prim.CreateContainer(ctx, "drill", nil); err != nil {
		t.Fatal(err)
	}
	put("keep", "v1")
	run("failover", "--planned")
	put("on-b", "written on copy b") // pending for an hour: lost below
	restart()
	if out := run("replication", "status"); !strings.Contains(out, "roles: primary copy b, RA-GRS, epoch 2") {
		t.Fatalf("status after the planned failover and a restart:\n%s", out)
	}
	for name, want := range map[string]string{"keep": "v1", "on-b": "written on copy b"} {
		if got, err := read(name); err != nil || got != want {
			t.Fatalf("%s after restart: %q %v", name, got, err)
		}
	}

	if out := run("failover", "--unplanned"); !strings.Contains(out, "lost writes: 1,") {
		t.Fatalf("unplanned failover:\n%s", out)
	}
	restart()
	if out := run("replication", "status"); !strings.Contains(out, "roles: primary copy a, LRS, epoch 3") {
		t.Fatalf("status after the unplanned failover and a restart:\n%s", out)
	}
	if got, err := read("keep"); err != nil || got != "v1" {
		t.Fatalf("keep: %q %v", got, err)
	}
	if _, err := read("on-b"); !bloberror.HasCode(err, bloberror.BlobNotFound) {
		t.Fatalf("the lost write after restart: %v", err)
	}
}
