package blobapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
)

// deletedEntries lists cont with include and returns name, @snap for a
// snapshot, and !del with the remaining days for a soft-deleted entry.
func deletedEntries(t *testing.T, cc *container.Client, inc container.ListBlobsInclude) []string {
	t.Helper()
	var out []string
	pager := cc.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Include: inc})
	for pager.More() {
		page, err := pager.NextPage(ctx())
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Segment.BlobItems {
			s := *it.Name
			if it.Snapshot != nil && *it.Snapshot != "" {
				s += "@snap"
			}
			if it.Deleted != nil && *it.Deleted {
				if it.Properties.DeletedTime == nil || it.Properties.RemainingRetentionDays == nil {
					t.Fatalf("deleted %s without DeletedTime or RemainingRetentionDays", s)
				}
				s += "!del" + string(rune('0'+*it.Properties.RemainingRetentionDays))
			}
			out = append(out, s)
		}
	}
	return out
}

// TestBlobSoftDelete: with DeleteRetentionPolicy on, Delete Blob keeps the
// blob and its snapshots, listed with include=deleted and restored by
// Undelete Blob, until the retention ends on the manual clock; the
// secondary lists them once replicated and refuses Undelete.
func TestBlobSoftDelete(t *testing.T) {
	e := newEnv(t, envOptions{manualClock: true})
	e.mustCreate("soft")
	cc := e.client.ServiceClient().NewContainerClient("soft")
	secCC := e.secClient.ServiceClient().NewContainerClient("soft")
	bc := cc.NewBlobClient("a")
	e.mustUpload("soft", "a", []byte("alpha"))
	s1 := e.snapshotOf(e.client, "soft", "a", nil)
	// Off: a delete is permanent.
	e.mustUpload("soft", "gone", []byte("x"))
	resp, err := cc.NewBlobClient("gone").Delete(ctx(), nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp
	if _, err := svc(e.client).SetProperties(ctx(), &service.SetPropertiesOptions{DeleteRetentionPolicy: &service.RetentionPolicy{Enabled: to.Ptr(true), Days: to.Ptr[int32](2)}}); err != nil {
		t.Fatal(err)
	}
	all := container.ListBlobsInclude{Deleted: true, Snapshots: true}
	steps := []struct {
		name   string
		do     func() error
		status int
		code   bloberror.Code
		want   []string // listing with deleted and snapshots
		read   []*blob.Client
		noRead []*blob.Client
	}{
		{"delete with snapshots", func() error {
			_, err := bc.Delete(ctx(), &blob.DeleteOptions{DeleteSnapshots: to.Ptr(blob.DeleteSnapshotsOptionTypeInclude)})
			return err
		}, 0, "", []string{"a@snap!del2", "a!del2"}, nil, []*blob.Client{bc, s1}},
		{"undelete", func() error { _, err := bc.Undelete(ctx(), nil); return err }, 0, "", []string{"a@snap", "a"}, []*blob.Client{bc, s1}, nil},
		{"delete one snapshot", func() error { _, err := s1.Delete(ctx(), nil); return err }, 0, "", []string{"a@snap!del2", "a"}, []*blob.Client{bc}, []*blob.Client{s1}},
		{"undelete restores the snapshot", func() error { _, err := bc.Undelete(ctx(), nil); return err }, 0, "", []string{"a@snap", "a"}, []*blob.Client{bc, s1}, nil},
		{"delete again", func() error {
			_, err := bc.Delete(ctx(), &blob.DeleteOptions{DeleteSnapshots: to.Ptr(blob.DeleteSnapshotsOptionTypeInclude)})
			return err
		}, 0, "", []string{"a@snap!del2", "a!del2"}, nil, []*blob.Client{bc, s1}},
		{"a day later", func() error { e.clock.Advance(25 * time.Hour); return nil }, 0, "", []string{"a@snap!del1", "a!del1"}, nil, []*blob.Client{bc, s1}},
		{"retention over", func() error { e.clock.Advance(24 * time.Hour); return nil }, 0, "", nil, nil, []*blob.Client{bc, s1}},
		{"undelete after the retention", func() error { _, err := bc.Undelete(ctx(), nil); return err }, 404, bloberror.BlobNotFound, nil, nil, []*blob.Client{bc, s1}},
		{"never deleted softly", func() error { _, err := cc.NewBlobClient("gone").Undelete(ctx(), nil); return err }, 404, bloberror.BlobNotFound, nil, nil, nil},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			err := st.do()
			if st.status == 0 && err != nil {
				t.Fatal(err)
			} else if st.status != 0 {
				wantCode(t, err, st.status, st.code)
			}
			if got := deletedEntries(t, cc, all); !equalStrings(got, st.want) {
				t.Fatalf("listing %v, want %v", got, st.want)
			}
			for _, c := range st.read {
				if _, err := c.GetProperties(ctx(), nil); err != nil {
					t.Fatalf("%s: %v", c.URL(), err)
				}
			}
			for _, c := range st.noRead {
				_, err := c.GetProperties(ctx(), nil)
				wantCode(t, err, http.StatusNotFound, "")
			}
			e.sync()
			if got := deletedEntries(t, secCC, all); !equalStrings(got, st.want) {
				t.Fatalf("secondary listing %v, want %v", got, st.want)
			}
		})
	}
	// Without include=deleted nothing soft-deleted shows; the secondary
	// refuses Undelete.
	e.mustUpload("soft", "b", []byte("b"))
	if _, err := cc.NewBlobClient("b").Delete(ctx(), nil); err != nil {
		t.Fatal(err)
	}
	if got := deletedEntries(t, cc, container.ListBlobsInclude{Snapshots: true}); len(got) != 0 {
		t.Fatalf("listing without deleted: %v", got)
	}
	e.sync()
	_, err = secCC.NewBlobClient("b").Undelete(ctx(), nil)
	wantCode(t, err, http.StatusForbidden, "")
	if _, err := cc.NewBlobClient("b").Undelete(ctx(), nil); err != nil {
		t.Fatal(err)
	}
	if got := e.mustDownload(e.client, "soft", "b"); string(got) != "b" {
		t.Fatalf("undeleted body %q", got)
	}
}

