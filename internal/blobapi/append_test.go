package blobapi_test

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/appendblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/lease"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"

	"github.com/geoblob/geoblob/internal/blobapi"
	"github.com/geoblob/geoblob/internal/store"
)

func (e *env) appendClient(c, name string) *appendblob.Client {
	return e.client.ServiceClient().NewContainerClient(c).NewAppendBlobClient(name)
}

// mustCreateAppend creates an empty append blob.
func (e *env) mustCreateAppend(c, name string) *appendblob.Client {
	e.t.Helper()
	ab := e.appendClient(c, name)
	if _, err := ab.Create(ctx(), nil); err != nil {
		e.t.Fatalf("create append blob %s/%s: %v", c, name, err)
	}
	return ab
}

// TestAppendBlob: create, append, read back; the blob type, committed
// block count and offsets Azure reports.
func TestAppendBlob(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("ctr")
	ab := e.appendClient("ctr", "log")
	cr, err := ab.Create(ctx(), &appendblob.CreateOptions{
		HTTPHeaders: &blob.HTTPHeaders{BlobContentType: to.Ptr("text/plain")},
		Metadata:    map[string]*string{"k": to.Ptr("v")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if cr.ETag == nil || cr.LastModified == nil {
		t.Fatalf("create answer: %+v", cr)
	}
	p, err := ab.GetProperties(ctx(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if *p.BlobType != blob.BlobTypeAppendBlob || *p.ContentLength != 0 || *p.BlobCommittedBlockCount != 0 || p.IsSealed == nil || *p.IsSealed ||
		*p.ContentType != "text/plain" || metaValue(p.Metadata, "k") != "v" || p.AccessTier != nil {
		t.Fatalf("properties of a new append blob: %+v", p)
	}
	var want []byte
	for i, part := range []string{"hello ", "append ", "world"} {
		r, err := ab.AppendBlock(ctx(), streamOf([]byte(part)), nil)
		if err != nil {
			t.Fatal(err)
		}
		if *r.BlobAppendOffset != strconv.Itoa(len(want)) || *r.BlobCommittedBlockCount != int32(i+1) {
			t.Errorf("append %d: offset %s count %d", i, *r.BlobAppendOffset, *r.BlobCommittedBlockCount)
		}
		sum := md5.Sum([]byte(part))
		if !bytes.Equal(r.ContentMD5, sum[:]) {
			t.Errorf("append %d: Content-MD5 %x", i, r.ContentMD5)
		}
		want = append(want, part...)
	}
	if got := e.mustDownload(e.client, "ctr", "log"); !bytes.Equal(got, want) {
		t.Fatalf("content %q, want %q", got, want)
	}
	resp, err := ab.DownloadStream(ctx(), &blob.DownloadStreamOptions{Range: blob.HTTPRange{Offset: 6, Count: 6}})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(got) != "append" || *resp.BlobType != blob.BlobTypeAppendBlob || *resp.BlobCommittedBlockCount != 3 {
		t.Errorf("ranged read: %q %v %v", got, *resp.BlobType, *resp.BlobCommittedBlockCount)
	}
	// The listing shows the type and the sealed flag.
	pager := e.client.NewListBlobsFlatPager("ctr", nil)
	page, err := pager.NextPage(ctx())
	if err != nil {
		t.Fatal(err)
	}
	it := page.Segment.BlobItems[0]
	if *it.Properties.BlobType != blob.BlobTypeAppendBlob || it.Properties.IsSealed == nil || *it.Properties.IsSealed || *it.Properties.ContentLength != int64(len(want)) {
		t.Errorf("listed %+v", it.Properties)
	}
	// Put Blob over an append blob makes a block blob again.
	e.mustUpload("ctr", "log", []byte("block"))
	if p, err := ab.GetProperties(ctx(), nil); err != nil || *p.BlobType != blob.BlobTypeBlockBlob || p.BlobCommittedBlockCount != nil {
		t.Errorf("after Put Blob: %v %+v", err, p)
	}
}

// TestAppendBlockConditions: append position and max size conditions, the
// If-* conditions and checksums, each refused with Azure's code and
// leaving the blob unchanged.
func TestAppendBlockConditions(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("ctr")
	ab := e.mustCreateAppend("ctr", "a")
	if _, err := ab.AppendBlock(ctx(), streamOf([]byte("12345")), nil); err != nil {
		t.Fatal(err)
	}
	badMD5 := md5.Sum([]byte("other"))
	tests := []struct {
		name   string
		opts   *appendblob.AppendBlockOptions
		status int
		code   bloberror.Code
	}{
		{"append position met", &appendblob.AppendBlockOptions{AppendPositionAccessConditions: &appendblob.AppendPositionAccessConditions{AppendPosition: to.Ptr[int64](5)}}, 201, ""},
		{"append position not met", &appendblob.AppendBlockOptions{AppendPositionAccessConditions: &appendblob.AppendPositionAccessConditions{AppendPosition: to.Ptr[int64](3)}}, 412, bloberror.AppendPositionConditionNotMet},
		{"max size met", &appendblob.AppendBlockOptions{AppendPositionAccessConditions: &appendblob.AppendPositionAccessConditions{MaxSize: to.Ptr[int64](100)}}, 201, ""},
		{"max size exceeded", &appendblob.AppendBlockOptions{AppendPositionAccessConditions: &appendblob.AppendPositionAccessConditions{MaxSize: to.Ptr[int64](16)}}, 412, bloberror.MaxBlobSizeConditionNotMet},
		{"if-match fails", &appendblob.AppendBlockOptions{AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: to.Ptr(azcore.ETag(`"0xBAD"`))}}}, 412, bloberror.ConditionNotMet},
		{"if-none-match any fails", &appendblob.AppendBlockOptions{AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: to.Ptr(azcore.ETagAny)}}}, 412, bloberror.ConditionNotMet},
		{"if-unmodified-since past fails", &appendblob.AppendBlockOptions{AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfUnmodifiedSince: to.Ptr(time.Now().Add(-time.Hour))}}}, 412, bloberror.ConditionNotMet},
		{"MD5 mismatch", &appendblob.AppendBlockOptions{TransactionalValidation: blob.TransferValidationTypeMD5(badMD5[:])}, 400, bloberror.MD5Mismatch},
		{"CRC64 computed", &appendblob.AppendBlockOptions{TransactionalValidation: blob.TransferValidationTypeComputeCRC64()}, 201, ""},
		{"CRC64 mismatch", &appendblob.AppendBlockOptions{TransactionalValidation: blob.TransferValidationTypeCRC64(12345)}, 400, bloberror.CRC64Mismatch},
	}
	size := int64(5)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, err := ab.GetProperties(ctx(), nil)
			if err != nil {
				t.Fatal(err)
			}
			r, err := ab.AppendBlock(ctx(), streamOf([]byte("abcdef")), tt.opts)
			after, perr := ab.GetProperties(ctx(), nil)
			if perr != nil {
				t.Fatal(perr)
			}
			if tt.status == 201 {
				if err != nil {
					t.Fatalf("append: %v", err)
				}
				if *r.BlobAppendOffset != strconv.FormatInt(size, 10) {
					t.Errorf("offset %s, want %d", *r.BlobAppendOffset, size)
				}
				size += 6
				if *after.ContentLength != size {
					t.Errorf("size %d, want %d", *after.ContentLength, size)
				}
				return
			}
			wantCode(t, err, tt.status, tt.code)
			if *after.ETag != *before.ETag || *after.ContentLength != size || *after.BlobCommittedBlockCount != *before.BlobCommittedBlockCount {
				t.Errorf("refused append changed the blob: %+v", after)
			}
		})
	}
	// Malformed condition values.
	for _, h := range []string{"x-ms-blob-condition-appendpos", "x-ms-blob-condition-maxsize"} {
		resp := e.do("PUT", "/"+devAccount+"/ctr/a?comp=appendblock", map[string]string{h: "-1"}, strings.NewReader("x"))
		if resp.StatusCode != 400 || resp.Header.Get("x-ms-error-code") != "InvalidHeaderValue" {
			t.Errorf("%s: -1 answered %d %s", h, resp.StatusCode, resp.Header.Get("x-ms-error-code"))
		}
	}
}

