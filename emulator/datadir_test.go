package emulator_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/lease"

	"github.com/geoblob/geoblob/emulator"
)

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// startDir starts an emulator on dir with a manual clock, closing it at the
// end of the test unless the test closed it.
func startDir(t *testing.T, dir string, clk *emulator.ManualClock, lag time.Duration) *emulator.Emulator {
	t.Helper()
	return start(t, emulator.Options{DataDir: dir, Clock: clk, Lag: lag, NoSecondaryListener: true})
}

// TestDataDirSurvivesRestart writes every kind of state, restarts the
// emulator on the same directory and finds it all again: containers with
// metadata and ACL, blobs (Put Blob, block list, copy) with properties and
// metadata, uncommitted blocks, a lease and service properties. Replication
// paused across the restart resumes without loss and LastSyncTime does not
// go backwards.
func TestDataDirSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clk := emulator.NewManualClock(time.Now().Add(-time.Hour).Truncate(time.Second))
	emu := startDir(t, dir, clk, 10*time.Second)
	prim, _ := clients(t, emu, emu.ServiceURL(emulator.SecondaryPathStyle, ""))

	if _, err := prim.CreateContainer(ctx, "ccc", &container.CreateOptions{Metadata: map[string]*string{"k": to.Ptr("v")}}); err != nil {
		t.Fatal(err)
	}
	cc := prim.ServiceClient().NewContainerClient("ccc")
	if _, err := cc.SetAccessPolicy(ctx, &container.SetAccessPolicyOptions{
		Access:       to.Ptr(container.PublicAccessTypeBlob),
		ContainerACL: []*container.SignedIdentifier{{ID: to.Ptr("pol"), AccessPolicy: &container.AccessPolicy{Permission: to.Ptr("r")}}},
	}); err != nil {
		t.Fatal(err)
	}
	small := []byte("small body")
	large := randomBytes(t, 3<<20+17)
	if _, err := prim.UploadBuffer(ctx, "ccc", "small", small, &azblob.UploadBufferOptions{Metadata: map[string]*string{"m": to.Ptr("1")}}); err != nil {
		t.Fatal(err)
	}
	// Several blocks: UploadBuffer with a small block size commits a list.
	if _, err := prim.UploadBuffer(ctx, "ccc", "large", large, &azblob.UploadBufferOptions{BlockSize: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	bb := cc.NewBlockBlobClient("staged")
	id := base64.StdEncoding.EncodeToString([]byte("block-01"))
	if _, err := bb.StageBlock(ctx, id, streaming("uncommitted bytes"), nil); err != nil {
		t.Fatal(err)
	}
	lc, err := lease.NewBlobClient(cc.NewBlobClient("small"), &lease.BlobClientOptions{LeaseID: to.Ptr("11111111-2222-3333-4444-555555555555")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lc.AcquireLease(ctx, -1, nil); err != nil {
		t.Fatal(err)
	}
	svc := prim.ServiceClient()
	if _, err := svc.SetProperties(ctx, nil); err != nil {
		t.Fatal(err)
	}
	clk.Advance(11 * time.Second)
	waitReplicated(t, emu)
	before := emu.Replication().State().LastSyncTime
	// Written while replication is paused: pending across the restart.
	emu.Replication().Pause()
	if _, err := prim.UploadBuffer(ctx, "ccc", "late", []byte("late"), nil); err != nil {
		t.Fatal(err)
	}
	if err := emu.Close(); err != nil {
		t.Fatal(err)
	}

	emu2 := startDir(t, dir, clk, 10*time.Second)
	prim2, sec2 := clients(t, emu2, emu2.ServiceURL(emulator.SecondaryPathStyle, ""))
	if st := emu2.Replication().State(); st.LastSyncTime.Before(before) || st.Pending != 1 {
		t.Fatalf("after restart: LastSyncTime %v (was %v), pending %d (want 1)", st.LastSyncTime, before, st.Pending)
	}
	for name, want := range map[string][]byte{"small": small, "large": large, "late": []byte("late")} {
		got, err := download(ctx, prim2, "ccc", name)
		if err != nil || got != string(want) {
			t.Fatalf("%s after restart: %d bytes, %v", name, len(got), err)
		}
	}
	props, err := prim2.ServiceClient().NewContainerClient("ccc").NewBlobClient("small").GetProperties(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if *props.LeaseState != lease.StateTypeLeased || props.Metadata["m"] == nil && props.Metadata["M"] == nil {
		t.Fatalf("lease %v metadata %v", *props.LeaseState, props.Metadata)
	}
	if sum := md5.Sum(small); !bytes.Equal(props.ContentMD5, sum[:]) {
		t.Fatalf("MD5 %x", props.ContentMD5)
	}
	cp, err := prim2.ServiceClient().NewContainerClient("ccc").GetProperties(ctx, nil)
	if err != nil || cp.Metadata["k"] == nil && cp.Metadata["K"] == nil || *cp.BlobPublicAccess != container.PublicAccessTypeBlob {
		t.Fatalf("container after restart: %+v %v", cp, err)
	}
	pol, err := prim2.ServiceClient().NewContainerClient("ccc").GetAccessPolicy(ctx, nil)
	if err != nil || len(pol.SignedIdentifiers) != 1 || *pol.SignedIdentifiers[0].ID != "pol" {
		t.Fatalf("ACL after restart: %v", err)
	}
	bl, err := prim2.ServiceClient().NewContainerClient("ccc").NewBlockBlobClient("staged").GetBlockList(ctx, blockblob.BlockListTypeAll, nil)
	if err != nil || len(bl.UncommittedBlocks) != 1 || *bl.UncommittedBlocks[0].Name != id {
		t.Fatalf("uncommitted blocks after restart: %+v %v", bl, err)
	}
	// Commit the restored block: its bytes are still there.
	if _, err := prim2.ServiceClient().NewContainerClient("ccc").NewBlockBlobClient("staged").CommitBlockList(ctx, []string{id}, nil); err != nil {
		t.Fatal(err)
	}
	if got, err := download(ctx, prim2, "ccc", "staged"); err != nil || got != "uncommitted bytes" {
		t.Fatalf("committed restored block: %q %v", got, err)
	}
	if _, err := prim2.ServiceClient().GetProperties(ctx, nil); err != nil {
		t.Fatal(err)
	}
	// The secondary kept what it had applied, and gets the rest.
	if got, err := download(ctx, sec2, "ccc", "large"); err != nil || got != string(large) {
		t.Fatalf("secondary after restart: %d bytes %v", len(got), err)
	}
	if _, err := download(ctx, sec2, "ccc", "late"); err == nil {
		t.Fatal("a change pending before the restart was on the secondary at once")
	}
	clk.Advance(11 * time.Second)
	waitReplicated(t, emu2)
	if got, err := download(ctx, sec2, "ccc", "late"); err != nil || got != "late" {
		t.Fatalf("secondary after resume: %q %v", got, err)
	}
	if st := emu2.Replication().State(); st.Applied != 2 || st.Pending != 0 {
		t.Fatalf("after resume: %+v, want the 2 writes pending applied once each", st)
	}
}

// TestDataDirLocked: a second emulator on a directory in use is refused
// with a one-line error.
func TestDataDirLocked(t *testing.T) {
	dir := t.TempDir()
	startDir(t, dir, emulator.NewManualClock(time.Now()), 0)
	_, err := emulator.New(emulator.Options{DataDir: dir})
	if err == nil || !strings.Contains(err.Error(), "in use") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("second open: %v", err)
	}
}

// TestDataDirGarbage: overwritten and deleted blob content leaves the disk
// once the secondary has applied the change, and not before.
func TestDataDirGarbage(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clk := emulator.NewManualClock(time.Now().Add(-time.Hour))
	emu := startDir(t, dir, clk, 10*time.Second)
	prim, _ := clients(t, emu, emu.ServiceURL(emulator.SecondaryPathStyle, ""))
	if _, err := prim.CreateContainer(ctx, "ggg", nil); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := prim.UploadBuffer(ctx, "ggg", "b", []byte(fmt.Sprint("version ", i)), nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := prim.UploadBuffer(ctx, "ggg", "gone", []byte("deleted soon"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := prim.DeleteBlob(ctx, "ggg", "gone", nil); err != nil {
		t.Fatal(err)
	}
	// Nothing has replicated: every version is still pending, so kept.
	collect(t, emu)
	if n := countContentFiles(t, dir); n != 4 {
		t.Fatalf("%d content files before replication, want 4", n)
	}
	clk.Advance(11 * time.Second)
	waitReplicated(t, emu)
	// Primary and secondary both hold only "version 2" now.
	for range 50 {
		collect(t, emu)
		if countContentFiles(t, dir) == 1 {
			break
		}
	}
	if n := countContentFiles(t, dir); n != 1 {
		t.Fatalf("%d content files after replication, want 1", n)
	}
	if got, err := download(ctx, prim, "ggg", "b"); err != nil || got != "version 2" {
		t.Fatalf("after collection: %q %v", got, err)
	}
}

func collect(t *testing.T, emu *emulator.Emulator) {
	t.Helper()
	if _, err := emu.CollectGarbage(); err != nil {
		t.Fatal(err)
	}
}

func countContentFiles(t *testing.T, dir string) int {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// TestDataDirDamagedContent: a blob whose content file was truncated on
// disk answers 500 InternalError saying so; other blobs are still served.
func TestDataDirDamagedContent(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	emu := startDir(t, dir, emulator.NewManualClock(time.Now()), 0)
	// No retries: the 500 is the answer under test.
	prim := primaryNoRetry(t, emu)
	if _, err := prim.CreateContainer(ctx, "dmg", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := prim.UploadBuffer(ctx, "dmg", "victim", randomBytes(t, 100000), nil); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(filepath.Join(dir, "blobs"))
	if err != nil || len(entries) != 1 {
		t.Fatalf("content files: %v %v", entries, err)
	}
	if err := os.Truncate(filepath.Join(dir, "blobs", entries[0].Name()), 99); err != nil {
		t.Fatal(err)
	}
	if _, err := prim.UploadBuffer(ctx, "dmg", "fine", []byte("fine"), nil); err != nil {
		t.Fatal(err)
	}
	_, err = download(ctx, prim, "dmg", "victim")
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusInternalServerError || re.ErrorCode != "InternalError" || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("damaged blob: %v", err)
	}
	if got, err := download(ctx, prim, "dmg", "fine"); err != nil || got != "fine" {
		t.Fatalf("other blob: %q %v", got, err)
	}
}

// TestDataDirDamagedContentRanged: a ranged read of a blob whose content
// file has its bytes changed on disk (same length) answers 500
// InternalError before sending any byte, whether or not the range covers
// the change; an undamaged blob serves the range.
func TestDataDirDamagedContentRanged(t *testing.T) {
	tests := []struct {
		name   string
		damage func(b []byte) // nil: left alone
	}{
		{"undamaged", nil},
		{"a byte flipped", func(b []byte) { b[len(b)/2] ^= 0x20 }},
		{"garbage of the same length", func(b []byte) {
			for i := range b {
				b[i] = byte(i*131 + 7)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			emu := startDir(t, dir, emulator.NewManualClock(time.Now()), 0)
			prim := primaryNoRetry(t, emu)
			if _, err := prim.CreateContainer(ctx, "dmg", nil); err != nil {
				t.Fatal(err)
			}
			data := randomBytes(t, 100000)
			if _, err := prim.UploadBuffer(ctx, "dmg", "victim", data, nil); err != nil {
				t.Fatal(err)
			}
			if tc.damage != nil {
				entries, err := os.ReadDir(filepath.Join(dir, "blobs"))
				if err != nil || len(entries) != 1 {
					t.Fatalf("content files: %v %v", entries, err)
				}
				path := filepath.Join(dir, "blobs", entries[0].Name())
				b, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				tc.damage(b)
				if err := os.WriteFile(path, b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			for _, rg := range []blob.HTTPRange{{Offset: 10, Count: 100}, {Offset: 50000 - 50, Count: 100}} {
				resp, err := prim.DownloadStream(ctx, "dmg", "victim", &azblob.DownloadStreamOptions{Range: rg})
				if tc.damage == nil {
					if err != nil {
						t.Fatalf("range %+v: %v", rg, err)
					}
					got, err := io.ReadAll(resp.Body)
					resp.Body.Close()
					if err != nil || !bytes.Equal(got, data[rg.Offset:rg.Offset+rg.Count]) {
						t.Fatalf("range %+v: %d bytes, %v", rg, len(got), err)
					}
					continue
				}
				var re *azcore.ResponseError
				if !errors.As(err, &re) || re.StatusCode != http.StatusInternalServerError || re.ErrorCode != "InternalError" || !strings.Contains(err.Error(), "damaged") {
					if err == nil {
						resp.Body.Close()
					}
					t.Fatalf("range %+v of a damaged blob: %v", rg, err)
				}
			}
		})
	}
}

// primaryNoRetry is a Shared Key client of the primary that never retries,
// for tests whose answer under test is an error status.
func primaryNoRetry(t *testing.T, emu *emulator.Emulator) *azblob.Client {
	t.Helper()
	c, err := azblob.NewClientWithSharedKeyCredential(emu.PrimaryURL(), credential(t, emu),
		&azblob.ClientOptions{ClientOptions: policy.ClientOptions{Retry: policy.RetryOptions{MaxRetries: -1}}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
