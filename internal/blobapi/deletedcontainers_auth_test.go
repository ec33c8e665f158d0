package blobapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
)

// TestRestoreContainerCredentials: Restore Container is authorized by the
// account key or an account SAS with the container resource type and
// write permission (Azure's Restore Container reference), never by a
// container SAS, even one for that very container with every permission,
// nor anonymously, even when the deleted container was public.
func TestRestoreContainerCredentials(t *testing.T) {
	e := newEnv(t)
	setContainerRetention(t, e, "<Enabled>true</Enabled><Days>7</Days>", 202, "")
	if _, err := e.client.CreateContainer(ctx(), "pub", &container.CreateOptions{Access: to.Ptr(container.PublicAccessTypeContainer)}); err != nil {
		t.Fatal(err)
	}
	e.mustUpload("pub", "a", []byte("alpha"))
	if _, err := e.client.DeleteContainer(ctx(), "pub", nil); err != nil {
		t.Fatal(err)
	}
	got := listWithDeleted(t, svc(e.client), "pub", 10)
	if len(got) != 1 {
		t.Fatalf("listed %+v", got)
	}
	version := got[0].version
	contSAS, err := sas.BlobSignatureValues{
		Protocol: sas.ProtocolHTTPSandHTTP, ExpiryTime: time.Now().Add(time.Hour).UTC(), ContainerName: "pub",
		Permissions: (&sas.ContainerPermissions{Read: true, Add: true, Create: true, Write: true, Delete: true, List: true}).String(),
	}.SignWithSharedKey(e.cred)
	if err != nil {
		t.Fatal(err)
	}
	acctSAS := func(perms sas.AccountPermissions, rt sas.AccountResourceTypes) string {
		qp, err := sas.AccountSignatureValues{
			Protocol: sas.ProtocolHTTPSandHTTP, ExpiryTime: time.Now().Add(time.Hour).UTC(),
			Permissions: perms.String(), ResourceTypes: rt.String(),
		}.SignWithSharedKey(e.cred)
		if err != nil {
			t.Fatal(err)
		}
		return qp.Encode()
	}
	hdr := map[string]string{"x-ms-deleted-container-name": "pub", "x-ms-deleted-container-version": version, "x-ms-version": "2021-08-06"}
	u := e.srv.URL + "/" + devAccount + "/pub?restype=container&comp=undelete"
	refused := []struct{ name, query string }{
		{"anonymous", ""},
		{"container SAS", contSAS.Encode()},
		{"account SAS without write", acctSAS(sas.AccountPermissions{Read: true, List: true, Create: true}, sas.AccountResourceTypes{Service: true, Container: true, Object: true})},
		{"account SAS for objects only", acctSAS(sas.AccountPermissions{Read: true, Write: true, Create: true}, sas.AccountResourceTypes{Object: true})},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			q := u
			if tt.query != "" {
				q += "&" + tt.query
			}
			resp := e.raw("PUT", q, hdr, strings.NewReader(""))
			if resp.StatusCode != http.StatusForbidden {
				t.Fatalf("got %d %q, want 403", resp.StatusCode, resp.Header.Get("x-ms-error-code"))
			}
			if got := listWithDeleted(t, svc(e.client), "pub", 10); len(got) != 1 || got[0].version != version {
				t.Fatalf("after the refused restore: %+v", got)
			}
		})
	}
	resp := e.raw("PUT", u+"&"+acctSAS(sas.AccountPermissions{Write: true}, sas.AccountResourceTypes{Container: true}), hdr, strings.NewReader(""))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("account SAS with write on containers: %d %q", resp.StatusCode, resp.Header.Get("x-ms-error-code"))
	}
}
