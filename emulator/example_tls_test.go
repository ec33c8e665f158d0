package emulator_test

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/geoblob/geoblob/emulator"
)

// The emulator as real accounts are reached: HTTPS with a throwaway
// certificate, host-style names, and an Entra ID bearer token (unsigned,
// which only the emulator accepts).
func Example_realAccountAddressing() {
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

	// HTTPClient trusts the certificate and dials *.localhost to loopback.
	hc := emu.HTTPClient()
	defer hc.CloseIdleConnections()
	opts := &azblob.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: hc}}
	client, err := azblob.NewClient(emu.HostStyleURL(emulator.Primary, ""), &emulator.DevTokenCredential{}, opts)
	if err != nil {
		panic(err)
	}
	if _, err := client.CreateContainer(ctx, "docs", nil); err != nil {
		panic(err)
	}
	if _, err := client.UploadBuffer(ctx, "docs", "hello.txt", []byte("hello over TLS with a token"), nil); err != nil {
		panic(err)
	}
	resp, err := client.DownloadStream(ctx, "docs", "hello.txt", nil)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		panic(err)
	}
	fmt.Println(string(b))
	fmt.Println(strings.HasPrefix(emu.HostStyleURL(emulator.Secondary, ""), "https://devstoreaccount1-secondary.blob.localhost:"))
	// Output:
	// hello over TLS with a token
	// true
}
