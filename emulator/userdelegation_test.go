package emulator_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"

	"github.com/geoblob/geoblob/emulator"
)

// udkEmulator starts an HTTPS emulator with OAuth on a manual clock.
func udkEmulator(t *testing.T, clk *emulator.ManualClock) *emulator.Emulator {
	t.Helper()
	cert, err := emulator.NewCertificate()
	if err != nil {
		t.Fatal(err)
	}
	return start(t, emulator.Options{TLS: cert.ServerTLS(), OAuth: true, Clock: clk, Lag: time.Second})
}

// wantUDKStatus fails unless err is an Azure answer with status and code.
func wantUDKStatus(t *testing.T, err error, status int, code string) {
	t.Helper()
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("got %v, want %d %s", err, status, code)
	}
	if re.StatusCode != status || re.ErrorCode != code {
		t.Fatalf("got %d %s, want %d %s", re.StatusCode, re.ErrorCode, status, code)
	}
}

// TestUserDelegationKeyAndSAS: a bearer token gets a user delegation key
// (Shared Key and SAS callers get 403 AuthenticationFailed, as Azure
// answers); a SAS signed with it by azblob reads, writes and lists within
// its container or blob, permissions and time window, on the primary and
// (reads) on the secondary, and serves as a copy source; a tampered SAS, a
// SAS out of its window and one whose key has expired on the emulator
// clock are refused.
func TestUserDelegationKeyAndSAS(t *testing.T) {
	ctx := context.Background()
	clk := emulator.NewManualClock(time.Now().UTC().Truncate(time.Second))
	emu := udkEmulator(t, clk)
	tokens := &emulator.DevTokenCredential{Now: clk.Now}
	primaryURL := emu.HostStyleURL(emulator.Primary, "")
	bearer, err := azblob.NewClient(primaryURL, tokens, hostOptions(t, emu))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"udk", "other"} {
		if _, err := bearer.CreateContainer(ctx, c, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := bearer.UploadBuffer(ctx, c, "b", []byte(c+" content"), nil); err != nil {
			t.Fatal(err)
		}
	}

	// Only a bearer token gets a key.
	now := clk.Now()
	info := service.KeyInfo{Start: to.Ptr(now.Format(sas.TimeFormat)), Expiry: to.Ptr(now.Add(2 * time.Hour).Format(sas.TimeFormat))}
	keyed := sharedKeyClient(t, emu, primaryURL)
	_, err = keyed.ServiceClient().GetUserDelegationCredential(ctx, info, nil)
	wantUDKStatus(t, err, http.StatusForbidden, "AuthenticationFailed")
	if !strings.Contains(err.Error(), "Only authentication scheme Bearer is supported") {
		t.Errorf("refusal without Azure's detail: %v", err)
	}
	acctSAS, err := keyed.ServiceClient().GetSASURL(sas.AccountResourceTypes{Service: true, Container: true, Object: true},
		sas.AccountPermissions{Read: true, Write: true, List: true}, now.Add(time.Hour), &service.GetSASURLOptions{StartTime: to.Ptr(now.Add(-time.Minute))})
	if err != nil {
		t.Fatal(err)
	}
	sasSvc, err := service.NewClientWithNoCredential(acctSAS, &service.ClientOptions{ClientOptions: hostOptions(t, emu).ClientOptions})
	if err != nil {
		t.Fatal(err)
	}
	_, err = sasSvc.GetUserDelegationCredential(ctx, info, nil)
	wantUDKStatus(t, err, http.StatusForbidden, "AuthenticationFailed")
	for _, bad := range []service.KeyInfo{
		{Start: info.Start, Expiry: to.Ptr(now.Add(8 * 24 * time.Hour).Format(sas.TimeFormat))},
		{Start: info.Expiry, Expiry: info.Start},
	} {
		_, err = bearer.ServiceClient().GetUserDelegationCredential(ctx, bad, nil)
		wantUDKStatus(t, err, http.StatusBadRequest, "InvalidXmlNodeValue")
	}
	udc, err := bearer.ServiceClient().GetUserDelegationCredential(ctx, info, nil)
	if err != nil {
		t.Fatal(err)
	}

	sign := func(v sas.BlobSignatureValues) string {
		t.Helper()
		if v.StartTime.IsZero() {
			v.StartTime = now.Add(-time.Minute)
		}
		if v.ExpiryTime.IsZero() {
			v.ExpiryTime = now.Add(time.Hour)
		}
		v.Protocol = sas.ProtocolHTTPS
		q, err := v.SignWithUserDelegation(udc)
		if err != nil {
			t.Fatal(err)
		}
		return q.Encode()
	}
	client := func(base, query string) *azblob.Client {
		t.Helper()
		u, err := url.Parse(base)
		if err != nil {
			t.Fatal(err)
		}
		u.RawQuery = query
		c, err := azblob.NewClientWithNoCredential(u.String(), hostOptions(t, emu))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	readOnlyContainer := sign(sas.BlobSignatureValues{ContainerName: "udk", Permissions: (&sas.ContainerPermissions{Read: true, List: true}).String()})
	writeContainer := sign(sas.BlobSignatureValues{ContainerName: "udk", Permissions: (&sas.ContainerPermissions{Read: true, Create: true, Write: true}).String()})
	oneBlob := sign(sas.BlobSignatureValues{ContainerName: "udk", BlobName: "b", Permissions: (&sas.BlobPermissions{Read: true}).String()})
	expiredSAS := sign(sas.BlobSignatureValues{ContainerName: "udk", Permissions: "r", StartTime: now.Add(-2 * time.Hour), ExpiryTime: now.Add(-time.Hour)})
	tamper := func(q, param, value string) string {
		v, err := url.ParseQuery(q)
		if err != nil {
			t.Fatal(err)
		}
		v.Set(param, value)
		return v.Encode()
	}
	read := func(c *azblob.Client, cont, name string) error {
		_, err := download(ctx, c, cont, name)
		return err
	}
	list := func(c *azblob.Client, cont string) error {
		_, err := c.NewListBlobsFlatPager(cont, nil).NextPage(ctx)
		return err
	}
	upload := func(c *azblob.Client, cont, name string) error {
		_, err := c.UploadBuffer(ctx, cont, name, []byte("via udk"), nil)
		return err
	}
	tests := []struct {
		name   string
		run    func() error
		status int
		code   string
	}{
		{"container SAS reads", func() error { return read(client(primaryURL, readOnlyContainer), "udk", "b") }, 0, ""},
		{"container SAS lists", func() error { return list(client(primaryURL, readOnlyContainer), "udk") }, 0, ""},
		{"read-only SAS cannot write", func() error { return upload(client(primaryURL, readOnlyContainer), "udk", "new") }, 403, "AuthorizationPermissionMismatch"},
		{"write SAS writes", func() error { return upload(client(primaryURL, writeContainer), "udk", "new") }, 0, ""},
		{"write SAS without list cannot list", func() error { return list(client(primaryURL, writeContainer), "udk") }, 403, "AuthorizationPermissionMismatch"},
		{"container SAS stays in its container", func() error { return read(client(primaryURL, readOnlyContainer), "other", "b") }, 403, "AuthenticationFailed"},
		{"container SAS cannot list containers", func() error {
			_, err := client(primaryURL, readOnlyContainer).NewListContainersPager(nil).NextPage(ctx)
			return err
		}, 403, "AuthorizationResourceTypeMismatch"},
		{"blob SAS reads its blob", func() error { return read(client(primaryURL, oneBlob), "udk", "b") }, 0, ""},
		{"blob SAS stays on its blob", func() error { return read(client(primaryURL, oneBlob), "udk", "new") }, 403, "AuthenticationFailed"},
		{"SAS out of its window", func() error { return read(client(primaryURL, expiredSAS), "udk", "b") }, 403, "AuthenticationFailed"},
		{"tampered permissions", func() error { return upload(client(primaryURL, tamper(readOnlyContainer, "sp", "rwl")), "udk", "x") }, 403, "AuthenticationFailed"},
		{"tampered key object", func() error {
			return read(client(primaryURL, tamper(readOnlyContainer, "skoid", "00000000-0000-4000-8000-0000000000ff")), "udk", "b")
		}, 403, "AuthenticationFailed"},
		{"tampered key expiry", func() error {
			return read(client(primaryURL, tamper(readOnlyContainer, "ske", now.Add(48*time.Hour).Format(sas.TimeFormat))), "udk", "b")
		}, 403, "AuthenticationFailed"},
		{"tampered signature", func() error {
			return read(client(primaryURL, tamper(readOnlyContainer, "sig", "AAAA"+strings.Repeat("B", 40))), "udk", "b")
		}, 403, "AuthenticationFailed"},
		{"copy with a user delegation SAS source", func() error {
			src := client(primaryURL, oneBlob).ServiceClient().NewContainerClient("udk").NewBlobClient("b").URL()
			// The destination is authorized by a SAS too, so the source
			// is read only on the strength of its own SAS.
			dst := client(primaryURL, writeContainer).ServiceClient().NewContainerClient("udk")
			if _, err := dst.NewBlobClient("copied").StartCopyFromURL(ctx, src, nil); err != nil {
				return err
			}
			_, err := dst.NewBlockBlobClient("fromurl").UploadBlobFromURL(ctx, src, &blockblob.UploadBlobFromURLOptions{})
			return err
		}, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			if tc.status == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantUDKStatus(t, err, tc.status, tc.code)
		})
	}
	for _, name := range []string{"copied", "fromurl"} {
		if got, err := download(ctx, bearer, "udk", name); err != nil || got != "udk content" {
			t.Fatalf("copy %s: %q, %v", name, got, err)
		}
	}

	// The secondary verifies the same SAS for reads and refuses writes.
	clk.Advance(2 * time.Second)
	waitReplicated(t, emu)
	secondaryURL := emu.HostStyleURL(emulator.Secondary, "")
	if err := read(client(secondaryURL, readOnlyContainer), "udk", "b"); err != nil {
		t.Fatalf("secondary read: %v", err)
	}
	wantUDKStatus(t, upload(client(secondaryURL, writeContainer), "udk", "sec"), 403, "InsufficientAccountPermissions")
	// The secondary hands out the same key: it changes nothing.
	secBearer, err := azblob.NewClient(secondaryURL, tokens, hostOptions(t, emu))
	if err != nil {
		t.Fatal(err)
	}
	secUDC, err := secBearer.ServiceClient().GetUserDelegationCredential(ctx, info, nil)
	if err != nil {
		t.Fatalf("key from the secondary: %v", err)
	}
	q, err := sas.BlobSignatureValues{ContainerName: "udk", Permissions: "r", Protocol: sas.ProtocolHTTPS,
		StartTime: now.Add(-time.Minute), ExpiryTime: now.Add(time.Hour)}.SignWithUserDelegation(secUDC)
	if err != nil {
		t.Fatal(err)
	}
	if err := read(client(secondaryURL, q.Encode()), "udk", "b"); err != nil {
		t.Fatalf("secondary read with the secondary's key: %v", err)
	}

	// Past the key's expiry on the emulator clock, its SAS is refused even
	// inside the SAS's own window.
	late := sign(sas.BlobSignatureValues{ContainerName: "udk", Permissions: "r", ExpiryTime: now.Add(5 * time.Hour)})
	if err := read(client(primaryURL, late), "udk", "b"); err != nil {
		t.Fatalf("before the key expires: %v", err)
	}
	clk.Advance(3 * time.Hour)
	err = read(client(primaryURL, late), "udk", "b")
	wantUDKStatus(t, err, 403, "AuthenticationFailed")
	if !strings.Contains(err.Error(), "user delegation key is not valid") {
		t.Errorf("refusal does not name the key: %v", err)
	}
}

