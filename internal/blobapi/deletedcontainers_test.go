package blobapi_test

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/lease"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
)

// setContainerRetention sends Set Blob Service Properties with the
// emulator's ContainerDeleteRetentionPolicy element (azblob's
// StorageServiceProperties has no field for it) and wants status.
func setContainerRetention(t *testing.T, e *env, inner string, status int, code string) {
	t.Helper()
	body := "<StorageServiceProperties><ContainerDeleteRetentionPolicy>" + inner + "</ContainerDeleteRetentionPolicy></StorageServiceProperties>"
	resp := e.do("PUT", spPath, nil, strings.NewReader(body))
	msg, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status || resp.Header.Get("x-ms-error-code") != code {
		t.Fatalf("set %s: got %d %q, want %d %q: %s", inner, resp.StatusCode, resp.Header.Get("x-ms-error-code"), status, code, msg)
	}
}

// listed is one entry of List Containers include=deleted.
type listed struct {
	name, version string
	deleted       bool
	days          int32
}

// listWithDeleted lists every container of c's account with the deleted
// ones, page by page with maxPage entries each.
func listWithDeleted(t *testing.T, c *service.Client, prefix string, maxPage int32) []listed {
	t.Helper()
	var out []listed
	pager := c.NewListContainersPager(&service.ListContainersOptions{
		Prefix: to.Ptr(prefix), MaxResults: to.Ptr(maxPage),
		Include: service.ListContainersInclude{Deleted: true, Metadata: true},
	})
	for pager.More() {
		page, err := pager.NextPage(ctx())
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.ContainerItems {
			l := listed{name: *it.Name}
			if it.Deleted != nil && *it.Deleted {
				l.deleted = true
				if it.Version == nil || it.Properties.DeletedTime == nil || it.Properties.RemainingRetentionDays == nil {
					t.Fatalf("deleted %s listed without version, time or days: %+v", l.name, it)
				}
				l.version, l.days = *it.Version, *it.Properties.RemainingRetentionDays
				if *it.Properties.LeaseState != "expired" || *it.Properties.LeaseStatus != "unlocked" {
					t.Fatalf("deleted %s lease %s %s", l.name, *it.Properties.LeaseState, *it.Properties.LeaseStatus)
				}
			} else if it.Version != nil || it.Properties.DeletedTime != nil {
				t.Fatalf("live %s listed with deleted fields", l.name)
			}
			out = append(out, l)
		}
	}
	return out
}

func TestContainerRetentionSetting(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name   string
		inner  string
		status int
		code   string
	}{
		{"enabled without days", "<Enabled>true</Enabled>", 400, "InvalidXmlNodeValue"},
		{"zero days", "<Enabled>true</Enabled><Days>0</Days>", 400, "InvalidXmlNodeValue"},
		{"too many days", "<Enabled>true</Enabled><Days>366</Days>", 400, "InvalidXmlNodeValue"},
		{"permanent delete does not apply to containers", "<Enabled>true</Enabled><Days>7</Days><AllowPermanentDelete>true</AllowPermanentDelete>", 400, "InvalidXmlDocument"},
		{"bad bool", "<Enabled>yes</Enabled>", 400, "InvalidXmlNodeValue"},
		{"off", "<Enabled>false</Enabled>", 202, ""},
		{"on for 7 days", "<Enabled>true</Enabled><Days>7</Days>", 202, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setContainerRetention(t, e, tt.inner, tt.status, tt.code)
		})
	}
	if got := getServiceProperties(t, e); !strings.Contains(got, "<ContainerDeleteRetentionPolicy><Enabled>true</Enabled><Days>7</Days></ContainerDeleteRetentionPolicy>") {
		t.Fatalf("Get Service Properties does not echo the setting: %s", got)
	}
	// Setting other properties through the SDK keeps it, as Azure keeps
	// the settings a request leaves out.
	if _, err := svc(e.client).SetProperties(ctx(), &service.SetPropertiesOptions{DefaultServiceVersion: to.Ptr("2021-08-06")}); err != nil {
		t.Fatal(err)
	}
	if got := getServiceProperties(t, e); !strings.Contains(got, "<ContainerDeleteRetentionPolicy><Enabled>true</Enabled>") {
		t.Fatalf("an SDK update dropped the setting: %s", got)
	}
}

