package blobapi_test

import (
	"bytes"
	"crypto/md5"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/lease"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/pageblob"

	"github.com/geoblob/geoblob/internal/blobapi"
)

func (e *env) pageClient(c, name string) *pageblob.Client {
	return e.client.ServiceClient().NewContainerClient(c).NewPageBlobClient(name)
}

// mustCreatePage creates a page blob of size bytes.
func (e *env) mustCreatePage(c, name string, size int64) *pageblob.Client {
	e.t.Helper()
	pb := e.pageClient(c, name)
	if _, err := pb.Create(ctx(), size, nil); err != nil {
		e.t.Fatalf("create page blob %s/%s: %v", c, name, err)
	}
	return pb
}

// fill returns n bytes of c.
func fill(c byte, n int) []byte { return bytes.Repeat([]byte{c}, n) }

// pageRanges lists every written range of pb, following NextMarker, as
// [start, end] pairs.
func pageRanges(t *testing.T, pb *pageblob.Client, o *pageblob.GetPageRangesOptions) [][2]int64 {
	t.Helper()
	var out [][2]int64
	pager := pb.NewGetPageRangesPager(o)
	for pager.More() {
		page, err := pager.NextPage(ctx())
		if err != nil {
			t.Fatal(err)
		}
		if len(page.ClearRange) != 0 {
			t.Errorf("clear ranges in a plain page list: %d", len(page.ClearRange))
		}
		for _, r := range page.PageRange {
			out = append(out, [2]int64{*r.Start, *r.End})
		}
	}
	return out
}

