package blobapi_test

import (
	"bytes"
	"crypto/md5"
	"io"
	"net/http"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/lease"
)

// The tests in this file pin behaviour found to differ from Azure in a
// side-by-side comparison with Azurite, each checked against the Azure Blob
// REST reference.

func TestRangeMD5Limits(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("ctr")
	data := bytes.Repeat([]byte("x"), 5<<20)
	e.mustUpload("ctr", "big", data)
	tests := []struct {
		name  string
		rng   blob.HTTPRange
		ok    bool
		check []byte
	}{
		// Azure: the range MD5 needs a range, of at most 4 MiB; otherwise
		// 400 InvalidHeaderValue naming x-ms-range-get-content-md5.
		{"no range", blob.HTTPRange{}, false, nil},
		{"range above 4 MiB", blob.HTTPRange{Offset: 0, Count: 4<<20 + 1}, false, nil},
		{"range of 4 MiB", blob.HTTPRange{Offset: 1, Count: 4 << 20}, true, data[1 : 1+4<<20]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := e.client.DownloadStream(ctx(), "ctr", "big", &blob.DownloadStreamOptions{Range: tt.rng, RangeGetContentMD5: to.Ptr(true)})
			if !tt.ok {
				wantCode(t, err, http.StatusBadRequest, bloberror.InvalidHeaderValue)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			_, _ = io.Copy(io.Discard, resp.Body)
			want := md5.Sum(tt.check)
			if !bytes.Equal(resp.ContentMD5, want[:]) {
				t.Errorf("range MD5 = %x, want %x", resp.ContentMD5, want)
			}
		})
	}
}

func TestBlockIDsOfOneLength(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("ctr")
	bc := e.client.ServiceClient().NewContainerClient("ctr").NewBlockBlobClient("b")
	if _, err := bc.StageBlock(ctx(), base64Std("aaaa"), streamOf([]byte("1")), nil); err != nil {
		t.Fatal(err)
	}
	// Azure: a block id of another length than the blob's uncommitted
	// blocks is refused with 400 InvalidBlobOrBlock.
	_, err := bc.StageBlock(ctx(), base64Std("bbbbbbbb"), streamOf([]byte("2")), nil)
	wantCode(t, err, http.StatusBadRequest, bloberror.InvalidBlobOrBlock)
	if _, err := bc.StageBlock(ctx(), base64Std("cccc"), streamOf([]byte("3")), nil); err != nil {
		t.Fatalf("same length: %v", err)
	}
}

func TestListIncludeValidated(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("ctr")
	e.mustUpload("ctr", "b", []byte("x"))
	tests := []struct {
		path   string
		status int
	}{
		{"/" + devAccount + "/ctr?restype=container&comp=list&include=bogus", http.StatusBadRequest},
		{"/" + devAccount + "/ctr?restype=container&comp=list&include=metadata,bogus", http.StatusBadRequest},
		{"/" + devAccount + "/?comp=list&include=snapshots", http.StatusBadRequest},
		{"/" + devAccount + "/ctr?restype=container&comp=list&include=Metadata,copy,tags,versions", http.StatusOK},
		{"/" + devAccount + "/ctr?restype=container&comp=list&include=Metadata,uncommittedblobs,copy", http.StatusOK},
		{"/" + devAccount + "/?comp=list&include=metadata,system", http.StatusOK},
	}
	for _, tt := range tests {
		resp := e.do("GET", tt.path, nil, nil)
		if resp.StatusCode != tt.status {
			t.Errorf("%s: status %d, want %d", tt.path, resp.StatusCode, tt.status)
		}
		if tt.status == http.StatusBadRequest && resp.Header.Get("x-ms-error-code") != string(bloberror.InvalidQueryParameterValue) {
			t.Errorf("%s: error code %q", tt.path, resp.Header.Get("x-ms-error-code"))
		}
	}
	// The SDK's include flags are all accepted but DeletedWithVersions,
	// refused as not modelled (TestListDeletedWithVersionsRefused).
	pager := e.client.NewListBlobsFlatPager("ctr", &azblob.ListBlobsFlatOptions{Include: azblob.ListBlobsInclude{
		Copy: true, Metadata: true, Snapshots: true, Deleted: true, Tags: true, UncommittedBlobs: true,
		Versions: true, LegalHold: true, ImmutabilityPolicy: true, Permissions: true,
	}})
	if _, err := pager.NextPage(ctx()); err != nil {
		t.Fatal(err)
	}
}

func TestLeaseIDsMustBeGUIDs(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("ctr")
	e.mustUpload("ctr", "b", []byte("x"))
	bc := e.client.ServiceClient().NewContainerClient("ctr").NewBlobClient("b")
	bad, err := lease.NewBlobClient(bc, &lease.BlobClientOptions{LeaseID: to.Ptr("not-a-guid")})
	if err != nil {
		t.Fatal(err)
	}
	// Azure: a proposed lease id that is not a GUID is refused with 400.
	_, err = bad.AcquireLease(ctx(), -1, nil)
	wantCode(t, err, http.StatusBadRequest, bloberror.InvalidHeaderValue)

	good, err := lease.NewBlobClient(bc, &lease.BlobClientOptions{LeaseID: to.Ptr("{11111111-1111-1111-1111-111111111111}")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := good.AcquireLease(ctx(), -1, nil); err != nil {
		t.Fatalf("braced GUID: %v", err)
	}
	_, err = good.ChangeLease(ctx(), "not-a-guid", nil)
	wantCode(t, err, http.StatusBadRequest, bloberror.InvalidHeaderValue)
	if _, err := good.ReleaseLease(ctx(), nil); err != nil {
		t.Fatal(err)
	}
}
