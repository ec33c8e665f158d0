package blobapi_test

import (
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
)

// readSASURL is the primary URL of a blob with a read SAS signed by the
// account key.
func (e *env) readSASURL(cont, blob string) string {
	e.t.Helper()
	qp, err := sas.BlobSignatureValues{
		Protocol: sas.ProtocolHTTPSandHTTP, ExpiryTime: time.Now().Add(time.Hour).UTC(),
		Permissions: (&sas.BlobPermissions{Read: true}).String(), ContainerName: cont, BlobName: blob,
	}.SignWithSharedKey(e.cred)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.primaryURL() + cont + "/" + blob + "?" + qp.Encode()
}
