package emulator_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"

	"github.com/geoblob/geoblob/emulator"
)

// corsPageServer serves testdata/browser/cors.html and the browser modules
// of @azure/storage-blob (from testdata/js/node_modules) on a loopback
// origin of its own.
func corsPageServer(t *testing.T, browserDir, jsDir string) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join(browserDir, "cors.html"))
	})
	mux.HandleFunc("GET /events-shim.js", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join(browserDir, "events-shim.js"))
	})
	mux.Handle("GET /m/", http.StripPrefix("/m/", http.FileServer(http.Dir(filepath.Join(jsDir, "node_modules")))))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// TestCORSInBrowser runs the official @azure/storage-blob in headless
// Chromium from a page on another loopback origin than the emulator's:
// with the CORS rules set through the Go SDK, the page reads a blob and its
// metadata (an exposed prefixed header), writes one with metadata (a
// preflighted PUT), lists the container, and reads from the secondary once
// the rules have replicated; from a third origin, which no rule allows,
// the browser blocks the same calls.
//
// It needs Debian's chromium, playwright-core (testdata/browser/install.sh)
// and the testdata/js packages, and skips, saying so, without them.
func TestCORSInBrowser(t *testing.T) {
	chromium := os.Getenv("GEOBLOB_CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		t.Skipf("browser test skipped: no chromium at %s (run testdata/browser/install.sh, or set GEOBLOB_CHROMIUM)", chromium)
	}
	jsDir, node := jsSDK(t)
	browserDir, err := filepath.Abs(filepath.Join("..", "testdata", "browser"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(browserDir, "node_modules", "playwright-core")); err != nil {
		t.Skip("browser test skipped: testdata/browser/node_modules is missing (run testdata/browser/install.sh)")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	emu := start(t, emulator.Options{})
	allowed := corsPageServer(t, browserDir, jsDir)
	other := corsPageServer(t, browserDir, jsDir)

	client := sharedKeyClient(t, emu, emu.PrimaryURL())
	if _, err := client.CreateContainer(ctx, "web", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := client.UploadBuffer(ctx, "web", "hello.txt", []byte("hello, browser"), &azblob.UploadBufferOptions{Metadata: map[string]*string{"colour": to.Ptr("blue")}}); err != nil {
		t.Fatal(err)
	}
	_, err = client.ServiceClient().SetProperties(ctx, &service.SetPropertiesOptions{CORS: []*service.CORSRule{{
		AllowedOrigins:  to.Ptr(allowed.URL),
		AllowedMethods:  to.Ptr("GET,HEAD,PUT"),
		AllowedHeaders:  to.Ptr("x-ms-*,content-type"),
		ExposedHeaders:  to.Ptr("x-ms-*,etag,last-modified,content-length,content-type,content-md5"),
		MaxAgeInSeconds: to.Ptr[int32](60),
	}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := emu.Replication().Wait(ctx); err != nil {
		t.Fatal(err)
	}
	qp, err := sas.AccountSignatureValues{
		Protocol:      sas.ProtocolHTTPSandHTTP,
		ExpiryTime:    time.Now().Add(time.Hour).UTC(),
		Permissions:   (&sas.AccountPermissions{Read: true, Write: true, Create: true, List: true}).String(),
		ResourceTypes: (&sas.AccountResourceTypes{Service: true, Container: true, Object: true}).String(),
	}.SignWithSharedKey(credential(t, emu))
	if err != nil {
		t.Fatal(err)
	}
	signed := "?" + qp.Encode()
	type params struct {
		ServiceURL string `json:"serviceURL"`
		Container  string `json:"container"`
		Blob       string `json:"blob"`
		Upload     string `json:"upload,omitempty"`
	}
	type run struct {
		Name   string `json:"name"`
		Page   string `json:"page"`
		Params params `json:"params"`
	}
	runs, err := json.Marshal([]run{
		{"allowed", allowed.URL + "/", params{emu.PrimaryURL() + signed, "web", "hello.txt", "from-browser.txt"}},
		{"secondary", allowed.URL + "/", params{emu.ServiceURL(emulator.SecondaryPathStyle, "") + signed, "web", "hello.txt", ""}},
		{"other-origin", other.URL + "/", params{emu.PrimaryURL() + signed, "web", "hello.txt", "never.txt"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, node, "cors.mjs")
	cmd.Dir = browserDir
	cmd.Env = append(os.Environ(), "RUNS="+string(runs), "CHROMIUM="+chromium)
	out, err := cmd.CombinedOutput()
	t.Logf("browser script output:\n%s", out)
	if err != nil {
		t.Fatalf("browser script failed: %v", err)
	}
	type result struct {
		OK           bool              `json:"ok"`
		Text         string            `json:"text"`
		Meta         map[string]string `json:"meta"`
		UploadedMeta map[string]string `json:"uploadedMeta"`
		Names        []string          `json:"names"`
		Error        string            `json:"error"`
		Errors       []string          `json:"errors"` // the page's errors
	}
	steps := map[string]result{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var s struct {
			Step string `json:"step"`
		}
		var r result
		if json.Unmarshal(sc.Bytes(), &s) == nil && json.Unmarshal(sc.Bytes(), &r) == nil && s.Step != "" {
			steps[s.Step] = r
		}
	}
	if _, ok := steps["done"]; !ok {
		t.Fatal("the browser script did not finish")
	}
	a := steps["allowed"]
	if !a.OK || a.Text != "hello, browser" || a.Meta["colour"] != "blue" || a.UploadedMeta["by"] != "browser" || !slices.Contains(a.Names, "from-browser.txt") {
		t.Errorf("allowed origin: %+v; want the blob, its metadata, the upload's metadata and a listing", a)
	}
	if len(a.Errors) > 0 {
		t.Errorf("allowed origin: the page logged errors %q", a.Errors)
	}
	if s := steps["secondary"]; !s.OK || s.Text != "hello, browser" || s.Meta["colour"] != "blue" {
		t.Errorf("secondary from the allowed origin: %+v", s)
	}
	if o := steps["other-origin"]; o.OK || o.Error == "" {
		t.Errorf("an origin no rule allows was not blocked: %+v", o)
	}
	if _, err := client.ServiceClient().NewContainerClient("web").NewBlobClient("never.txt").GetProperties(ctx, nil); err == nil {
		t.Error("the blocked origin wrote never.txt")
	}
}
