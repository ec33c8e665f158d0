package blobapi_test

import (
	"net/http"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
)

// extraHeaders is a pipeline policy that adds its headers to every request:
// the way to send a header azblob has no option for.
type extraHeaders struct{ hdr map[string]string }

func (p *extraHeaders) Do(req *policy.Request) (*http.Response, error) {
	for k, v := range p.hdr {
		req.Raw().Header.Set(k, v)
	}
	return req.Next()
}

// TestTagAndTierHeadersOnContentWrites: Put Block, Put Block From URL,
// Append Block (From URL) and Put Page (From URL) take neither x-ms-tags
// nor x-ms-access-tier (Azure's REST specification, from which azblob is
// generated, lists neither for them). The emulator refuses them with 400
// UnsupportedHeader rather than acknowledge the write and drop them, and
// writes nothing; without them the same write succeeds.
func TestTagAndTierHeadersOnContentWrites(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("ctr")
	e.mustUpload("ctr", "src", fill('s', 512))
	src := e.readSASURL("ctr", "src")
	extra := &extraHeaders{}
	o := clientOptions()
	o.PerCallPolicies = []policy.Policy{extra}
	c, err := azblob.NewClientWithSharedKeyCredential(e.primaryURL(), e.cred, o)
	if err != nil {
		t.Fatal(err)
	}
	cc := c.ServiceClient().NewContainerClient("ctr")
	e.mustCreateAppend("ctr", "log")
	e.mustCreatePage("ctr", "disk", 1024)
	bb := cc.NewBlockBlobClient("blocks")
	ab := cc.NewAppendBlobClient("log")
	pb := cc.NewPageBlobClient("disk")
	page := blob.HTTPRange{Offset: 0, Count: 512}
	writes := []struct {
		name  string
		write func() error
	}{
		{"Put Block", func() error {
			_, err := bb.StageBlock(ctx(), base64Std("b1"), streamOf([]byte("block")), nil)
			return err
		}},
		{"Put Block From URL", func() error {
			_, err := bb.StageBlockFromURL(ctx(), base64Std("b2"), src, nil)
			return err
		}},
		{"Append Block", func() error {
			_, err := ab.AppendBlock(ctx(), streamOf([]byte("line")), nil)
			return err
		}},
		{"Append Block From URL", func() error {
			_, err := ab.AppendBlockFromURL(ctx(), src, nil)
			return err
		}},
		{"Put Page", func() error {
			_, err := pb.UploadPages(ctx(), streamOf(fill('p', 512)), page, nil)
			return err
		}},
		{"Put Page From URL", func() error {
			_, err := pb.UploadPagesFromURL(ctx(), src, 0, 512, 512, nil)
			return err
		}},
	}
	// state sums up what the writes above change: staged blocks, the
	// append blob's length, the page blob's written ranges.
	state := func() [3]int {
		t.Helper()
		bl, err := bb.GetBlockList(ctx(), blockblob.BlockListTypeAll, nil)
		if err != nil && !bloberror.HasCode(err, bloberror.BlobNotFound) {
			t.Fatal(err)
		}
		p, err := ab.GetProperties(ctx(), nil)
		if err != nil {
			t.Fatal(err)
		}
		return [3]int{len(bl.UncommittedBlocks), int(*p.ContentLength), len(pageRanges(t, pb, nil))}
	}
	for _, w := range writes {
		for _, h := range []map[string]string{
			{"x-ms-tags": "project=geo"},
			{"x-ms-access-tier": "Cool"},
		} {
			for name := range h {
				t.Run(w.name+" with "+name, func(t *testing.T) {
					before := state()
					extra.hdr = h
					err := w.write()
					extra.hdr = nil
					wantCode(t, err, 400, "UnsupportedHeader")
					if after := state(); after != before {
						t.Errorf("the refused write changed the blobs: %v, then %v", before, after)
					}
				})
			}
		}
		t.Run(w.name+" without them", func(t *testing.T) {
			if err := w.write(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestTagAndTierHeadersOnFromURLCopies: the two From URL operations that
// make a whole blob, Put Blob From URL and Copy Blob From URL, take
// x-ms-tags and x-ms-access-tier and apply them.
func TestTagAndTierHeadersOnFromURLCopies(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("ctr")
	e.mustUpload("ctr", "src", []byte("source"))
	src := e.readSASURL("ctr", "src")
	cc := e.client.ServiceClient().NewContainerClient("ctr")
	tags := map[string]string{"project": "geo", "stage": "copy"}
	for _, tc := range []struct {
		name string
		copy func(name string) error
	}{
		{"Put Blob From URL", func(name string) error {
			_, err := cc.NewBlockBlobClient(name).UploadBlobFromURL(ctx(), src, &blockblob.UploadBlobFromURLOptions{Tags: tags, Tier: to.Ptr(blob.AccessTierCool)})
			return err
		}},
		{"Copy Blob From URL", func(name string) error {
			_, err := cc.NewBlobClient(name).CopyFromURL(ctx(), src, &blob.CopyFromURLOptions{BlobTags: tags, Tier: to.Ptr(blob.AccessTierCool)})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.copy("dst"); err != nil {
				t.Fatal(err)
			}
			p, err := cc.NewBlobClient("dst").GetProperties(ctx(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if p.AccessTier == nil || *p.AccessTier != string(blob.AccessTierCool) || p.TagCount == nil || *p.TagCount != 2 {
				t.Fatalf("tier %v, tag count %v", p.AccessTier, p.TagCount)
			}
			got, err := cc.NewBlobClient("dst").GetTags(ctx(), nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, tag := range got.BlobTagSet {
				if tags[*tag.Key] != *tag.Value {
					t.Errorf("tag %s=%s", *tag.Key, *tag.Value)
				}
			}
		})
	}
}
