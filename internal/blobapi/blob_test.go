package blobapi_test

import (
	"bytes"
	"crypto/md5"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/geoblob/geoblob/internal/store"
)

func TestContainerLifecycle(t *testing.T) {
	e := newEnv(t)
	_, err := e.client.CreateContainer(ctx(), "photos", &container.CreateOptions{
		Metadata: map[string]*string{"owner": to.Ptr("ann")},
		Access:   to.Ptr(container.PublicAccessTypeBlob),
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.client.CreateContainer(ctx(), "photos", nil)
	wantCode(t, err, 409, bloberror.ContainerAlreadyExists)

	cc := e.client.ServiceClient().NewContainerClient("photos")
	props, err := cc.GetProperties(ctx(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := metaValue(props.Metadata, "owner"); got != "ann" {
		t.Errorf("metadata owner = %q, want ann (%v)", got, props.Metadata)
	}
	if props.BlobPublicAccess == nil || *props.BlobPublicAccess != container.PublicAccessTypeBlob {
		t.Errorf("public access = %v, want blob", props.BlobPublicAccess)
	}
	if props.LeaseState == nil || *props.LeaseState != "available" || props.ETag == nil || props.LastModified == nil {
		t.Errorf("properties incomplete: %+v", props)
	}

	set, err := cc.SetMetadata(ctx(), &container.SetMetadataOptions{Metadata: map[string]*string{"k": to.Ptr("v")}})
	if err != nil {
		t.Fatal(err)
	}
	if *set.ETag == *props.ETag {
		t.Error("Set Container Metadata did not change the ETag")
	}
	props, err = cc.GetProperties(ctx(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if metaValue(props.Metadata, "k") != "v" || metaValue(props.Metadata, "owner") != "" {
		t.Errorf("metadata after set = %v", props.Metadata)
	}

	if _, err := e.client.DeleteContainer(ctx(), "photos", nil); err != nil {
		t.Fatal(err)
	}
	_, err = cc.GetProperties(ctx(), nil)
	wantCode(t, err, 404, bloberror.ContainerNotFound)
	_, err = e.client.DeleteContainer(ctx(), "photos", nil)
	wantCode(t, err, 404, bloberror.ContainerNotFound)
}

func metaValue(m map[string]*string, k string) string {
	for mk, v := range m {
		if strings.EqualFold(mk, k) && v != nil {
			return *v
		}
	}
	return ""
}

func TestUploadDownloadProperties(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("ctr1")
	data := []byte("hello, geo-redundant world")
	bc := e.client.ServiceClient().NewContainerClient("ctr1").NewBlockBlobClient("dir/a b+c.txt")
	up, err := bc.Upload(ctx(), streamOf(data), &blockblob.UploadOptions{
		HTTPHeaders: &blob.HTTPHeaders{BlobContentType: to.Ptr("text/plain"), BlobCacheControl: to.Ptr("no-cache")},
		Metadata:    map[string]*string{"color": to.Ptr("blue")},
	})
	if err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum(data)
	if !bytes.Equal(up.ContentMD5, sum[:]) {
		t.Errorf("Put Blob Content-MD5 = %x, want %x", up.ContentMD5, sum)
	}
	if got := e.mustDownload(e.client, "ctr1", "dir/a b+c.txt"); !bytes.Equal(got, data) {
		t.Fatalf("download = %q", got)
	}
	p, err := bc.GetProperties(ctx(), nil)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case *p.ContentLength != int64(len(data)):
		t.Errorf("Content-Length = %d", *p.ContentLength)
	case *p.ContentType != "text/plain" || *p.CacheControl != "no-cache":
		t.Errorf("headers = %q %q", *p.ContentType, *p.CacheControl)
	case !bytes.Equal(p.ContentMD5, sum[:]):
		t.Errorf("MD5 = %x", p.ContentMD5)
	case *p.BlobType != blob.BlobTypeBlockBlob:
		t.Errorf("blob type = %v", *p.BlobType)
	case p.CreationTime == nil || p.LastModified == nil || p.ETag == nil || *p.ETag != *up.ETag:
		t.Errorf("times/etag: %+v", p)
	case *p.LeaseState != "available" || *p.LeaseStatus != "unlocked":
		t.Errorf("lease: %v %v", *p.LeaseState, *p.LeaseStatus)
	case metaValue(p.Metadata, "color") != "blue":
		t.Errorf("metadata = %v", p.Metadata)
	case p.AccessTier == nil || *p.AccessTier != "Hot":
		t.Errorf("access tier = %v", p.AccessTier)
	case p.IsServerEncrypted == nil || !*p.IsServerEncrypted:
		t.Errorf("server encrypted = %v", p.IsServerEncrypted)
	}

	// Set Blob Properties and Set Metadata each produce a new ETag.
	sp, err := bc.SetHTTPHeaders(ctx(), blob.HTTPHeaders{BlobContentType: to.Ptr("application/json")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sm, err := bc.SetMetadata(ctx(), map[string]*string{"size": to.Ptr("small")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if *sp.ETag == *up.ETag || *sm.ETag == *sp.ETag {
		t.Error("writes did not change the ETag")
	}
	p, err = bc.GetProperties(ctx(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if *p.ContentType != "application/json" || metaValue(p.Metadata, "size") != "small" || metaValue(p.Metadata, "color") != "" {
		t.Errorf("after set: %q %v", *p.ContentType, p.Metadata)
	}

	if _, err := e.client.DeleteBlob(ctx(), "ctr1", "dir/a b+c.txt", nil); err != nil {
		t.Fatal(err)
	}
	_, err = bc.GetProperties(ctx(), nil)
	wantCode(t, err, 404, bloberror.BlobNotFound)
	_, err = e.client.DownloadStream(ctx(), "ctr1", "dir/a b+c.txt", nil)
	wantCode(t, err, 404, bloberror.BlobNotFound)
	_, err = e.client.DownloadStream(ctx(), "nope", "x", nil)
	wantCode(t, err, 404, bloberror.ContainerNotFound)
}

func TestPutBlobMD5(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("ctr")
	bc := e.client.ServiceClient().NewContainerClient("ctr").NewBlockBlobClient("b")
	data := []byte("payload")
	good := md5.Sum(data)
	bad := md5.Sum([]byte("other"))
	if _, err := bc.Upload(ctx(), streamOf(data), &blockblob.UploadOptions{TransactionalValidation: blob.TransferValidationTypeMD5(good[:])}); err != nil {
		t.Fatal(err)
	}
	_, err := bc.Upload(ctx(), streamOf(data), &blockblob.UploadOptions{TransactionalValidation: blob.TransferValidationTypeMD5(bad[:])})
	wantCode(t, err, 400, bloberror.MD5Mismatch)
	_, err = bc.StageBlock(ctx(), blockID(1), streamOf(data), &blockblob.StageBlockOptions{TransactionalValidation: blob.TransferValidationTypeMD5(bad[:])})
	wantCode(t, err, 400, bloberror.MD5Mismatch)
}

// TestGetBlobStoredMD5OfAnyLength: Get Blob sends a blob's Content-MD5 as
// stored. Through the API it is always 16 bytes, but a record read back
// from a data directory holds whatever bytes were encoded there; a longer
// one must not make the answer fail (it once panicked into a 500 past 48
// bytes).
func TestGetBlobStoredMD5OfAnyLength(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("ctr")
	data := []byte("0123456789")
	for _, n := range []int{16, 48, 49, 100} {
		sum := bytes.Repeat([]byte{byte(n)}, n)
		name := fmt.Sprint("md5-", n)
		if _, err := e.primary.PutBlob(devAccount, "ctr", name, store.Bytes(data), store.HTTPHeaders{ContentMD5: sum}, nil, store.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		for _, rng := range []blob.HTTPRange{{}, {Offset: 2, Count: 3}} {
			resp, err := e.client.DownloadStream(ctx(), "ctr", name, &blob.DownloadStreamOptions{Range: rng})
			if err != nil {
				t.Fatalf("%d bytes, range %+v: %v", n, rng, err)
			}
			got, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			md5 := resp.ContentMD5
			if rng.Count != 0 {
				md5 = resp.BlobContentMD5
			}
			if want := data[rng.Offset:]; rng.Count != 0 {
				want = want[:rng.Count]
				if !bytes.Equal(got, want) {
					t.Errorf("%d bytes, range %+v: body %q", n, rng, got)
				}
			}
			if !bytes.Equal(md5, sum) || resp.ContentLength == nil || *resp.ContentLength != int64(len(got)) {
				t.Errorf("%d bytes, range %+v: Content-MD5 %x, Content-Length %v for %d bytes", n, rng, md5, resp.ContentLength, len(got))
			}
		}
	}
}

func TestGetBlobRanges(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("ctr")
	data := []byte("0123456789abcdefghij")
	e.mustUpload("ctr", "r", data)
	e.mustUpload("ctr", "empty", nil)
	tests := []struct {
		name          string
		off, count    int64
		want          string
		wantRange     string
		wantFullRange bool
	}{
		{"whole", 0, 0, string(data), "", true},
		{"middle", 5, 5, "56789", "bytes 5-9/20", false},
		{"open end", 15, 0, "fghij", "bytes 15-19/20", false},
		{"past end clamps", 18, 100, "ij", "bytes 18-19/20", false},
		{"first byte", 0, 1, "0", "bytes 0-0/20", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := e.client.DownloadStream(ctx(), "ctr", "r", &blob.DownloadStreamOptions{Range: blob.HTTPRange{Offset: tt.off, Count: tt.count}})
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			got, _ := io.ReadAll(resp.Body)
			if string(got) != tt.want {
				t.Errorf("body = %q, want %q", got, tt.want)
			}
			cr := ""
			if resp.ContentRange != nil {
				cr = *resp.ContentRange
			}
			if !tt.wantFullRange && cr != tt.wantRange {
				t.Errorf("Content-Range = %q, want %q", cr, tt.wantRange)
			}
		})
	}

	raw := []struct {
		name       string
		blob       string
		hdr        map[string]string
		wantStatus int
		wantBody   string
		wantCR     string
	}{
		{"x-ms-range wins", "r", map[string]string{"x-ms-range": "bytes=1-2", "Range": "bytes=3-4"}, 206, "12", "bytes 1-2/20"},
		// Azure accepts only "bytes=a-" and "bytes=a-b": any other Range
		// is ignored and the whole blob returned; a bad x-ms-range is 400.
		{"suffix ignored", "r", map[string]string{"Range": "bytes=-3"}, 200, string(data), ""},
		{"several ranges ignored", "r", map[string]string{"Range": "bytes=0-1,3-4"}, 200, string(data), ""},
		{"reversed Range ignored", "r", map[string]string{"Range": "bytes=9-3"}, 200, string(data), ""},
		{"suffix x-ms-range", "r", map[string]string{"x-ms-range": "bytes=-3"}, 400, "", ""},
		{"start at size", "r", map[string]string{"x-ms-range": "bytes=20-30"}, 416, "", "bytes */20"},
		{"start past end", "r", map[string]string{"Range": "bytes=20-"}, 416, "", "bytes */20"},
		{"empty blob no range", "empty", nil, 200, "", ""},
		{"empty blob ranged", "empty", map[string]string{"x-ms-range": "bytes=0-"}, 416, "", "bytes */0"},
		{"malformed", "r", map[string]string{"x-ms-range": "bytes=9-3"}, 400, "", ""},
		{"other unit ignored", "r", map[string]string{"Range": "pages=1-2"}, 200, string(data), ""},
		{"garbage x-ms-range", "r", map[string]string{"x-ms-range": "bytes=abc"}, 400, "", ""},
		{"range MD5 without range", "r", map[string]string{"x-ms-range-get-content-md5": "true"}, 400, "", ""},
	}
	for _, tt := range raw {
		t.Run(tt.name, func(t *testing.T) {
			resp := e.do("GET", "/"+devAccount+"/ctr/"+tt.blob, tt.hdr, nil)
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d: %s", resp.StatusCode, tt.wantStatus, body)
			}
			if tt.wantStatus < 300 && string(body) != tt.wantBody {
				t.Errorf("body = %q, want %q", body, tt.wantBody)
			}
			if got := resp.Header.Get("Content-Range"); got != tt.wantCR {
				t.Errorf("Content-Range = %q, want %q", got, tt.wantCR)
			}
			if tt.wantStatus == 416 && resp.Header.Get("x-ms-error-code") != "InvalidRange" {
				t.Errorf("error code = %q", resp.Header.Get("x-ms-error-code"))
			}
		})
	}

	// x-ms-range-get-content-md5 returns the MD5 of the range.
	resp, err := e.client.DownloadStream(ctx(), "ctr", "r", &blob.DownloadStreamOptions{
		Range: blob.HTTPRange{Offset: 2, Count: 4}, RangeGetContentMD5: to.Ptr(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	want := md5.Sum(data[2:6])
	if !bytes.Equal(resp.ContentMD5, want[:]) {
		t.Errorf("range MD5 = %x, want %x", resp.ContentMD5, want)
	}
}

func TestBlocks(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("ctr")
	bc := e.client.ServiceClient().NewContainerClient("ctr").NewBlockBlobClient("blocks")
	for i, s := range []string{"aaa", "bbb", "ccc"} {
		if _, err := bc.StageBlock(ctx(), blockID(i), streamOf([]byte(s)), nil); err != nil {
			t.Fatal(err)
		}
	}
	bl, err := bc.GetBlockList(ctx(), blockblob.BlockListTypeAll, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(bl.UncommittedBlocks) != 3 || len(bl.CommittedBlocks) != 0 {
		t.Fatalf("block list before commit: %d committed, %d uncommitted", len(bl.CommittedBlocks), len(bl.UncommittedBlocks))
	}
	// Blob does not exist until committed.
	_, err = bc.GetProperties(ctx(), nil)
	wantCode(t, err, 404, bloberror.BlobNotFound)

	md5sum := md5.Sum([]byte("whatever"))
	_, err = bc.CommitBlockList(ctx(), []string{blockID(2), blockID(0)}, &blockblob.CommitBlockListOptions{
		HTTPHeaders: &blob.HTTPHeaders{BlobContentType: to.Ptr("text/x"), BlobContentMD5: md5sum[:]},
		Metadata:    map[string]*string{"m": to.Ptr("1")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(e.mustDownload(e.client, "ctr", "blocks")); got != "cccaaa" {
		t.Fatalf("content = %q", got)
	}
	p, err := bc.GetProperties(ctx(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if *p.ContentType != "text/x" || !bytes.Equal(p.ContentMD5, md5sum[:]) || metaValue(p.Metadata, "m") != "1" {
		t.Errorf("properties after commit: %v %x %v", *p.ContentType, p.ContentMD5, p.Metadata)
	}
	bl, err = bc.GetBlockList(ctx(), blockblob.BlockListTypeCommitted, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(bl.CommittedBlocks) != 2 || *bl.CommittedBlocks[0].Name != blockID(2) || *bl.CommittedBlocks[0].Size != 3 || *bl.BlobContentLength != 6 {
		t.Errorf("committed list = %+v", bl.BlockList)
	}

	// Committed + Uncommitted + Latest in one list, via raw XML.
	if _, err := bc.StageBlock(ctx(), blockID(7), streamOf([]byte("zz")), nil); err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf("<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList><Committed>%s</Committed><Uncommitted>%s</Uncommitted><Latest>%s</Latest></BlockList>",
		blockID(0), blockID(7), blockID(2))
	resp := e.do("PUT", "/"+devAccount+"/ctr/blocks?comp=blocklist", nil, strings.NewReader(body))
	if resp.StatusCode != 201 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("Put Block List: %d %s", resp.StatusCode, b)
	}
	if got := string(e.mustDownload(e.client, "ctr", "blocks")); got != "aaazzccc" {
		t.Fatalf("content = %q", got)
	}
	// A block that does not exist.
	_, err = bc.CommitBlockList(ctx(), []string{blockID(99)}, nil)
	wantCode(t, err, 400, bloberror.InvalidBlockList)

	// UploadBuffer with a small block size uses Put Block + Put Block List
	// in parallel.
	big := bytes.Repeat([]byte("0123456789"), 10000)
	if _, err := e.client.UploadBuffer(ctx(), "ctr", "parallel", big, &blockblob.UploadBufferOptions{BlockSize: 4096, Concurrency: 8}); err != nil {
		t.Fatal(err)
	}
	if got := e.mustDownload(e.client, "ctr", "parallel"); !bytes.Equal(got, big) {
		t.Fatal("parallel upload content differs")
	}
}

func blockID(i int) string {
	return base64Std(fmt.Sprintf("block-%06d", i))
}

func TestVersionEchoedAndCommonHeaders(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("ctr")
	tests := []struct {
		name, method, path string
		status             int
	}{
		{"success", "GET", "/" + devAccount + "/ctr?restype=container", 200},
		{"not found", "GET", "/" + devAccount + "/ctr/missing", 404},
		{"bad comp", "GET", "/" + devAccount + "/ctr?restype=container&comp=bogus", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := e.do(tt.method, tt.path, map[string]string{"x-ms-version": "2099-12-31", "x-ms-client-request-id": "abc"}, nil)
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			for _, h := range []string{"x-ms-request-id", "Date"} {
				if resp.Header.Get(h) == "" {
					t.Errorf("missing %s", h)
				}
			}
			if v := resp.Header.Get("x-ms-version"); v != "2099-12-31" {
				t.Errorf("x-ms-version = %q", v)
			}
			if v := resp.Header.Get("x-ms-client-request-id"); v != "abc" {
				t.Errorf("x-ms-client-request-id = %q", v)
			}
			if tt.status >= 400 {
				code := resp.Header.Get("x-ms-error-code")
				if code == "" || !strings.Contains(string(body), "<Code>"+code+"</Code>") {
					t.Errorf("error code %q, body %s", code, body)
				}
			}
		})
	}
}

func TestDownloadLargeStreams(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("ctr")
	data := bytes.Repeat([]byte("abcdefgh"), 1<<20) // 8 MiB, several store chunks
	e.mustUpload("ctr", "big", data)
	got := make([]byte, len(data))
	n, err := e.client.DownloadBuffer(ctx(), "ctr", "big", got, &blob.DownloadBufferOptions{BlockSize: 1 << 20, Concurrency: 4})
	if err != nil || n != int64(len(data)) || !bytes.Equal(got, data) {
		t.Fatalf("download buffer: n=%d err=%v equal=%v", n, err, bytes.Equal(got, data))
	}
	resp := e.do("GET", "/"+devAccount+"/ctr/big", map[string]string{"x-ms-range": fmt.Sprintf("bytes=%d-%d", 4<<20-3, 4<<20+2)}, nil)
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(b, data[4<<20-3:4<<20+3]) {
		t.Fatalf("cross-chunk range: %d %q", resp.StatusCode, b)
	}
}
