package blobapi_test

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/lease"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/pageblob"
)

// snapshotOf takes a snapshot of cont/name and returns a client for it.
func (e *env) snapshotOf(c *azblob.Client, cont, name string, o *blob.CreateSnapshotOptions) *blob.Client {
	e.t.Helper()
	bc := c.ServiceClient().NewContainerClient(cont).NewBlobClient(name)
	resp, err := bc.CreateSnapshot(ctx(), o)
	if err != nil {
		e.t.Fatalf("snapshot %s/%s: %v", cont, name, err)
	}
	if resp.Snapshot == nil || *resp.Snapshot == "" {
		e.t.Fatal("no x-ms-snapshot")
	}
	sc, err := bc.WithSnapshot(*resp.Snapshot)
	if err != nil {
		e.t.Fatal(err)
	}
	return sc
}

func readAll(t *testing.T, bc *blob.Client) []byte {
	t.Helper()
	resp, err := bc.DownloadStream(ctx(), nil)
	if err != nil {
		t.Fatalf("download %s: %v", bc.URL(), err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// listNames lists cont with include and returns name@snapshot entries in
// order.
func listEntries(t *testing.T, c *azblob.Client, cont string, inc container.ListBlobsInclude) []string {
	t.Helper()
	var out []string
	pager := c.ServiceClient().NewContainerClient(cont).NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Include: inc, MaxResults: to.Ptr[int32](2)})
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
			if it.VersionID != nil {
				s += "@v"
				if it.IsCurrentVersion != nil && *it.IsCurrentVersion {
					s += "cur"
				}
			}
			out = append(out, s)
		}
	}
	return out
}

