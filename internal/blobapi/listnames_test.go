package blobapi_test

import (
	"bytes"
	"slices"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
)

// TestListedNamesFetchBack lists blobs whose names hold characters XML 1.0
// cannot carry (U+FFFE, U+FFFF; control characters are refused in names),
// one per page so that markers carry them too, and fetches every listed
// name back. Written raw, such a name was listed as U+FFFD and
// then answered 404.
func TestListedNamesFetchBack(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("names")
	names := []string{
		"plain",
		"nonchar\uffff",
		"nonchar\ufffe2",
		"\uffff\uffff",
		"amp&lt;<>\"'",
		"plus+and space",
		"pct%41",
		"dir\ufffe/inner",
		"zz\U0010FFFF",
	}
	for i, n := range names {
		e.mustUpload("names", n, []byte{byte(i)})
	}
	var listed []string
	pager := e.client.NewListBlobsFlatPager("names", &azblob.ListBlobsFlatOptions{MaxResults: to.Ptr(int32(1))})
	for pages := 0; pager.More(); pages++ {
		if pages > 2*len(names) {
			t.Fatalf("still paging after %d pages: a marker does not resume where the page ended (listed %q)", pages, listed)
		}
		page, err := pager.NextPage(ctx())
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Segment.BlobItems {
			listed = append(listed, *it.Name)
		}
	}
	want := slices.Clone(names)
	slices.Sort(want)
	if !slices.Equal(listed, want) {
		t.Fatalf("listed %q\nwant   %q", listed, want)
	}
	for _, n := range listed {
		got := e.mustDownload(e.client, "names", n)
		i := slices.Index(names, n)
		if !bytes.Equal(got, []byte{byte(i)}) {
			t.Errorf("%q fetched back %v", n, got)
		}
	}
	// Virtual directories are encoded the same way.
	cc := e.client.ServiceClient().NewContainerClient("names")
	hp := cc.NewListBlobsHierarchyPager("/", &container.ListBlobsHierarchyOptions{})
	var prefixes []string
	for hp.More() {
		page, err := hp.NextPage(ctx())
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range page.Segment.BlobPrefixes {
			prefixes = append(prefixes, *p.Name)
		}
	}
	if !slices.Equal(prefixes, []string{"dir\ufffe/"}) {
		t.Fatalf("prefixes %q", prefixes)
	}
}
