package geoblob

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
)

// captureTransport records requests and answers 200.
type captureTransport struct{ reqs []*http.Request }

func (c *captureTransport) Do(req *http.Request) (*http.Response, error) {
	c.reqs = append(c.reqs, req.Clone(req.Context()))
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Length": {"0"}}, Body: http.NoBody, Request: req}, nil
}

// TestResignMatchesAzblob checks the router's Shared Key signer against
// the signature azblob computes for the very same request, then that a
// moved request is signed for its new path.
func TestResignMatchesAzblob(t *testing.T) {
	const base = "http://127.0.0.1:10000/" + DevAccountName
	cred, err := azblob.NewSharedKeyCredential(DevAccountName, DevAccountKey)
	if err != nil {
		t.Fatal(err)
	}
	ct := &captureTransport{}
	o := &azblob.ClientOptions{}
	o.Transport = ct
	c, err := azblob.NewClientWithSharedKeyCredential(base, cred, o)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	etag := azcore.ETag(`"0x8D"`)
	_, _ = c.DownloadStream(ctx, "cont", "dir/b x.txt", &blob.DownloadStreamOptions{
		Range:            blob.HTTPRange{Offset: 10, Count: 100},
		AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: &etag}},
	})
	_, _ = c.ServiceClient().GetStatistics(ctx, nil)
	pager := c.NewListBlobsFlatPager("cont", &azblob.ListBlobsFlatOptions{Prefix: ptr("p/")})
	_, _ = pager.NextPage(ctx)
	_, _ = c.ServiceClient().NewContainerClient("cont").NewBlobClient("b").GetProperties(ctx, nil)
	if len(ct.reqs) < 4 {
		t.Fatalf("captured %d requests", len(ct.reqs))
	}
	r, err := NewRouter(base, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.SetAccountKey(DevAccountName, DevAccountKey); err != nil {
		t.Fatal(err)
	}
	for _, req := range ct.reqs {
		want := req.Header.Get("Authorization")
		r.resign(req)
		if got := req.Header.Get("Authorization"); got != want {
			t.Errorf("%s %s: signature %q, azblob's %q", req.Method, req.URL, got, want)
		}
		r.readdress(req, Secondary)
		if !strings.HasPrefix(req.URL.Path, "/"+DevAccountName+"-secondary") || req.Header.Get("Authorization") == want {
			t.Errorf("moved request %s not re-signed", req.URL)
		}
		sts, _ := stringToSign(DevAccountName, req)
		if !strings.Contains(sts, "/"+DevAccountName+"/"+DevAccountName+"-secondary") {
			t.Errorf("string to sign lacks the secondary path: %q", sts)
		}
	}
}

func ptr[T any](v T) *T { return &v }
