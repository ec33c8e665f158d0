package blobapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
)

// TestContainerSASCannotChangeTheContainer: a container SAS, whatever its
// permissions, may list the container's blobs and act on them, but it can
// neither read nor write the container's properties, metadata or ACL, nor
// delete it, as in Azure. With write it made a private container public.
func TestContainerSASCannotChangeTheContainer(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("priv")
	e.mustUpload("priv", "secret", []byte("secret data"))
	qp, err := sas.BlobSignatureValues{
		Protocol: sas.ProtocolHTTPSandHTTP, ExpiryTime: time.Now().Add(time.Hour).UTC(), ContainerName: "priv",
		Permissions: (&sas.ContainerPermissions{Read: true, Add: true, Create: true, Write: true, Delete: true, List: true}).String(),
	}.SignWithSharedKey(e.cred)
	if err != nil {
		t.Fatal(err)
	}
	sig := qp.Encode()
	cont := e.srv.URL + "/" + devAccount + "/priv?restype=container&"
	refused := []struct {
		name, method, query string
		hdr                 map[string]string
	}{
		{"set ACL", "PUT", "comp=acl&", map[string]string{"x-ms-blob-public-access": "container"}},
		{"get ACL", "GET", "comp=acl&", nil},
		{"get properties", "GET", "", nil},
		{"get metadata", "GET", "comp=metadata&", nil},
		{"set metadata", "PUT", "comp=metadata&", map[string]string{"x-ms-meta-a": "b"}},
		{"delete", "DELETE", "", nil},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			resp := e.raw(tt.method, cont+tt.query+sig, tt.hdr, strings.NewReader(""))
			if resp.StatusCode != http.StatusForbidden || resp.Header.Get("x-ms-error-code") != "AuthorizationPermissionMismatch" {
				t.Fatalf("got %d %q, want 403 AuthorizationPermissionMismatch", resp.StatusCode, resp.Header.Get("x-ms-error-code"))
			}
		})
	}
	// The container is still private and still there.
	if resp := e.raw("GET", e.srv.URL+"/"+devAccount+"/priv/secret", nil, nil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("anonymous read after the refused Set ACL: %d", resp.StatusCode)
	}
	// What a container SAS is for still works: listing and the blobs.
	if resp := e.raw("GET", cont+"comp=list&"+sig, nil, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("list blobs with the container SAS: %d %q", resp.StatusCode, resp.Header.Get("x-ms-error-code"))
	}
	if resp := e.raw("GET", e.srv.URL+"/"+devAccount+"/priv/secret?"+sig, nil, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("read a blob with the container SAS: %d", resp.StatusCode)
	}
}
