package emubench

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/geoblob/geoblob/emulator"
)

// TestStopEndsAWrappersServer: a server started through a wrapper (a shell
// that runs the real server in the background and waits) is stopped with
// the wrapper, not left running after stop returns, still answering on
// its port and competing with the next phase for the CPU. The test binary
// serves as the floor (see TestMain in run_test.go).
func TestStopEndsAWrappersServer(t *testing.T) {
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	pidFile := filepath.Join(t.TempDir(), "server.pid")
	cmd := exec.Command("sh", "-c", `"$0" -test.run='^$' "$1" & echo $! > "$2"; wait`,
		os.Args[0], strconv.Itoa(port)+",1024,1048576", pidFile)
	cmd.Env = append(os.Environ(), "GEOBLOB_EMUBENCH_CHILD=floor")
	t.Cleanup(func() { // whatever the outcome, leave no server behind
		if b, err := os.ReadFile(pidFile); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	cred, err := azblob.NewSharedKeyCredential(emulator.DevAccountName, emulator.DevAccountKey)
	if err != nil {
		t.Fatal(err)
	}
	base := "http://127.0.0.1:" + strconv.Itoa(port) + "/" + emulator.DevAccountName
	s, err := startServer(t.Context(), "wrapped floor", cmd, base, cred, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	s.stop()
	if c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
		c.Close()
		t.Fatal("the wrapped server still answers after stop")
	}
}