func equalRanges(a, b [][2]int64) bool {
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

// TestPageBlob: create, write, clear, read back (zeros where nothing was
// written), list page ranges, resize and sequence numbers.
func TestPageBlob(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("ctr")
	pb := e.pageClient("ctr", "disk")
	cr, err := pb.Create(ctx(), 4096, &pageblob.CreateOptions{
		SequenceNumber: to.Ptr[int64](7),
		HTTPHeaders:    &blob.HTTPHeaders{BlobContentType: to.Ptr("application/x-disk")},
		Metadata:       map[string]*string{"k": to.Ptr("v")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if cr.ETag == nil || cr.LastModified == nil {
		t.Fatalf("create answer %+v", cr)
	}
	p, err := pb.GetProperties(ctx(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if *p.BlobType != blob.BlobTypePageBlob || *p.ContentLength != 4096 || p.BlobSequenceNumber == nil || *p.BlobSequenceNumber != 7 ||
		*p.ContentType != "application/x-disk" || metaValue(p.Metadata, "k") != "v" {
		t.Fatalf("properties of a new page blob: %+v", p)
	}
	if got := e.mustDownload(e.client, "ctr", "disk"); !bytes.Equal(got, make([]byte, 4096)) {
		t.Fatalf("new page blob is not 4096 zeros: %d bytes", len(got))
	}
	if r := pageRanges(t, pb, nil); len(r) != 0 {
		t.Fatalf("new page blob has ranges %v", r)
	}

	want := make([]byte, 4096)
	write := func(off int64, data []byte) {
		t.Helper()
		r, err := pb.UploadPages(ctx(), streamOf(data), blob.HTTPRange{Offset: off, Count: int64(len(data))}, nil)
		if err != nil {
			t.Fatal(err)
		}
		sum := md5.Sum(data)
		if !bytes.Equal(r.ContentMD5, sum[:]) || r.BlobSequenceNumber == nil || *r.BlobSequenceNumber != 7 {
			t.Errorf("upload answer: md5 %x seq %v", r.ContentMD5, r.BlobSequenceNumber)
		}
		copy(want[off:], data)
	}
	write(512, fill('a', 1024))
	write(2560, fill('b', 512))
	if r := pageRanges(t, pb, nil); !equalRanges(r, [][2]int64{{512, 1535}, {2560, 3071}}) {
		t.Errorf("ranges %v", r)
	}
	// Overwriting part of an extent and a gap joins them.
	write(1024, fill('c', 1536))
	if r := pageRanges(t, pb, nil); !equalRanges(r, [][2]int64{{512, 3071}}) {
		t.Errorf("ranges after overwrite %v", r)
	}
	// Clearing the middle splits the extent.
	if _, err := pb.ClearPages(ctx(), blob.HTTPRange{Offset: 1536, Count: 512}, nil); err != nil {
		t.Fatal(err)
	}
	copy(want[1536:2048], make([]byte, 512))
	if r := pageRanges(t, pb, nil); !equalRanges(r, [][2]int64{{512, 1535}, {2048, 3071}}) {
		t.Errorf("ranges after clear %v", r)
	}
	if got := e.mustDownload(e.client, "ctr", "disk"); !bytes.Equal(got, want) {
		t.Fatalf("content differs after writes")
	}
	// Ranged reads cross written and unwritten pages.
	for _, rg := range []blob.HTTPRange{{Offset: 0, Count: 700}, {Offset: 1500, Count: 600}, {Offset: 3000, Count: 0}} {
		resp, err := pb.DownloadStream(ctx(), &blob.DownloadStreamOptions{Range: rg})
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		end := int64(4096)
		if rg.Count > 0 {
			end = rg.Offset + rg.Count
		}
		if !bytes.Equal(got, want[rg.Offset:end]) {
			t.Errorf("range %+v differs", rg)
		}
	}
	first, err := pb.NewGetPageRangesPager(nil).NextPage(ctx())
	if err != nil {
		t.Fatal(err)
	}
	if *first.BlobContentLength != 4096 || first.ETag == nil || first.LastModified == nil || first.NextMarker != nil && *first.NextMarker != "" {
		t.Errorf("page list answer %+v", first)
	}
	// A ranged page list clips to the range.
	if r := pageRanges(t, pb, &pageblob.GetPageRangesOptions{Range: blob.HTTPRange{Offset: 1024, Count: 1536}}); !equalRanges(r, [][2]int64{{1024, 1535}, {2048, 2559}}) {
		t.Errorf("ranged page list %v", r)
	}
	_, err = pb.NewGetPageRangesPager(&pageblob.GetPageRangesOptions{Range: blob.HTTPRange{Offset: 100, Count: 512}}).NextPage(ctx())
	wantCode(t, err, 400, bloberror.InvalidHeaderValue)
	// Paging one range at a time.
	if r := pageRanges(t, pb, &pageblob.GetPageRangesOptions{MaxResults: to.Ptr[int32](1)}); !equalRanges(r, [][2]int64{{512, 1535}, {2048, 3071}}) {
		t.Errorf("paged page list %v", r)
	}
	// The listing shows the type and the sequence number.
	page, err := e.client.NewListBlobsFlatPager("ctr", nil).NextPage(ctx())
	if err != nil {
		t.Fatal(err)
	}
	it := page.Segment.BlobItems[0].Properties
	if *it.BlobType != blob.BlobTypePageBlob || it.BlobSequenceNumber == nil || *it.BlobSequenceNumber != 7 || *it.ContentLength != 4096 {
		t.Errorf("listed %+v", it)
	}
	// Shrinking drops the pages past the end; growing adds zeros.
	if _, err := pb.Resize(ctx(), 2560, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := pb.Resize(ctx(), 8192, nil); err != nil {
		t.Fatal(err)
	}
	want = append(want[:2560], make([]byte, 8192-2560)...)
	if got := e.mustDownload(e.client, "ctr", "disk"); !bytes.Equal(got, want) {
		t.Fatalf("content differs after resize")
	}
	if r := pageRanges(t, pb, nil); !equalRanges(r, [][2]int64{{512, 1535}, {2048, 2559}}) {
		t.Errorf("ranges after resize %v", r)
	}
	if p, err := pb.GetProperties(ctx(), nil); err != nil || *p.ContentType != "application/x-disk" || *p.ContentLength != 8192 {
		t.Errorf("resize changed the properties: %v %+v", err, p)
	}
	// Sequence number actions.
	for _, tt := range []struct {
		action pageblob.SequenceNumberActionType
		n      *int64
		want   int64
	}{
		{pageblob.SequenceNumberActionTypeIncrement, nil, 8},
		{pageblob.SequenceNumberActionTypeMax, to.Ptr[int64](5), 8},
		{pageblob.SequenceNumberActionTypeMax, to.Ptr[int64](20), 20},
		{pageblob.SequenceNumberActionTypeUpdate, to.Ptr[int64](3), 3},
	} {
		r, err := pb.UpdateSequenceNumber(ctx(), &pageblob.UpdateSequenceNumberOptions{ActionType: to.Ptr(tt.action), SequenceNumber: tt.n})
		if err != nil {
			t.Fatal(err)
		}
		if *r.BlobSequenceNumber != tt.want {
			t.Errorf("%s %v: sequence number %d, want %d", tt.action, tt.n, *r.BlobSequenceNumber, tt.want)
		}
	}
	// Put Blob over a page blob replaces it.
	e.mustUpload("ctr", "disk", []byte("block"))
	if p, err := pb.GetProperties(ctx(), nil); err != nil || *p.BlobType != blob.BlobTypeBlockBlob || p.BlobSequenceNumber != nil {
		t.Errorf("after Put Blob: %v %+v", err, p)
	}
}

// TestPageBlobCreateErrors: the length must be a multiple of 512 of at
// most 8 TiB, premium tiers are refused on a standard account.
func TestPageBlobCreateErrors(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("ctr")
	tests := []struct {
		name   string
		size   int64
		opts   *pageblob.CreateOptions
		status int
		code   bloberror.Code
	}{
		{"unaligned", 1000, nil, 400, bloberror.InvalidHeaderValue},
		{"over 8 TiB", 8<<40 + 512, nil, 400, bloberror.InvalidHeaderValue},
		{"negative sequence number", 512, &pageblob.CreateOptions{SequenceNumber: to.Ptr[int64](-1)}, 400, bloberror.InvalidHeaderValue},
		{"premium tier", 512, &pageblob.CreateOptions{Tier: to.Ptr(pageblob.PremiumPageBlobAccessTierP10)}, 400, bloberror.InvalidHeaderValue},
		{"8 TiB", 8 << 40, nil, 201, ""},
		{"empty", 0, nil, 201, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.pageClient("ctr", "p").Create(ctx(), tt.size, tt.opts)
			if tt.status == 201 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantCode(t, err, tt.status, tt.code)
		})
	}
	// The 8 TiB blob holds nothing: reading its last page gives zeros.
	pb := e.mustCreatePage("ctr", "huge", 8<<40)
	if _, err := pb.UploadPages(ctx(), streamOf(fill('z', 512)), blob.HTTPRange{Offset: 8<<40 - 512, Count: 512}, nil); err != nil {
		t.Fatal(err)
	}
	resp, err := pb.DownloadStream(ctx(), &blob.DownloadStreamOptions{Range: blob.HTTPRange{Offset: 8<<40 - 1024, Count: 1024}})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(got, append(make([]byte, 512), fill('z', 512)...)) {
		t.Errorf("end of the 8 TiB blob: %q", got)
	}
	if r := pageRanges(t, pb, nil); !equalRanges(r, [][2]int64{{8<<40 - 512, 8<<40 - 1}}) {
		t.Errorf("ranges %v", r)
	}
}

// TestPutPageConditions: sequence number, If-* and checksum conditions,
// alignment and limits, each refused with Azure's code, leaving the blob
// unchanged.
func TestPutPageConditions(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("ctr")
	pb := e.pageClient("ctr", "p")
	if _, err := pb.Create(ctx(), 8<<20, &pageblob.CreateOptions{SequenceNumber: to.Ptr[int64](5), Tags: map[string]string{"t": "1"}}); err != nil {
		t.Fatal(err)
	}
	seq := func(c pageblob.SequenceNumberAccessConditions) *pageblob.UploadPagesOptions {
		return &pageblob.UploadPagesOptions{SequenceNumberAccessConditions: &c}
	}
	badMD5 := md5.Sum([]byte("other"))
	page := blob.HTTPRange{Offset: 0, Count: 512}
	tests := []struct {
		name   string
		rng    blob.HTTPRange
		size   int
		opts   *pageblob.UploadPagesOptions
		status int
		code   bloberror.Code
	}{
		{"seq le met", page, 512, seq(pageblob.SequenceNumberAccessConditions{IfSequenceNumberLessThanOrEqualTo: to.Ptr[int64](5)}), 201, ""},
		{"seq le not met", page, 512, seq(pageblob.SequenceNumberAccessConditions{IfSequenceNumberLessThanOrEqualTo: to.Ptr[int64](4)}), 412, bloberror.SequenceNumberConditionNotMet},
		{"seq lt met", page, 512, seq(pageblob.SequenceNumberAccessConditions{IfSequenceNumberLessThan: to.Ptr[int64](6)}), 201, ""},
		{"seq lt not met", page, 512, seq(pageblob.SequenceNumberAccessConditions{IfSequenceNumberLessThan: to.Ptr[int64](5)}), 412, bloberror.SequenceNumberConditionNotMet},
		{"seq eq met", page, 512, seq(pageblob.SequenceNumberAccessConditions{IfSequenceNumberEqualTo: to.Ptr[int64](5)}), 201, ""},
		{"seq eq not met", page, 512, seq(pageblob.SequenceNumberAccessConditions{IfSequenceNumberEqualTo: to.Ptr[int64](6)}), 412, bloberror.SequenceNumberConditionNotMet},
		{"if-match fails", page, 512, &pageblob.UploadPagesOptions{AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: to.Ptr(azcore.ETag(`"0xBAD"`))}}}, 412, bloberror.ConditionNotMet},
		{"if-tags met", page, 512, &pageblob.UploadPagesOptions{AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfTags: to.Ptr(`"t"='1'`)}}}, 201, ""},
		{"if-tags not met", page, 512, &pageblob.UploadPagesOptions{AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfTags: to.Ptr(`"t"='2'`)}}}, 412, bloberror.ConditionNotMet},
		{"if-unmodified-since past fails", page, 512, &pageblob.UploadPagesOptions{AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfUnmodifiedSince: to.Ptr(time.Now().Add(-time.Hour))}}}, 412, bloberror.ConditionNotMet},
		{"MD5 met", page, 512, &pageblob.UploadPagesOptions{TransactionalValidation: blob.TransferValidationTypeComputeCRC64()}, 201, ""},
		{"MD5 mismatch", page, 512, &pageblob.UploadPagesOptions{TransactionalValidation: blob.TransferValidationTypeMD5(badMD5[:])}, 400, bloberror.MD5Mismatch},
		{"CRC64 mismatch", page, 512, &pageblob.UploadPagesOptions{TransactionalValidation: blob.TransferValidationTypeCRC64(12345)}, 400, bloberror.CRC64Mismatch},
		{"unaligned start", blob.HTTPRange{Offset: 100, Count: 512}, 512, nil, 400, bloberror.InvalidHeaderValue},
		{"unaligned length", blob.HTTPRange{Offset: 0, Count: 500}, 500, nil, 400, bloberror.InvalidHeaderValue},
		{"past the end", blob.HTTPRange{Offset: 8 << 20, Count: 512}, 512, nil, 416, bloberror.InvalidPageRange},
		{"4 MiB", blob.HTTPRange{Offset: 0, Count: 4 << 20}, 4 << 20, nil, 201, ""},
		{"over 4 MiB", blob.HTTPRange{Offset: 0, Count: 4<<20 + 512}, 4<<20 + 512, nil, 413, bloberror.RequestBodyTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, err := pb.GetProperties(ctx(), nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = pb.UploadPages(ctx(), streamOf(fill('x', tt.size)), tt.rng, tt.opts)
			after, perr := pb.GetProperties(ctx(), nil)
			if perr != nil {
				t.Fatal(perr)
			}
			if tt.status == 201 {
				if err != nil {
					t.Fatalf("upload: %v", err)
				}
				if *after.ETag == *before.ETag {
					t.Errorf("write did not change the ETag")
				}
				return
			}
			wantCode(t, err, tt.status, tt.code)
			if *after.ETag != *before.ETag {
				t.Errorf("refused write changed the blob")
			}
		})
	}
	// Get Page Ranges takes a tag condition.
	_, err := pb.NewGetPageRangesPager(&pageblob.GetPageRangesOptions{AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfTags: to.Ptr(`"t"='2'`)}}}).NextPage(ctx())
	wantCode(t, err, 412, bloberror.ConditionNotMet)
	// Clear Page takes the sequence number conditions too.
	_, err = pb.ClearPages(ctx(), page, &pageblob.ClearPagesOptions{SequenceNumberAccessConditions: &pageblob.SequenceNumberAccessConditions{IfSequenceNumberEqualTo: to.Ptr[int64](1)}})
	wantCode(t, err, 412, bloberror.SequenceNumberConditionNotMet)
	// Malformed headers.
	for _, tt := range []struct {
		name string
		hdr  map[string]string
		body string
		code string
	}{
		{"no page write", map[string]string{"x-ms-range": "bytes=0-511"}, strings.Repeat("x", 512), "MissingRequiredHeader"},
		{"bad page write", map[string]string{"x-ms-range": "bytes=0-511", "x-ms-page-write": "append"}, strings.Repeat("x", 512), "InvalidHeaderValue"},
		{"no range", map[string]string{"x-ms-page-write": "update"}, strings.Repeat("x", 512), "MissingRequiredHeader"},
		{"negative sequence condition", map[string]string{"x-ms-range": "bytes=0-511", "x-ms-page-write": "update", "x-ms-if-sequence-number-le": "-1"}, strings.Repeat("x", 512), "InvalidHeaderValue"},
		{"clear with a body", map[string]string{"x-ms-range": "bytes=0-511", "x-ms-page-write": "clear"}, "x", "InvalidHeaderValue"},
		{"body shorter than the range", map[string]string{"x-ms-range": "bytes=0-1023", "x-ms-page-write": "update"}, strings.Repeat("x", 512), "InvalidHeaderValue"},
		{"open range", map[string]string{"x-ms-range": "bytes=0-", "x-ms-page-write": "update"}, strings.Repeat("x", 512), "InvalidHeaderValue"},
	} {
		resp := e.do("PUT", "/"+devAccount+"/ctr/p?comp=page", tt.hdr, strings.NewReader(tt.body))
		if resp.StatusCode != 400 || resp.Header.Get("x-ms-error-code") != tt.code {
			t.Errorf("%s: answered %d %s, want 400 %s", tt.name, resp.StatusCode, resp.Header.Get("x-ms-error-code"), tt.code)
		}
	}
}

