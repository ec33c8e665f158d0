package geoblob_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/geoblob/geoblob"
	"github.com/geoblob/geoblob/emulator"
	"github.com/geoblob/geoblob/fault"
)

// NewClient with an Entra ID token credential, against the emulator served
// as real accounts are: HTTPS and host-style names. The router derives the
// -secondary host and sends the token there while the primary is down.
func ExampleNewClient_entraIDOverHTTPS() {
	ctx := context.Background()
	cert, err := emulator.NewCertificate()
	if err != nil {
		panic(err)
	}
	emu, err := emulator.Start(ctx, emulator.Options{TLS: cert.ServerTLS(), OAuth: true})
	if err != nil {
		panic(err)
	}
	defer emu.Close()
	hc := emu.HTTPClient() // trusts the certificate, dials *.localhost to loopback
	defer hc.CloseIdleConnections()
	opts := &azblob.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: hc}}

	// With a real account: the https://ACCOUNT.blob.core.windows.net URL and
	// an azidentity credential.
	client, router, err := geoblob.NewClient(emu.HostStyleURL(emulator.Primary, ""), &emulator.DevTokenCredential{}, nil, opts)
	if err != nil {
		panic(err)
	}
	defer router.Close()
	fmt.Println(strings.HasPrefix(router.SecondaryURL(), "https://devstoreaccount1-secondary.blob.localhost:"))

	if _, err := client.CreateContainer(ctx, "docs", nil); err != nil {
		panic(err)
	}
	if _, err := client.UploadBuffer(ctx, "docs", "a.txt", []byte("replicated"), nil); err != nil {
		panic(err)
	}
	if err := emu.Replication().Wait(ctx); err != nil {
		panic(err)
	}
	// The primary's reads fail; the secondary serves them.
	if _, err := emu.Faults().Add(fault.Rule{Endpoint: fault.Primary, Match: fault.Match{Op: fault.Read}, Action: fault.Action{Status: http.StatusServiceUnavailable}}); err != nil {
		panic(err)
	}
	var info geoblob.ReadInfo
	resp, err := client.DownloadStream(geoblob.WithReadInfo(ctx, &info), "docs", "a.txt", nil)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		panic(err)
	}
	fmt.Println(string(b), info.Last().Location)
	// Output:
	// true
	// replicated secondary
}
