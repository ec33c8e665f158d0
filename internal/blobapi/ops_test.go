package blobapi_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/lease"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
)

func TestListContainersPaging(t *testing.T) {
	e := newEnv(t)
	var want []string
	for i := range 7 {
		name := fmt.Sprintf("box-%02d", i)
		if _, err := e.client.CreateContainer(ctx(), name, &container.CreateOptions{Metadata: map[string]*string{"idx": to.Ptr(fmt.Sprint(i))}}); err != nil {
			t.Fatal(err)
		}
		want = append(want, name)
	}
	e.mustCreate("other")
	pager := e.client.NewListContainersPager(&azblob.ListContainersOptions{Prefix: to.Ptr("box-"), MaxResults: to.Ptr(int32(3)), Include: azblob.ListContainersInclude{Metadata: true}})
	var got []string
	pages := 0
	for pager.More() && pages < 10 {
		page, err := pager.NextPage(ctx())
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(page.ContainerItems) > 3 {
			t.Errorf("page of %d > MaxResults", len(page.ContainerItems))
		}
		for _, c := range page.ContainerItems {
			got = append(got, *c.Name)
			if metaValue(c.Metadata, "idx") == "" || c.Properties.ETag == nil || c.Properties.LastModified == nil {
				t.Errorf("container item incomplete: %+v", c)
			}
		}
	}
	if !slices.Equal(got, want) || pages != 3 {
		t.Fatalf("listed %v in %d pages, want %v in 3", got, pages, want)
	}
}

func TestListBlobsPaging(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("ctr")
	names := []string{"a.txt", "dir/1", "dir/2", "dir/sub/3", "dir2/x", "z"}
	for _, n := range names {
		_, err := e.client.UploadBuffer(ctx(), "ctr", n, []byte(n), &azblob.UploadBufferOptions{Metadata: map[string]*string{"name": to.Ptr("v")}})
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Run("flat", func(t *testing.T) {
		pager := e.client.NewListBlobsFlatPager("ctr", &azblob.ListBlobsFlatOptions{MaxResults: to.Ptr(int32(4)), Include: azblob.ListBlobsInclude{Metadata: true}})
		var got []string
		for i := 0; pager.More() && i < 10; i++ {
			page, err := pager.NextPage(ctx())
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range page.Segment.BlobItems {
				got = append(got, *b.Name)
				p := b.Properties
				if *p.ContentLength != int64(len(*b.Name)) || *p.BlobType != blob.BlobTypeBlockBlob || len(p.ContentMD5) != 16 ||
					p.CreationTime == nil || *p.LeaseState != "available" || *p.AccessTier != "Hot" || metaValue(b.Metadata, "name") != "v" {
					t.Errorf("blob item %s incomplete: %+v meta=%v", *b.Name, p, b.Metadata)
				}
			}
		}
		if !slices.Equal(got, names) {
			t.Fatalf("flat = %v, want %v", got, names)
		}
	})
	t.Run("prefix", func(t *testing.T) {
		pager := e.client.NewListBlobsFlatPager("ctr", &azblob.ListBlobsFlatOptions{Prefix: to.Ptr("dir/")})
		page, err := pager.NextPage(ctx())
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Segment.BlobItems) != 3 || page.NextMarker != nil && *page.NextMarker != "" {
			t.Fatalf("prefix listing: %d items, next %v", len(page.Segment.BlobItems), page.NextMarker)
		}
	})
	tests := []struct {
		prefix   string
		max      int32
		blobs    []string
		prefixes []string
	}{
		{"", 2, []string{"a.txt", "z"}, []string{"dir/", "dir2/"}},
		{"dir/", 1, []string{"dir/1", "dir/2"}, []string{"dir/sub/"}},
		{"dir/", 100, []string{"dir/1", "dir/2"}, []string{"dir/sub/"}},
		{"nothing", 5, nil, nil},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("hierarchy %q max %d", tt.prefix, tt.max), func(t *testing.T) {
			cc := e.client.ServiceClient().NewContainerClient("ctr")
			pager := cc.NewListBlobsHierarchyPager("/", &container.ListBlobsHierarchyOptions{Prefix: to.Ptr(tt.prefix), MaxResults: to.Ptr(tt.max)})
			var blobs, prefixes []string
			for i := 0; pager.More() && i < 20; i++ {
				page, err := pager.NextPage(ctx())
				if err != nil {
					t.Fatal(err)
				}
				if n := len(page.Segment.BlobItems) + len(page.Segment.BlobPrefixes); n > int(tt.max) {
					t.Errorf("page of %d entries > %d", n, tt.max)
				}
				for _, b := range page.Segment.BlobItems {
					blobs = append(blobs, *b.Name)
				}
				for _, p := range page.Segment.BlobPrefixes {
					prefixes = append(prefixes, *p.Name)
				}
			}
			if !slices.Equal(blobs, tt.blobs) || !slices.Equal(prefixes, tt.prefixes) {
				t.Fatalf("blobs %v prefixes %v, want %v %v", blobs, prefixes, tt.blobs, tt.prefixes)
			}
		})
	}
	_, err := e.client.NewListBlobsFlatPager("missing", nil).NextPage(ctx())
	wantCode(t, err, 404, bloberror.ContainerNotFound)
}

