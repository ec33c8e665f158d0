package blobapi_test

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/lease"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
)

func tagsOf(set []*blob.Tags) map[string]string {
	m := map[string]string{}
	for _, t := range set {
		m[*t.Key] = *t.Value
	}
	return m
}

func ifTags(expr string) *blob.AccessConditions {
	return &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfTags: to.Ptr(expr)}}
}

// TestBlobTagsRoundTrip: tags set on upload (Put Blob, Put Block List, Copy
// Blob) and with Set Blob Tags come back from Get Blob Tags, are counted in
// x-ms-tag-count and listed with include=tags; Set Blob Tags changes neither
// ETag nor Last-Modified.
func TestBlobTagsRoundTrip(t *testing.T) {
	e := newEnv(t, envOptions{manualClock: true})
	e.mustCreate("tags")
	cc := e.client.ServiceClient().NewContainerClient("tags")
	want := map[string]string{"project": "geo blob", "Rank": "010", "path": "a/b:c=d+e-f_g.h"}
	e.mustUpload("tags", "src", []byte("source"))
	tests := []struct {
		name   string
		upload func(name string) error
	}{
		{"put blob", func(name string) error {
			_, err := cc.NewBlockBlobClient(name).Upload(ctx(), streamOf([]byte("x")), &blockblob.UploadOptions{Tags: want})
			return err
		}},
		{"put block list", func(name string) error {
			bb := cc.NewBlockBlobClient(name)
			if _, err := bb.StageBlock(ctx(), blockID(1), streamOf([]byte("x")), nil); err != nil {
				return err
			}
			_, err := bb.CommitBlockList(ctx(), []string{blockID(1)}, &blockblob.CommitBlockListOptions{Tags: want})
			return err
		}},
		{"copy blob", func(name string) error {
			_, err := cc.NewBlobClient(name).StartCopyFromURL(ctx(), cc.NewBlobClient("src").URL(), &blob.StartCopyFromURLOptions{BlobTags: want})
			return err
		}},
		{"set blob tags", func(name string) error {
			e.mustUpload("tags", name, []byte("x"))
			_, err := cc.NewBlobClient(name).SetTags(ctx(), want, nil)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := strings.ReplaceAll(tt.name, " ", "-")
			if err := tt.upload(name); err != nil {
				t.Fatal(err)
			}
			bc := cc.NewBlobClient(name)
			got, err := bc.GetTags(ctx(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if m := tagsOf(got.BlobTagSet); !maps.Equal(m, want) {
				t.Fatalf("tags %v, want %v", m, want)
			}
			props, err := bc.GetProperties(ctx(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if props.TagCount == nil || *props.TagCount != int64(len(want)) {
				t.Fatalf("x-ms-tag-count %v, want %d", props.TagCount, len(want))
			}
		})
	}
	// The copy did not take the source's tags: it has none.
	if got, err := cc.NewBlobClient("src").GetTags(ctx(), nil); err != nil || len(got.BlobTagSet) != 0 {
		t.Fatalf("src tags %v %v", got.BlobTagSet, err)
	}

	// Set Blob Tags keeps ETag and Last-Modified; removing the tags too.
	bc := cc.NewBlobClient("set-blob-tags")
	before, err := bc.GetProperties(ctx(), nil)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Hour)
	if _, err := bc.SetTags(ctx(), map[string]string{"k": "v"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := bc.SetTags(ctx(), nil, nil); err != nil {
		t.Fatal(err)
	}
	after, err := bc.GetProperties(ctx(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if *after.ETag != *before.ETag || !after.LastModified.Equal(*before.LastModified) {
		t.Fatalf("Set Blob Tags changed ETag/Last-Modified: %v %v -> %v %v", *before.ETag, before.LastModified, *after.ETag, after.LastModified)
	}
	if after.TagCount != nil {
		t.Fatalf("x-ms-tag-count %d after removing every tag", *after.TagCount)
	}

	// include=tags lists them; TagCount is in the properties.
	pager := cc.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Include: container.ListBlobsInclude{Tags: true}, Prefix: to.Ptr("put-blob")})
	page, err := pager.NextPage(ctx())
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Segment.BlobItems) != 1 {
		t.Fatalf("listed %d blobs", len(page.Segment.BlobItems))
	}
	it := page.Segment.BlobItems[0]
	if it.BlobTags == nil || !maps.Equal(tagsOf(it.BlobTags.BlobTagSet), want) || it.Properties.TagCount == nil || *it.Properties.TagCount != 3 {
		t.Fatalf("listed tags %+v count %v", it.BlobTags, it.Properties.TagCount)
	}

	// Overwriting with Put Blob replaces the tags.
	e.mustUpload("tags", "put-blob", []byte("y"))
	if got, err := cc.NewBlobClient("put-blob").GetTags(ctx(), nil); err != nil || len(got.BlobTagSet) != 0 {
		t.Fatalf("tags after overwrite %v %v", got.BlobTagSet, err)
	}
}

// TestBlobTagLimits: Azure's limits on tags, through Set Blob Tags and
// x-ms-tags.
func TestBlobTagLimits(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("lim")
	e.mustUpload("lim", "b", []byte("x"))
	bc := e.client.ServiceClient().NewContainerClient("lim").NewBlobClient("b")
	eleven := map[string]string{}
	for i := range 11 {
		eleven["k"+string(rune('a'+i))] = "v"
	}
	ten := maps.Clone(eleven)
	delete(ten, "ka")
	tests := []struct {
		name string
		tags map[string]string
		code bloberror.Code // "" when accepted
	}{
		{"ten tags", ten, ""},
		{"eleven tags", eleven, "TagsTooLarge"},
		{"key of 128", map[string]string{strings.Repeat("k", 128): "v"}, ""},
		{"key of 129", map[string]string{strings.Repeat("k", 129): "v"}, "InvalidTag"},
		{"empty key", map[string]string{"": "v"}, "InvalidTag"},
		{"value of 256", map[string]string{"k": strings.Repeat("v", 256)}, ""},
		{"value of 257", map[string]string{"k": strings.Repeat("v", 257)}, "InvalidTag"},
		{"empty value", map[string]string{"k": ""}, ""},
		{"every allowed character", map[string]string{"aZ09 +-./:=_": "aZ09 +-./:=_"}, ""},
		{"bang in key", map[string]string{"k!": "v"}, "InvalidTag"},
		{"non-ASCII value", map[string]string{"k": "é"}, "InvalidTag"},
		{"ampersand in value", map[string]string{"k": "a&b"}, "InvalidTag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := bc.SetTags(ctx(), tt.tags, nil)
			_, uerr := e.client.ServiceClient().NewContainerClient("lim").NewBlockBlobClient("up").Upload(ctx(), streamOf([]byte("x")), &blockblob.UploadOptions{Tags: tt.tags})
			if tt.code == "" {
				if err != nil || uerr != nil {
					t.Fatalf("refused: %v / %v", err, uerr)
				}
				got, err := bc.GetTags(ctx(), nil)
				if err != nil || !maps.Equal(tagsOf(got.BlobTagSet), tt.tags) {
					t.Fatalf("got %v %v", tagsOf(got.BlobTagSet), err)
				}
				return
			}
			wantCode(t, err, 400, tt.code)
			wantCode(t, uerr, 400, tt.code)
		})
	}
	// A malformed body and a key given twice.
	for _, body := range []string{
		"<Tags><TagSet><Tag><Key>a</Key><Value>1</Value></Tag><Tag><Key>a</Key><Value>2</Value></Tag></TagSet></Tags>",
		"<Tags><TagSet><Tag><Key>a</Key>",
		"<NotTags/>",
	} {
		resp := e.do("PUT", "/"+devAccount+"/lim/b?comp=tags", nil, strings.NewReader(body))
		if resp.StatusCode != 400 {
			t.Errorf("%q: %d %s", body, resp.StatusCode, resp.Header.Get("x-ms-error-code"))
		}
	}
	// The body's Content-MD5 is checked.
	resp := e.do("PUT", "/"+devAccount+"/lim/b?comp=tags", map[string]string{"Content-MD5": "AAAAAAAAAAAAAAAAAAAAAA=="}, strings.NewReader("<Tags><TagSet/></Tags>"))
	if resp.StatusCode != 400 || resp.Header.Get("x-ms-error-code") != "Md5Mismatch" {
		t.Errorf("tags body with a wrong MD5: %d %s", resp.StatusCode, resp.Header.Get("x-ms-error-code"))
	}
	// x-ms-tags given twice for a key.
	resp = e.do("PUT", "/"+devAccount+"/lim/twice", map[string]string{"x-ms-blob-type": "BlockBlob", "x-ms-tags": "a=1&a=2"}, strings.NewReader("x"))
	if resp.StatusCode != 400 || resp.Header.Get("x-ms-error-code") != "InvalidTag" {
		t.Errorf("x-ms-tags with a key twice: %d %s", resp.StatusCode, resp.Header.Get("x-ms-error-code"))
	}
}

// TestIfTagsConditions: x-ms-if-tags on reads and writes, through the SDK.
func TestIfTagsConditions(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("cond")
	cc := e.client.ServiceClient().NewContainerClient("cond")
	if _, err := cc.NewBlockBlobClient("b").Upload(ctx(), streamOf([]byte("data")), &blockblob.UploadOptions{Tags: map[string]string{"env": "prod", "rank": "5"}}); err != nil {
		t.Fatal(err)
	}
	bc := cc.NewBlobClient("b")
	ops := []struct {
		name string
		run  func(ac *blob.AccessConditions) error
	}{
		{"get properties", func(ac *blob.AccessConditions) error {
			_, err := bc.GetProperties(ctx(), &blob.GetPropertiesOptions{AccessConditions: ac})
			return err
		}},
		{"download", func(ac *blob.AccessConditions) error {
			r, err := bc.DownloadStream(ctx(), &blob.DownloadStreamOptions{AccessConditions: ac})
			if err == nil {
				r.Body.Close()
			}
			return err
		}},
		{"get tags", func(ac *blob.AccessConditions) error {
			_, err := bc.GetTags(ctx(), &blob.GetTagsOptions{BlobAccessConditions: ac})
			return err
		}},
		{"set metadata", func(ac *blob.AccessConditions) error {
			_, err := bc.SetMetadata(ctx(), map[string]*string{"m": to.Ptr("1")}, &blob.SetMetadataOptions{AccessConditions: ac})
			return err
		}},
		{"set HTTP headers", func(ac *blob.AccessConditions) error {
			_, err := bc.SetHTTPHeaders(ctx(), blob.HTTPHeaders{BlobContentType: to.Ptr("text/plain")}, &blob.SetHTTPHeadersOptions{AccessConditions: ac})
			return err
		}},
		{"set tier", func(ac *blob.AccessConditions) error {
			_, err := bc.SetTier(ctx(), blob.AccessTierHot, &blob.SetTierOptions{AccessConditions: ac})
			return err
		}},
		{"set tags", func(ac *blob.AccessConditions) error {
			_, err := bc.SetTags(ctx(), map[string]string{"env": "prod", "rank": "5"}, &blob.SetTagsOptions{AccessConditions: ac})
			return err
		}},
		{"put blob over it", func(ac *blob.AccessConditions) error {
			_, err := cc.NewBlockBlobClient("b").Upload(ctx(), streamOf([]byte("data")), &blockblob.UploadOptions{
				Tags: map[string]string{"env": "prod", "rank": "5"}, AccessConditions: ac})
			return err
		}},
		{"acquire lease", func(ac *blob.AccessConditions) error {
			lc, err := lease.NewBlobClient(bc, nil)
			if err != nil {
				return err
			}
			var mac *blob.ModifiedAccessConditions
			if ac != nil {
				mac = ac.ModifiedAccessConditions
			}
			if _, err := lc.AcquireLease(ctx(), 15, &lease.BlobAcquireOptions{ModifiedAccessConditions: mac}); err != nil {
				return err
			}
			_, err = lc.ReleaseLease(ctx(), nil)
			return err
		}},
	}
	conds := []struct {
		expr string
		ok   bool
	}{
		{`"env" = 'prod'`, true},
		{`env = 'prod' AND rank >= '5'`, true},
		{`"env" = 'dev' OR "rank" < '6'`, true},
		{`("env" = 'dev' OR "env" = 'prod') AND "rank" <> '4'`, true},
		{`"env" = 'dev'`, false},
		{`"env" = 'prod' AND "rank" > '5'`, false},
		{`"missing" <> 'x'`, false},
	}
	for _, o := range ops {
		for _, c := range conds {
			t.Run(o.name+" "+c.expr, func(t *testing.T) {
				err := o.run(ifTags(c.expr))
				if c.ok {
					if err != nil {
						t.Fatal(err)
					}
					return
				}
				wantCode(t, err, 412, bloberror.ConditionNotMet)
			})
		}
	}
	// A malformed condition is a 400, before anything happens.
	for _, bad := range []string{`"env" = prod`, `"env" == 'prod'`, `@container = 'cond'`, `("env" = 'prod'`, `"env" = 'prod' AND`, `"e!v" = 'x'`} {
		_, err := bc.GetProperties(ctx(), &blob.GetPropertiesOptions{AccessConditions: ifTags(bad)})
		wantCode(t, err, 400, "")
	}
	// Delete with a failing condition keeps the blob, with a holding one
	// deletes it.
	_, err := bc.Delete(ctx(), &blob.DeleteOptions{AccessConditions: ifTags(`"env" = 'dev'`)})
	wantCode(t, err, 412, bloberror.ConditionNotMet)
	if _, err := bc.Delete(ctx(), &blob.DeleteOptions{AccessConditions: ifTags(`"env" = 'prod'`)}); err != nil {
		t.Fatal(err)
	}
	// Copy Blob with x-ms-source-if-tags.
	e.mustUpload("cond", "src", []byte("s"))
	if _, err := cc.NewBlobClient("src").SetTags(ctx(), map[string]string{"ok": "yes"}, nil); err != nil {
		t.Fatal(err)
	}
	src := cc.NewBlobClient("src").URL()
	_, err = cc.NewBlobClient("dst").StartCopyFromURL(ctx(), src, &blob.StartCopyFromURLOptions{
		SourceModifiedAccessConditions: &blob.SourceModifiedAccessConditions{SourceIfTags: to.Ptr(`"ok" = 'no'`)}})
	wantCode(t, err, 412, "SourceConditionNotMet")
	if _, err := cc.NewBlobClient("dst").StartCopyFromURL(ctx(), src, &blob.StartCopyFromURLOptions{
		SourceModifiedAccessConditions: &blob.SourceModifiedAccessConditions{SourceIfTags: to.Ptr(`"ok" = 'yes'`)}}); err != nil {
		t.Fatal(err)
	}
}

// TestBlobTagsLeaseAndSecondary: Set Blob Tags with a lease id must name
// the active lease; the secondary refuses it and serves the replicated
// tags.
func TestBlobTagsLeaseAndSecondary(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("lse")
	e.mustUpload("lse", "b", []byte("x"))
	bc := e.client.ServiceClient().NewContainerClient("lse").NewBlobClient("b")
	lc, err := lease.NewBlobClient(bc, &lease.BlobClientOptions{LeaseID: to.Ptr("11111111-1111-1111-1111-111111111111")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lc.AcquireLease(ctx(), -1, nil); err != nil {
		t.Fatal(err)
	}
	withLease := func(id string) *blob.SetTagsOptions {
		return &blob.SetTagsOptions{AccessConditions: &blob.AccessConditions{LeaseAccessConditions: &blob.LeaseAccessConditions{LeaseID: to.Ptr(id)}}}
	}
	_, err = bc.SetTags(ctx(), map[string]string{"a": "1"}, withLease("22222222-2222-2222-2222-222222222222"))
	wantCode(t, err, 412, bloberror.LeaseIDMismatchWithBlobOperation)
	if _, err := bc.SetTags(ctx(), map[string]string{"a": "1"}, withLease("11111111-1111-1111-1111-111111111111")); err != nil {
		t.Fatal(err)
	}

	sc := e.secClient.ServiceClient().NewContainerClient("lse").NewBlobClient("b")
	_, err = sc.SetTags(ctx(), map[string]string{"a": "2"}, nil)
	wantCode(t, err, 403, "InsufficientAccountPermissions")
	_, err = sc.GetTags(ctx(), nil)
	wantCode(t, err, 404, "")
	e.sync()
	got, err := sc.GetTags(ctx(), nil)
	if err != nil || !maps.Equal(tagsOf(got.BlobTagSet), map[string]string{"a": "1"}) {
		t.Fatalf("secondary tags %v %v", got.BlobTagSet, err)
	}
	found, err := e.secClient.ServiceClient().FilterBlobs(ctx(), `"a" = '1'`, nil)
	if err != nil || len(found.Blobs) != 1 {
		t.Fatalf("Find Blobs by Tags on the secondary: %v %v", found.Blobs, err)
	}
}

type foundBlob struct{ container, name string }

func foundOf(items []*service.FilterBlobItem) []foundBlob {
	var out []foundBlob
	for _, it := range items {
		out = append(out, foundBlob{*it.ContainerName, *it.Name})
	}
	return out
}

// TestFindBlobsByTags: the expression grammar, its limits, @container, the
// container form and paging.
func TestFindBlobsByTags(t *testing.T) {
	e := newEnv(t)
	for _, c := range []string{"ct1", "ct2", "empty"} {
		e.mustCreate(c)
	}
	blobs := []struct {
		container, name string
		tags            map[string]string
	}{
		{"ct1", "a", map[string]string{"Project": "geo", "Rank": "01", "env": "prod"}},
		{"ct1", "b", map[string]string{"Project": "geo", "Rank": "05"}},
		{"ct1", "c", map[string]string{"Project": "other", "Rank": "09"}},
		{"ct1", "untagged", nil},
		{"ct2", "a", map[string]string{"Project": "geo", "Rank": "10"}},
		{"ct2", "dir/d", map[string]string{"Project": "geo", "key with space": "v 1"}},
	}
	for _, b := range blobs {
		if _, err := e.client.ServiceClient().NewContainerClient(b.container).NewBlockBlobClient(b.name).Upload(ctx(), streamOf([]byte("x")), &blockblob.UploadOptions{Tags: b.tags}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		where string
		want  []foundBlob
	}{
		{`"Project" = 'geo'`, []foundBlob{{"ct1", "a"}, {"ct1", "b"}, {"ct2", "a"}, {"ct2", "dir/d"}}},
		{`Project = 'geo' AND Rank > '01'`, []foundBlob{{"ct1", "b"}, {"ct2", "a"}}},
		{`"Rank" >= '05' AND "Rank" < '10'`, []foundBlob{{"ct1", "b"}, {"ct1", "c"}}},
		{`"Rank" <= '05'`, []foundBlob{{"ct1", "a"}, {"ct1", "b"}}},
		{`@container = 'ct2' AND "Project" = 'geo'`, []foundBlob{{"ct2", "a"}, {"ct2", "dir/d"}}},
		{`"Project" = 'geo' and @container = 'ct1' and "env" = 'prod'`, []foundBlob{{"ct1", "a"}}},
		{`"key with space" = 'v 1'`, []foundBlob{{"ct2", "dir/d"}}},
		{`"Project" = 'none'`, nil},
		{`"project" = 'geo'`, nil}, // keys are case-sensitive
		{`@container = 'absent' AND "Project" = 'geo'`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.where, func(t *testing.T) {
			resp, err := e.client.ServiceClient().FilterBlobs(ctx(), tt.where, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := foundOf(resp.Blobs); !slices.Equal(got, tt.want) {
				t.Fatalf("found %v, want %v", got, tt.want)
			}
			if resp.Where == nil || *resp.Where != tt.where {
				t.Fatalf("Where %v", resp.Where)
			}
			// Only the tags the expression names come back.
			for _, it := range resp.Blobs {
				for _, tag := range it.Tags.BlobTagSet {
					if !strings.Contains(tt.where, *tag.Key) {
						t.Fatalf("returned tag %q not in the expression", *tag.Key)
					}
				}
			}
		})
	}
	// The container form.
	resp, err := e.client.ServiceClient().NewContainerClient("ct2").FilterBlobs(ctx(), `"Project" = 'geo'`, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := foundOf(resp.Blobs); !slices.Equal(got, []foundBlob{{"ct2", "a"}, {"ct2", "dir/d"}}) {
		t.Fatalf("container form found %v", got)
	}
	_, err = e.client.ServiceClient().NewContainerClient("nope").FilterBlobs(ctx(), `"Project" = 'geo'`, nil)
	wantCode(t, err, 404, bloberror.ContainerNotFound)
	_, err = e.client.ServiceClient().NewContainerClient("ct2").FilterBlobs(ctx(), `@container = 'ct1' AND "Project" = 'geo'`, nil)
	wantCode(t, err, 400, "InvalidQueryParameterValue")

	// Paging: one blob a page, every marker leading on.
	var all []foundBlob
	marker := (*string)(nil)
	for range 10 {
		resp, err := e.client.ServiceClient().FilterBlobs(ctx(), `"Project" = 'geo'`, &service.FilterBlobsOptions{MaxResults: to.Ptr[int32](1), Marker: marker})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, foundOf(resp.Blobs)...)
		if resp.NextMarker == nil || *resp.NextMarker == "" {
			marker = nil
			break
		}
		marker = resp.NextMarker
	}
	if marker != nil || len(all) != 4 {
		t.Fatalf("paged %v (marker %v)", all, marker)
	}

	// Invalid expressions.
	eleven := make([]string, 11)
	for i := range eleven {
		eleven[i] = `"k` + string(rune('a'+i)) + `" = 'v'`
	}
	for _, bad := range []string{
		``,
		`"Project" = 'geo' OR "Rank" = '01'`,
		`"Project" <> 'geo'`,
		`("Project" = 'geo')`,
		`"Rank" > '01' AND "Rank" >= '02'`,
		`@container > 'ct1' AND "Project" = 'geo'`,
		`@container = 'ct1'`,
		`@other = 'x' AND "a" = 'b'`,
		`"Project" = geo`,
		`"Project" = 'geo`,
		`"Proj!ect" = 'geo'`,
		`"` + strings.Repeat("k", 129) + `" = 'v'`,
		strings.Join(eleven, " AND "),
	} {
		_, err := e.client.ServiceClient().FilterBlobs(ctx(), bad, nil)
		wantCode(t, err, 400, "")
	}
	// Ten comparisons are allowed.
	if _, err := e.client.ServiceClient().FilterBlobs(ctx(), strings.Join(eleven[:10], " AND "), nil); err != nil {
		t.Fatalf("ten comparisons: %v", err)
	}
}

// TestTagSASPermissions: Get and Set Blob Tags need 't', Find Blobs by Tags
// needs 'f'.
func TestTagSASPermissions(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("perm")
	e.mustUpload("perm", "b", []byte("x"))
	if _, err := e.client.ServiceClient().NewContainerClient("perm").NewBlobClient("b").SetTags(ctx(), map[string]string{"a": "1"}, nil); err != nil {
		t.Fatal(err)
	}
	clientWith := func(perms sas.AccountPermissions) *azblob.Client {
		qp, err := sas.AccountSignatureValues{
			Protocol: sas.ProtocolHTTPSandHTTP, ExpiryTime: time.Now().Add(time.Hour).UTC(),
			Permissions:   perms.String(),
			ResourceTypes: (&sas.AccountResourceTypes{Service: true, Container: true, Object: true}).String(),
		}.SignWithSharedKey(e.cred)
		if err != nil {
			t.Fatal(err)
		}
		c, err := azblob.NewClientWithNoCredential(e.primaryURL()+"?"+qp.Encode(), clientOptions())
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	withT := clientWith(sas.AccountPermissions{Tag: true})
	withF := clientWith(sas.AccountPermissions{FilterByTags: true})
	readOnly := clientWith(sas.AccountPermissions{Read: true, List: true, Write: true})
	if _, err := withT.ServiceClient().NewContainerClient("perm").NewBlobClient("b").GetTags(ctx(), nil); err != nil {
		t.Fatalf("get tags with t: %v", err)
	}
	if _, err := withT.ServiceClient().NewContainerClient("perm").NewBlobClient("b").SetTags(ctx(), map[string]string{"a": "2"}, nil); err != nil {
		t.Fatalf("set tags with t: %v", err)
	}
	if _, err := withF.ServiceClient().FilterBlobs(ctx(), `"a" = '2'`, nil); err != nil {
		t.Fatalf("find with f: %v", err)
	}
	_, err := readOnly.ServiceClient().NewContainerClient("perm").NewBlobClient("b").GetTags(ctx(), nil)
	wantCode(t, err, 403, "AuthorizationPermissionMismatch")
	_, err = readOnly.ServiceClient().NewContainerClient("perm").NewBlobClient("b").SetTags(ctx(), nil, nil)
	wantCode(t, err, 403, "AuthorizationPermissionMismatch")
	_, err = readOnly.ServiceClient().FilterBlobs(ctx(), `"a" = '2'`, nil)
	wantCode(t, err, 403, "AuthorizationPermissionMismatch")
	_, err = withT.ServiceClient().FilterBlobs(ctx(), `"a" = '2'`, nil)
	wantCode(t, err, 403, "AuthorizationPermissionMismatch")

	// A container SAS with f finds in its container.
	qp, err := sas.BlobSignatureValues{
		Protocol: sas.ProtocolHTTPSandHTTP, ExpiryTime: time.Now().Add(time.Hour).UTC(),
		ContainerName: "perm", Permissions: (&sas.ContainerPermissions{FilterByTags: true}).String(),
	}.SignWithSharedKey(e.cred)
	if err != nil {
		t.Fatal(err)
	}
	cc, err := container.NewClientWithNoCredential(e.primaryURL()+"perm?"+qp.Encode(), &container.ClientOptions{ClientOptions: clientOptions().ClientOptions})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := cc.FilterBlobs(ctx(), `"a" = '2'`, nil)
	if err != nil || len(resp.Blobs) != 1 {
		t.Fatalf("container SAS find: %v %v", resp.Blobs, err)
	}
}

// TestCopySourceTagOption: Copy Blob From URL (x-ms-requires-sync) takes
// its tags from x-ms-tags (REPLACE, the default) or from the source
// (COPY); an asynchronous Copy Blob never copies them.
func TestCopySourceTagOption(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("cpt")
	cc := e.client.ServiceClient().NewContainerClient("cpt")
	if _, err := cc.NewBlockBlobClient("src").Upload(ctx(), streamOf([]byte("s")), &blockblob.UploadOptions{Tags: map[string]string{"from": "source"}}); err != nil {
		t.Fatal(err)
	}
	src := cc.NewBlobClient("src").URL() + "?" + e.accountSAS()
	sync := map[string]string{"x-ms-copy-source": src, "x-ms-requires-sync": "true"}
	with := func(extra map[string]string) map[string]string {
		m := maps.Clone(sync)
		maps.Copy(m, extra)
		return m
	}
	tests := []struct {
		name   string
		hdr    map[string]string
		status int
		code   string
		tags   map[string]string
	}{
		{"default replaces", with(map[string]string{"x-ms-tags": "to=dest"}), 202, "", map[string]string{"to": "dest"}},
		{"REPLACE", with(map[string]string{"x-ms-copy-source-tag-option": "REPLACE", "x-ms-tags": "to=dest"}), 202, "", map[string]string{"to": "dest"}},
		{"REPLACE without tags", with(map[string]string{"x-ms-copy-source-tag-option": "REPLACE"}), 202, "", map[string]string{}},
		{"COPY", with(map[string]string{"x-ms-copy-source-tag-option": "COPY"}), 202, "", map[string]string{"from": "source"}},
		{"COPY with x-ms-tags", with(map[string]string{"x-ms-copy-source-tag-option": "COPY", "x-ms-tags": "to=dest"}), 400, "InvalidHeaderValue", nil},
		{"unknown option", with(map[string]string{"x-ms-copy-source-tag-option": "MERGE"}), 400, "InvalidHeaderValue", nil},
		{"asynchronous copy", map[string]string{"x-ms-copy-source": src, "x-ms-copy-source-tag-option": "COPY"}, 400, "UnsupportedHeader", nil},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := "dst" + string(rune('a'+i))
			resp := e.do("PUT", "/"+devAccount+"/cpt/"+dst, tt.hdr, nil)
			if resp.StatusCode != tt.status || resp.Header.Get("x-ms-error-code") != tt.code {
				t.Fatalf("got %d %q, want %d %q", resp.StatusCode, resp.Header.Get("x-ms-error-code"), tt.status, tt.code)
			}
			got, err := cc.NewBlobClient(dst).GetTags(ctx(), nil)
			if tt.tags == nil {
				wantCode(t, err, 404, bloberror.BlobNotFound)
				return
			}
			if err != nil || !maps.Equal(tagsOf(got.BlobTagSet), tt.tags) {
				t.Fatalf("tags %v %v, want %v", tagsOf(got.BlobTagSet), err, tt.tags)
			}
		})
	}
	// Through the SDK: Copy Blob From URL with tags and a tier.
	if _, err := cc.NewBlobClient("sdk").CopyFromURL(ctx(), src, &blob.CopyFromURLOptions{BlobTags: map[string]string{"sdk": "yes"}, Tier: to.Ptr(blob.AccessTierCool)}); err != nil {
		t.Fatal(err)
	}
	p, err := cc.NewBlobClient("sdk").GetProperties(ctx(), nil)
	if err != nil || *p.AccessTier != "Cool" || p.TagCount == nil || *p.TagCount != 1 {
		t.Fatalf("SDK copy: tier %v tags %v %v", p.AccessTier, p.TagCount, err)
	}
}