// TestAppendBlobLease: a leased append blob takes appends and a seal only
// with its lease id.
func TestAppendBlobLease(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("ctr")
	ab := e.mustCreateAppend("ctr", "leased")
	lc, err := lease.NewBlobClient(ab, &lease.BlobClientOptions{LeaseID: to.Ptr("11111111-2222-3333-4444-555555555555")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lc.AcquireLease(ctx(), -1, nil); err != nil {
		t.Fatal(err)
	}
	with := &blob.AccessConditions{LeaseAccessConditions: &blob.LeaseAccessConditions{LeaseID: lc.LeaseID()}}
	wrong := &blob.AccessConditions{LeaseAccessConditions: &blob.LeaseAccessConditions{LeaseID: to.Ptr("99999999-2222-3333-4444-555555555555")}}
	_, err = ab.AppendBlock(ctx(), streamOf([]byte("x")), nil)
	wantCode(t, err, 412, bloberror.LeaseIDMissing)
	_, err = ab.AppendBlock(ctx(), streamOf([]byte("x")), &appendblob.AppendBlockOptions{AccessConditions: wrong})
	wantCode(t, err, 412, bloberror.LeaseIDMismatchWithBlobOperation)
	if _, err := ab.AppendBlock(ctx(), streamOf([]byte("x")), &appendblob.AppendBlockOptions{AccessConditions: with}); err != nil {
		t.Fatal(err)
	}
	_, err = ab.Seal(ctx(), nil)
	wantCode(t, err, 412, bloberror.LeaseIDMissing)
	if _, err := ab.Seal(ctx(), &appendblob.SealOptions{AccessConditions: with}); err != nil {
		t.Fatal(err)
	}
	// Re-creating a leased blob needs the lease too.
	_, err = ab.Create(ctx(), nil)
	wantCode(t, err, 412, bloberror.LeaseIDMissing)
	if _, err := ab.Create(ctx(), &appendblob.CreateOptions{AccessConditions: with}); err != nil {
		t.Fatal(err)
	}
	p, err := ab.GetProperties(ctx(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if *p.ContentLength != 0 || *p.IsSealed || *p.LeaseState != lease.StateTypeLeased {
		t.Errorf("re-created: %+v", p)
	}
}

// TestAppendBlobSeal: a sealed append blob refuses appends with
// BlobIsSealed and reports x-ms-blob-sealed.
func TestAppendBlobSeal(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("ctr")
	ab := e.mustCreateAppend("ctr", "s")
	if _, err := ab.AppendBlock(ctx(), streamOf([]byte("data")), nil); err != nil {
		t.Fatal(err)
	}
	_, err := ab.Seal(ctx(), &appendblob.SealOptions{AppendPositionAccessConditions: &appendblob.AppendPositionAccessConditions{AppendPosition: to.Ptr[int64](1)}})
	wantCode(t, err, 412, bloberror.AppendPositionConditionNotMet)
	r, err := ab.Seal(ctx(), &appendblob.SealOptions{AppendPositionAccessConditions: &appendblob.AppendPositionAccessConditions{AppendPosition: to.Ptr[int64](4)}})
	if err != nil {
		t.Fatal(err)
	}
	if r.IsSealed == nil || !*r.IsSealed || r.ETag == nil {
		t.Fatalf("seal answer %+v", r)
	}
	_, err = ab.AppendBlock(ctx(), streamOf([]byte("more")), nil)
	wantCode(t, err, 409, "BlobIsSealed")
	if _, err := ab.Seal(ctx(), nil); err != nil {
		t.Fatalf("sealing again: %v", err)
	}
	p, err := ab.GetProperties(ctx(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !*p.IsSealed || *p.ContentLength != 4 {
		t.Errorf("sealed properties %+v", p)
	}
	page, err := e.client.NewListBlobsFlatPager("ctr", nil).NextPage(ctx())
	if err != nil {
		t.Fatal(err)
	}
	if it := page.Segment.BlobItems[0]; it.Properties.IsSealed == nil || !*it.Properties.IsSealed {
		t.Errorf("listing does not show the seal: %+v", it.Properties)
	}
	// Seal on a block blob, and on nothing.
	e.mustUpload("ctr", "block", []byte("b"))
	_, err = e.appendClient("ctr", "block").Seal(ctx(), nil)
	wantCode(t, err, 409, bloberror.InvalidBlobType)
	_, err = e.appendClient("ctr", "none").Seal(ctx(), nil)
	wantCode(t, err, 404, bloberror.BlobNotFound)
	// A copy of a sealed append blob is an unsealed append blob.
	if _, err := e.client.ServiceClient().NewContainerClient("ctr").NewBlobClient("copy").StartCopyFromURL(ctx(), e.primaryURL()+"ctr/s", nil); err != nil {
		t.Fatal(err)
	}
	cp := e.appendClient("ctr", "copy")
	if p, err := cp.GetProperties(ctx(), nil); err != nil || *p.BlobType != blob.BlobTypeAppendBlob || *p.IsSealed || *p.BlobCommittedBlockCount != 1 {
		t.Fatalf("copy of a sealed append blob: %v %+v", err, p)
	}
	if _, err := cp.AppendBlock(ctx(), streamOf([]byte("!")), nil); err != nil {
		t.Fatal(err)
	}
}

// TestBlobTypeMismatch: block blob operations on an append blob and append
// operations on a block blob fail with 409 InvalidBlobType.
func TestBlobTypeMismatch(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("ctr")
	e.mustCreateAppend("ctr", "app")
	e.mustUpload("ctr", "blk", []byte("block data"))
	cc := e.client.ServiceClient().NewContainerClient("ctr")
	id := base64Std("b1")
	tests := []struct {
		name string
		run  func() error
	}{
		{"put block on append blob", func() error {
			_, err := cc.NewBlockBlobClient("app").StageBlock(ctx(), id, streamOf([]byte("x")), nil)
			return err
		}},
		{"put block list on append blob", func() error {
			_, err := cc.NewBlockBlobClient("app").CommitBlockList(ctx(), nil, nil)
			return err
		}},
		{"get block list of append blob", func() error {
			_, err := cc.NewBlockBlobClient("app").GetBlockList(ctx(), blockblob.BlockListTypeAll, nil)
			return err
		}},
		{"set tier of append blob", func() error {
			_, err := cc.NewBlobClient("app").SetTier(ctx(), blob.AccessTierCool, nil)
			return err
		}},
		{"append block on block blob", func() error {
			_, err := cc.NewAppendBlobClient("blk").AppendBlock(ctx(), streamOf([]byte("x")), nil)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantCode(t, tt.run(), 409, bloberror.InvalidBlobType)
		})
	}
	if got := e.mustDownload(e.client, "ctr", "blk"); string(got) != "block data" {
		t.Errorf("block blob now %q", got)
	}
	_, err := cc.NewAppendBlobClient("missing").AppendBlock(ctx(), streamOf([]byte("x")), nil)
	wantCode(t, err, 404, bloberror.BlobNotFound)
}

// TestAppendBlockLimits: the block size limit follows x-ms-version (4 MiB
// before 2022-11-02, 100 MiB from it, both capped by MaxBlobSize), an empty
// block and a body on Put Blob are refused, and the 50,000th block is the
// last.
func TestAppendBlockLimits(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("ctr")
	e.mustCreateAppend("ctr", "a")
	big := bytes.Repeat([]byte("x"), blobapi.MaxAppendBlockSizeLegacy+1)
	path := "/" + devAccount + "/ctr/a?comp=appendblock"
	tests := []struct {
		name    string
		version string
		body    []byte
		status  int
		code    string
	}{
		{"4 MiB + 1 before 2022-11-02", "2021-12-02", big, 413, "RequestBodyTooLarge"},
		{"4 MiB + 1 from 2022-11-02", "2022-11-02", big, 201, ""},
		{"empty block", "2025-01-05", nil, 400, "InvalidHeaderValue"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := e.do("PUT", path, map[string]string{"x-ms-version": tt.version}, bytes.NewReader(tt.body))
			if resp.StatusCode != tt.status || resp.Header.Get("x-ms-error-code") != tt.code {
				t.Fatalf("got %d %q, want %d %q", resp.StatusCode, resp.Header.Get("x-ms-error-code"), tt.status, tt.code)
			}
		})
	}
	small := newEnv(t, envOptions{maxBlobSize: 1 << 10})
	small.mustCreate("ctr")
	_, err := small.mustCreateAppend("ctr", "a").AppendBlock(ctx(), streamOf(make([]byte, 1<<10+1)), nil)
	wantCode(t, err, 413, "RequestBodyTooLarge")
	// Put Blob of an append blob takes no body.
	resp := e.do("PUT", "/"+devAccount+"/ctr/body", map[string]string{"x-ms-blob-type": "AppendBlob"}, strings.NewReader("data"))
	if resp.StatusCode != 400 || resp.Header.Get("x-ms-error-code") != "InvalidHeaderValue" {
		t.Errorf("append blob with a body: %d %s", resp.StatusCode, resp.Header.Get("x-ms-error-code"))
	}
	// The block count limit: a blob one block short of it (installed as a
	// replicated change would be) takes one more block, then refuses.
	now := time.Now().UTC()
	e.primary.Apply(store.Change{Kind: store.PutBlob, Account: devAccount, Container: "ctr", BlobName: "full", Blob: &store.Blob{
		Name: "full", ETag: `"0x1"`, Created: now, LastModified: now, BlobType: store.AppendBlob, CommittedBlockCount: store.MaxAppendBlocks - 1,
	}})
	full := e.appendClient("ctr", "full")
	r, err := full.AppendBlock(ctx(), streamOf([]byte("last")), nil)
	if err != nil {
		t.Fatal(err)
	}
	if *r.BlobCommittedBlockCount != store.MaxAppendBlocks {
		t.Errorf("count %d", *r.BlobCommittedBlockCount)
	}
	_, err = full.AppendBlock(ctx(), streamOf([]byte("one too many")), nil)
	wantCode(t, err, 409, bloberror.BlockCountExceedsLimit)
}

// TestAppendBlobSecondary: appends replicate in commit order (the
// secondary sees nothing until the change is applied, then exactly the
// primary's state), and the secondary refuses every append blob write.
func TestAppendBlobSecondary(t *testing.T) {
	e := newEnv(t, envOptions{manualClock: true})
	e.mustCreate("ctr")
	ab := e.mustCreateAppend("ctr", "log")
	e.sync()
	sec := e.secClient.ServiceClient().NewContainerClient("ctr").NewAppendBlobClient("log")
	for i := 0; i < 3; i++ {
		e.clock.Advance(time.Second)
		if _, err := ab.AppendBlock(ctx(), streamOf([]byte{'a' + byte(i)}), nil); err != nil {
			t.Fatal(err)
		}
	}
	// Not applied yet: the secondary still has the empty blob.
	if got := e.mustDownload(e.secClient, "ctr", "log"); len(got) != 0 {
		t.Fatalf("secondary before sync: %q", got)
	}
	e.sync()
	if got := e.mustDownload(e.secClient, "ctr", "log"); string(got) != "abc" {
		t.Fatalf("secondary after sync: %q", got)
	}
	pp, _ := ab.GetProperties(ctx(), nil)
	sp, err := sec.GetProperties(ctx(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if *sp.ETag != *pp.ETag || *sp.BlobCommittedBlockCount != 3 || *sp.BlobType != blob.BlobTypeAppendBlob {
		t.Errorf("secondary properties %+v", sp)
	}
	if _, err := ab.Seal(ctx(), nil); err != nil {
		t.Fatal(err)
	}
	e.sync()
	if sp, err := sec.GetProperties(ctx(), nil); err != nil || !*sp.IsSealed {
		t.Errorf("seal did not replicate: %v %+v", err, sp)
	}
	refused := []struct {
		name string
		run  func() error
	}{
		{"create", func() error { _, err := sec.Create(ctx(), nil); return err }},
		{"append", func() error { _, err := sec.AppendBlock(ctx(), streamOf([]byte("x")), nil); return err }},
		{"seal", func() error { _, err := sec.Seal(ctx(), nil); return err }},
		{"append from URL", func() error {
			_, err := sec.AppendBlockFromURL(ctx(), e.readSASURL("ctr", "log"), nil)
			return err
		}},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			wantCode(t, tt.run(), 403, blobapi.SecondaryWriteCode)
		})
	}
	if got := e.mustDownload(e.client, "ctr", "log"); string(got) != "abc" {
		t.Errorf("primary changed by refused secondary writes: %q", got)
	}
}

// TestAppendBlobPublicAccess: anonymous clients read a public append blob
// but cannot append to it.
func TestAppendBlobPublicAccess(t *testing.T) {
	e := newEnv(t)
	if _, err := e.client.CreateContainer(ctx(), "pub", &container.CreateOptions{Access: to.Ptr(container.PublicAccessTypeContainer)}); err != nil {
		t.Fatal(err)
	}
	ab := e.mustCreateAppend("pub", "log")
	if _, err := ab.AppendBlock(ctx(), streamOf([]byte("public")), nil); err != nil {
		t.Fatal(err)
	}
	resp := e.raw("GET", e.primaryURL()+"pub/log", nil, nil)
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != "public" || resp.Header.Get("x-ms-blob-type") != "AppendBlob" {
		t.Errorf("anonymous read: %d %q %s", resp.StatusCode, body, resp.Header.Get("x-ms-blob-type"))
	}
	resp = e.raw("PUT", e.primaryURL()+"pub/log?comp=appendblock", map[string]string{"Content-MD5": base64.StdEncoding.EncodeToString(make([]byte, 16))}, strings.NewReader("x"))
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("anonymous append: %d", resp.StatusCode)
	}
}

// TestAppendBlockSASPermissions: a SAS grants Append Block with add or
// write permission, as in Azure; Seal needs write.
func TestAppendBlockSASPermissions(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("ctr")
	e.mustCreateAppend("ctr", "a")
	tests := []struct {
		perms        sas.BlobPermissions
		append, seal bool
	}{
		{sas.BlobPermissions{Add: true}, true, false},
		{sas.BlobPermissions{Write: true}, true, true},
		{sas.BlobPermissions{Read: true, Create: true}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.perms.String(), func(t *testing.T) {
			qp, err := sas.BlobSignatureValues{Protocol: sas.ProtocolHTTPSandHTTP, ExpiryTime: time.Now().Add(time.Hour).UTC(),
				Permissions: tt.perms.String(), ContainerName: "ctr", BlobName: "a"}.SignWithSharedKey(e.cred)
			if err != nil {
				t.Fatal(err)
			}
			ab, err := appendblob.NewClientWithNoCredential(e.primaryURL()+"ctr/a?"+qp.Encode(), appendClientOptions())
			if err != nil {
				t.Fatal(err)
			}
			_, err = ab.AppendBlock(ctx(), streamOf([]byte("x")), nil)
			if tt.append {
				if err != nil {
					t.Fatalf("append: %v", err)
				}
			} else {
				wantCode(t, err, 403, bloberror.AuthorizationPermissionMismatch)
			}
			_, err = ab.Seal(ctx(), nil)
			if tt.seal {
				if err != nil {
					t.Fatalf("seal: %v", err)
				}
			} else {
				wantCode(t, err, 403, bloberror.AuthorizationPermissionMismatch)
			}
		})
	}
}

func appendClientOptions() *appendblob.ClientOptions {
	return &appendblob.ClientOptions{ClientOptions: clientOptions().ClientOptions}
}
