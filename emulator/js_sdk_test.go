package emulator_test

import (
	"context"
	"fmt"
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
	dir, node := jsSDK(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	emu, err := emulator.Start(ctx, emulator.Options{Lag: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	for _, tc := range []struct{ name, secondary string }{
		{"distinct secondary host", emu.SecondaryURL()},
		{"path-style secondary", emu.ServiceURL(emulator.SecondaryPathStyle, "")},
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
			if got := strings.Count(string(out), "ok "); got != 9 {
				t.Fatalf("%d checks passed, want 9", got)
			}
		})
	}
}

// TestUseDevelopmentStorage serves the emulator on Azurite's default port
// and lets the JavaScript SDK connect with "UseDevelopmentStorage=true".
// The port must be free: outside CI a busy port skips the test.
func TestUseDevelopmentStorage(t *testing.T) {
	dir, node := jsSDK(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	emu, err := emulator.Start(ctx, emulator.Options{Port: 10000, NoSecondaryListener: true})
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("port 10000 must be free in CI: %v", err)
		}
		t.Skipf("port 10000 is busy: %v", err)
	}
	defer emu.Close()
	cmd := exec.CommandContext(ctx, node, "devstorage.mjs")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ok UseDevelopmentStorage=true") {
		t.Fatalf("UseDevelopmentStorage=true: %v\n%s", err, out)
	}
}

// jsSDK returns the directory of the JavaScript test scripts, with
// @azure/storage-blob installed (npm ci when missing), and node's path.
// Outside CI a machine without node skips; in CI (CI=true) that fails.
func jsSDK(t *testing.T) (dir, node string) {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "testdata", "js"))
	if err != nil {
		t.Fatal(err)
	}
	node, err = exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("node is not installed; the JavaScript SDK test needs Node.js and npm")
		}
		t.Skip("node is not installed")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@azure", "storage-blob")); err != nil {
		if msg := npmCI(dir); msg != "" {
			// .ci/run installs the packages before the tests, so in CI a
			// missing package is a failure; elsewhere (offline, no npm)
			// the test cannot run and says why.
			if os.Getenv("CI") != "" {
				t.Fatal(msg)
			}
			t.Skip(msg + "; run `npm ci` in testdata/js to enable this test")
		}
	}
	return dir, node
}

// npmCI installs the JavaScript test packages in dir. It returns "" on
// success and otherwise a one-line reason that names the packages.
func npmCI(dir string) string {
	npm, err := exec.LookPath("npm")
	if err != nil {
		return "the npm packages of testdata/js (@azure/storage-blob) are not installed and npm is not available"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		last := strings.TrimSpace(string(out))
		if i := strings.LastIndexByte(last, '\n'); i >= 0 {
			last = last[i+1:]
		}
		return fmt.Sprintf("cannot install the npm packages of testdata/js (@azure/storage-blob): npm ci: %v: %s", err, last)
	}
	return ""
}

// TestNPMCIReason: without npm the JavaScript tests get a clear reason to
// skip (outside CI) instead of failing.
func TestNPMCIReason(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	msg := npmCI(t.TempDir())
	if !strings.Contains(msg, "@azure/storage-blob") || !strings.Contains(msg, "npm is not available") {
		t.Fatalf("reason %q", msg)
	}
}
