package blobapi_test

import (
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/lease"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
)

const (
	leaseA = "11111111-1111-1111-1111-111111111111"
	leaseB = "22222222-2222-2222-2222-222222222222"
)

func containerState(t *testing.T, cc *container.Client) (state, status, duration string) {
	t.Helper()
	p, err := cc.GetProperties(ctx(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.LeaseDuration != nil {
		duration = string(*p.LeaseDuration)
	}
	return string(*p.LeaseState), string(*p.LeaseStatus), duration
}

// TestContainerLeaseActions walks a container lease through every action
// on the manual clock, checking the state Get Container Properties and List
// Containers report and the errors Azure gives.
func TestContainerLeaseActions(t *testing.T) {
	e := newEnv(t, envOptions{manualClock: true})
	e.mustCreate("leased")
	cc := e.client.ServiceClient().NewContainerClient("leased")
	before, err := cc.GetProperties(ctx(), nil)
	if err != nil {
		t.Fatal(err)
	}
	la, err := lease.NewContainerClient(cc, &lease.ContainerClientOptions{LeaseID: to.Ptr(leaseA)})
	if err != nil {
		t.Fatal(err)
	}
	lb, err := lease.NewContainerClient(cc, &lease.ContainerClientOptions{LeaseID: to.Ptr(leaseB)})
	if err != nil {
		t.Fatal(err)
	}
	// The SDK's client follows a change of lease id; this one keeps A.
	oldA, err := lease.NewContainerClient(cc, &lease.ContainerClientOptions{LeaseID: to.Ptr(leaseA)})
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name     string
		run      func() error
		code     bloberror.Code
		advance  time.Duration
		state    string
		duration string
	}{
		{"release without lease", func() error { _, err := la.ReleaseLease(ctx(), nil); return err }, bloberror.LeaseNotPresentWithLeaseOperation, 0, "available", ""},
		{"acquire 15s", func() error { _, err := la.AcquireLease(ctx(), 15, nil); return err }, "", 0, "leased", "fixed"},
		{"acquire by another", func() error { _, err := lb.AcquireLease(ctx(), 15, nil); return err }, bloberror.LeaseAlreadyPresent, 0, "leased", "fixed"},
		{"renew by another", func() error { _, err := lb.RenewLease(ctx(), nil); return err }, bloberror.LeaseIDMismatchWithLeaseOperation, 0, "leased", "fixed"},
		{"expires", func() error { return nil }, "", 15 * time.Second, "expired", ""},
		{"renew after expiry", func() error { _, err := la.RenewLease(ctx(), nil); return err }, "", 0, "leased", "fixed"},
		{"change to B", func() error { _, err := la.ChangeLease(ctx(), leaseB, nil); return err }, "", 0, "leased", "fixed"},
		{"release with the old id", func() error { _, err := oldA.ReleaseLease(ctx(), nil); return err }, bloberror.LeaseIDMismatchWithLeaseOperation, 0, "leased", "fixed"},
		{"release with B", func() error { _, err := lb.ReleaseLease(ctx(), nil); return err }, "", 0, "available", ""},
		{"acquire infinite", func() error { _, err := oldA.AcquireLease(ctx(), -1, nil); return err }, "", 0, "leased", "infinite"},
		{"break in 10s", func() error {
			_, err := oldA.BreakLease(ctx(), &lease.ContainerBreakOptions{BreakPeriod: to.Ptr[int32](10)})
			return err
		}, "", 0, "breaking", ""},
		{"renew while breaking", func() error { _, err := oldA.RenewLease(ctx(), nil); return err }, bloberror.LeaseIsBrokenAndCannotBeRenewed, 0, "breaking", ""},
		{"broken", func() error { return nil }, "", 10 * time.Second, "broken", ""},
		{"acquire after the break", func() error { _, err := lb.AcquireLease(ctx(), 60, nil); return err }, "", 0, "leased", "fixed"},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			err := st.run()
			if st.code != "" {
				wantCode(t, err, 409, st.code)
			} else if err != nil {
				t.Fatal(err)
			}
			e.clock.Advance(st.advance)
			state, status, duration := containerState(t, cc)
			wantStatus := "unlocked"
			if st.state == "leased" || st.state == "breaking" {
				wantStatus = "locked"
			}
			if state != st.state || status != wantStatus || duration != st.duration {
				t.Fatalf("state %s %s %q, want %s %s %q", state, status, duration, st.state, wantStatus, st.duration)
			}
			page, err := e.client.ServiceClient().NewListContainersPager(&service.ListContainersOptions{Prefix: to.Ptr("leased")}).NextPage(ctx())
			if err != nil || len(page.ContainerItems) != 1 {
				t.Fatalf("list: %v", err)
			}
			lp := page.ContainerItems[0].Properties
			if string(*lp.LeaseState) != st.state || string(*lp.LeaseStatus) != wantStatus {
				t.Fatalf("listed %s %s", *lp.LeaseState, *lp.LeaseStatus)
			}
		})
	}
	after, err := cc.GetProperties(ctx(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if *after.ETag != *before.ETag || !after.LastModified.Equal(*before.LastModified) {
		t.Fatalf("lease actions changed ETag/Last-Modified")
	}
	// Invalid requests.
	for _, hdr := range []map[string]string{
		{"x-ms-lease-action": "acquire"},
		{"x-ms-lease-action": "acquire", "x-ms-lease-duration": "5"},
		{"x-ms-lease-action": "hold"},
		{"x-ms-lease-action": "renew"},
		{"x-ms-lease-action": "acquire", "x-ms-lease-duration": "-1", "x-ms-proposed-lease-id": "not-a-guid"},
		{"x-ms-lease-action": "break", "If-Match": "*"},
	} {
		resp := e.do("PUT", "/"+devAccount+"/leased?restype=container&comp=lease", hdr, nil)
		if resp.StatusCode != 400 {
			t.Errorf("%v: %d %s", hdr, resp.StatusCode, resp.Header.Get("x-ms-error-code"))
		}
	}
}

// TestContainerLeaseGuards: a container lease guards Delete Container; the
// other operations take an optional lease id that must match. The
// secondary refuses lease actions and shows the replicated lease.
func TestContainerLeaseGuards(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("guard")
	cc := e.client.ServiceClient().NewContainerClient("guard")
	la, err := lease.NewContainerClient(cc, &lease.ContainerClientOptions{LeaseID: to.Ptr(leaseA)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := la.AcquireLease(ctx(), -1, nil); err != nil {
		t.Fatal(err)
	}
	withLease := func(id string) *container.LeaseAccessConditions {
		if id == "" {
			return nil
		}
		return &container.LeaseAccessConditions{LeaseID: to.Ptr(id)}
	}
	ops := []struct {
		name string
		run  func(id string) error
	}{
		{"get properties", func(id string) error {
			_, err := cc.GetProperties(ctx(), &container.GetPropertiesOptions{LeaseAccessConditions: withLease(id)})
			return err
		}},
		{"set metadata", func(id string) error {
			_, err := cc.SetMetadata(ctx(), &container.SetMetadataOptions{Metadata: map[string]*string{"m": to.Ptr("1")}, LeaseAccessConditions: withLease(id)})
			return err
		}},
		{"get access policy", func(id string) error {
			_, err := cc.GetAccessPolicy(ctx(), &container.GetAccessPolicyOptions{LeaseAccessConditions: withLease(id)})
			return err
		}},
		{"set access policy", func(id string) error {
			var ac *container.AccessConditions
			if id != "" {
				ac = &container.AccessConditions{LeaseAccessConditions: withLease(id)}
			}
			_, err := cc.SetAccessPolicy(ctx(), &container.SetAccessPolicyOptions{AccessConditions: ac})
			return err
		}},
	}
	cases := []struct {
		id   string
		code bloberror.Code
	}{
		{"", ""},
		{leaseA, ""},
		{leaseB, bloberror.LeaseIDMismatchWithContainerOperation},
	}
	for _, o := range ops {
		for _, cs := range cases {
			t.Run(o.name+" "+cs.id, func(t *testing.T) {
				err := o.run(cs.id)
				if cs.code == "" {
					if err != nil {
						t.Fatal(err)
					}
					return
				}
				wantCode(t, err, 412, cs.code)
			})
		}
	}
	// Delete needs the lease.
	_, err = cc.Delete(ctx(), nil)
	wantCode(t, err, 412, bloberror.LeaseIDMissing)
	_, err = cc.Delete(ctx(), &container.DeleteOptions{AccessConditions: &container.AccessConditions{LeaseAccessConditions: withLease(leaseB)}})
	wantCode(t, err, 412, bloberror.LeaseIDMismatchWithContainerOperation)

	// The secondary refuses the lease actions and reports the lease.
	sc := e.secClient.ServiceClient().NewContainerClient("guard")
	sl, err := lease.NewContainerClient(sc, &lease.ContainerClientOptions{LeaseID: to.Ptr(leaseA)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = sl.ReleaseLease(ctx(), nil)
	wantCode(t, err, 403, "InsufficientAccountPermissions")
	e.sync()
	if state, status, duration := containerState(t, sc); state != "leased" || status != "locked" || duration != "infinite" {
		t.Fatalf("secondary lease %s %s %s", state, status, duration)
	}

	if _, err := cc.Delete(ctx(), &container.DeleteOptions{AccessConditions: &container.AccessConditions{LeaseAccessConditions: withLease(leaseA)}}); err != nil {
		t.Fatal(err)
	}
	// A lease id on a container without a lease.
	e.mustCreate("guard2")
	_, err = e.client.ServiceClient().NewContainerClient("guard2").SetMetadata(ctx(), &container.SetMetadataOptions{LeaseAccessConditions: withLease(leaseA)})
	wantCode(t, err, 412, bloberror.LeaseNotPresentWithContainerOperation)
}
