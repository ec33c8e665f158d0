package emulator_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"

	"github.com/geoblob/geoblob/emulator"
)

// TestRefusedFailoverReleasesWrites: with one write stalled in flight, a
// failover waiting for it refuses other writes with 503 at once (rather
// than holding them), and once the failover gives up (its context ends)
// writes go through again, though the stalled write is still in flight.
// The gate used to be a sync.RWMutex, whose pending Lock could not be
// withdrawn: every later write waited for the stalled one.
func TestRefusedFailoverReleasesWrites(t *testing.T) {
	emu := start(t, emulator.Options{})
	client := primaryNoRetry(t, emu)
	if _, err := client.CreateContainer(t.Context(), "ctr", nil); err != nil {
		t.Fatal(err)
	}
	u := writeSAS(t, client)
	c, br := startUpload(t, emu, u, "stalled")
	// The write is in flight. A failover waits for it.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := emu.Failover(ctx, emulator.Unplanned)
		done <- err
	}()
	for !emu.Replication().State().Swapping {
		select {
		case err := <-done:
			t.Fatalf("failover ended with a write in flight: %v", err)
		case <-time.After(time.Millisecond):
		}
	}
	wctx, wcancel := context.WithTimeout(context.Background(), bound)
	defer wcancel()
	_, err := client.UploadBuffer(wctx, "ctr", "during", []byte("x"), nil)
	if !bloberror.HasCode(err, bloberror.ServerBusy) {
		t.Fatalf("write while the failover waits: %v, want 503 ServerBusy", err)
	}
	cancel()
	if err := <-done; !errors.Is(err, emulator.ErrFailoverRefused) || !errors.Is(err, context.Canceled) {
		t.Fatalf("failover given up: %v", err)
	}
	// The stalled write is still in flight; others must not wait for it.
	if _, err := client.UploadBuffer(wctx, "ctr", "after", []byte("x"), nil); err != nil {
		t.Fatalf("write after the failover gave up: %v", err)
	}
	if _, err := emu.Failover(ctx, emulator.Planned); !errors.Is(err, context.Canceled) {
		t.Fatalf("planned failover with a canceled context and a write in flight: %v", err)
	}
	if _, err := client.UploadBuffer(wctx, "ctr", "after2", []byte("x"), nil); err != nil {
		t.Fatalf("write after the planned failover gave up: %v", err)
	}
	if _, err := io.WriteString(c, "1234567890"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("the stalled write: %d", resp.StatusCode)
	}
}