// TestSoftDeleteOverwrite: while soft delete is on, overwriting a blob
// (Put Blob, Set Blob Metadata) keeps its old state as a soft-deleted
// snapshot; Undelete Blob makes those snapshots readable, and copying one
// over the blob restores the old content. Without soft delete an
// overwrite keeps nothing.
func TestSoftDeleteOverwrite(t *testing.T) {
	e := newEnv(t, envOptions{manualClock: true})
	e.mustCreate("ovw")
	cc := e.client.ServiceClient().NewContainerClient("ovw")
	all := container.ListBlobsInclude{Deleted: true, Snapshots: true}
	e.mustUpload("ovw", "a", []byte("one"))
	e.mustUpload("ovw", "a", []byte("two"))
	if got := deletedEntries(t, cc, all); !equalStrings(got, []string{"a"}) {
		t.Fatalf("without soft delete: %v", got)
	}
	if _, err := svc(e.client).SetProperties(ctx(), &service.SetPropertiesOptions{DeleteRetentionPolicy: &service.RetentionPolicy{Enabled: to.Ptr(true), Days: to.Ptr[int32](1)}}); err != nil {
		t.Fatal(err)
	}
	bc := cc.NewBlobClient("a")
	steps := []struct {
		name string
		do   func() error
		want []string
	}{
		{"put blob", func() error { e.mustUpload("ovw", "a", []byte("three")); return nil }, []string{"a@snap!del1", "a"}},
		{"set metadata", func() error {
			_, err := bc.SetMetadata(ctx(), map[string]*string{"m": to.Ptr("1")}, nil)
			return err
		}, []string{"a@snap!del1", "a@snap!del1", "a"}},
		{"set properties keeps nothing", func() error {
			_, err := bc.SetHTTPHeaders(ctx(), blob.HTTPHeaders{BlobContentType: to.Ptr("text/plain")}, nil)
			return err
		}, []string{"a@snap!del1", "a@snap!del1", "a"}},
		{"undelete", func() error { _, err := bc.Undelete(ctx(), nil); return err }, []string{"a@snap", "a@snap", "a"}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if err := st.do(); err != nil {
				t.Fatal(err)
			}
			if got := deletedEntries(t, cc, all); !equalStrings(got, st.want) {
				t.Fatalf("listing %v, want %v", got, st.want)
			}
		})
	}
	page, err := cc.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Include: container.ListBlobsInclude{Snapshots: true}}).NextPage(ctx())
	if err != nil {
		t.Fatal(err)
	}
	first, _ := bc.WithSnapshot(*page.Segment.BlobItems[0].Snapshot)
	if got := readAll(t, first); string(got) != "two" {
		t.Fatalf("the overwritten state reads %q", got)
	}
	if _, err := cc.NewBlockBlobClient("a").StartCopyFromURL(ctx(), first.URL(), nil); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, bc); string(got) != "two" {
		t.Fatalf("restored body %q", got)
	}
}

// TestSoftDeleteTwice: deleting a blob again after it was soft-deleted and
// written anew keeps both deleted states for their retention; the first
// one was replaced, lost before its retention ended.
func TestSoftDeleteTwice(t *testing.T) {
	e := newEnv(t, envOptions{manualClock: true})
	e.mustCreate("twice")
	cc := e.client.ServiceClient().NewContainerClient("twice")
	if _, err := svc(e.client).SetProperties(ctx(), &service.SetPropertiesOptions{DeleteRetentionPolicy: &service.RetentionPolicy{Enabled: to.Ptr(true), Days: to.Ptr[int32](2)}}); err != nil {
		t.Fatal(err)
	}
	bc := cc.NewBlobClient("a")
	for _, body := range []string{"one", "two"} {
		e.mustUpload("twice", "a", []byte(body))
		if _, err := bc.Delete(ctx(), nil); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Hour)
	}
	all := container.ListBlobsInclude{Deleted: true, Snapshots: true}
	want := []string{"a@snap!del2", "a!del2"}
	if got := deletedEntries(t, cc, all); !equalStrings(got, want) {
		t.Fatalf("listing %v, want %v", got, want)
	}
	if _, err := bc.Undelete(ctx(), nil); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, bc); string(got) != "two" {
		t.Fatalf("undeleted body %q, want two", got)
	}
	page, err := cc.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Include: container.ListBlobsInclude{Snapshots: true}}).NextPage(ctx())
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Segment.BlobItems) != 2 || page.Segment.BlobItems[0].Snapshot == nil {
		t.Fatalf("after undelete: %d entries", len(page.Segment.BlobItems))
	}
	first, _ := bc.WithSnapshot(*page.Segment.BlobItems[0].Snapshot)
	if got := readAll(t, first); string(got) != "one" {
		t.Fatalf("first deleted state reads %q, want one", got)
	}
	e.sync()
	if got := deletedEntries(t, e.secClient.ServiceClient().NewContainerClient("twice"), all); !equalStrings(got, []string{"a@snap", "a"}) {
		t.Fatalf("secondary listing %v", got)
	}
}
