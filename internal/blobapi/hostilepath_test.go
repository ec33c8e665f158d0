package blobapi_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
)

// allBlobPerms is every container SAS permission the tests below use.
var allBlobPerms = sas.ContainerPermissions{Read: true, Add: true, Create: true, Write: true, Delete: true, List: true}

// rawRequest sends method to the request target path exactly as written
// (dot segments, percent-encodings and all), with the query q.
func (e *env) rawRequest(method, path, q string, body []byte) (int, string, []byte) {
	e.t.Helper()
	req, err := http.NewRequestWithContext(ctx(), method, e.srv.URL, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.URL.Opaque = path
	req.URL.RawQuery = q
	if method == http.MethodPut {
		req.Header.Set("x-ms-blob-type", "BlockBlob")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("x-ms-error-code"), b
}

// hostilePaths are request targets (after /ACCOUNT) that try to leave
// container ctra, or that carry names the emulator must refuse.
var hostilePaths = []struct {
	path string
	// blob is the name the path gives in ctra ("" when the request is
	// refused before any store access, with code).
	blob string
	code string
}{
	{path: "/ctra/../ctrb/secret", blob: "../ctrb/secret"},
	{path: "/ctra/%2e%2e/ctrb/secret", blob: "../ctrb/secret"},
	{path: "/ctra/%2E%2E%2Fctrb%2Fsecret", blob: "../ctrb/secret"},
	{path: "/ctra%2F..%2Fctrb%2Fsecret", blob: "../ctrb/secret"},
	{path: "/ctra/./../ctrb/secret", blob: "./../ctrb/secret"},
	{path: "/ctra/..%5Cctrb%5Csecret", blob: "../ctrb/secret"},
	{path: "/ctra//../ctrb/secret", blob: "/../ctrb/secret"},
	{path: "/ctra/..", blob: ".."},
	{path: "/ctra/.", blob: "."},
	{path: "/ctra/x/..", blob: "x/.."},
	{path: "/../ctrb/secret", code: "InvalidResourceName"},
	{path: "/%2e%2e/ctrb/secret", code: "InvalidResourceName"},
	{path: "/ctra/a%00b", code: "InvalidResourceName"},
	{path: "/ctra/%ff%fe", code: "InvalidResourceName"},
	{path: "/ctra/%c0%ae%c0%ae/ctrb/secret", code: "InvalidResourceName"}, // overlong UTF-8 dots
	{path: "/ctra/" + strings.Repeat("n", 1025), code: "OutOfRangeInput"},
	{path: "/ctra/" + strings.Repeat("s/", 254) + "s", code: "InvalidResourceName"},
}

// TestHostilePathsStayInTheirContainer sends each hostile path with GET,
// HEAD, PUT and DELETE under a service SAS for container ctra, an account
// SAS and Shared Key: no answer is a 5xx, none reads container ctrb, and
// ctrb is left exactly as it was. Names are never normalized: a dot
// segment is part of the blob name in ctra.
func TestHostilePathsStayInTheirContainer(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("ctra")
	e.mustCreate("ctrb")
	secret := []byte("SECRET-OF-B")
	e.mustUpload("ctrb", "secret", secret)
	acct := "/" + devAccount
	sasA, sasAll := e.containerSAS("ctra", allBlobPerms), e.accountSAS()

	// A SAS for ctra never reaches ctrb, even by its own name.
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete} {
		if st, code, _ := e.rawRequest(m, acct+"/ctrb/secret", sasA, nil); st != http.StatusForbidden {
			t.Errorf("%s /ctrb/secret with ctra's SAS: %d %s, want 403", m, st, code)
		}
	}
	for _, hp := range hostilePaths {
		for _, q := range []struct{ name, query string }{{"ctra SAS", sasA}, {"account SAS", sasAll}} {
			for _, m := range []string{http.MethodPut, http.MethodGet, http.MethodHead, http.MethodDelete} {
				body := []byte("written through " + hp.path)
				st, code, got := e.rawRequest(m, acct+hp.path, q.query, body)
				where := m + " " + hp.path + " (" + q.name + ")"
				if st >= 500 {
					t.Fatalf("%s: %d %s", where, st, code)
				}
				if bytes.Contains(got, secret) {
					t.Fatalf("%s read ctrb/secret", where)
				}
				if hp.code != "" {
					if st != http.StatusBadRequest || code != hp.code {
						t.Errorf("%s: %d %s, want 400 %s", where, st, code, hp.code)
					}
					continue
				}
				want := map[string]int{http.MethodPut: 201, http.MethodGet: 200, http.MethodHead: 200, http.MethodDelete: 202}[m]
				if st != want {
					t.Errorf("%s: %d %s, want %d", where, st, code, want)
				}
				// The PUT just before wrote the blob the GET reads.
				if m == http.MethodGet && string(got) != string(body) {
					t.Errorf("%s: read %q", where, got)
				}
			}
		}
		// Shared Key, through the SDK's signing of the raw URL.
		bc, err := blob.NewClientWithSharedKeyCredential(e.srv.URL+acct+hp.path, e.cred, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = bc.GetProperties(ctx(), nil)
		if hp.code != "" {
			wantCode(t, err, http.StatusBadRequest, "")
		} else {
			wantCode(t, err, http.StatusNotFound, "BlobNotFound")
		}
	}
	// ctrb is untouched: its one blob, with its content.
	var names []string
	pager := e.client.NewListBlobsFlatPager("ctrb", nil)
	for pager.More() {
		page, err := pager.NextPage(ctx())
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Segment.BlobItems {
			names = append(names, *it.Name)
		}
	}
	if !slices.Equal(names, []string{"secret"}) {
		t.Fatalf("ctrb lists %q, want only secret", names)
	}
	if got := e.mustDownload(e.client, "ctrb", "secret"); !bytes.Equal(got, secret) {
		t.Fatalf("ctrb/secret = %q", got)
	}
}

// hostileNames are blob names that a careless server would normalize,
// decode twice or truncate; each must round-trip exactly.
var hostileNames = []string{
	"a/../b", "./x", "x/.", "..", ".", "...", "x.", "x/", "/x", "x//y", "//",
	"%2e%2e", "a%2Fb", "100%", "%00", "a b", "a+b", "q?x#y", "é/ü/日本",
	"semi;colon", "tab\u00a0nbsp", "ends with space ", strings.Repeat("é", 1024),
	// Characters XML 1.0 cannot carry: listed with Encoded="true".
	"a\uFFFEb", "a\uFFFFb", "a\u0085b",
	strings.Repeat("d/", 253) + "d",
}

// TestHostileNamesRoundTrip: names with dot segments, encoded characters,
// double slashes and the longest allowed lengths are stored, read and
// listed exactly as given, through the SDK with Shared Key and with a
// container SAS.
func TestHostileNamesRoundTrip(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("names")
	e.mustCreate("sasnames")
	sasClient, err := container.NewClientWithNoCredential(e.primaryURL()+"sasnames?"+e.containerSAS("sasnames", allBlobPerms), nil)
	if err != nil {
		t.Fatal(err)
	}
	keyClient := e.client.ServiceClient().NewContainerClient("names")
	for _, cc := range []*container.Client{keyClient, sasClient} {
		for _, name := range hostileNames {
			data := []byte("content of " + name)
			bb := cc.NewBlockBlobClient(name)
			if _, err := bb.Upload(ctx(), streamOf(data), &blockblob.UploadOptions{Metadata: map[string]*string{"n": to.Ptr("1")}}); err != nil {
				t.Fatalf("upload %q: %v", name, err)
			}
			resp, err := bb.DownloadStream(ctx(), nil)
			if err != nil {
				t.Fatalf("download %q: %v", name, err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !bytes.Equal(got, data) {
				t.Errorf("%q read back %q", name, got)
			}
		}
		var listed []string
		pager := cc.NewListBlobsFlatPager(nil)
		for pager.More() {
			page, err := pager.NextPage(ctx())
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range page.Segment.BlobItems {
				listed = append(listed, *it.Name)
			}
		}
		want := slices.Clone(hostileNames)
		slices.Sort(want)
		if !slices.Equal(listed, want) {
			t.Errorf("listing %q\nwant      %q", listed, want)
		}
		for _, name := range hostileNames {
			if _, err := cc.NewBlobClient(name).Delete(ctx(), nil); err != nil {
				t.Errorf("delete %q: %v", name, err)
			}
		}
		_, err := cc.NewBlobClient("a/../b").GetProperties(ctx(), nil)
		var re *azcore.ResponseError
		if !errors.As(err, &re) || re.StatusCode != http.StatusNotFound {
			t.Errorf("after delete: %v", err)
		}
	}
}
