package blobapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/geoblob/geoblob/internal/store"
)

// TestAccessTierOnUpload: x-ms-access-tier on Put Blob, Put Block List and
// Copy Blob sets the tier; without it the tier is inferred Hot.
func TestAccessTierOnUpload(t *testing.T) {
	e := newEnv(t, envOptions{manualClock: true})
	e.mustCreate("tiers")
	cc := e.client.ServiceClient().NewContainerClient("tiers")
	e.mustUpload("tiers", "src", []byte("s"))
	tests := []struct {
		name   string
		tier   *blob.AccessTier
		upload func(name string, tier *blob.AccessTier) error
	}{
		{"put blob inferred", nil, func(name string, tier *blob.AccessTier) error {
			_, err := cc.NewBlockBlobClient(name).Upload(ctx(), streamOf([]byte("x")), &blockblob.UploadOptions{Tier: tier})
			return err
		}},
		{"put blob cool", to.Ptr(blob.AccessTierCool), func(name string, tier *blob.AccessTier) error {
			_, err := cc.NewBlockBlobClient(name).Upload(ctx(), streamOf([]byte("x")), &blockblob.UploadOptions{Tier: tier})
			return err
		}},
		{"put blob cold", to.Ptr(blob.AccessTierCold), func(name string, tier *blob.AccessTier) error {
			_, err := cc.NewBlockBlobClient(name).Upload(ctx(), streamOf([]byte("x")), &blockblob.UploadOptions{Tier: tier})
			return err
		}},
		{"put block list archive", to.Ptr(blob.AccessTierArchive), func(name string, tier *blob.AccessTier) error {
			bb := cc.NewBlockBlobClient(name)
			if _, err := bb.StageBlock(ctx(), blockID(1), streamOf([]byte("x")), nil); err != nil {
				return err
			}
			_, err := bb.CommitBlockList(ctx(), []string{blockID(1)}, &blockblob.CommitBlockListOptions{Tier: tier})
			return err
		}},
		{"copy hot", to.Ptr(blob.AccessTierHot), func(name string, tier *blob.AccessTier) error {
			_, err := cc.NewBlobClient(name).StartCopyFromURL(ctx(), cc.NewBlobClient("src").URL(), &blob.StartCopyFromURLOptions{Tier: tier})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := strings.ReplaceAll(tt.name, " ", "-")
			if err := tt.upload(name, tt.tier); err != nil {
				t.Fatal(err)
			}
			p, err := cc.NewBlobClient(name).GetProperties(ctx(), nil)
			if err != nil {
				t.Fatal(err)
			}
			want, inferred := "Hot", true
			if tt.tier != nil {
				want, inferred = string(*tt.tier), false
			}
			if p.AccessTier == nil || *p.AccessTier != want {
				t.Fatalf("tier %v, want %s", p.AccessTier, want)
			}
			if (p.AccessTierInferred != nil && *p.AccessTierInferred) != inferred {
				t.Fatalf("inferred %v, want %v", p.AccessTierInferred, inferred)
			}
			if inferred != (p.AccessTierChangeTime == nil) {
				t.Fatalf("change time %v with inferred %v", p.AccessTierChangeTime, inferred)
			}
			// The listing agrees.
			page, err := cc.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Prefix: to.Ptr(name)}).NextPage(ctx())
			if err != nil || len(page.Segment.BlobItems) != 1 {
				t.Fatalf("list: %v", err)
			}
			lp := page.Segment.BlobItems[0].Properties
			if lp.AccessTier == nil || string(*lp.AccessTier) != want || (lp.AccessTierInferred != nil && *lp.AccessTierInferred) != inferred {
				t.Fatalf("listed tier %v inferred %v", lp.AccessTier, lp.AccessTierInferred)
			}
		})
	}
	// Reading the blob uploaded to Archive is refused.
	_, err := cc.NewBlobClient("put-block-list-archive").DownloadStream(ctx(), nil)
	wantCode(t, err, 409, bloberror.BlobArchived)
	// An unknown tier is a 400.
	resp := e.do("PUT", "/"+devAccount+"/tiers/bad", map[string]string{"x-ms-blob-type": "BlockBlob", "x-ms-access-tier": "P10"}, strings.NewReader("x"))
	if resp.StatusCode != 400 || resp.Header.Get("x-ms-error-code") != "InvalidHeaderValue" {
		t.Fatalf("tier P10: %d %s", resp.StatusCode, resp.Header.Get("x-ms-error-code"))
	}
}

