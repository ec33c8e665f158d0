package emulator_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/geoblob/geoblob/emulator"
)

// TestJavaScriptSDKPagesBatch runs testdata/js/pages-batch-test.mjs: page
// blobs (create, upload and clear pages, page ranges, resize, sequence
// numbers), Blob Batch (delete and set tier) and container soft delete with
// undeleteContainer through the official @azure/storage-blob, with the
// secondary's refusals. Container soft delete is turned on first, through
// the Go SDK (the JavaScript SDK has no setting for it either).
func TestJavaScriptSDKPagesBatch(t *testing.T) {
	dir, node := jsSDK(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	emu := start(t, emulator.Options{Lag: time.Hour})
	enableContainerSoftDelete(t, emu, 7)
	cmd := exec.CommandContext(ctx, node, "pages-batch-test.mjs")
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
	if got := strings.Count(string(out), "ok "); got != 11 {
		t.Fatalf("%d checks passed, want 11", got)
	}
}
