package blobapi_test

import (
	"io"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"

	"github.com/geoblob/geoblob/internal/azerr"
)

// TestDefaultServiceVersionApplied: a request without x-ms-version and
// without a SAS (an anonymous read here) is served at the account's
// DefaultServiceVersion once one is set; one naming its version, or
// carrying a SAS (whose sv governs), is not.
func TestDefaultServiceVersionApplied(t *testing.T) {
	e := newEnv(t)
	if _, err := e.client.CreateContainer(ctx(), "pub", &container.CreateOptions{Access: to.Ptr(container.PublicAccessTypeBlob)}); err != nil {
		t.Fatal(err)
	}
	e.mustUpload("pub", "b", []byte("public"))
	anon := e.srv.URL + "/" + devAccount + "/pub/b"
	version := func(t *testing.T, hdr map[string]string, viaSAS bool) string {
		t.Helper()
		var resp = e.raw("GET", anon, hdr, nil)
		if viaSAS {
			resp = e.do("GET", "/"+devAccount+"/pub/b", hdr, nil)
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || string(body) != "public" {
			t.Fatalf("got %d %q", resp.StatusCode, body)
		}
		return resp.Header.Get("x-ms-version")
	}
	if got := version(t, nil, false); got != azerr.DefaultVersion {
		t.Fatalf("no default set: x-ms-version %q, want %q", got, azerr.DefaultVersion)
	}
	if _, err := e.client.ServiceClient().SetProperties(ctx(), &service.SetPropertiesOptions{DefaultServiceVersion: to.Ptr("2021-08-06")}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		hdr    map[string]string
		viaSAS bool
		want   string
	}{
		{"anonymous, no version", nil, false, "2021-08-06"},
		{"anonymous, its own version", map[string]string{"x-ms-version": "2023-11-03"}, false, "2023-11-03"},
		{"SAS, no version", nil, true, azerr.DefaultVersion},
	}
	for _, tt := range tests {
		t.Run(strings.ReplaceAll(tt.name, " ", "_"), func(t *testing.T) {
			if got := version(t, tt.hdr, tt.viaSAS); got != tt.want {
				t.Errorf("x-ms-version %q, want %q", got, tt.want)
			}
		})
	}
}
