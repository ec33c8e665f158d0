package emulator_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/geoblob/geoblob/emulator"
)

// TestJavaScriptSDK runs testdata/js/sdk-test.mjs, which drives the emulator
// through the official @azure/storage-blob package. It installs the package
// with npm ci when node_modules is missing. Outside CI a machine without
// node skips the test; in CI (CI=true) that is a failure.
func TestJavaScriptSDK(t *testing.T) {
	dir, err := filepath.Abs(filepath.Join("..", "testdata", "js"))
	if err != nil {
		t.Fatal(err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("node is not installed; the JavaScript SDK test needs Node.js and npm")
		}
		t.Skip("node is not installed")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@azure", "storage-blob")); err != nil {
		npm, err := exec.LookPath("npm")
		if err != nil {
			t.Fatal("npm is needed to install @azure/storage-blob: ", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund", "--loglevel=error")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm ci: %v\n%s", err, out)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	emu, err := emulator.Start(ctx, emulator.Options{Lag: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	for _, tc := range []struct{ name, secondary string }{
		{"distinct secondary host", emu.SecondaryURL()},
		{"path-style secondary", emu.PathStyleSecondaryURL(emu.AccountName())},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.CommandContext(ctx, node, "sdk-test.mjs")
			cmd.Dir = dir
			cmd.Env = append(os.Environ(),
				"GEOBLOB_CONNECTION_STRING="+emu.ConnectionString(),
				"GEOBLOB_SECONDARY_URL="+tc.secondary,
				"GEOBLOB_ACCOUNT="+emu.AccountName(),
				"GEOBLOB_KEY="+emu.AccountKey(),
			)
			out, err := cmd.CombinedOutput()
			t.Logf("node output:\n%s", out)
			if err != nil {
				t.Fatalf("JavaScript SDK test failed: %v", err)
			}
			if got := strings.Count(string(out), "ok "); got != 8 {
				t.Fatalf("%d checks passed, want 8", got)
			}
		})
	}
}