// TestSnapshotBlob: a snapshot keeps the blob's content, properties and
// metadata (or the metadata given), is read-only and readable on the
// secondary once replicated; conditions and leases apply as in Azure.
func TestSnapshotBlob(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("snp")
	cc := e.client.ServiceClient().NewContainerClient("snp")
	bc := cc.NewBlobClient("b")
	if _, err := cc.NewBlockBlobClient("b").UploadBuffer(ctx(), []byte("one"), &azblob.UploadBufferOptions{Metadata: map[string]*string{"k": to.Ptr("v1")}}); err != nil {
		t.Fatal(err)
	}
	plain := e.snapshotOf(e.client, "snp", "b", nil)
	withMeta := e.snapshotOf(e.client, "snp", "b", &blob.CreateSnapshotOptions{Metadata: map[string]*string{"other": to.Ptr("x")}})
	e.mustUpload("snp", "b", []byte("two"))

	tests := []struct {
		name     string
		bc       *blob.Client
		body     string
		metaKey  string
		metaWant string
	}{
		{"plain snapshot", plain, "one", "k", "v1"},
		{"snapshot with metadata", withMeta, "one", "other", "x"},
		{"base blob", bc, "two", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := readAll(t, tt.bc); string(got) != tt.body {
				t.Fatalf("body %q, want %q", got, tt.body)
			}
			p, err := tt.bc.GetProperties(ctx(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.metaKey != "" && (len(p.Metadata) != 1 || metaValue(p.Metadata, tt.metaKey) != tt.metaWant) {
				t.Errorf("metadata %v, want %s=%s alone", p.Metadata, tt.metaKey, tt.metaWant)
			}
		})
	}

	// Writes to a snapshot are refused; the snapshot is unchanged.
	_, err := plain.SetMetadata(ctx(), map[string]*string{"z": to.Ptr("1")}, nil)
	wantCode(t, err, http.StatusBadRequest, "InvalidOperation")
	if got := readAll(t, plain); string(got) != "one" {
		t.Fatalf("snapshot body %q after a refused write", got)
	}
	// A snapshot that was never taken.
	missing, _ := bc.WithSnapshot("2001-01-01T00:00:00.0000000Z")
	_, err = missing.GetProperties(ctx(), nil)
	wantCode(t, err, http.StatusNotFound, bloberror.BlobNotFound)

	// Conditions and leases.
	props, err := bc.GetProperties(ctx(), nil)
	if err != nil {
		t.Fatal(err)
	}
	lc, err := lease.NewBlobClient(bc, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lc.AcquireLease(ctx(), -1, nil); err != nil {
		t.Fatal(err)
	}
	cond := []struct {
		name   string
		opts   *blob.CreateSnapshotOptions
		status int
		code   bloberror.Code
	}{
		{"if-match", &blob.CreateSnapshotOptions{AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: props.ETag}}}, 0, ""},
		{"if-match fails", &blob.CreateSnapshotOptions{AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: to.Ptr(azcore.ETag(`"0x1"`))}}}, 412, bloberror.ConditionNotMet},
		{"leased, no lease id", nil, 0, ""},
		{"lease id", &blob.CreateSnapshotOptions{AccessConditions: &blob.AccessConditions{LeaseAccessConditions: &blob.LeaseAccessConditions{LeaseID: lc.LeaseID()}}}, 0, ""},
		{"wrong lease id", &blob.CreateSnapshotOptions{AccessConditions: &blob.AccessConditions{LeaseAccessConditions: &blob.LeaseAccessConditions{LeaseID: to.Ptr("11111111-1111-1111-1111-111111111111")}}}, 412, bloberror.LeaseIDMismatchWithBlobOperation},
	}
	for _, tt := range cond {
		t.Run(tt.name, func(t *testing.T) {
			_, err := bc.CreateSnapshot(ctx(), tt.opts)
			if tt.status == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantCode(t, err, tt.status, tt.code)
		})
	}
	_, err = cc.NewBlobClient("nope").CreateSnapshot(ctx(), nil)
	wantCode(t, err, http.StatusNotFound, bloberror.BlobNotFound)
	// The snapshot has no lease of its own.
	sp, err := plain.GetProperties(ctx(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if sp.LeaseState == nil || *sp.LeaseState != lease.StateTypeAvailable {
		t.Errorf("snapshot lease state %v", sp.LeaseState)
	}

	// The secondary refuses Snapshot Blob, and serves snapshots once
	// replicated.
	secBlob := e.secClient.ServiceClient().NewContainerClient("snp").NewBlobClient("b")
	_, err = secBlob.CreateSnapshot(ctx(), nil)
	wantCode(t, err, http.StatusForbidden, "")
	secSnap, _ := secBlob.WithSnapshot(snapshotID(t, plain))
	_, err = secSnap.GetProperties(ctx(), nil)
	wantCode(t, err, http.StatusNotFound, "") // not replicated yet
	e.sync()
	if got := readAll(t, secSnap); string(got) != "one" {
		t.Fatalf("secondary snapshot body %q", got)
	}
}

func snapshotID(t *testing.T, sc *blob.Client) string {
	t.Helper()
	p, err := blob.ParseURL(sc.URL())
	if err != nil {
		t.Fatal(err)
	}
	return p.Snapshot
}

// TestDeleteSnapshots: x-ms-delete-snapshots and Delete Blob with
// snapshot=, and List Blobs include=snapshots, on the primary and the
// secondary.
func TestDeleteSnapshots(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("del")
	cc := e.client.ServiceClient().NewContainerClient("del")
	for _, n := range []string{"a", "b", "c"} {
		e.mustUpload("del", n, []byte(n))
	}
	s1 := e.snapshotOf(e.client, "del", "b", nil)
	s2 := e.snapshotOf(e.client, "del", "b", nil)
	if snapshotID(t, s1) == snapshotID(t, s2) {
		t.Fatal("two snapshots share an id")
	}
	e.snapshotOf(e.client, "del", "c", nil)

	if got, want := listEntries(t, e.client, "del", container.ListBlobsInclude{Snapshots: true}), []string{"a", "b@snap", "b@snap", "b", "c@snap", "c"}; !equalStrings(got, want) {
		t.Fatalf("listing %v, want %v", got, want)
	}
	if got, want := listEntries(t, e.client, "del", container.ListBlobsInclude{}), []string{"a", "b", "c"}; !equalStrings(got, want) {
		t.Fatalf("listing without snapshots %v, want %v", got, want)
	}
	e.sync()
	if got, want := listEntries(t, e.secClient, "del", container.ListBlobsInclude{Snapshots: true}), []string{"a", "b@snap", "b@snap", "b", "c@snap", "c"}; !equalStrings(got, want) {
		t.Fatalf("secondary listing %v, want %v", got, want)
	}

	steps := []struct {
		name   string
		bc     *blob.Client
		opts   *blob.DeleteOptions
		status int
		code   bloberror.Code
		after  []string
	}{
		{"blob with snapshots", cc.NewBlobClient("b"), nil, 409, bloberror.SnapshotsPresent, []string{"a", "b@snap", "b@snap", "b", "c@snap", "c"}},
		{"snapshots on a snapshot", s1, &blob.DeleteOptions{DeleteSnapshots: to.Ptr(blob.DeleteSnapshotsOptionTypeInclude)}, 400, bloberror.InvalidHeaderValue, []string{"a", "b@snap", "b@snap", "b", "c@snap", "c"}},
		{"one snapshot", s1, nil, 0, "", []string{"a", "b@snap", "b", "c@snap", "c"}},
		{"the same snapshot again", s1, nil, 404, bloberror.BlobNotFound, []string{"a", "b@snap", "b", "c@snap", "c"}},
		{"only snapshots", cc.NewBlobClient("b"), &blob.DeleteOptions{DeleteSnapshots: to.Ptr(blob.DeleteSnapshotsOptionTypeOnly)}, 0, "", []string{"a", "b", "c@snap", "c"}},
		{"include snapshots", cc.NewBlobClient("c"), &blob.DeleteOptions{DeleteSnapshots: to.Ptr(blob.DeleteSnapshotsOptionTypeInclude)}, 0, "", []string{"a", "b"}},
		{"blob without snapshots", cc.NewBlobClient("a"), nil, 0, "", []string{"b"}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			_, err := st.bc.Delete(ctx(), st.opts)
			if st.status == 0 && err != nil {
				t.Fatal(err)
			} else if st.status != 0 {
				wantCode(t, err, st.status, st.code)
			}
			if got := listEntries(t, e.client, "del", container.ListBlobsInclude{Snapshots: true}); !equalStrings(got, st.after) {
				t.Fatalf("listing %v, want %v", got, st.after)
			}
			e.sync()
			if got := listEntries(t, e.secClient, "del", container.ListBlobsInclude{Snapshots: true}); !equalStrings(got, st.after) {
				t.Fatalf("secondary listing %v, want %v", got, st.after)
			}
		})
	}
	// The secondary refuses deletes of snapshots.
	_, err := e.secClient.ServiceClient().NewContainerClient("del").NewBlobClient("b").Delete(ctx(), &blob.DeleteOptions{DeleteSnapshots: to.Ptr(blob.DeleteSnapshotsOptionTypeOnly)})
	wantCode(t, err, http.StatusForbidden, "")
}

