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

// TestJavaScriptSDKHistory runs testdata/js/history-test.mjs: snapshots,
// blob versions (upload, read, list, delete, promotion by copy), blob soft
// delete with undelete, container soft delete with restore, page range
// diffs against a snapshot and Abort Copy with no copy pending, through the
// official @azure/storage-blob. The emulator runs with versioning on, and
// container soft delete (3 days) is turned on first through the Go SDK: the
// JavaScript SDK has no setting for it, and the script checks that its own
// Set Blob Service Properties leaves that policy in force. The blob soft
// delete check turns versioning off through the control API first.
func TestJavaScriptSDKHistory(t *testing.T) {
	dir, node := jsSDK(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	emu := start(t, emulator.Options{Lag: time.Hour, Versioning: true})
	enableContainerSoftDelete(t, emu, 3)
	cmd := exec.CommandContext(ctx, node, "history-test.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GEOBLOB_CONNECTION_STRING="+emu.ConnectionString(),
		"GEOBLOB_SECONDARY_URL="+emu.SecondaryURL(),
		"GEOBLOB_ACCOUNT="+emu.AccountName(),
		"GEOBLOB_KEY="+emu.AccountKey(),
		"GEOBLOB_CONTROL_URL="+emu.URL()+"/_geoblob/",
	)
	out, err := cmd.CombinedOutput()
	t.Logf("node output:\n%s", out)
	if err != nil {
		t.Fatalf("JavaScript SDK test failed: %v", err)
	}
	if got := strings.Count(string(out), "ok "); got != 8 {
		t.Fatalf("%d checks passed, want 8", got)
	}
}