// TestSetBlobTierAndRehydration walks a blob through the tiers: online
// changes answer 200 at once; Archive refuses reads and property writes;
// rehydration answers 202, reports rehydrate-pending-to-<tier> until
// the delay has passed on the store's clock, refuses another tier
// meanwhile, and then the blob reads again. ETag and Last-Modified never
// change.
func TestSetBlobTierAndRehydration(t *testing.T) {
	e := newEnv(t, envOptions{manualClock: true})
	e.mustCreate("rehy")
	e.mustUpload("rehy", "b", []byte("payload"))
	bc := e.client.ServiceClient().NewContainerClient("rehy").NewBlobClient("b")
	orig, err := bc.GetProperties(ctx(), nil)
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		status   int
		tier     string
		archive  string // x-ms-archive-status
		readable bool
	}
	steps := []struct {
		name    string
		tier    blob.AccessTier
		prio    *blob.RehydratePriority
		advance time.Duration // before the check
		code    bloberror.Code
		want    want
	}{
		{"to cool", blob.AccessTierCool, nil, 0, "", want{200, "Cool", "", true}},
		{"to cold", blob.AccessTierCold, nil, 0, "", want{200, "Cold", "", true}},
		{"to archive", blob.AccessTierArchive, nil, 0, "", want{200, "Archive", "", false}},
		{"archive again", blob.AccessTierArchive, nil, 0, "", want{200, "Archive", "", false}},
		{"rehydrate to hot", blob.AccessTierHot, nil, 0, "", want{202, "Archive", "rehydrate-pending-to-hot", false}},
		{"other tier while pending", blob.AccessTierCool, nil, 0, bloberror.BlobBeingRehydrated, want{0, "Archive", "rehydrate-pending-to-hot", false}},
		{"archive while pending", blob.AccessTierArchive, nil, 0, bloberror.BlobBeingRehydrated, want{0, "Archive", "rehydrate-pending-to-hot", false}},
		{"raise priority", blob.AccessTierHot, to.Ptr(blob.RehydratePriorityHigh), store.DefaultRehydrateDelay - time.Second, "", want{202, "Archive", "rehydrate-pending-to-hot", false}},
		{"after the delay", "", nil, time.Second, "", want{0, "Hot", "", true}},
		{"archive once more", blob.AccessTierArchive, nil, 0, "", want{200, "Archive", "", false}},
		{"rehydrate to cool", blob.AccessTierCool, nil, store.DefaultRehydrateDelay, "", want{202, "Cool", "", true}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.tier != "" {
				var raw *http.Response
				_, err := bc.SetTier(policy.WithCaptureResponse(ctx(), &raw), st.tier, &blob.SetTierOptions{RehydratePriority: st.prio})
				if st.code != "" {
					wantCode(t, err, 409, st.code)
				} else if err != nil {
					t.Fatal(err)
				} else if raw.StatusCode != st.want.status {
					t.Fatalf("status %d, want %d", raw.StatusCode, st.want.status)
				}
			}
			e.clock.Advance(st.advance)
			p, err := bc.GetProperties(ctx(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if *p.AccessTier != st.want.tier {
				t.Fatalf("tier %s, want %s", *p.AccessTier, st.want.tier)
			}
			gotArchive := ""
			if p.ArchiveStatus != nil {
				gotArchive = *p.ArchiveStatus
			}
			if gotArchive != st.want.archive {
				t.Fatalf("archive status %q, want %q", gotArchive, st.want.archive)
			}
			if p.AccessTierInferred != nil || p.AccessTierChangeTime == nil {
				t.Fatalf("inferred %v change time %v", p.AccessTierInferred, p.AccessTierChangeTime)
			}
			if *p.ETag != *orig.ETag || !p.LastModified.Equal(*orig.LastModified) {
				t.Fatalf("ETag/Last-Modified changed: %s %v", *p.ETag, p.LastModified)
			}
			_, rerr := bc.DownloadStream(ctx(), nil)
			_, merr := bc.SetMetadata(ctx(), map[string]*string{"m": to.Ptr("1")}, nil)
			if st.want.readable {
				if rerr != nil || merr != nil {
					t.Fatalf("read %v, set metadata %v", rerr, merr)
				}
				// Set Blob Metadata moved the ETag on; follow it.
				p, _ := bc.GetProperties(ctx(), nil)
				orig = p
				return
			}
			wantCode(t, rerr, 409, bloberror.BlobArchived)
			wantCode(t, merr, 409, bloberror.BlobArchived)
		})
	}
	// While pending, the priority shows in the listing and in the
	// properties.
	if _, err := bc.SetTier(ctx(), blob.AccessTierArchive, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := bc.SetTier(ctx(), blob.AccessTierHot, &blob.SetTierOptions{RehydratePriority: to.Ptr(blob.RehydratePriorityHigh)}); err != nil {
		t.Fatal(err)
	}
	p, err := bc.GetProperties(ctx(), nil)
	if err != nil || p.RehydratePriority == nil || *p.RehydratePriority != "High" {
		t.Fatalf("rehydrate priority %v %v", p.RehydratePriority, err)
	}
	page, err := e.client.ServiceClient().NewContainerClient("rehy").NewListBlobsFlatPager(nil).NextPage(ctx())
	if err != nil {
		t.Fatal(err)
	}
	lp := page.Segment.BlobItems[0].Properties
	if lp.ArchiveStatus == nil || *lp.ArchiveStatus != blob.ArchiveStatusRehydratePendingToHot || *lp.AccessTier != blob.AccessTierArchive {
		t.Fatalf("listed archive status %v tier %v", lp.ArchiveStatus, lp.AccessTier)
	}
	// Tags may be read and set on an archived blob; it may be deleted.
	if _, err := bc.SetTags(ctx(), map[string]string{"a": "1"}, nil); err != nil {
		t.Fatalf("set tags on an archived blob: %v", err)
	}
	// The secondary refuses Set Blob Tier and shows the replicated state.
	sc := e.secClient.ServiceClient().NewContainerClient("rehy").NewBlobClient("b")
	_, err = sc.SetTier(ctx(), blob.AccessTierCool, nil)
	wantCode(t, err, 403, "InsufficientAccountPermissions")
	e.sync()
	sp, err := sc.GetProperties(ctx(), nil)
	if err != nil || sp.ArchiveStatus == nil || *sp.ArchiveStatus != "rehydrate-pending-to-hot" {
		t.Fatalf("secondary archive status %v %v", sp.ArchiveStatus, err)
	}
	e.clock.Advance(store.DefaultRehydrateDelay)
	sp, err = sc.GetProperties(ctx(), nil)
	if err != nil || *sp.AccessTier != "Hot" || sp.ArchiveStatus != nil {
		t.Fatalf("secondary after the delay: %v %v %v", sp.AccessTier, sp.ArchiveStatus, err)
	}
	if _, err := bc.Delete(ctx(), nil); err != nil {
		t.Fatal(err)
	}
}

// TestSetBlobTierErrors: missing and invalid headers, a missing blob, a
// failing tag condition and a lease id that does not match.
func TestSetBlobTierErrors(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("tierr")
	e.mustUpload("tierr", "b", []byte("x"))
	tests := []struct {
		name   string
		blob   string
		hdr    map[string]string
		status int
		code   string
	}{
		{"missing tier", "b", nil, 400, "MissingRequiredHeader"},
		{"premium tier", "b", map[string]string{"x-ms-access-tier": "P30"}, 400, "InvalidHeaderValue"},
		{"bad priority", "b", map[string]string{"x-ms-access-tier": "Hot", "x-ms-rehydrate-priority": "Urgent"}, 400, "InvalidHeaderValue"},
		{"missing blob", "nope", map[string]string{"x-ms-access-tier": "Hot"}, 404, "BlobNotFound"},
		{"tag condition", "b", map[string]string{"x-ms-access-tier": "Hot", "x-ms-if-tags": `"a" = 'b'`}, 412, "ConditionNotMet"},
		{"lease not present", "b", map[string]string{"x-ms-access-tier": "Hot", "x-ms-lease-id": "11111111-1111-1111-1111-111111111111"}, 412, "LeaseNotPresentWithBlobOperation"},
		{"lower case tier", "b", map[string]string{"x-ms-access-tier": "cool"}, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := e.do(http.MethodPut, "/"+devAccount+"/tierr/"+tt.blob+"?comp=tier", tt.hdr, nil)
			if resp.StatusCode != tt.status || resp.Header.Get("x-ms-error-code") != tt.code {
				t.Fatalf("got %d %q, want %d %q", resp.StatusCode, resp.Header.Get("x-ms-error-code"), tt.status, tt.code)
			}
		})
	}
}