// TestPageBlobWrongType: page operations on block and append blobs, and
// block and append operations on a page blob, answer 409 InvalidBlobType.
func TestPageBlobWrongType(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("ctr")
	e.mustUpload("ctr", "block", fill('x', 512))
	e.mustCreateAppend("ctr", "append")
	pb := e.mustCreatePage("ctr", "page", 1024)
	pageRange := blob.HTTPRange{Offset: 0, Count: 512}
	tests := []struct {
		name string
		run  func() error
	}{
		{"put page on block blob", func() error {
			_, err := e.pageClient("ctr", "block").UploadPages(ctx(), streamOf(fill('x', 512)), pageRange, nil)
			return err
		}},
		{"clear page on append blob", func() error {
			_, err := e.pageClient("ctr", "append").ClearPages(ctx(), pageRange, nil)
			return err
		}},
		{"page ranges of block blob", func() error {
			_, err := e.pageClient("ctr", "block").NewGetPageRangesPager(nil).NextPage(ctx())
			return err
		}},
		{"resize block blob", func() error {
			_, err := e.pageClient("ctr", "block").Resize(ctx(), 1024, nil)
			return err
		}},
		{"sequence number of append blob", func() error {
			_, err := e.pageClient("ctr", "append").UpdateSequenceNumber(ctx(), &pageblob.UpdateSequenceNumberOptions{ActionType: to.Ptr(pageblob.SequenceNumberActionTypeIncrement)})
			return err
		}},
		{"append block on page blob", func() error {
			_, err := e.appendClient("ctr", "page").AppendBlock(ctx(), streamOf([]byte("x")), nil)
			return err
		}},
		{"stage block on page blob", func() error {
			bb := e.client.ServiceClient().NewContainerClient("ctr").NewBlockBlobClient("page")
			if _, err := bb.StageBlock(ctx(), base64Std("b1"), streamOf([]byte("x")), nil); err != nil {
				return err
			}
			_, err := bb.CommitBlockList(ctx(), []string{base64Std("b1")}, nil)
			return err
		}},
		{"block list of page blob", func() error {
			_, err := e.client.ServiceClient().NewContainerClient("ctr").NewBlockBlobClient("page").GetBlockList(ctx(), blockblob.BlockListTypeAll, nil)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantCode(t, tt.run(), 409, bloberror.InvalidBlobType)
		})
	}
	if p, err := pb.GetProperties(ctx(), nil); err != nil || *p.BlobType != blob.BlobTypePageBlob || *p.ContentLength != 1024 {
		t.Errorf("page blob after refusals: %v %+v", err, p)
	}
	// Resize refusals on a page blob.
	_, err := pb.Resize(ctx(), 1000, nil)
	wantCode(t, err, 400, bloberror.InvalidHeaderValue)
	_, err = pb.UpdateSequenceNumber(ctx(), &pageblob.UpdateSequenceNumberOptions{ActionType: to.Ptr(pageblob.SequenceNumberActionTypeUpdate)})
	wantCode(t, err, 400, bloberror.MissingRequiredHeader)
}

