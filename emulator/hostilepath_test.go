package emulator_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"

	"github.com/geoblob/geoblob/emulator"
)

// TestHostilePathsThroughListeners sends dot-segment and encoded paths to
// the emulator's listeners, path-style and host-style, primary and
// secondary: none crosses between the Blob API and the control API, none
// reads another container than the one a service SAS names, none is a
// 5xx. The emulator does not normalize paths: a dot segment is part of a
// blob name.
func TestHostilePathsThroughListeners(t *testing.T) {
	emu := start(t, emulator.Options{ControlToken: "control-secret"})
	cred := credential(t, emu)
	client := sharedKeyClient(t, emu, emu.PrimaryURL())
	ctx := context.Background()
	for _, c := range []string{"ctra", "ctrb"} {
		if _, err := client.CreateContainer(ctx, c, nil); err != nil {
			t.Fatal(err)
		}
	}
	secret := []byte("SECRET-OF-B")
	if _, err := client.UploadBuffer(ctx, "ctrb", "secret", secret, nil); err != nil {
		t.Fatal(err)
	}
	sign := func(v interface {
		SignWithSharedKey(*sas.SharedKeyCredential) (sas.QueryParameters, error)
	}) string {
		qp, err := v.SignWithSharedKey(cred)
		if err != nil {
			t.Fatal(err)
		}
		return qp.Encode()
	}
	expiry := time.Now().Add(time.Hour).UTC()
	sasA := sign(sas.BlobSignatureValues{Protocol: sas.ProtocolHTTPSandHTTP, ExpiryTime: expiry, ContainerName: "ctra",
		Permissions: (&sas.ContainerPermissions{Read: true, List: true}).String()})
	sasAll := sign(sas.AccountSignatureValues{Protocol: sas.ProtocolHTTPSandHTTP, ExpiryTime: expiry,
		Permissions:   (&sas.AccountPermissions{Read: true, List: true}).String(),
		ResourceTypes: (&sas.AccountResourceTypes{Service: true, Container: true, Object: true}).String()})
	acct := emu.AccountName()
	primary, _ := url.Parse(emu.URL())
	hc := emu.HTTPClient()
	t.Cleanup(hc.CloseIdleConnections)

	tests := []struct {
		name, host, path, query string
		status                  int
		code                    string // x-ms-error-code; "" for none
	}{
		{name: "control through the account", path: "/" + acct + "/../_geoblob/faults", status: 400, code: "InvalidResourceName"},
		{name: "control through a blob name", path: "/" + acct + "/ctrb/../../_geoblob/faults", query: sasAll, status: 404, code: "BlobNotFound"},
		{name: "control through an encoded blob name", path: "/" + acct + "/ctrb/%2e%2e%2F%2e%2e%2F_geoblob%2Ffaults", query: sasAll, status: 404, code: "BlobNotFound"},
		{name: "blob API through the control prefix", path: "/_geoblob/../" + acct + "/ctrb/secret", query: sasAll, status: 403}, // the control token check
		{name: "container SAS to another container", path: "/" + acct + "/ctra/../ctrb/secret", query: sasA, status: 404, code: "BlobNotFound"},
		{name: "container SAS, encoded", path: "/" + acct + "/ctra%2F..%2Fctrb%2Fsecret", query: sasA, status: 404, code: "BlobNotFound"},
		{name: "container SAS on the secondary", path: "/" + acct + "-secondary/ctra/../ctrb/secret", query: sasA, status: 404},
		{name: "host-style control", host: acct + ".blob.localhost", path: "/../_geoblob/faults", status: 400, code: "InvalidResourceName"},
		{name: "host-style container SAS", host: acct + ".blob.localhost", path: "/ctra/../ctrb/secret", query: sasA, status: 404, code: "BlobNotFound"},
		{name: "host-style secondary", host: acct + "-secondary.blob.localhost", path: "/ctra/%2e%2e/ctrb/secret", query: sasA, status: 404},
		{name: "NUL", path: "/" + acct + "/ctra/%00", query: sasA, status: 400, code: "InvalidResourceName"},
		{name: "bad percent-encoding", path: "/" + acct + "/ctra/%zz", query: sasA, status: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, emu.URL(), nil)
			if err != nil {
				t.Fatal(err)
			}
			req.URL.Opaque = tt.path
			req.URL.RawQuery = tt.query
			if tt.host != "" {
				req.Host = strings.Replace(tt.host, "localhost", "localhost:"+primary.Port(), 1)
			}
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if bytes.Contains(body, secret) {
				t.Fatalf("read ctrb/secret: %d", resp.StatusCode)
			}
			if resp.StatusCode != tt.status || tt.code != "" && resp.Header.Get("x-ms-error-code") != tt.code {
				t.Fatalf("%d %q, want %d %q; body %.200s", resp.StatusCode, resp.Header.Get("x-ms-error-code"), tt.status, tt.code, body)
			}
		})
	}
}
