package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/geoblob/geoblob/emulator"
)

// TestServeHTTPSOAuth runs `geoblob serve --cert --key --oauth` and uses
// the host-style URL it prints with a bearer token, and its https
// connection string with the account key.
func TestServeHTTPSOAuth(t *testing.T) {
	cert, err := emulator.NewCertificate()
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, err := cert.WriteFiles(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s := startServe(t, "--cert", certFile, "--key", keyFile, "--oauth")
	var hostURL string
	for _, line := range strings.Split(s.output(), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "host-style primary:"); ok {
			hostURL = strings.TrimSpace(v)
		}
	}
	if !strings.HasPrefix(hostURL, "https://devstoreaccount1.blob.localhost:") {
		t.Fatalf("no https host-style URL in:\n%s", s.output())
	}
	if !strings.HasPrefix(s.ConnectionString, "DefaultEndpointsProtocol=https;") {
		t.Fatalf("connection string %q is not https", s.ConnectionString)
	}
	hc := emulator.NewHTTPClient(cert.Pool())
	t.Cleanup(hc.CloseIdleConnections)
	opts := &azblob.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: hc}}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tokenClient, err := azblob.NewClient(hostURL, &emulator.DevTokenCredential{}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tokenClient.CreateContainer(ctx, "tls", nil); err != nil {
		t.Fatal(err)
	}
	keyClient, err := azblob.NewClientFromConnectionString(s.ConnectionString, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := keyClient.UploadBuffer(ctx, "tls", "b", []byte("over TLS"), nil); err != nil {
		t.Fatal(err)
	}
	resp, err := tokenClient.DownloadStream(ctx, "tls", "b", nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
}
