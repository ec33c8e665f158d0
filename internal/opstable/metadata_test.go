package opstable

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"

	"github.com/geoblob/geoblob/emulator"
)

// TestMetadataOnlyReads covers Get Container Metadata and Get Blob
// Metadata, the GET ?comp=metadata reads that azblob has no method for
// (it reads metadata with Get Properties): each answers 200 with the
// metadata headers and an ETag, and no body. Raw HTTP, as azblob cannot
// send these requests.
func TestMetadataOnlyReads(t *testing.T) {
	ctx := context.Background()
	emu, err := emulator.Start(ctx, emulator.Options{NoSecondaryListener: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emu.Close() })
	cred, err := azblob.NewSharedKeyCredential(emu.AccountName(), emu.AccountKey())
	if err != nil {
		t.Fatal(err)
	}
	client, err := azblob.NewClientWithSharedKeyCredential(emu.PrimaryURL()+"/", cred, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.CreateContainer(ctx, "meta", &container.CreateOptions{Metadata: map[string]*string{"owner": to.Ptr("ops")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.UploadBuffer(ctx, "meta", "b", []byte("content"), &azblob.UploadBufferOptions{Metadata: map[string]*string{"colour": to.Ptr("blue")}}); err != nil {
		t.Fatal(err)
	}
	q, err := sas.AccountSignatureValues{
		Protocol:      sas.ProtocolHTTPSandHTTP,
		ExpiryTime:    time.Now().Add(time.Hour),
		Permissions:   (&sas.AccountPermissions{Read: true}).String(),
		ResourceTypes: (&sas.AccountResourceTypes{Container: true, Object: true}).String(),
	}.SignWithSharedKey(cred)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, url, header, value string
	}{
		{"container", emu.PrimaryURL() + "/meta?restype=container&comp=metadata&" + q.Encode(), "x-ms-meta-owner", "ops"},
		{"blob", emu.PrimaryURL() + "/meta/b?comp=metadata&" + q.Encode(), "x-ms-meta-colour", "blue"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, tc.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("x-ms-version", "2025-01-05")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d (%s), want 200", resp.StatusCode, resp.Header.Get("x-ms-error-code"))
			}
			if got := resp.Header.Get(tc.header); got != tc.value {
				t.Errorf("%s = %q, want %q", tc.header, got, tc.value)
			}
			if resp.Header.Get("ETag") == "" {
				t.Error("no ETag")
			}
			if len(body) != 0 {
				t.Errorf("body %q, want none", body)
			}
		})
	}
}
