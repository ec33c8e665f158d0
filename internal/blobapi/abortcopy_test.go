package blobapi_test

import (
	"net/http"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/lease"

	"github.com/geoblob/geoblob/internal/blobapi"
)

// TestAbortCopyBlob: the emulator's copies complete before Copy Blob
// answers, so Abort Copy Blob finds no pending copy (409
// NoPendingCopyOperation) once the blob and its lease pass Azure's checks;
// it never changes the blob, and the secondary refuses it as a write.
func TestAbortCopyBlob(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("ctr")
	e.mustUpload("ctr", "src", []byte("copied"))
	cc := e.client.ServiceClient().NewContainerClient("ctr")
	copied := cc.NewBlobClient("dst")
	r, err := copied.StartCopyFromURL(ctx(), cc.NewBlobClient("src").URL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	copyID := *r.CopyID
	e.mustUpload("ctr", "plain", []byte("never a copy"))
	e.mustUpload("ctr", "leased", []byte("leased"))
	leased := cc.NewBlobClient("leased")
	lc, err := lease.NewBlobClient(leased, &lease.BlobClientOptions{LeaseID: to.Ptr("c0ffee00-0000-4000-8000-000000000001")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lc.AcquireLease(ctx(), -1, nil); err != nil {
		t.Fatal(err)
	}
	withLease := func(id string) *blob.AbortCopyFromURLOptions {
		return &blob.AbortCopyFromURLOptions{LeaseAccessConditions: &blob.LeaseAccessConditions{LeaseID: to.Ptr(id)}}
	}
	for _, tc := range []struct {
		name   string
		bc     *blob.Client
		id     string
		o      *blob.AbortCopyFromURLOptions
		status int
		code   bloberror.Code
	}{
		{"completed copy", copied, copyID, nil, 409, bloberror.NoPendingCopyOperation},
		{"another copy id", copied, "00000000-0000-0000-0000-000000000000", nil, 409, bloberror.NoPendingCopyOperation},
		{"never copied", cc.NewBlobClient("plain"), copyID, nil, 409, bloberror.NoPendingCopyOperation},
		{"missing blob", cc.NewBlobClient("nothing"), copyID, nil, 404, bloberror.BlobNotFound},
		{"missing container", e.client.ServiceClient().NewContainerClient("none").NewBlobClient("b"), copyID, nil, 404, bloberror.ContainerNotFound},
		{"infinite lease without its id", leased, copyID, nil, 412, bloberror.LeaseIDMissing},
		{"infinite lease with another id", leased, copyID, withLease("c0ffee00-0000-4000-8000-000000000002"), 412, bloberror.LeaseIDMismatchWithBlobOperation},
		{"infinite lease with its id", leased, copyID, withLease(*lc.LeaseID()), 409, bloberror.NoPendingCopyOperation},
		{"lease id on an unleased blob", copied, copyID, withLease("c0ffee00-0000-4000-8000-000000000002"), 412, bloberror.LeaseNotPresentWithBlobOperation},
		{"secondary", e.secClient.ServiceClient().NewContainerClient("ctr").NewBlobClient("dst"), copyID, nil, 403, blobapi.SecondaryWriteCode},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.bc.AbortCopyFromURL(ctx(), tc.id, tc.o)
			wantCode(t, err, tc.status, tc.code)
		})
	}
	p, err := copied.GetProperties(ctx(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if *p.CopyID != copyID || *p.CopyStatus != blob.CopyStatusTypeSuccess || *p.ContentLength != int64(len("copied")) {
		t.Errorf("after the aborts: copy %s %s, %d bytes", *p.CopyID, *p.CopyStatus, *p.ContentLength)
	}
}

// TestAbortCopyBlobRequestForm: the copy id and x-ms-copy-action are
// required, and the action must be abort (raw requests: azblob always
// sends both).
func TestAbortCopyBlobRequestForm(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("ctr")
	e.mustUpload("ctr", "b", []byte("x"))
	for _, tc := range []struct {
		name   string
		query  string
		hdr    map[string]string
		status int
		code   string
	}{
		{"no copy id", "comp=copy", map[string]string{"x-ms-copy-action": "abort"}, 400, "MissingRequiredQueryParameter"},
		{"no action", "comp=copy&copyid=abc", nil, 400, "MissingRequiredHeader"},
		{"other action", "comp=copy&copyid=abc", map[string]string{"x-ms-copy-action": "pause"}, 400, "InvalidHeaderValue"},
		{"abort", "comp=copy&copyid=abc", map[string]string{"x-ms-copy-action": "abort"}, 409, "NoPendingCopyOperation"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := e.do(http.MethodPut, "/"+devAccount+"/ctr/b?"+tc.query, tc.hdr, nil)
			_ = resp.Body.Close()
			if resp.StatusCode != tc.status || resp.Header.Get("x-ms-error-code") != tc.code {
				t.Fatalf("got %d %s, want %d %s", resp.StatusCode, resp.Header.Get("x-ms-error-code"), tc.status, tc.code)
			}
		})
	}
}