// TestCopySnapshotPromotes: copying a snapshot over its base blob restores
// the snapshot's content; a snapshot of a page blob keeps its page ranges.
func TestCopySnapshotPromotes(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("cpy")
	cc := e.client.ServiceClient().NewContainerClient("cpy")
	e.mustUpload("cpy", "b", []byte("original"))
	snap := e.snapshotOf(e.client, "cpy", "b", nil)
	e.mustUpload("cpy", "b", []byte("changed"))
	if _, err := cc.NewBlobClient("b").StartCopyFromURL(ctx(), snap.URL(), nil); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, cc.NewBlobClient("b")); string(got) != "original" {
		t.Fatalf("promoted body %q", got)
	}
	if got := readAll(t, snap); string(got) != "original" {
		t.Fatalf("snapshot body %q after the promotion", got)
	}

	pb := cc.NewPageBlobClient("p")
	if _, err := pb.Create(ctx(), 4096, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := pb.UploadPages(ctx(), streamOf(bytes.Repeat([]byte("x"), 512)), blob.HTTPRange{Offset: 1024, Count: 512}, nil); err != nil {
		t.Fatal(err)
	}
	ps := e.snapshotOf(e.client, "cpy", "p", nil)
	if _, err := pb.ClearPages(ctx(), blob.HTTPRange{Offset: 1024, Count: 512}, nil); err != nil {
		t.Fatal(err)
	}
	psc, err := pb.WithSnapshot(snapshotID(t, ps))
	if err != nil {
		t.Fatal(err)
	}
	pager := psc.NewGetPageRangesPager(&pageblob.GetPageRangesOptions{})
	page, err := pager.NextPage(ctx())
	if err != nil {
		t.Fatal(err)
	}
	if len(page.PageRange) != 1 || *page.PageRange[0].Start != 1024 || *page.PageRange[0].End != 1535 {
		t.Fatalf("snapshot page ranges %+v", page.PageRange)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestGetPageRangesDiff: Get Page Ranges with prevsnapshot through the
// SDK's diff pager, against the base blob and against a later snapshot,
// on the primary and the replicated secondary.
func TestGetPageRangesDiff(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("pdiff")
	pb := e.client.ServiceClient().NewContainerClient("pdiff").NewPageBlobClient("p")
	if _, err := pb.Create(ctx(), 64*512, nil); err != nil {
		t.Fatal(err)
	}
	put := func(off, n int64) {
		t.Helper()
		if _, err := pb.UploadPages(ctx(), streamOf(bytes.Repeat([]byte{byte(off/512 + 1)}, int(n))), blob.HTTPRange{Offset: off, Count: n}, nil); err != nil {
			t.Fatal(err)
		}
	}
	put(0, 16*512)
	s1 := snapshotID(t, e.snapshotOf(e.client, "pdiff", "p", nil))
	put(4*512, 512)
	if _, err := pb.ClearPages(ctx(), blob.HTTPRange{Offset: 10 * 512, Count: 2 * 512}, nil); err != nil {
		t.Fatal(err)
	}
	put(40*512, 1024)
	s2 := snapshotID(t, e.snapshotOf(e.client, "pdiff", "p", nil))
	atS2, err := pb.WithSnapshot(s2)
	if err != nil {
		t.Fatal(err)
	}
	type span struct{ start, end int64 }
	diff := func(c *pageblob.Client, prev string) (pages, clears []span) {
		t.Helper()
		pager := c.NewGetPageRangesDiffPager(&pageblob.GetPageRangesDiffOptions{PrevSnapshot: to.Ptr(prev)})
		for pager.More() {
			page, err := pager.NextPage(ctx())
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range page.PageRange {
				pages = append(pages, span{*r.Start, *r.End})
			}
			for _, r := range page.ClearRange {
				clears = append(clears, span{*r.Start, *r.End})
			}
		}
		return pages, clears
	}
	secPB := e.secClient.ServiceClient().NewContainerClient("pdiff").NewPageBlobClient("p")
	e.sync()
	tests := []struct {
		name          string
		c             *pageblob.Client
		prev          string
		pages, clears []span
	}{
		{"base since s1", pb, s1, []span{{2048, 2559}, {20480, 21503}}, []span{{5120, 6143}}},
		{"s2 since s1", atS2, s1, []span{{2048, 2559}, {20480, 21503}}, []span{{5120, 6143}}},
		{"base since s2", pb, s2, nil, nil},
		{"secondary base since s1", secPB, s1, []span{{2048, 2559}, {20480, 21503}}, []span{{5120, 6143}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pages, clears := diff(tt.c, tt.prev)
			if len(pages) != len(tt.pages) || len(clears) != len(tt.clears) {
				t.Fatalf("pages %v clears %v, want %v %v", pages, clears, tt.pages, tt.clears)
			}
			for i := range pages {
				if pages[i] != tt.pages[i] {
					t.Fatalf("pages %v, want %v", pages, tt.pages)
				}
			}
			for i := range clears {
				if clears[i] != tt.clears[i] {
					t.Fatalf("clears %v, want %v", clears, tt.clears)
				}
			}
		})
	}
	// An unknown previous snapshot, and a later one than the target.
	atS1, _ := pb.WithSnapshot(s1)
	for _, tc := range []struct {
		c    *pageblob.Client
		prev string
	}{{pb, "2001-01-01T00:00:00.0000000Z"}, {atS1, s2}} {
		_, err := tc.c.NewGetPageRangesDiffPager(&pageblob.GetPageRangesDiffOptions{PrevSnapshot: to.Ptr(tc.prev)}).NextPage(ctx())
		wantCode(t, err, http.StatusConflict, "PreviousSnapshotNotFound")
	}
}
