package blobapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
)

// TestBlobVersioning: with versioning on, every write that makes a version
// returns x-ms-version-id; previous versions stay readable by versionid
// (x-ms-is-current-version false), are listed with include=versions,
// deletable by versionid (not the current one), kept when the base blob
// is deleted, promoted by a copy, replicated to the secondary and
// refused there as writes. Without versioning no version id is given.
func TestBlobVersioning(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("ver")
	cc := e.client.ServiceClient().NewContainerClient("ver")
	bb := cc.NewBlockBlobClient("b")
	up, err := bb.Upload(ctx(), streamOf([]byte("unversioned")), nil)
	if err != nil {
		t.Fatal(err)
	}
	if up.VersionID != nil {
		t.Fatalf("version id %q without versioning", *up.VersionID)
	}
	e.primary.SetVersioning(true)

	var ids []string
	writes := []struct {
		name  string
		write func() (*string, error)
	}{
		{"put blob", func() (*string, error) {
			r, err := bb.Upload(ctx(), streamOf([]byte("v1")), nil)
			return r.VersionID, err
		}},
		{"set metadata", func() (*string, error) {
			r, err := bb.SetMetadata(ctx(), map[string]*string{"m": to.Ptr("1")}, nil)
			return r.VersionID, err
		}},
		{"put block list", func() (*string, error) {
			if _, err := bb.StageBlock(ctx(), base64Std("blk1"), streamOf([]byte("v3")), nil); err != nil {
				return nil, err
			}
			r, err := bb.CommitBlockList(ctx(), []string{base64Std("blk1")}, nil)
			return r.VersionID, err
		}},
	}
	for _, w := range writes {
		t.Run(w.name, func(t *testing.T) {
			id, err := w.write()
			if err != nil {
				t.Fatal(err)
			}
			if id == nil || *id == "" {
				t.Fatal("no x-ms-version-id")
			}
			for _, old := range ids {
				if old == *id {
					t.Fatalf("version id %s reused", *id)
				}
			}
			ids = append(ids, *id)
		})
	}
	if len(ids) != 3 {
		t.Fatalf("%d versions", len(ids))
	}
	// Set Blob Properties changes the current version in place.
	if _, err := bb.SetHTTPHeaders(ctx(), blob.HTTPHeaders{BlobContentType: to.Ptr("text/plain")}, nil); err != nil {
		t.Fatal(err)
	}
	reads := []struct {
		name    string
		id      string
		body    string
		current bool
	}{
		{"first", ids[0], "v1", false},
		{"second", ids[1], "v1", false},
		{"current", ids[2], "v3", true},
	}
	check := func(t *testing.T, bc *blob.Client) {
		for _, r := range reads {
			vc, err := bc.WithVersionID(r.id)
			if err != nil {
				t.Fatal(err)
			}
			if got := readAll(t, vc); string(got) != r.body {
				t.Fatalf("%s: body %q, want %q", r.name, got, r.body)
			}
			p, err := vc.GetProperties(ctx(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if p.VersionID == nil || *p.VersionID != r.id || p.IsCurrentVersion == nil || *p.IsCurrentVersion != r.current {
				t.Fatalf("%s: version %v current %v", r.name, p.VersionID, p.IsCurrentVersion)
			}
		}
	}
	check(t, bb.BlobClient())
	// The state written before versioning was on is kept as a version too
	// (TestVersioningKeepsUnversionedState).
	want := []string{"b@v", "b@v", "b@v", "b@vcur"}
	if got := listEntries(t, e.client, "ver", container.ListBlobsInclude{Versions: true}); !equalStrings(got, want) {
		t.Fatalf("listing %v, want %v", got, want)
	}
	// The secondary serves the versions once replicated, and refuses
	// deleting one.
	e.sync()
	secBlob := e.secClient.ServiceClient().NewContainerClient("ver").NewBlobClient("b")
	check(t, secBlob)
	sv, _ := secBlob.WithVersionID(ids[0])
	_, err = sv.Delete(ctx(), nil)
	wantCode(t, err, http.StatusForbidden, "")

	// Writes to a version are refused; the current version is not deleted
	// by its id.
	v0, _ := bb.BlobClient().WithVersionID(ids[0])
	_, err = v0.SetMetadata(ctx(), map[string]*string{"x": to.Ptr("1")}, nil)
	wantCode(t, err, http.StatusBadRequest, "InvalidOperation")
	cur, _ := bb.BlobClient().WithVersionID(ids[2])
	_, err = cur.Delete(ctx(), nil)
	wantCode(t, err, http.StatusForbidden, "OperationNotAllowedOnRootBlob")

	// Promote the first version by copying it over the base blob.
	cp, err := bb.StartCopyFromURL(ctx(), v0.URL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if cp.VersionID == nil {
		t.Fatal("no version id on the copy")
	}
	if got := readAll(t, bb.BlobClient()); string(got) != "v1" {
		t.Fatalf("promoted body %q", got)
	}
	// Delete one previous version, then the base blob: its versions stay.
	// A SAS deletes a version only with x.
	sasTests := []struct {
		name   string
		perms  sas.ContainerPermissions
		status int
	}{
		{"delete without x", sas.ContainerPermissions{Delete: true}, http.StatusForbidden},
		{"delete with x", sas.ContainerPermissions{Delete: true, DeletePreviousVersion: true}, 0},
	}
	for _, st := range sasTests {
		t.Run(st.name, func(t *testing.T) {
			qp, err := sas.BlobSignatureValues{Protocol: sas.ProtocolHTTPSandHTTP, ExpiryTime: time.Now().Add(time.Hour).UTC(),
				ContainerName: "ver", Permissions: st.perms.String()}.SignWithSharedKey(e.cred)
			if err != nil {
				t.Fatal(err)
			}
			bc, err := blob.NewClientWithNoCredential(v0.URL()+"&"+qp.Encode(), &blob.ClientOptions{ClientOptions: clientOptions().ClientOptions})
			if err != nil {
				t.Fatal(err)
			}
			_, err = bc.Delete(ctx(), nil)
			if st.status == 0 && err != nil {
				t.Fatal(err)
			} else if st.status != 0 {
				wantCode(t, err, st.status, "AuthorizationPermissionMismatch")
			}
		})
	}
	_, err = v0.GetProperties(ctx(), nil)
	wantCode(t, err, http.StatusNotFound, bloberror.BlobNotFound)
	if _, err := bb.Delete(ctx(), nil); err != nil {
		t.Fatal(err)
	}
	_, err = bb.GetProperties(ctx(), nil)
	wantCode(t, err, http.StatusNotFound, bloberror.BlobNotFound)
	want = []string{"b@v", "b@v", "b@v", "b@v"} // with the unversioned state
	if got := listEntries(t, e.client, "ver", container.ListBlobsInclude{Versions: true}); !equalStrings(got, want) {
		t.Fatalf("listing after delete %v, want %v", got, want)
	}
	if got := listEntries(t, e.client, "ver", container.ListBlobsInclude{}); len(got) != 0 {
		t.Fatalf("plain listing after delete %v", got)
	}
	e.sync()
	if got := listEntries(t, e.secClient, "ver", container.ListBlobsInclude{Versions: true}); !equalStrings(got, want) {
		t.Fatalf("secondary listing after delete %v, want %v", got, want)
	}
	// Off again: a new blob has no version id.
	e.primary.SetVersioning(false)
	r, err := cc.NewBlockBlobClient("plain").Upload(ctx(), streamOf([]byte("x")), &blockblob.UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r.VersionID != nil {
		t.Fatalf("version id %q after versioning was turned off", *r.VersionID)
	}
}

// TestListDeletedWithVersionsRefused: include=deletedwithversions would
// list deleted blobs that keep versions with HasVersionsOnly; the emulator
// does not model that entry, so it refuses the value (501) rather than
// answering a listing that silently leaves those blobs out.
func TestListDeletedWithVersionsRefused(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("dwv")
	for _, inc := range []string{"deletedwithversions", "versions,DeletedWithVersions"} {
		resp := e.do("GET", "/"+devAccount+"/dwv?restype=container&comp=list&include="+inc, nil, nil)
		if resp.StatusCode != http.StatusNotImplemented || resp.Header.Get("x-ms-error-code") != "NotImplemented" {
			t.Errorf("include=%s: %d %q, want 501 NotImplemented", inc, resp.StatusCode, resp.Header.Get("x-ms-error-code"))
		}
	}
}

// TestVersioningKeepsUnversionedState: a blob written before versioning
// was turned on has no version id; as in Azure, the first write or delete
// once versioning is on keeps its state as a previous version instead of
// losing it.
func TestVersioningKeepsUnversionedState(t *testing.T) {
	for _, tt := range []struct {
		name   string
		change func(t *testing.T, bb *blockblob.Client)
		want   []string
	}{
		{"overwrite", func(t *testing.T, bb *blockblob.Client) {
			if _, err := bb.Upload(ctx(), streamOf([]byte("new")), nil); err != nil {
				t.Fatal(err)
			}
		}, []string{"b@v", "b@vcur"}},
		{"delete", func(t *testing.T, bb *blockblob.Client) {
			if _, err := bb.Delete(ctx(), nil); err != nil {
				t.Fatal(err)
			}
		}, []string{"b@v"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.mustCreate("unv")
			e.mustUpload("unv", "b", []byte("old"))
			e.primary.SetVersioning(true)
			bb := e.client.ServiceClient().NewContainerClient("unv").NewBlockBlobClient("b")
			tt.change(t, bb)
			if got := listEntries(t, e.client, "unv", container.ListBlobsInclude{Versions: true}); !equalStrings(got, tt.want) {
				t.Fatalf("listing %v, want %v", got, tt.want)
			}
			pager := e.client.NewListBlobsFlatPager("unv", &azblob.ListBlobsFlatOptions{Include: azblob.ListBlobsInclude{Versions: true}})
			page, err := pager.NextPage(ctx())
			if err != nil {
				t.Fatal(err)
			}
			old := page.Segment.BlobItems[0]
			if old.VersionID == nil || *old.VersionID == "" {
				t.Fatal("the kept state has no version id")
			}
			vc, err := bb.BlobClient().WithVersionID(*old.VersionID)
			if err != nil {
				t.Fatal(err)
			}
			if got := readAll(t, vc); string(got) != "old" {
				t.Fatalf("kept version body %q, want old", got)
			}
			e.sync()
			if got := listEntries(t, e.secClient, "unv", container.ListBlobsInclude{Versions: true}); !equalStrings(got, tt.want) {
				t.Fatalf("secondary listing %v, want %v", got, tt.want)
			}
		})
	}
}
