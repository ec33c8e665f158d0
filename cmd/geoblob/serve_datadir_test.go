package main

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
)

// TestServeDataDir: a blob written to `serve --data-dir` is there after a
// restart, and a second serve on a directory in use is refused with a
// one-line error.
func TestServeDataDir(t *testing.T) {
	dir := t.TempDir()
	s := startServe(t, "--data-dir", dir)
	if !strings.Contains(s.output(), "data dir: "+dir) {
		t.Errorf("serve output does not name the data dir:\n%s", s.output())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	client, err := azblob.NewClientFromConnectionString(s.ConnectionString, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.CreateContainer(ctx, "kept", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := client.UploadBuffer(ctx, "kept", "b", []byte("durable"), nil); err != nil {
		t.Fatal(err)
	}

	out, err := exec.Command(geoblobBinary(t), "serve", "--port", "0", "--data-dir", dir).CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() == 0 {
		t.Fatalf("second serve on %s: %v\n%s", dir, err, out)
	}
	if lines := strings.Split(strings.TrimSpace(string(out)), "\n"); len(lines) != 1 || !strings.Contains(lines[0], "in use by another geoblob serve") {
		t.Fatalf("want one line saying the dir is in use, got:\n%s", out)
	}

	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	s2 := startServe(t, "--data-dir", dir)
	client2, err := azblob.NewClientFromConnectionString(s2.ConnectionString, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client2.DownloadStream(ctx, "kept", "b", nil)
	if err != nil {
		t.Fatalf("after restart: %v", err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(resp.Body); err != nil || buf.String() != "durable" {
		t.Fatalf("after restart: %q %v", buf.String(), err)
	}
}
