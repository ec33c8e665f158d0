package blobapi_test

import (
	"encoding/base64"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
)

// TestCrossAccountCopySource: the account key of one account never reads a
// private blob of another through Copy Blob; only the source account's own
// read SAS for that very blob does, in either direction.
func TestCrossAccountCopySource(t *testing.T) {
	keyB := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	rawB, _ := base64.StdEncoding.DecodeString(keyB)
	e := newEnv(t, envOptions{keys: func(a string) ([]byte, bool) {
		if a == "acctb" {
			return rawB, true
		}
		return nil, false
	}})
	credB, err := azblob.NewSharedKeyCredential("acctb", keyB)
	if err != nil {
		t.Fatal(err)
	}
	clientB, err := azblob.NewClientWithSharedKeyCredential(e.srv.URL+"/acctb/", credB, clientOptions())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := clientB.CreateContainer(ctx(), "priv", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := clientB.UploadBuffer(ctx(), "priv", "s", []byte("secret of b"), nil); err != nil {
		t.Fatal(err)
	}
	e.mustCreate("dst")
	e.mustUpload("dst", "mine", []byte("secret of a"))
	sign := func(cred *azblob.SharedKeyCredential, blob string, p sas.BlobPermissions) string {
		qp, err := sas.BlobSignatureValues{Protocol: sas.ProtocolHTTPSandHTTP, ExpiryTime: time.Now().Add(time.Hour).UTC(),
			Permissions: p.String(), ContainerName: "priv", BlobName: blob}.SignWithSharedKey(cred)
		if err != nil {
			t.Fatal(err)
		}
		return "?" + qp.Encode()
	}
	srcB := e.srv.URL + "/acctb/priv/s"
	read := sas.BlobPermissions{Read: true}
	tests := []struct {
		name, src string
		ok        bool
	}{
		{"no source SAS", srcB, false},
		{"source SAS of the source account", srcB + sign(credB, "s", read), true},
		{"source SAS signed with the caller's key", srcB + sign(e.cred, "s", read), false},
		{"write-only source SAS", srcB + sign(credB, "s", sas.BlobPermissions{Write: true}), false},
		{"source SAS of another blob", srcB + sign(credB, "other", read), false},
		{"source account's secondary", e.srv.URL + "/acctb-secondary/priv/s", false},
		{"host-style source", "http://acctb.localhost:1/priv/s", false},
	}
	dst := e.client.ServiceClient().NewContainerClient("dst")
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := "copy" + string(rune('a'+i))
			_, err := dst.NewBlobClient(name).StartCopyFromURL(ctx(), tt.src, nil)
			if tt.ok {
				if err != nil {
					t.Fatalf("copy refused: %v", err)
				}
				if got := e.mustDownload(e.client, "dst", name); string(got) != "secret of b" {
					t.Fatalf("copied %q", got)
				}
				return
			}
			wantCode(t, err, 403, bloberror.CannotVerifyCopySource)
		})
	}
	// The other direction: account B's key does not read account A's blob.
	_, err = clientB.ServiceClient().NewContainerClient("priv").NewBlobClient("x").StartCopyFromURL(ctx(), e.primaryURL()+"dst/mine", nil)
	wantCode(t, err, 403, bloberror.CannotVerifyCopySource)
}
