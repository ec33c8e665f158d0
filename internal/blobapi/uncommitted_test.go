package blobapi_test

import (
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
)

// TestListUncommittedBlobs: include=uncommittedblobs lists the blobs that
// have only staged blocks, with no content; without it they are absent.
func TestListUncommittedBlobs(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("unc")
	cc := e.client.ServiceClient().NewContainerClient("unc")
	e.mustUpload("unc", "committed", []byte("x"))
	if _, err := cc.NewBlockBlobClient("staged").StageBlock(ctx(), blockID(1), streamOf([]byte("abc")), nil); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		include container.ListBlobsInclude
		want    map[string]int64 // name -> Content-Length
	}{
		{"default", container.ListBlobsInclude{}, map[string]int64{"committed": 1}},
		{"uncommitted", container.ListBlobsInclude{UncommittedBlobs: true, Metadata: true}, map[string]int64{"committed": 1, "staged": 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, err := cc.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Include: tt.include}).NextPage(ctx())
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]int64{}
			for _, it := range page.Segment.BlobItems {
				got[*it.Name] = *it.Properties.ContentLength
				if it.Properties.ETag == nil || it.Properties.LastModified == nil {
					t.Fatalf("%s has no ETag or Last-Modified", *it.Name)
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("listed %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Fatalf("listed %v, want %v", got, tt.want)
				}
			}
		})
	}
}