// TestContainerSoftDeleteAndRestore walks a container through soft delete,
// a new container of the same name, restores and their errors, the
// secondary's view and refusal, and expiry on the manual clock.
func TestContainerSoftDeleteAndRestore(t *testing.T) {
	e := newEnv(t, envOptions{manualClock: true})
	s := svc(e.client)

	// Without retention a delete is final.
	e.mustCreate("gone")
	if _, err := s.DeleteContainer(ctx(), "gone", nil); err != nil {
		t.Fatal(err)
	}
	if got := listWithDeleted(t, s, "gone", 10); len(got) != 0 {
		t.Fatalf("deleted without retention, listed %+v", got)
	}

	setContainerRetention(t, e, "<Enabled>true</Enabled><Days>7</Days>", 202, "")
	e.mustCreate("sdc")
	e.mustUpload("sdc", "a", []byte("alpha"))
	e.mustUpload("sdc", "b", []byte("beta"))
	cc := s.NewContainerClient("sdc")
	if _, err := cc.SetMetadata(ctx(), &container.SetMetadataOptions{Metadata: map[string]*string{"owner": to.Ptr("me")}}); err != nil {
		t.Fatal(err)
	}
	// A leased container needs its lease id to be deleted, soft or not.
	lc, err := lease.NewContainerClient(cc, &lease.ContainerClientOptions{LeaseID: to.Ptr(leaseA)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lc.AcquireLease(ctx(), -1, nil); err != nil {
		t.Fatal(err)
	}
	_, err = cc.Delete(ctx(), nil)
	wantCode(t, err, 412, bloberror.LeaseIDMissing)
	if _, err := cc.Delete(ctx(), &container.DeleteOptions{AccessConditions: &container.AccessConditions{LeaseAccessConditions: &container.LeaseAccessConditions{LeaseID: to.Ptr(leaseA)}}}); err != nil {
		t.Fatal(err)
	}
	deletedAt := e.clock.Now()
	got := listWithDeleted(t, s, "sdc", 10)
	if len(got) != 1 || !got[0].deleted || got[0].days != 7 || len(got[0].version) != 16 {
		t.Fatalf("after the delete: %+v", got)
	}
	v1 := got[0].version
	// Gone for every other operation, and from plain listings.
	_, err = cc.GetProperties(ctx(), nil)
	wantCode(t, err, 404, bloberror.ContainerNotFound)
	_, err = e.client.DownloadStream(ctx(), "sdc", "a", nil)
	wantCode(t, err, 404, bloberror.ContainerNotFound)
	page, err := s.NewListContainersPager(&service.ListContainersOptions{Prefix: to.Ptr("sdc")}).NextPage(ctx())
	if err != nil || len(page.ContainerItems) != 0 {
		t.Fatalf("plain listing: %v %d", err, len(page.ContainerItems))
	}

	// A new container of the same name while v1 is kept.
	e.clock.Advance(time.Hour)
	e.mustCreate("sdc")
	e.mustUpload("sdc", "c", []byte("gamma"))
	got = listWithDeleted(t, s, "sdc", 10)
	if len(got) != 2 || got[0].deleted || !got[1].deleted || got[1].version != v1 {
		t.Fatalf("live and deleted: %+v", got)
	}

	restoreErrs := []struct {
		name, cont, version string
		status              int
		code                bloberror.Code
	}{
		{"a live container has the name", "sdc", v1, 409, bloberror.ContainerAlreadyExists},
		{"no such version", "sdc", "01D0000000000000", 409, bloberror.ContainerAlreadyExists},
		{"no deleted container", "never", "01D0000000000000", 404, bloberror.ContainerNotFound},
		{"no version", "sdc", "", 400, bloberror.MissingRequiredHeader},
	}
	for _, tt := range restoreErrs {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.RestoreContainer(ctx(), tt.cont, tt.version, nil)
			wantCode(t, err, tt.status, tt.code)
		})
	}
	// Restoring under another name is refused (Azure no longer does it).
	resp := e.do("PUT", "/"+devAccount+"/other?restype=container&comp=undelete",
		map[string]string{"x-ms-deleted-container-name": "sdc", "x-ms-deleted-container-version": v1}, nil)
	if resp.StatusCode != 400 || resp.Header.Get("x-ms-error-code") != "InvalidHeaderValue" {
		t.Fatalf("restore under another name: %d %s", resp.StatusCode, resp.Header.Get("x-ms-error-code"))
	}

	// Delete the second one too: two deleted versions of one name, pages of
	// one entry each page through them by version.
	if _, err := s.DeleteContainer(ctx(), "sdc", nil); err != nil {
		t.Fatal(err)
	}
	got = listWithDeleted(t, s, "sdc", 1)
	if len(got) != 2 || !got[0].deleted || !got[1].deleted || got[0].version != v1 || got[1].version <= v1 {
		t.Fatalf("two deleted versions: %+v", got)
	}
	v2 := got[1].version
	_, err = s.RestoreContainer(ctx(), "sdc", "01D0000000000000", nil)
	wantCode(t, err, 404, bloberror.ContainerNotFound)

	// The secondary sees the deleted versions once replicated, and refuses
	// the restore as a write.
	e.sync()
	if got := listWithDeleted(t, svc(e.secClient), "sdc", 10); len(got) != 2 || got[0].version != v1 || got[1].version != v2 {
		t.Fatalf("secondary: %+v", got)
	}
	_, err = svc(e.secClient).RestoreContainer(ctx(), "sdc", v1, nil)
	wantCode(t, err, 403, "")

	// Restore v1: its blobs, metadata and an available lease come back.
	if _, err := s.RestoreContainer(ctx(), "sdc", v1, nil); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"a": "alpha", "b": "beta"} {
		if b := e.mustDownload(e.client, "sdc", name); string(b) != want {
			t.Fatalf("restored %s: %q", name, b)
		}
	}
	_, err = e.client.DownloadStream(ctx(), "sdc", "c", nil)
	wantCode(t, err, 404, bloberror.BlobNotFound)
	props, err := cc.GetProperties(ctx(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if props.Metadata["owner"] == nil && props.Metadata["Owner"] == nil || *props.LeaseState != lease.StateTypeAvailable {
		t.Fatalf("restored properties: %v %v", props.Metadata, *props.LeaseState)
	}
	_, err = s.RestoreContainer(ctx(), "sdc", v2, nil)
	wantCode(t, err, 409, bloberror.ContainerAlreadyExists)
	got = listWithDeleted(t, s, "sdc", 10)
	if len(got) != 2 || got[0].deleted || got[1].version != v2 {
		t.Fatalf("after the restore: %+v", got)
	}
	// Not on the secondary until replicated.
	_, err = e.secClient.DownloadStream(ctx(), "sdc", "a", nil)
	wantCode(t, err, 404, bloberror.ContainerNotFound)
	e.sync()
	if b := e.mustDownload(e.secClient, "sdc", "a"); string(b) != "alpha" {
		t.Fatalf("secondary after the restore: %q", b)
	}

	// v2 expires 7 days after its delete: invisible at once, purged by the
	// next container delete, on both copies.
	e.clock.Advance(7*24*time.Hour - e.clock.Now().Sub(deletedAt) + 2*time.Hour)
	if got := listWithDeleted(t, s, "sdc", 10); len(got) != 1 || got[0].deleted {
		t.Fatalf("after expiry: %+v", got)
	}
	_, err = s.RestoreContainer(ctx(), "sdc", v2, nil)
	wantCode(t, err, 409, bloberror.ContainerAlreadyExists)
	if _, err := s.DeleteContainer(ctx(), "sdc", nil); err != nil {
		t.Fatal(err)
	}
	_, err = s.RestoreContainer(ctx(), "sdc", v2, nil)
	wantCode(t, err, 404, bloberror.ContainerNotFound)
	if n := e.primary.DeletedContainersPending(devAccount); n != 1 {
		t.Fatalf("%d deleted containers kept, want 1 (v2 purged, the new delete kept)", n)
	}
	e.sync()
	if n := e.secondary.DeletedContainersPending(devAccount); n != 1 {
		t.Fatalf("%d deleted containers kept on the secondary, want 1", n)
	}
}

// TestContainerSoftDeleteRemainingDays: RemainingRetentionDays counts the
// days left, rounded up, on the store clock.
func TestContainerSoftDeleteRemainingDays(t *testing.T) {
	e := newEnv(t, envOptions{manualClock: true})
	setContainerRetention(t, e, "<Enabled>true</Enabled><Days>3</Days>", 202, "")
	e.mustCreate("days")
	if _, err := svc(e.client).DeleteContainer(ctx(), "days", nil); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		advance time.Duration
		days    int32 // 0: no longer listed
	}{
		{0, 3}, {time.Minute, 3}, {24 * time.Hour, 2}, {47 * time.Hour, 1}, {58 * time.Minute, 1}, {2 * time.Minute, 0},
	} {
		e.clock.Advance(step.advance)
		got := listWithDeleted(t, svc(e.client), "days", 10)
		switch {
		case step.days == 0 && len(got) != 0:
			t.Fatalf("after %v: still listed %+v", step.advance, got)
		case step.days != 0 && (len(got) != 1 || got[0].days != step.days):
			t.Fatalf("after %v: %+v, want %d days", step.advance, got, step.days)
		}
	}
}