// TestRehydratePriorityOnlyRises: a pending rehydration's priority may go
// from Standard to High; an explicit Standard on a High one is refused with
// 409 and keeps High (it used to answer 202 and keep High silently), and
// asking again without a priority keeps it.
func TestRehydratePriorityOnlyRises(t *testing.T) {
	e := newEnv(t, envOptions{manualClock: true})
	e.mustCreate("prio")
	e.mustUpload("prio", "b", []byte("archived"))
	bc := e.client.ServiceClient().NewContainerClient("prio").NewBlobClient("b")
	if _, err := bc.SetTier(ctx(), blob.AccessTierArchive, nil); err != nil {
		t.Fatal(err)
	}
	std, high := to.Ptr(blob.RehydratePriorityStandard), to.Ptr(blob.RehydratePriorityHigh)
	steps := []struct {
		name string
		prio *blob.RehydratePriority
		code bloberror.Code
		want string // the pending rehydration's priority afterwards
	}{
		{"start at standard", std, "", "Standard"},
		{"standard again", std, "", "Standard"},
		{"raise to high", high, "", "High"},
		{"lower to standard", std, bloberror.BlobBeingRehydrated, "High"},
		{"no priority", nil, "", "High"},
		{"high again", high, "", "High"},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			var raw *http.Response
			_, err := bc.SetTier(policy.WithCaptureResponse(ctx(), &raw), blob.AccessTierHot, &blob.SetTierOptions{RehydratePriority: st.prio})
			if st.code != "" {
				wantCode(t, err, 409, st.code)
			} else if err != nil {
				t.Fatal(err)
			} else if raw.StatusCode != 202 {
				t.Fatalf("status %d, want 202", raw.StatusCode)
			}
			p, err := bc.GetProperties(ctx(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if p.RehydratePriority == nil || *p.RehydratePriority != st.want {
				t.Fatalf("priority %v, want %s", p.RehydratePriority, st.want)
			}
		})
	}
}