// TestPageBlobLease: a leased page blob takes writes, clears and resizes
// only with its lease id.
func TestPageBlobLease(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("ctr")
	pb := e.mustCreatePage("ctr", "leased", 2048)
	lc, err := lease.NewBlobClient(pb, &lease.BlobClientOptions{LeaseID: to.Ptr("11111111-2222-3333-4444-555555555555")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lc.AcquireLease(ctx(), -1, nil); err != nil {
		t.Fatal(err)
	}
	with := &blob.AccessConditions{LeaseAccessConditions: &blob.LeaseAccessConditions{LeaseID: lc.LeaseID()}}
	wrong := &blob.AccessConditions{LeaseAccessConditions: &blob.LeaseAccessConditions{LeaseID: to.Ptr("99999999-2222-3333-4444-555555555555")}}
	rng := blob.HTTPRange{Offset: 512, Count: 512}
	tests := []struct {
		name string
		run  func(ac *blob.AccessConditions) error
	}{
		{"put page", func(ac *blob.AccessConditions) error {
			_, err := pb.UploadPages(ctx(), streamOf(fill('l', 512)), rng, &pageblob.UploadPagesOptions{AccessConditions: ac})
			return err
		}},
		{"clear page", func(ac *blob.AccessConditions) error {
			_, err := pb.ClearPages(ctx(), rng, &pageblob.ClearPagesOptions{AccessConditions: ac})
			return err
		}},
		{"resize", func(ac *blob.AccessConditions) error {
			_, err := pb.Resize(ctx(), 4096, &pageblob.ResizeOptions{AccessConditions: ac})
			return err
		}},
		{"sequence number", func(ac *blob.AccessConditions) error {
			_, err := pb.UpdateSequenceNumber(ctx(), &pageblob.UpdateSequenceNumberOptions{ActionType: to.Ptr(pageblob.SequenceNumberActionTypeIncrement), AccessConditions: ac})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantCode(t, tt.run(nil), 412, bloberror.LeaseIDMissing)
			wantCode(t, tt.run(wrong), 412, bloberror.LeaseIDMismatchWithBlobOperation)
			if err := tt.run(with); err != nil {
				t.Fatal(err)
			}
		})
	}
	// Reads need no lease.
	if r := pageRanges(t, pb, nil); len(r) != 0 {
		t.Errorf("ranges %v", r)
	}
}

// TestUploadPagesFromURL: Put Page From URL writes the source range at the
// destination range; the lengths and the source must fit.
func TestUploadPagesFromURL(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("ctr")
	src := append(fill('s', 1024), fill('t', 1024)...)
	e.mustUpload("ctr", "src", src)
	srcURL := e.readSASURL("ctr", "src")
	pb := e.mustCreatePage("ctr", "disk", 4096)
	if _, err := pb.UploadPagesFromURL(ctx(), srcURL, 512, 2048, 1024, nil); err != nil {
		t.Fatal(err)
	}
	want := make([]byte, 4096)
	copy(want[2048:], src[512:1536])
	if got := e.mustDownload(e.client, "ctr", "disk"); !bytes.Equal(got, want) {
		t.Fatalf("content differs")
	}
	if r := pageRanges(t, pb, nil); !equalRanges(r, [][2]int64{{2048, 3071}}) {
		t.Errorf("ranges %v", r)
	}
	// A page blob source: its unwritten pages copy as zeros.
	if _, err := e.pageClient("ctr", "disk2").Create(ctx(), 4096, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.pageClient("ctr", "disk2").UploadPagesFromURL(ctx(), e.readSASURL("ctr", "disk"), 1536, 0, 1024, nil); err != nil {
		t.Fatal(err)
	}
	resp, err := e.pageClient("ctr", "disk2").DownloadStream(ctx(), &blob.DownloadStreamOptions{Range: blob.HTTPRange{Offset: 0, Count: 1024}})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(got, want[1536:2560]) {
		t.Errorf("page blob source copied %q", got)
	}
	tests := []struct {
		name                  string
		srcOff, dstOff, count int64
		opts                  *pageblob.UploadPagesFromURLOptions
		status                int
		code                  bloberror.Code
	}{
		{"unaligned destination", 0, 100, 512, nil, 400, bloberror.InvalidHeaderValue},
		{"past the destination", 0, 4096, 512, nil, 416, bloberror.InvalidPageRange},
		{"source too short", 1536, 0, 1024, nil, 416, bloberror.InvalidRange},
		{"source MD5 mismatch", 0, 0, 512, &pageblob.UploadPagesFromURLOptions{SourceContentValidation: blob.SourceContentValidationTypeMD5(make([]byte, 16))}, 400, bloberror.MD5Mismatch},
		{"sequence number not met", 0, 0, 512, &pageblob.UploadPagesFromURLOptions{SequenceNumberAccessConditions: &pageblob.SequenceNumberAccessConditions{IfSequenceNumberEqualTo: to.Ptr[int64](9)}}, 412, bloberror.SequenceNumberConditionNotMet},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := pb.UploadPagesFromURL(ctx(), srcURL, tt.srcOff, tt.dstOff, tt.count, tt.opts)
			wantCode(t, err, tt.status, tt.code)
		})
	}
	// Put Page From URL onto a block blob is the wrong type.
	_, err = e.pageClient("ctr", "src").UploadPagesFromURL(ctx(), srcURL, 0, 0, 512, nil)
	wantCode(t, err, 409, bloberror.InvalidBlobType)
}

// TestPageBlobSecondary: page writes replicate in commit order, the
// secondary sees nothing before the change is applied, and it refuses
// every page blob write.
func TestPageBlobSecondary(t *testing.T) {
	e := newEnv(t, envOptions{manualClock: true})
	e.mustCreate("ctr")
	pb := e.mustCreatePage("ctr", "disk", 2048)
	e.sync()
	sec := e.secClient.ServiceClient().NewContainerClient("ctr").NewPageBlobClient("disk")
	for i := 0; i < 3; i++ {
		e.clock.Advance(time.Second)
		if _, err := pb.UploadPages(ctx(), streamOf(fill('a'+byte(i), 512)), blob.HTTPRange{Offset: int64(i) * 512, Count: 512}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pb.ClearPages(ctx(), blob.HTTPRange{Offset: 512, Count: 512}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := pb.UpdateSequenceNumber(ctx(), &pageblob.UpdateSequenceNumberOptions{ActionType: to.Ptr(pageblob.SequenceNumberActionTypeUpdate), SequenceNumber: to.Ptr[int64](4)}); err != nil {
		t.Fatal(err)
	}
	if r := pageRanges(t, pb, nil); !equalRanges(r, [][2]int64{{0, 511}, {1024, 1535}}) {
		t.Errorf("primary ranges %v", r)
	}
	// Not applied yet: the secondary still has the empty blob.
	if r := pageRanges(t, sec, nil); len(r) != 0 {
		t.Fatalf("secondary before sync has ranges %v", r)
	}
	e.sync()
	want := append(append(fill('a', 512), make([]byte, 512)...), append(fill('c', 512), make([]byte, 512)...)...)
	if got := e.mustDownload(e.secClient, "ctr", "disk"); !bytes.Equal(got, want) {
		t.Fatalf("secondary after sync differs")
	}
	if r := pageRanges(t, sec, nil); !equalRanges(r, [][2]int64{{0, 511}, {1024, 1535}}) {
		t.Errorf("secondary ranges %v", r)
	}
	pp, _ := pb.GetProperties(ctx(), nil)
	sp, err := sec.GetProperties(ctx(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if *sp.ETag != *pp.ETag || *sp.BlobSequenceNumber != 4 || *sp.BlobType != blob.BlobTypePageBlob {
		t.Errorf("secondary properties %+v", sp)
	}
	if _, err := pb.Resize(ctx(), 512, nil); err != nil {
		t.Fatal(err)
	}
	e.sync()
	if sp, err := sec.GetProperties(ctx(), nil); err != nil || *sp.ContentLength != 512 {
		t.Errorf("resize did not replicate: %v %+v", err, sp)
	}
	srcURL := e.readSASURL("ctr", "disk")
	refused := []struct {
		name string
		run  func() error
	}{
		{"create", func() error { _, err := sec.Create(ctx(), 512, nil); return err }},
		{"put page", func() error {
			_, err := sec.UploadPages(ctx(), streamOf(fill('x', 512)), blob.HTTPRange{Offset: 0, Count: 512}, nil)
			return err
		}},
		{"clear page", func() error { _, err := sec.ClearPages(ctx(), blob.HTTPRange{Offset: 0, Count: 512}, nil); return err }},
		{"put page from URL", func() error { _, err := sec.UploadPagesFromURL(ctx(), srcURL, 0, 0, 512, nil); return err }},
		{"resize", func() error { _, err := sec.Resize(ctx(), 1024, nil); return err }},
		{"sequence number", func() error {
			_, err := sec.UpdateSequenceNumber(ctx(), &pageblob.UpdateSequenceNumberOptions{ActionType: to.Ptr(pageblob.SequenceNumberActionTypeIncrement)})
			return err
		}},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			wantCode(t, tt.run(), 403, blobapi.SecondaryWriteCode)
		})
	}
	if p, err := pb.GetProperties(ctx(), nil); err != nil || *p.ContentLength != 512 || *p.BlobSequenceNumber != 4 {
		t.Errorf("primary changed by refused secondary writes: %v %+v", err, p)
	}
}

// TestCopyPageBlob: Copy Blob of a page blob makes a page blob with the
// same length, pages and sequence number; the copy shares the pages, so a
// later write to the source leaves it unchanged.
func TestCopyPageBlob(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("ctr")
	src := e.pageClient("ctr", "src")
	if _, err := src.Create(ctx(), 2048, &pageblob.CreateOptions{SequenceNumber: to.Ptr[int64](9)}); err != nil {
		t.Fatal(err)
	}
	if _, err := src.UploadPages(ctx(), streamOf(fill('p', 512)), blob.HTTPRange{Offset: 1024, Count: 512}, nil); err != nil {
		t.Fatal(err)
	}
	dst := e.pageClient("ctr", "dst")
	if _, err := dst.StartCopyFromURL(ctx(), src.URL(), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := src.UploadPages(ctx(), streamOf(fill('q', 512)), blob.HTTPRange{Offset: 0, Count: 512}, nil); err != nil {
		t.Fatal(err)
	}
	p, err := dst.GetProperties(ctx(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if *p.BlobType != blob.BlobTypePageBlob || *p.ContentLength != 2048 || *p.BlobSequenceNumber != 9 {
		t.Errorf("copy properties %+v", p)
	}
	if r := pageRanges(t, dst, nil); !equalRanges(r, [][2]int64{{1024, 1535}}) {
		t.Errorf("copy ranges %v", r)
	}
	want := append(make([]byte, 1024), append(fill('p', 512), make([]byte, 512)...)...)
	if got := e.mustDownload(e.client, "ctr", "dst"); !bytes.Equal(got, want) {
		t.Errorf("copy content differs")
	}
}