// TestUserDelegationSASAfterRestart: the key is derived from the account
// key, not stored, so a SAS signed with it verifies on another emulator
// with the same account (as after a restart).
func TestUserDelegationSASAfterRestart(t *testing.T) {
	ctx := context.Background()
	clk := emulator.NewManualClock(time.Now().UTC().Truncate(time.Second))
	first := udkEmulator(t, clk)
	bearer, err := azblob.NewClient(first.HostStyleURL(emulator.Primary, ""), &emulator.DevTokenCredential{Now: clk.Now}, hostOptions(t, first))
	if err != nil {
		t.Fatal(err)
	}
	now := clk.Now()
	udc, err := bearer.ServiceClient().GetUserDelegationCredential(ctx, service.KeyInfo{
		Start: to.Ptr(now.Format(sas.TimeFormat)), Expiry: to.Ptr(now.Add(time.Hour).Format(sas.TimeFormat))}, nil)
	if err != nil {
		t.Fatal(err)
	}
	q, err := sas.BlobSignatureValues{ContainerName: "kept", Permissions: "r", Protocol: sas.ProtocolHTTPS,
		StartTime: now.Add(-time.Minute), ExpiryTime: now.Add(time.Hour)}.SignWithUserDelegation(udc)
	if err != nil {
		t.Fatal(err)
	}
	second := udkEmulator(t, clk)
	keyed := sharedKeyClient(t, second, second.HostStyleURL(emulator.Primary, ""))
	if _, err := keyed.CreateContainer(ctx, "kept", &container.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := keyed.UploadBuffer(ctx, "kept", "b", []byte("kept"), nil); err != nil {
		t.Fatal(err)
	}
	c, err := azblob.NewClientWithNoCredential(second.HostStyleURL(emulator.Primary, "")+"?"+q.Encode(), hostOptions(t, second))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := download(ctx, c, "kept", "b"); err != nil || got != "kept" {
		t.Fatalf("read on the second emulator: %q, %v", got, err)
	}
}

// TestUserDelegationSASPathStyle: through a path-style URL
// (https://127.0.0.1:PORT/ACCOUNT) azblob names the credential's account
// "127"; its SAS still verifies for the account whose key it was derived
// from, and still only within its container.
func TestUserDelegationSASPathStyle(t *testing.T) {
	ctx := context.Background()
	clk := emulator.NewManualClock(time.Now().UTC().Truncate(time.Second))
	emu := udkEmulator(t, clk)
	bearer, err := azblob.NewClient(emu.PrimaryURL(), &emulator.DevTokenCredential{Now: clk.Now}, hostOptions(t, emu))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"path", "elsewhere"} {
		if _, err := bearer.CreateContainer(ctx, c, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := bearer.UploadBuffer(ctx, c, "b", []byte("path style"), nil); err != nil {
			t.Fatal(err)
		}
	}
	now := clk.Now()
	udc, err := bearer.ServiceClient().GetUserDelegationCredential(ctx, service.KeyInfo{
		Start: to.Ptr(now.Format(sas.TimeFormat)), Expiry: to.Ptr(now.Add(time.Hour).Format(sas.TimeFormat))}, nil)
	if err != nil {
		t.Fatal(err)
	}
	q, err := sas.BlobSignatureValues{ContainerName: "path", Permissions: "r", Protocol: sas.ProtocolHTTPS,
		StartTime: now.Add(-time.Minute), ExpiryTime: now.Add(time.Hour)}.SignWithUserDelegation(udc)
	if err != nil {
		t.Fatal(err)
	}
	c, err := azblob.NewClientWithNoCredential(emu.PrimaryURL()+"?"+q.Encode(), hostOptions(t, emu))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := download(ctx, c, "path", "b"); err != nil || got != "path style" {
		t.Fatalf("path-style read: %q, %v", got, err)
	}
	_, err = download(ctx, c, "elsewhere", "b")
	wantUDKStatus(t, err, 403, "AuthenticationFailed")
}
