package main

import (
	"context"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
)

// TestServeRehydrateDelay: --rehydrate-delay reaches the emulator; a
// negative delay rehydrates an archived blob at once.
func TestServeRehydrateDelay(t *testing.T) {
	tests := []struct {
		delay    string
		wantTier string
	}{
		{"-1s", "Hot"},
		{"1h", "Archive"},
	}
	for _, tt := range tests {
		t.Run(tt.delay, func(t *testing.T) {
			s := startServe(t, "--rehydrate-delay", tt.delay)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			client, err := azblob.NewClientFromConnectionString(s.ConnectionString, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := client.CreateContainer(ctx, "tiers", nil); err != nil {
				t.Fatal(err)
			}
			bb := client.ServiceClient().NewContainerClient("tiers").NewBlockBlobClient("b")
			if _, err := bb.UploadBuffer(ctx, []byte("x"), &blockblob.UploadBufferOptions{AccessTier: to.Ptr(blob.AccessTierArchive)}); err != nil {
				t.Fatal(err)
			}
			if _, err := bb.SetTier(ctx, blob.AccessTierHot, nil); err != nil {
				t.Fatal(err)
			}
			p, err := bb.GetProperties(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if *p.AccessTier != tt.wantTier {
				t.Fatalf("tier %s, want %s", *p.AccessTier, tt.wantTier)
			}
			if err := s.stop(); err != nil {
				t.Fatal(err)
			}
		})
	}
}