func TestConditions(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("ctr")
	up, err := e.client.UploadBuffer(ctx(), "ctr", "b", []byte("v1"), nil)
	if err != nil {
		t.Fatal(err)
	}
	etag := *up.ETag
	other := azcore.ETag(`"0x1"`)
	lm := *up.LastModified
	past, future := lm.Add(-time.Hour), lm.Add(time.Hour)
	bc := e.client.ServiceClient().NewContainerClient("ctr").NewBlockBlobClient("b")

	reads := []struct {
		name   string
		cond   blob.ModifiedAccessConditions
		status int // 0 = success
	}{
		{"if-match ok", blob.ModifiedAccessConditions{IfMatch: &etag}, 0},
		{"if-match fails", blob.ModifiedAccessConditions{IfMatch: &other}, 412},
		{"if-none-match hits", blob.ModifiedAccessConditions{IfNoneMatch: &etag}, 304},
		{"if-none-match star", blob.ModifiedAccessConditions{IfNoneMatch: to.Ptr(azcore.ETagAny)}, 304},
		{"if-none-match other", blob.ModifiedAccessConditions{IfNoneMatch: &other}, 0},
		{"if-modified-since past", blob.ModifiedAccessConditions{IfModifiedSince: &past}, 0},
		{"if-modified-since future", blob.ModifiedAccessConditions{IfModifiedSince: &future}, 304},
		{"if-unmodified-since past", blob.ModifiedAccessConditions{IfUnmodifiedSince: &past}, 412},
		{"if-unmodified-since future", blob.ModifiedAccessConditions{IfUnmodifiedSince: &future}, 0},
	}
	for _, tt := range reads {
		t.Run("get "+tt.name, func(t *testing.T) {
			cond := tt.cond
			dr, err := bc.DownloadStream(ctx(), &blob.DownloadStreamOptions{AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &cond}})
			if tt.status == 304 {
				// The SDK reports 304 from Get Blob as a response carrying ErrorCode.
				if err != nil || dr.ErrorCode == nil || *dr.ErrorCode != "ConditionNotMet" {
					t.Fatalf("download: err=%v code=%v, want 304 ConditionNotMet", err, dr.ErrorCode)
				}
			} else {
				checkStatus(t, err, tt.status)
				if err == nil {
					dr.Body.Close()
				}
			}
			_, err = bc.GetProperties(ctx(), &blob.GetPropertiesOptions{AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &cond}})
			checkStatus(t, err, tt.status)
		})
	}
	writes := []struct {
		name   string
		cond   blob.ModifiedAccessConditions
		status int
	}{
		{"if-match fails", blob.ModifiedAccessConditions{IfMatch: &other}, 412},
		{"if-none-match etag", blob.ModifiedAccessConditions{IfNoneMatch: &etag}, 412},
		{"if-unmodified-since past", blob.ModifiedAccessConditions{IfUnmodifiedSince: &past}, 412},
		{"if-modified-since future", blob.ModifiedAccessConditions{IfModifiedSince: &future}, 412},
	}
	for _, tt := range writes {
		t.Run("write "+tt.name, func(t *testing.T) {
			cond := tt.cond
			ac := &blob.AccessConditions{ModifiedAccessConditions: &cond}
			_, err := bc.Upload(ctx(), streamOf([]byte("x")), &blockblob.UploadOptions{AccessConditions: ac})
			wantCode(t, err, tt.status, bloberror.ConditionNotMet)
			_, err = bc.SetMetadata(ctx(), nil, &blob.SetMetadataOptions{AccessConditions: ac})
			wantCode(t, err, tt.status, bloberror.ConditionNotMet)
			_, err = bc.SetHTTPHeaders(ctx(), blob.HTTPHeaders{}, &blob.SetHTTPHeadersOptions{AccessConditions: ac})
			wantCode(t, err, tt.status, bloberror.ConditionNotMet)
			_, err = bc.Delete(ctx(), &blob.DeleteOptions{AccessConditions: ac})
			wantCode(t, err, tt.status, bloberror.ConditionNotMet)
		})
	}
	// If-None-Match: * on an existing blob: 409 BlobAlreadyExists.
	star := blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: to.Ptr(azcore.ETagAny)}}
	_, err = bc.Upload(ctx(), streamOf([]byte("x")), &blockblob.UploadOptions{AccessConditions: &star})
	wantCode(t, err, 409, bloberror.BlobAlreadyExists)
	_, err = bc.CommitBlockList(ctx(), nil, &blockblob.CommitBlockListOptions{AccessConditions: &star})
	wantCode(t, err, 409, bloberror.BlobAlreadyExists)
	// ... and succeeds on a new one.
	nb := e.client.ServiceClient().NewContainerClient("ctr").NewBlockBlobClient("new")
	if _, err := nb.Upload(ctx(), streamOf([]byte("x")), &blockblob.UploadOptions{AccessConditions: &star}); err != nil {
		t.Fatal(err)
	}
	// If-Match on a blob that does not exist.
	_, err = e.client.ServiceClient().NewContainerClient("ctr").NewBlockBlobClient("ghost").Upload(ctx(), streamOf([]byte("x")),
		&blockblob.UploadOptions{AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: &etag}}})
	wantCode(t, err, 412, bloberror.ConditionNotMet)
	// A matching If-Match write succeeds and changes the ETag.
	w, err := bc.Upload(ctx(), streamOf([]byte("v2")), &blockblob.UploadOptions{AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: &etag}}})
	if err != nil {
		t.Fatal(err)
	}
	if *w.ETag == etag {
		t.Error("ETag unchanged after write")
	}
	// An unparseable date is ignored, as HTTP requires.
	resp := e.do("GET", "/"+devAccount+"/ctr/b", map[string]string{"If-Modified-Since": "not a date"}, nil)
	if resp.StatusCode != 200 {
		t.Errorf("invalid If-Modified-Since: status %d", resp.StatusCode)
	}
}

