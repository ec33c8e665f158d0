package emulator_test

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	azstreaming "github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"

	"github.com/geoblob/geoblob/emulator"
)

// TestFailoverDropsStagedBlocks checks the README's word on uncommitted
// blocks: they are not replicated, so either kind of failover leaves them
// behind, the unplanned report does not list them, and a Put Block List
// naming them afterwards fails with 400 InvalidBlockList. A committed
// blob, replicated before the failover, survives both.
func TestFailoverDropsStagedBlocks(t *testing.T) {
	for _, kind := range []emulator.FailoverType{emulator.Planned, emulator.Unplanned} {
		t.Run(kind.String(), func(t *testing.T) {
			r := newFailoverRig(t, emulator.Options{Lag: time.Minute, BootstrapDuration: 10 * time.Minute})
			ctx := ctxT(t)
			if _, err := r.prim.CreateContainer(ctx, "cnt", nil); err != nil {
				t.Fatal(err)
			}
			r.put(t, "cnt", "kept", "committed")
			id := base64.StdEncoding.EncodeToString([]byte("block-0"))
			bb := r.prim.ServiceClient().NewContainerClient("cnt").NewBlockBlobClient("staged")
			if _, err := bb.StageBlock(ctx, id, azstreaming.NopCloser(strings.NewReader("staged data")), nil); err != nil {
				t.Fatal(err)
			}
			r.clk.Advance(time.Minute)
			waitReplicated(t, r.emu)

			rep, err := r.emu.Failover(ctx, kind)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range rep.Lost {
				t.Errorf("report lists %+v; want nothing lost (the block was staged, the blob replicated)", l)
			}
			if got, err := download(ctx, r.prim, "cnt", "kept"); err != nil || got != "committed" {
				t.Errorf("committed blob after the failover: %q %v", got, err)
			}
			_, err = bb.CommitBlockList(ctx, []string{id}, nil)
			wantCode(t, "commit of a block staged before the failover", err, http.StatusBadRequest, bloberror.InvalidBlockList)
		})
	}
}
