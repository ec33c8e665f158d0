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
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"

	"github.com/geoblob/geoblob/emulator"
	"github.com/geoblob/geoblob/fault"
	"github.com/geoblob/geoblob/internal/control"
)

// hostOptions gives a client the emulator's transport (host-style names
// dialled to loopback, its certificate trusted) and no retries.
func hostOptions(t *testing.T, emu *emulator.Emulator) *azblob.ClientOptions {
	hc := emu.HTTPClient()
	t.Cleanup(hc.CloseIdleConnections)
	return &azblob.ClientOptions{ClientOptions: azcore.ClientOptions{
		Transport: hc,
		Retry:     policy.RetryOptions{MaxRetries: -1},
	}}
}

func sharedKeyClient(t *testing.T, emu *emulator.Emulator, url string) *azblob.Client {
	t.Helper()
	c, err := azblob.NewClientWithSharedKeyCredential(url, credential(t, emu), hostOptions(t, emu))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestHostStyleAddressing drives the emulator through its host-style names
// with Shared Key: writes on ACCOUNT.blob.localhost, reads of the replica on
// ACCOUNT-secondary.blob.localhost (on the primary listener and on the
// distinct secondary listener), the secondary's write refusal, and listings
// that name the host-style endpoint.
func TestHostStyleAddressing(t *testing.T) {
	for _, tls := range []bool{false, true} {
		name := "http"
		if tls {
			name = "https"
		}
		t.Run(name, func(t *testing.T) {
			opts := emulator.Options{}
			if tls {
				cert, err := emulator.NewCertificate()
				if err != nil {
					t.Fatal(err)
				}
				opts.TLS = cert.ServerTLS()
			}
			emu := start(t, opts)
			ctx := context.Background()
			pURL := emu.HostStyleURL(emulator.Primary, "")
			sURL := emu.HostStyleURL(emulator.Secondary, "")
			if want := name + "://devstoreaccount1.blob.localhost:"; !strings.HasPrefix(pURL, want) {
				t.Fatalf("primary %q, want prefix %q", pURL, want)
			}
			if want := name + "://devstoreaccount1-secondary.blob.localhost:"; !strings.HasPrefix(sURL, want) {
				t.Fatalf("secondary %q, want prefix %q", sURL, want)
			}
			primary := sharedKeyClient(t, emu, pURL)
			if _, err := primary.CreateContainer(ctx, "hostc", nil); err != nil {
				t.Fatal(err)
			}
			if _, err := primary.UploadBuffer(ctx, "hostc", "dir/b.txt", []byte("host-style"), nil); err != nil {
				t.Fatal(err)
			}
			waitReplicated(t, emu)
			// The distinct secondary listener answers the host-style names too.
			su, err := url.Parse(emu.SecondaryURL())
			if err != nil {
				t.Fatal(err)
			}
			distinct := name + "://devstoreaccount1-secondary.blob.localhost:" + su.Port()
			for _, u := range []string{sURL, distinct} {
				sec := sharedKeyClient(t, emu, u)
				got, err := download(ctx, sec, "hostc", "dir/b.txt")
				if err != nil || got != "host-style" {
					t.Fatalf("secondary %s: %q, %v", u, got, err)
				}
				_, err = sec.UploadBuffer(ctx, "hostc", "w", []byte("x"), nil)
				var re *azcore.ResponseError
				if !errors.As(err, &re) || re.StatusCode != http.StatusForbidden {
					t.Fatalf("write on secondary %s: %v, want 403", u, err)
				}
			}
			pager := primary.NewListBlobsFlatPager("hostc", nil)
			page, err := pager.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if page.ServiceEndpoint == nil || *page.ServiceEndpoint != pURL+"/" {
				t.Fatalf("ServiceEndpoint %v, want %s/", page.ServiceEndpoint, pURL)
			}
		})
	}
}

// TestHostStyleSASAndCopy checks a service SAS and a copy source given
// host-style.
func TestHostStyleSASAndCopy(t *testing.T) {
	emu := start(t, emulator.Options{})
	ctx := context.Background()
	pURL := emu.HostStyleURL(emulator.Primary, "")
	primary := sharedKeyClient(t, emu, pURL)
	if _, err := primary.CreateContainer(ctx, "sas", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := primary.UploadBuffer(ctx, "sas", "src", []byte("copied"), nil); err != nil {
		t.Fatal(err)
	}
	bc := primary.ServiceClient().NewContainerClient("sas").NewBlobClient("src")
	sasURL, err := bc.GetSASURL(sas.BlobPermissions{Read: true}, time.Now().Add(time.Hour), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(sasURL, pURL+"/sas/src?") {
		t.Fatalf("SAS URL %q is not host-style", sasURL)
	}
	anon, err := blob.NewClientWithNoCredential(sasURL, &blob.ClientOptions{ClientOptions: hostOptions(t, emu).ClientOptions})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := anon.DownloadStream(ctx, nil)
	if err != nil {
		t.Fatalf("read with SAS: %v", err)
	}
	_ = resp.Body.Close()

	// A host-style copy source in the caller's account, and one of the
	// secondary name, both resolve to the blob.
	for i, src := range []string{pURL + "/sas/src", emu.HostStyleURL(emulator.Secondary, "") + "/sas/src"} {
		dst := primary.ServiceClient().NewContainerClient("sas").NewBlobClient("dst" + string(rune('0'+i)))
		if _, err := dst.StartCopyFromURL(ctx, src, nil); err != nil {
			t.Fatalf("copy from %s: %v", src, err)
		}
		if got, err := download(ctx, primary, "sas", "dst"+string(rune('0'+i))); err != nil || got != "copied" {
			t.Fatalf("copy from %s: %q, %v", src, got, err)
		}
	}
	// A host-style name of an unknown account is not a source of this emulator.
	dst := primary.ServiceClient().NewContainerClient("sas").NewBlobClient("dst")
	_, err = dst.StartCopyFromURL(ctx, strings.Replace(pURL, "devstoreaccount1", "nosuchacct", 1)+"/sas/src", nil)
	if !bloberror.HasCode(err, bloberror.CannotVerifyCopySource) {
		t.Fatalf("copy from unknown account: %v, want CannotVerifyCopySource", err)
	}
}

// TestHostStyleFaultsByEndpoint checks that fault rules see the endpoint a
// host-style name addresses: a primary outage leaves the -secondary name
// readable on the same listener.
func TestHostStyleFaultsByEndpoint(t *testing.T) {
	emu := start(t, emulator.Options{NoSecondaryListener: true})
	ctx := context.Background()
	primary := sharedKeyClient(t, emu, emu.HostStyleURL(emulator.Primary, ""))
	secondary := sharedKeyClient(t, emu, emu.HostStyleURL(emulator.Secondary, ""))
	if _, err := primary.CreateContainer(ctx, "faultc", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := primary.UploadBuffer(ctx, "faultc", "b", []byte("x"), nil); err != nil {
		t.Fatal(err)
	}
	waitReplicated(t, emu)
	if _, err := emu.Faults().Add(fault.Rule{Endpoint: fault.Primary, Action: fault.Action{Status: http.StatusServiceUnavailable}}); err != nil {
		t.Fatal(err)
	}
	var re *azcore.ResponseError
	if _, err := download(ctx, primary, "faultc", "b"); !errors.As(err, &re) || re.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("primary read during outage: %v, want 503", err)
	}
	if got, err := download(ctx, secondary, "faultc", "b"); err != nil || got != "x" {
		t.Fatalf("secondary read during primary outage: %q, %v", got, err)
	}
}

// TestTLSOptions checks that TLS and OAuth options are validated: a TLS
// configuration needs a certificate, and Start serves OAuth only over TLS.
func TestTLSOptions(t *testing.T) {
	cert, err := emulator.NewCertificate()
	if err != nil {
		t.Fatal(err)
	}
	noCert := cert.ServerTLS()
	noCert.Certificates = nil
	tests := []struct {
		name string
		opts emulator.Options
		ok   bool
	}{
		{"tls", emulator.Options{TLS: cert.ServerTLS()}, true},
		{"tls and oauth", emulator.Options{TLS: cert.ServerTLS(), OAuth: true}, true},
		{"oauth without tls", emulator.Options{OAuth: true}, false},
		{"tls without certificate", emulator.Options{TLS: noCert}, false},
	}
	for _, tt := range tests {
		emu, err := emulator.Start(context.Background(), tt.opts)
		if err == nil {
			_ = emu.Close()
		}
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, emulator.ErrInvalidOptions)) {
			t.Errorf("%s: Start() = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

// TestRefuseOverTLSKeepsControlAPI: over HTTPS a refused primary resets
// Blob requests on its listener while the control API on it still answers
// (TLS sits under the refuse listener, which sees the plain request).
func TestRefuseOverTLSKeepsControlAPI(t *testing.T) {
	cert, err := emulator.NewCertificate()
	if err != nil {
		t.Fatal(err)
	}
	emu := start(t, emulator.Options{TLS: cert.ServerTLS()})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	hc := emu.HTTPClient()
	hc.Transport.(*http.Transport).DisableKeepAlives = true
	hc.Timeout = 10 * time.Second
	get := func(u string) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		return resp.Body.Close()
	}
	blobURL := emu.HostStyleURL(emulator.Primary, "") + "/c/b"
	if err := get(blobURL); err != nil {
		t.Fatalf("before the rule: %v", err)
	}
	if _, err := emu.Faults().Add(fault.Rule{Endpoint: fault.Primary, Action: fault.Action{Refuse: true}}); err != nil {
		t.Fatal(err)
	}
	if err := get(blobURL); err == nil {
		t.Fatal("the refused primary answered over TLS")
	}
	ctl := &control.Client{BaseURL: emu.URL(), HTTP: hc}
	if n, err := ctl.ClearFaults(ctx); err != nil || n != 1 {
		t.Fatalf("clearing the faults over TLS through the refused listener: %d, %v", n, err)
	}
	if err := get(blobURL); err != nil {
		t.Fatalf("after the outage: %v", err)
	}
}