// checkStatus checks err against an HTTP status; 0 means success.
func checkStatus(t *testing.T, err error, status int) {
	t.Helper()
	if status == 0 {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	wantCode(t, err, status, "")
}

func TestLeases(t *testing.T) {
	e := newEnv(t, envOptions{manualClock: true})
	e.mustCreate("ctr")
	e.mustUpload("ctr", "b", []byte("leased"))
	bc := e.client.ServiceClient().NewContainerClient("ctr").NewBlockBlobClient("b")
	lc, err := lease.NewBlobClient(bc, &lease.BlobClientOptions{LeaseID: to.Ptr("11111111-1111-1111-1111-111111111111")})
	if err != nil {
		t.Fatal(err)
	}
	acq, err := lc.AcquireLease(ctx(), 15, nil)
	if err != nil {
		t.Fatal(err)
	}
	if *acq.LeaseID != *lc.LeaseID() {
		t.Errorf("lease id = %s", *acq.LeaseID)
	}
	p, err := bc.GetProperties(ctx(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if *p.LeaseState != lease.StateTypeLeased || *p.LeaseStatus != lease.StatusTypeLocked || *p.LeaseDuration != lease.DurationTypeFixed {
		t.Errorf("lease props: %v %v %v", *p.LeaseState, *p.LeaseStatus, *p.LeaseDuration)
	}
	// Writes without the lease id fail; with it they succeed.
	_, err = bc.Upload(ctx(), streamOf([]byte("x")), nil)
	wantCode(t, err, 412, bloberror.LeaseIDMissing)
	_, err = bc.SetMetadata(ctx(), nil, nil)
	wantCode(t, err, 412, bloberror.LeaseIDMissing)
	_, err = bc.Delete(ctx(), nil)
	wantCode(t, err, 412, bloberror.LeaseIDMissing)
	_, err = bc.StageBlock(ctx(), blockID(1), streamOf([]byte("x")), nil)
	wantCode(t, err, 412, bloberror.LeaseIDMissing)
	wrong := &blob.AccessConditions{LeaseAccessConditions: &blob.LeaseAccessConditions{LeaseID: to.Ptr("22222222-2222-2222-2222-222222222222")}}
	_, err = bc.SetMetadata(ctx(), nil, &blob.SetMetadataOptions{AccessConditions: wrong})
	wantCode(t, err, 412, bloberror.LeaseIDMismatchWithBlobOperation)
	right := &blob.AccessConditions{LeaseAccessConditions: &blob.LeaseAccessConditions{LeaseID: lc.LeaseID()}}
	if _, err := bc.SetMetadata(ctx(), map[string]*string{"a": to.Ptr("b")}, &blob.SetMetadataOptions{AccessConditions: right}); err != nil {
		t.Fatal(err)
	}
	// Reads need no lease id.
	e.mustDownload(e.client, "ctr", "b")
	// A second acquire with another id conflicts.
	other, _ := lease.NewBlobClient(bc, &lease.BlobClientOptions{LeaseID: to.Ptr("33333333-3333-3333-3333-333333333333")})
	_, err = other.AcquireLease(ctx(), 15, nil)
	wantCode(t, err, 409, bloberror.LeaseAlreadyPresent)

	if _, err := lc.RenewLease(ctx(), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := lc.ChangeLease(ctx(), "44444444-4444-4444-4444-444444444444", nil); err != nil {
		t.Fatal(err)
	}
	if *lc.LeaseID() != "44444444-4444-4444-4444-444444444444" {
		t.Fatalf("changed lease id = %s", *lc.LeaseID())
	}
	br, err := lc.BreakLease(ctx(), &lease.BlobBreakOptions{BreakPeriod: to.Ptr(int32(10))})
	if err != nil {
		t.Fatal(err)
	}
	if br.LeaseTime == nil || *br.LeaseTime != 10 {
		t.Errorf("lease time = %v", br.LeaseTime)
	}
	p, _ = bc.GetProperties(ctx(), nil)
	if *p.LeaseState != lease.StateTypeBreaking {
		t.Errorf("state after break = %v", *p.LeaseState)
	}
	e.clock.Advance(11 * time.Second)
	p, _ = bc.GetProperties(ctx(), nil)
	if *p.LeaseState != lease.StateTypeBroken || *p.LeaseStatus != lease.StatusTypeUnlocked {
		t.Errorf("state after break period = %v", *p.LeaseState)
	}
	// A broken lease no longer blocks writes.
	if _, err := bc.SetMetadata(ctx(), nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := lc.ReleaseLease(ctx(), nil); err != nil {
		t.Fatal(err)
	}
	// Expiry of a fixed lease.
	if _, err := lc.AcquireLease(ctx(), 15, nil); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(16 * time.Second)
	p, _ = bc.GetProperties(ctx(), nil)
	if *p.LeaseState != lease.StateTypeExpired {
		t.Errorf("state after expiry = %v", *p.LeaseState)
	}
	if _, err := bc.Upload(ctx(), streamOf([]byte("free")), nil); err != nil {
		t.Fatal(err)
	}
	// Renewing a lease that is not ours / releasing with a wrong id.
	_, err = other.ReleaseLease(ctx(), nil)
	wantCode(t, err, 409, bloberror.LeaseIDMismatchWithLeaseOperation)
	// Bad durations.
	for _, d := range []int32{5, 61, 0} {
		_, err = other.AcquireLease(ctx(), d, nil)
		wantCode(t, err, 400, bloberror.InvalidHeaderValue)
	}
	resp := e.do("PUT", "/"+devAccount+"/ctr/b?comp=lease", map[string]string{"x-ms-lease-action": "acquire", "x-ms-lease-duration": "abc"}, nil)
	if resp.StatusCode != 400 || resp.Header.Get("x-ms-error-code") != "InvalidHeaderValue" {
		t.Errorf("non-numeric duration: %d %s", resp.StatusCode, resp.Header.Get("x-ms-error-code"))
	}
	resp = e.do("PUT", "/"+devAccount+"/ctr/b?comp=lease", map[string]string{"x-ms-lease-action": "steal"}, nil)
	if resp.StatusCode != 400 {
		t.Errorf("unknown lease action: %d", resp.StatusCode)
	}
	// Lease on a missing blob.
	ml, _ := lease.NewBlobClient(e.client.ServiceClient().NewContainerClient("ctr").NewBlockBlobClient("missing"), nil)
	_, err = ml.AcquireLease(ctx(), -1, nil)
	wantCode(t, err, 404, bloberror.BlobNotFound)
}

func TestCopyBlob(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("src")
	e.mustCreate("dst")
	data := []byte("copy me")
	_, err := e.client.UploadBuffer(ctx(), "src", "orig", data, &azblob.UploadBufferOptions{
		Metadata: map[string]*string{"from": to.Ptr("src")}, HTTPHeaders: &blob.HTTPHeaders{BlobContentType: to.Ptr("text/plain")},
	})
	if err != nil {
		t.Fatal(err)
	}
	srcURL := e.primaryURL() + "src/orig"
	dst := e.client.ServiceClient().NewContainerClient("dst").NewBlobClient("copy")
	cp, err := dst.StartCopyFromURL(ctx(), srcURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cp.CopyStatus == nil || *cp.CopyStatus != blob.CopyStatusTypeSuccess || cp.CopyID == nil || *cp.CopyID == "" {
		t.Fatalf("copy response: %+v", cp)
	}
	if got := e.mustDownload(e.client, "dst", "copy"); string(got) != string(data) {
		t.Fatalf("copied content = %q", got)
	}
	p, err := dst.GetProperties(ctx(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if *p.CopyID != *cp.CopyID || *p.CopyStatus != blob.CopyStatusTypeSuccess || *p.CopySource != srcURL ||
		*p.CopyProgress != "7/7" || p.CopyCompletionTime == nil || metaValue(p.Metadata, "from") != "src" || *p.ContentType != "text/plain" {
		t.Errorf("copy properties: %+v", p)
	}
	resp, err := dst.DownloadStream(ctx(), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.CopyStatus == nil || *resp.CopyStatus != blob.CopyStatusTypeSuccess {
		t.Error("Get Blob lacks x-ms-copy-status")
	}
	// Metadata given on the copy replaces the source's.
	if _, err := dst.StartCopyFromURL(ctx(), srcURL, &blob.StartCopyFromURLOptions{Metadata: map[string]*string{"new": to.Ptr("1")}}); err != nil {
		t.Fatal(err)
	}
	p, _ = dst.GetProperties(ctx(), nil)
	if metaValue(p.Metadata, "new") != "1" || metaValue(p.Metadata, "from") != "" {
		t.Errorf("metadata after copy with metadata: %v", p.Metadata)
	}
	// Synchronous Copy Blob From URL: the source needs its own SAS.
	sync, err := e.client.ServiceClient().NewContainerClient("dst").NewBlobClient("sync").CopyFromURL(ctx(), e.readSASURL("src", "orig"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if sync.CopyStatus == nil || *sync.CopyStatus != "success" {
		t.Errorf("sync copy status = %v", sync.CopyStatus)
	}
	// Missing source, If-None-Match:* destination.
	_, err = dst.StartCopyFromURL(ctx(), e.primaryURL()+"src/missing", nil)
	wantCode(t, err, 404, bloberror.CannotVerifyCopySource)
	_, err = dst.StartCopyFromURL(ctx(), srcURL, &blob.StartCopyFromURLOptions{
		AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: to.Ptr(azcore.ETagAny)}},
	})
	wantCode(t, err, 409, bloberror.BlobAlreadyExists)
	// Source conditions.
	_, err = dst.StartCopyFromURL(ctx(), srcURL, &blob.StartCopyFromURLOptions{
		SourceModifiedAccessConditions: &blob.SourceModifiedAccessConditions{SourceIfMatch: to.Ptr(azcore.ETag(`"0xBAD"`))},
	})
	wantCode(t, err, 412, "SourceConditionNotMet")
	// A URL that names no blob of the emulator.
	_, err = dst.StartCopyFromURL(ctx(), "http://example.invalid/nobody/x/y", nil)
	wantCode(t, err, 404, bloberror.CannotVerifyCopySource)
}

func TestServicePropertiesAndAccountInfo(t *testing.T) {
	e := newEnv(t)
	sc := svc(e.client)
	props, err := sc.GetProperties(ctx(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if props.Logging == nil || props.HourMetrics == nil || props.DeleteRetentionPolicy == nil {
		t.Fatalf("default service properties incomplete: %+v", props)
	}
	_, err = sc.SetProperties(ctx(), &service.SetPropertiesOptions{
		DefaultServiceVersion: to.Ptr("2020-10-02"),
		CORS: []*service.CORSRule{{
			AllowedOrigins: to.Ptr("*"), AllowedMethods: to.Ptr("GET"), AllowedHeaders: to.Ptr("*"), ExposedHeaders: to.Ptr("*"), MaxAgeInSeconds: to.Ptr(int32(60)),
		}},
		DeleteRetentionPolicy: &service.RetentionPolicy{Enabled: to.Ptr(false), Days: to.Ptr(int32(7))},
	})
	if err != nil {
		t.Fatal(err)
	}
	props, err = sc.GetProperties(ctx(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if props.DefaultServiceVersion == nil || *props.DefaultServiceVersion != "2020-10-02" || len(props.CORS) != 1 ||
		*props.CORS[0].MaxAgeInSeconds != 60 || *props.DeleteRetentionPolicy.Enabled || *props.DeleteRetentionPolicy.Days != 7 || props.Logging == nil {
		t.Errorf("service properties after set: %+v", props)
	}
	e.sync()
	sp, err := svc(e.secClient).GetProperties(ctx(), nil)
	if err != nil || sp.DefaultServiceVersion == nil || *sp.DefaultServiceVersion != "2020-10-02" {
		t.Errorf("secondary service properties: %v %+v", err, sp)
	}

	e.mustCreate("ctr")
	e.mustUpload("ctr", "b", []byte("x"))
	infos := []func() (string, string, error){
		func() (string, string, error) {
			r, err := sc.GetAccountInfo(ctx(), nil)
			return str(r.SKUName), str(r.AccountKind), err
		},
		func() (string, string, error) {
			r, err := sc.NewContainerClient("ctr").GetAccountInfo(ctx(), nil)
			return str(r.SKUName), str(r.AccountKind), err
		},
		func() (string, string, error) {
			r, err := sc.NewContainerClient("ctr").NewBlobClient("b").GetAccountInfo(ctx(), nil)
			return str(r.SKUName), str(r.AccountKind), err
		},
	}
	for i, f := range infos {
		sku, kind, err := f()
		if err != nil || sku != "Standard_RAGRS" || kind != "StorageV2" {
			t.Errorf("account info %d: %q %q %v", i, sku, kind, err)
		}
	}
}

func str[T ~string](p *T) string {
	if p == nil {
		return ""
	}
	return string(*p)
}

func TestContainerACL(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("ctr")
	cc := e.client.ServiceClient().NewContainerClient("ctr")
	start := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	expiry := start.Add(24 * 365 * time.Hour * 10)
	_, err := cc.SetAccessPolicy(ctx(), &container.SetAccessPolicyOptions{
		Access: to.Ptr(container.PublicAccessTypeContainer),
		ContainerACL: []*container.SignedIdentifier{
			{ID: to.Ptr("policy1"), AccessPolicy: &container.AccessPolicy{Start: &start, Expiry: &expiry, Permission: to.Ptr("rl")}},
			{ID: to.Ptr("bare"), AccessPolicy: &container.AccessPolicy{Permission: to.Ptr("r")}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	acl, err := cc.GetAccessPolicy(ctx(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if acl.BlobPublicAccess == nil || *acl.BlobPublicAccess != container.PublicAccessTypeContainer || len(acl.SignedIdentifiers) != 2 {
		t.Fatalf("ACL: %+v", acl)
	}
	p := acl.SignedIdentifiers[0]
	if *p.ID != "policy1" || !p.AccessPolicy.Start.Equal(start) || !p.AccessPolicy.Expiry.Equal(expiry) || *p.AccessPolicy.Permission != "rl" {
		t.Errorf("policy1 = %+v %+v", p, p.AccessPolicy)
	}
	// Clearing.
	if _, err := cc.SetAccessPolicy(ctx(), nil); err != nil {
		t.Fatal(err)
	}
	acl, _ = cc.GetAccessPolicy(ctx(), nil)
	if acl.BlobPublicAccess != nil || len(acl.SignedIdentifiers) != 0 {
		t.Errorf("ACL after clear: %+v", acl)
	}
	// More than five identifiers, bad XML, bad public access.
	var six []*container.SignedIdentifier
	for i := range 6 {
		six = append(six, &container.SignedIdentifier{ID: to.Ptr(fmt.Sprint("id", i)), AccessPolicy: &container.AccessPolicy{Permission: to.Ptr("r")}})
	}
	_, err = cc.SetAccessPolicy(ctx(), &container.SetAccessPolicyOptions{ContainerACL: six})
	wantCode(t, err, 400, bloberror.InvalidXMLDocument)
	resp := e.do("PUT", "/"+devAccount+"/ctr?restype=container&comp=acl", map[string]string{"x-ms-blob-public-access": "everyone"}, nil)
	if resp.StatusCode != 400 || resp.Header.Get("x-ms-error-code") != "InvalidHeaderValue" {
		t.Errorf("bad public access: %d %s", resp.StatusCode, resp.Header.Get("x-ms-error-code"))
	}
}

func TestGetBlockListTypes(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("ctr")
	resp := e.do("GET", "/"+devAccount+"/ctr/b?comp=blocklist&blocklisttype=weird", nil, nil)
	if resp.StatusCode != 400 || resp.Header.Get("x-ms-error-code") != "InvalidQueryParameterValue" {
		t.Errorf("bad blocklisttype: %d %s", resp.StatusCode, resp.Header.Get("x-ms-error-code"))
	}
	resp = e.do("GET", "/"+devAccount+"/ctr/none?comp=blocklist", nil, nil)
	if resp.StatusCode != 404 {
		t.Errorf("block list of missing blob: %d", resp.StatusCode)
	}
}
