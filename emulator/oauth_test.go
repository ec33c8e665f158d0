package emulator_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/geoblob/geoblob/emulator"
)

func tlsEmulator(t *testing.T, oauth bool) *emulator.Emulator {
	t.Helper()
	cert, err := emulator.NewCertificate()
	if err != nil {
		t.Fatal(err)
	}
	return start(t, emulator.Options{TLS: cert.ServerTLS(), OAuth: oauth})
}

// TestOAuthBearerTokens drives the emulator with azblob's token
// credential path over HTTPS: a valid token reads and writes on the
// host-style primary and reads the secondary; refused tokens get Azure's
// 401 InvalidAuthenticationInfo with a bearer challenge.
func TestOAuthBearerTokens(t *testing.T) {
	emu := tlsEmulator(t, true)
	ctx := context.Background()
	newClient := func(url string, cred azcore.TokenCredential) *azblob.Client {
		c, err := azblob.NewClient(url, cred, hostOptions(t, emu))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	good := &emulator.DevTokenCredential{}
	primary := newClient(emu.HostStyleURL(emulator.Primary, ""), good)
	if _, err := primary.CreateContainer(ctx, "oauth", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := primary.UploadBuffer(ctx, "oauth", "b", []byte("token"), nil); err != nil {
		t.Fatal(err)
	}
	waitReplicated(t, emu)
	for _, u := range []string{emu.HostStyleURL(emulator.Secondary, ""), emu.PrimaryURL(), emu.SecondaryURL()} {
		if got, err := download(ctx, newClient(u, good), "oauth", "b"); err != nil || got != "token" {
			t.Fatalf("read at %s: %q, %v", u, got, err)
		}
	}

	tests := []struct {
		name   string
		cred   *emulator.DevTokenCredential
		detail string
	}{
		{"expired", &emulator.DevTokenCredential{Lifetime: -time.Hour}, "expired"},
		{"wrong audience", &emulator.DevTokenCredential{Audience: "https://management.azure.com"}, "Audience"},
		{"wrong issuer", &emulator.DevTokenCredential{Issuer: "https://issuer.example/t/"}, "Issuer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := download(ctx, newClient(emu.HostStyleURL(emulator.Primary, ""), tt.cred), "oauth", "b")
			var re *azcore.ResponseError
			if !errors.As(err, &re) || re.StatusCode != http.StatusUnauthorized || re.ErrorCode != "InvalidAuthenticationInfo" {
				t.Fatalf("read = %v; want 401 InvalidAuthenticationInfo", err)
			}
			if !strings.Contains(err.Error(), tt.detail) {
				t.Fatalf("error %v does not say %q", err, tt.detail)
			}
			ch := re.RawResponse.Header.Get("WWW-Authenticate")
			if !strings.HasPrefix(ch, "Bearer authorization_uri=https://login.microsoftonline.com/") || !strings.HasSuffix(ch, " resource_id=https://storage.azure.com") {
				t.Fatalf("WWW-Authenticate %q", ch)
			}
		})
	}
}

// TestBearerRefusedWithoutOAuthOption: over HTTPS but without
// Options.OAuth, a valid token is refused with 403 AuthenticationFailed.
func TestBearerRefusedWithoutOAuthOption(t *testing.T) {
	emu := tlsEmulator(t, false)
	c, err := azblob.NewClient(emu.HostStyleURL(emulator.Primary, ""), &emulator.DevTokenCredential{}, hostOptions(t, emu))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateContainer(context.Background(), "nooauth", nil)
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusForbidden || re.ErrorCode != "AuthenticationFailed" {
		t.Fatalf("create = %v; want 403 AuthenticationFailed", err)
	}
}

// TestBearerOverHTTPRefused serves the OAuth handler without TLS: a valid
// token sent in the clear is refused, as Azure refuses it.
func TestBearerOverHTTPRefused(t *testing.T) {
	emu, err := emulator.New(emulator.Options{OAuth: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emu.Close() })
	srv := httptest.NewServer(emu.Handler())
	t.Cleanup(srv.Close)
	tok, err := (&emulator.DevTokenCredential{}).GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{"https://storage.azure.com/.default"}})
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPut, srv.URL+"/devstoreaccount1/plain?restype=container", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	req.Header.Set("x-ms-version", "2025-11-05")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body strings.Builder
	_, _ = io.Copy(&body, resp.Body)
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("x-ms-error-code") != "AuthenticationFailed" || !strings.Contains(body.String(), "HTTPS") {
		t.Fatalf("bearer over HTTP: %d %s %s", resp.StatusCode, resp.Header.Get("x-ms-error-code"), body.String())
	}
}
