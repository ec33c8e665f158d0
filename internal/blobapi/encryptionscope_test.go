package blobapi_test

import (
	"bytes"
	"net/http"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
)

// TestSASEncryptionScope: a SAS with a signed encryption scope (ses) asks
// Azure to encrypt what a write stores with that scope, which the emulator
// does not model: writes through it are refused and store nothing, while
// reads through the same SAS work (a scope changes nothing a read returns).
func TestSASEncryptionScope(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("ctr")
	e.mustUpload("ctr", "old", []byte("kept"))
	perms := sas.BlobPermissions{Read: true, Write: true, Create: true, Delete: true}
	qp, err := sas.BlobSignatureValues{Protocol: sas.ProtocolHTTPSandHTTP, ExpiryTime: time.Now().Add(time.Hour).UTC(),
		Permissions: perms.String(), ContainerName: "ctr", EncryptionScope: "scope1"}.SignWithSharedKey(e.cred)
	if err != nil {
		t.Fatal(err)
	}
	c, err := azblob.NewClientWithNoCredential(e.primaryURL()+"?"+qp.Encode(), clientOptions())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		do   func() error
	}{
		{"upload", func() error {
			_, err := c.UploadBuffer(ctx(), "ctr", "new", []byte("data"), nil)
			return err
		}},
		{"delete", func() error {
			_, err := c.DeleteBlob(ctx(), "ctr", "old", nil)
			return err
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantCode(t, tc.do(), http.StatusBadRequest, bloberror.Code("UnsupportedQueryParameter"))
		})
	}
	if got := e.mustDownload(c, "ctr", "old"); !bytes.Equal(got, []byte("kept")) {
		t.Fatalf("read through the scoped SAS: %q", got)
	}
	if _, err := e.newClient(e.primaryURL()).ServiceClient().NewContainerClient("ctr").NewBlobClient("new").GetProperties(ctx(), nil); err == nil {
		t.Fatal("a refused upload stored a blob")
	}
}
