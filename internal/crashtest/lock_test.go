package crashtest

import (
	"context"
	"testing"
	"time"
)

// TestDataDirInUse starts a second server on a data directory a running
// server holds: it must refuse with one line, and the first must go on
// serving; once the first has been killed, the directory opens again (a
// SIGKILLed holder leaves no lock behind).
func TestDataDirInUse(t *testing.T) {
	dir := t.TempDir()
	first := mustStart(t, "--data-dir", dir)
	second, err := startServer(t, "--data-dir", dir)
	if err == nil {
		t.Fatalf("a second server opened a data directory in use:\n%s", second.output())
	}
	checkRefusal(t, second, err)
	ep := connect(t, first)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := ep.primary.CreateContainer(ctx, containerName, nil); err != nil {
		t.Fatalf("the first server stopped serving: %v", err)
	}
	first.kill()
	third := mustStart(t, "--data-dir", dir)
	ep = connect(t, third)
	if _, err := ep.primary.ServiceClient().NewContainerClient(containerName).GetProperties(ctx, nil); err != nil {
		t.Fatalf("the container is gone after the kill: %v", err)
	}
}
