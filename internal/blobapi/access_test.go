package blobapi_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
)

func TestSAS(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("ctr")
	e.mustUpload("ctr", "b", []byte("secret"))
	sc := svc(e.client)

	// Account SAS with read+list only.
	u, err := sc.GetSASURL(sas.AccountResourceTypes{Service: true, Container: true, Object: true}, sas.AccountPermissions{Read: true, List: true}, time.Now().Add(time.Hour), nil)
	if err != nil {
		t.Fatal(err)
	}
	ro, err := azblob.NewClientWithNoCredential(u, clientOptions())
	if err != nil {
		t.Fatal(err)
	}
	if got := e.mustDownload(ro, "ctr", "b"); string(got) != "secret" {
		t.Fatalf("SAS download = %q", got)
	}
	if _, err := ro.NewListBlobsFlatPager("ctr", nil).NextPage(ctx()); err != nil {
		t.Fatal(err)
	}
	_, err = ro.UploadBuffer(ctx(), "ctr", "w", []byte("x"), nil)
	wantCode(t, err, 403, bloberror.AuthorizationPermissionMismatch)

	// Service SAS for one blob.
	bc := sc.NewContainerClient("ctr").NewBlobClient("b")
	bu, err := bc.GetSASURL(sas.BlobPermissions{Read: true}, time.Now().Add(time.Hour), nil)
	if err != nil {
		t.Fatal(err)
	}
	bsas, err := blob.NewClientWithNoCredential(bu, &blob.ClientOptions{ClientOptions: clientOptions().ClientOptions})
	if err != nil {
		t.Fatal(err)
	}
	r, err := bsas.DownloadStream(ctx(), nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	_, err = bsas.Delete(ctx(), nil)
	wantCode(t, err, 403, "")

	// Expired SAS.
	eu, _ := bc.GetSASURL(sas.BlobPermissions{Read: true}, time.Now().Add(-time.Hour), nil)
	expired, _ := blob.NewClientWithNoCredential(eu, &blob.ClientOptions{ClientOptions: clientOptions().ClientOptions})
	_, err = expired.GetProperties(ctx(), nil)
	wantCode(t, err, 403, "")

	// Service SAS bound to a stored access policy.
	if _, err := sc.NewContainerClient("ctr").SetAccessPolicy(ctx(), &container.SetAccessPolicyOptions{ContainerACL: []*container.SignedIdentifier{
		{ID: to.Ptr("readers"), AccessPolicy: &container.AccessPolicy{Expiry: to.Ptr(time.Now().Add(time.Hour).UTC()), Permission: to.Ptr("rl")}},
	}}); err != nil {
		t.Fatal(err)
	}
	qp, err := sas.BlobSignatureValues{ContainerName: "ctr", Identifier: "readers", Protocol: sas.ProtocolHTTPSandHTTP}.SignWithSharedKey(e.cred)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := container.NewClientWithNoCredential(e.primaryURL()+"ctr?"+qp.Encode(), &container.ClientOptions{ClientOptions: clientOptions().ClientOptions})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.NewListBlobsFlatPager(nil).NextPage(ctx()); err != nil {
		t.Fatalf("list with stored-policy SAS: %v", err)
	}

	// A wrong key.
	bad, _ := azblob.NewSharedKeyCredential(devAccount, base64Std("not the key"))
	bc2, _ := azblob.NewClientWithSharedKeyCredential(e.primaryURL(), bad, clientOptions())
	_, err = bc2.NewListContainersPager(nil).NextPage(ctx())
	wantCode(t, err, 403, bloberror.AuthenticationFailed)
}

func TestAnonymousAccess(t *testing.T) {
	e := newEnv(t)
	for name, access := range map[string]*container.PublicAccessType{
		"private":  nil,
		"blobonly": to.Ptr(container.PublicAccessTypeBlob),
		"whole":    to.Ptr(container.PublicAccessTypeContainer),
	} {
		if _, err := e.client.CreateContainer(ctx(), name, &container.CreateOptions{Access: access}); err != nil {
			t.Fatal(err)
		}
		e.mustUpload(name, "b", []byte("data"))
	}
	anon, err := azblob.NewClientWithNoCredential(e.primaryURL(), clientOptions())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		container         string
		read, list, props bool
	}{
		{"private", false, false, false},
		{"blobonly", true, false, false},
		{"whole", true, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.container, func(t *testing.T) {
			_, err := anon.DownloadStream(ctx(), tt.container, "b", nil)
			expectAllowed(t, "read", err, tt.read)
			_, err = anon.ServiceClient().NewContainerClient(tt.container).NewBlobClient("b").GetProperties(ctx(), nil)
			expectAllowed(t, "blob properties", err, tt.read)
			_, err = anon.NewListBlobsFlatPager(tt.container, nil).NextPage(ctx())
			expectAllowed(t, "list", err, tt.list)
			_, err = anon.ServiceClient().NewContainerClient(tt.container).GetProperties(ctx(), nil)
			expectAllowed(t, "container properties", err, tt.props)
			// Writes are never anonymous.
			_, err = anon.UploadBuffer(ctx(), tt.container, "w", []byte("x"), nil)
			expectAllowed(t, "write", err, false)
			_, err = anon.ServiceClient().NewContainerClient(tt.container).GetAccessPolicy(ctx(), nil)
			expectAllowed(t, "get acl", err, false)
		})
	}
	_, err = anon.NewListContainersPager(nil).NextPage(ctx())
	expectAllowed(t, "list containers", err, false)
	// A missing container looks like a private one: nothing leaks.
	_, err = anon.DownloadStream(ctx(), "missing", "b", nil)
	expectAllowed(t, "read from a missing container", err, false)
	// Anonymous clients see only committed blocks.
	_, err = anon.ServiceClient().NewContainerClient("whole").NewBlockBlobClient("b").GetBlockList(ctx(), blockblob.BlockListTypeAll, nil)
	expectAllowed(t, "uncommitted block list", err, false)
}

func expectAllowed(t *testing.T, what string, err error, allowed bool) {
	t.Helper()
	if allowed && err != nil {
		t.Errorf("%s: unexpected error %v", what, err)
	}
	if !allowed {
		if err == nil {
			t.Errorf("%s: anonymous request succeeded", what)
			return
		}
		// 403, as the emulator's specification asks (real Azure hides
		// private resources behind 404 ResourceNotFound instead).
		wantCode(t, err, 403, "AuthorizationFailure")
	}
}

func TestSecondary(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("ctr")
	e.mustUpload("ctr", "b", []byte("v1"))

	// Before replication, the secondary has nothing.
	_, err := e.secClient.DownloadStream(ctx(), "ctr", "b", nil)
	wantCode(t, err, 404, bloberror.ContainerNotFound)
	e.sync()
	if got := e.mustDownload(e.secClient, "ctr", "b"); string(got) != "v1" {
		t.Fatalf("secondary = %q", got)
	}
	e.mustUpload("ctr", "b", []byte("v2"))
	if got := e.mustDownload(e.secClient, "ctr", "b"); string(got) != "v1" {
		t.Fatalf("secondary before sync = %q, want the old version", got)
	}
	e.sync()
	if got := e.mustDownload(e.secClient, "ctr", "b"); string(got) != "v2" {
		t.Fatalf("secondary after sync = %q", got)
	}

	// The distinct secondary host serves the same data at /ACCOUNT/.
	host := e.newClient(e.secSrv.URL + "/" + devAccount + "/")
	if got := e.mustDownload(host, "ctr", "b"); string(got) != "v2" {
		t.Fatalf("secondary host = %q", got)
	}
	pager := host.NewListBlobsFlatPager("ctr", nil)
	page, err := pager.NextPage(ctx())
	if err != nil || len(page.Segment.BlobItems) != 1 {
		t.Fatalf("secondary list: %v %v", err, page)
	}

	// Every write is refused on both secondary forms.
	for name, c := range map[string]*azblob.Client{"path": e.secClient, "host": host} {
		t.Run("writes refused "+name, func(t *testing.T) {
			writes := map[string]func() error{
				"create container": func() error { _, err := c.CreateContainer(ctx(), "newone", nil); return err },
				"delete container": func() error { _, err := c.DeleteContainer(ctx(), "ctr", nil); return err },
				"put blob":         func() error { _, err := c.UploadBuffer(ctx(), "ctr", "b", []byte("x"), nil); return err },
				"delete blob":      func() error { _, err := c.DeleteBlob(ctx(), "ctr", "b", nil); return err },
				"set metadata": func() error {
					_, err := c.ServiceClient().NewContainerClient("ctr").NewBlobClient("b").SetMetadata(ctx(), nil, nil)
					return err
				},
				"stage block": func() error {
					_, err := c.ServiceClient().NewContainerClient("ctr").NewBlockBlobClient("b").StageBlock(ctx(), blockID(1), streamOf([]byte("x")), nil)
					return err
				},
				"service properties": func() error {
					_, err := c.ServiceClient().SetProperties(ctx(), &service.SetPropertiesOptions{DefaultServiceVersion: to.Ptr("2020-10-02")})
					return err
				},
			}
			for wname, w := range writes {
				err := w()
				if err == nil {
					t.Errorf("%s succeeded on the secondary", wname)
					continue
				}
				wantCode(t, err, 403, "InsufficientAccountPermissions")
			}
		})
	}
	if got := e.mustDownload(e.client, "ctr", "b"); string(got) != "v2" {
		t.Fatalf("primary changed by refused secondary writes: %q", got)
	}
}

func TestServiceStats(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("ctr")
	_, err := svc(e.client).GetStatistics(ctx(), nil)
	wantCode(t, err, 400, bloberror.InvalidQueryParameterValue)
	e.sync()
	st, err := svc(e.secClient).GetStatistics(ctx(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.GeoReplication == nil || *st.GeoReplication.Status != "live" || st.GeoReplication.LastSyncTime == nil ||
		time.Since(*st.GeoReplication.LastSyncTime) > time.Minute {
		t.Fatalf("stats: %+v", st.GeoReplication)
	}
	host := e.newClient(e.secSrv.URL + "/" + devAccount + "/")
	if _, err := svc(host).GetStatistics(ctx(), nil); err != nil {
		t.Fatal(err)
	}
}

func TestBadInput(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("ctr")
	e.mustUpload("ctr", "b", []byte("x"))
	long := strings.Repeat("a", 1025)
	blockList := func(s string) io.Reader { return strings.NewReader(s) }
	tests := []struct {
		name   string
		method string
		path   string
		hdr    map[string]string
		body   io.Reader
		status int
		code   string
	}{
		{"unknown account", "GET", "/nosuchacct/ctr?restype=container", nil, nil, 403, "AuthenticationFailed"},
		{"invalid account name", "GET", "/Bad_Acct/ctr?restype=container", nil, nil, 400, "InvalidUri"},
		{"root path", "GET", "/", nil, nil, 400, "InvalidUri"},
		{"container name uppercase", "PUT", "/" + devAccount + "/Upper?restype=container", nil, nil, 400, "InvalidResourceName"},
		{"container name double hyphen", "PUT", "/" + devAccount + "/a--b?restype=container", nil, nil, 400, "InvalidResourceName"},
		{"container name too short", "PUT", "/" + devAccount + "/ab?restype=container", nil, nil, 400, "OutOfRangeInput"},
		{"container name too long", "PUT", "/" + devAccount + "/" + strings.Repeat("a", 64) + "?restype=container", nil, nil, 400, "OutOfRangeInput"},
		{"blob name too long", "PUT", "/" + devAccount + "/ctr/" + long, map[string]string{"x-ms-blob-type": "BlockBlob"}, strings.NewReader("x"), 400, "OutOfRangeInput"},
		{"unknown comp", "GET", "/" + devAccount + "/ctr?restype=container&comp=bogus", nil, nil, 400, "InvalidQueryParameterValue"},
		{"unknown blob comp", "PUT", "/" + devAccount + "/ctr/b?comp=frobnicate", nil, nil, 400, "InvalidQueryParameterValue"},
		{"unknown restype", "GET", "/" + devAccount + "/ctr?restype=bogus", nil, nil, 400, "InvalidQueryParameterValue"},
		{"service without comp", "GET", "/" + devAccount + "/", nil, nil, 400, "InvalidQueryParameterValue"},
		{"unsupported verb", "POST", "/" + devAccount + "/ctr?restype=container", nil, nil, 405, "UnsupportedHttpVerb"},
		{"malformed query", "GET", "/" + devAccount + "/ctr?restype=container&x=%zz", nil, nil, 400, "InvalidQueryParameterValue"},
		{"bad maxresults", "GET", "/" + devAccount + "/?comp=list&maxresults=-4", nil, nil, 400, "InvalidQueryParameterValue"},
		{"missing blob type", "PUT", "/" + devAccount + "/ctr/nb", nil, strings.NewReader("x"), 400, "MissingRequiredHeader"},
		{"page blob without length", "PUT", "/" + devAccount + "/ctr/nb", map[string]string{"x-ms-blob-type": "PageBlob"}, strings.NewReader(""), 400, "MissingRequiredHeader"},
		{"bad Content-MD5", "PUT", "/" + devAccount + "/ctr/nb", map[string]string{"x-ms-blob-type": "BlockBlob", "Content-MD5": "!!"}, strings.NewReader("x"), 400, "InvalidMd5"},
		{"invalid metadata name", "PUT", "/" + devAccount + "/ctr/nb", map[string]string{"x-ms-blob-type": "BlockBlob", "x-ms-meta-1abc": "v"}, strings.NewReader("x"), 400, "InvalidMetadata"},
		{"metadata name with hyphen", "PUT", "/" + devAccount + "/ctr2?restype=container", map[string]string{"x-ms-meta-my-key": "v"}, nil, 400, "InvalidMetadata"},
		{"non-ASCII metadata value", "PUT", "/" + devAccount + "/ctr/nb2", map[string]string{"x-ms-blob-type": "BlockBlob", "x-ms-meta-v": "caf\xc3\xa9"}, strings.NewReader("x"), 400, "InvalidMetadata"},
		{"metadata value with a byte XML cannot carry", "PUT", "/" + devAccount + "/ctr/b?comp=metadata", map[string]string{"x-ms-meta-v": "a\xffb"}, nil, 400, "InvalidMetadata"},
		{"metadata too large", "PUT", "/" + devAccount + "/ctr/b?comp=metadata", map[string]string{"x-ms-meta-big": strings.Repeat("v", 9000)}, nil, 400, "MetadataTooLarge"},
		{"bad block id", "PUT", "/" + devAccount + "/ctr/nb?comp=block&blockid=***", nil, strings.NewReader("x"), 400, "InvalidQueryParameterValue"},
		{"missing block id", "PUT", "/" + devAccount + "/ctr/nb?comp=block", nil, strings.NewReader("x"), 400, "MissingRequiredQueryParameter"},
		{"block id too long", "PUT", "/" + devAccount + "/ctr/nb?comp=block&blockid=" + base64Std(strings.Repeat("x", 65)), nil, strings.NewReader("x"), 400, "InvalidQueryParameterValue"},
		{"malformed block list", "PUT", "/" + devAccount + "/ctr/nb?comp=blocklist", nil, blockList("<BlockList><Latest>abc</Latest"), 400, "InvalidXmlDocument"},
		{"block list wrong root", "PUT", "/" + devAccount + "/ctr/nb?comp=blocklist", nil, blockList("<Blocks/>"), 400, "InvalidXmlDocument"},
		{"block list unknown element", "PUT", "/" + devAccount + "/ctr/nb?comp=blocklist", nil, blockList("<BlockList><Newest>YQ==</Newest></BlockList>"), 400, "InvalidXmlDocument"},
		{"block list bad id", "PUT", "/" + devAccount + "/ctr/nb?comp=blocklist", nil, blockList("<BlockList><Latest>!!</Latest></BlockList>"), 400, "InvalidBlockList"},
		{"empty block list body", "PUT", "/" + devAccount + "/ctr/nb?comp=blocklist", nil, blockList(""), 400, "InvalidXmlDocument"},
		{"malformed service properties", "PUT", "/" + devAccount + "/?restype=service&comp=properties", nil, blockList("<StorageServiceProperties><Cors>"), 400, "InvalidXmlDocument"},
		{"service properties with a prefix declared on the root", "PUT", "/" + devAccount + "/?restype=service&comp=properties", nil, blockList(`<StorageServiceProperties xmlns:a="urn:x"><Cors><a:CorsRule/></Cors></StorageServiceProperties>`), 400, "InvalidXmlDocument"},
		{"malformed ACL", "PUT", "/" + devAccount + "/ctr?restype=container&comp=acl", nil, blockList("<SignedIdentifiers><SignedIdentifier>"), 400, "InvalidXmlDocument"},
		{"ACL bad date", "PUT", "/" + devAccount + "/ctr?restype=container&comp=acl", nil, blockList("<SignedIdentifiers><SignedIdentifier><Id>a</Id><AccessPolicy><Start>yesterday</Start></AccessPolicy></SignedIdentifier></SignedIdentifiers>"), 400, "InvalidXmlDocument"},
		{"bad public access", "PUT", "/" + devAccount + "/ctr3?restype=container", map[string]string{"x-ms-blob-public-access": "world"}, nil, 400, "InvalidHeaderValue"},
		{"bad range", "GET", "/" + devAccount + "/ctr/b", map[string]string{"x-ms-range": "bytes=a-b"}, nil, 400, "InvalidHeaderValue"},
		{"lease break period", "PUT", "/" + devAccount + "/ctr/b?comp=lease", map[string]string{"x-ms-lease-action": "break", "x-ms-lease-break-period": "99"}, nil, 400, "InvalidHeaderValue"},
		{"lease acquire without duration", "PUT", "/" + devAccount + "/ctr/b?comp=lease", map[string]string{"x-ms-lease-action": "acquire"}, nil, 400, "MissingRequiredHeader"},
		{"bad tier", "PUT", "/" + devAccount + "/ctr/b?comp=tier", map[string]string{"x-ms-access-tier": "Frozen"}, nil, 400, "InvalidHeaderValue"},
		{"bad copy source", "PUT", "/" + devAccount + "/ctr/cp", map[string]string{"x-ms-copy-source": "::not a url"}, nil, 400, "InvalidHeaderValue"},
		{"container lease id without lease", "DELETE", "/" + devAccount + "/ctr?restype=container", map[string]string{"x-ms-lease-id": "x"}, nil, 412, "LeaseNotPresentWithContainerOperation"},
		{"stats on primary", "GET", "/" + devAccount + "/?restype=service&comp=stats", nil, nil, 400, "InvalidQueryParameterValue"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := e.do(tt.method, tt.path, tt.hdr, tt.body)
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status || resp.Header.Get("x-ms-error-code") != tt.code {
				t.Fatalf("got %d %q, want %d %q: %s", resp.StatusCode, resp.Header.Get("x-ms-error-code"), tt.status, tt.code, body)
			}
			if resp.Header.Get("x-ms-request-id") == "" || resp.Header.Get("x-ms-version") == "" || resp.Header.Get("Date") == "" {
				t.Errorf("missing common headers: %v", resp.Header)
			}
			if tt.method != "HEAD" && !strings.Contains(string(body), "<Code>"+tt.code+"</Code>") {
				t.Errorf("body lacks the error code: %s", body)
			}
			// The server keeps serving.
			if got := e.mustDownload(e.client, "ctr", "b"); string(got) != "x" {
				t.Fatalf("after bad input: %q", got)
			}
		})
	}
	// Nothing was created by the rejected uploads.
	_, err := e.client.ServiceClient().NewContainerClient("ctr").NewBlobClient("nb").GetProperties(ctx(), nil)
	wantCode(t, err, 404, bloberror.BlobNotFound)
}

// TestTruncatedUpload sends a Put Blob whose body is shorter than its
// Content-Length and then disconnects: nothing may be committed.
func TestTruncatedUpload(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("ctr")
	sasq := e.accountSAS()
	paths := []string{"/" + devAccount + "/ctr/partial?" + sasq, "/" + devAccount + "/ctr/partial?comp=block&blockid=" + blockID(1) + "&" + sasq}
	for _, declared := range []int{1000, 9 << 20} { // one-buffer and chunked read paths
		for _, path := range paths {
			conn, err := net.Dial("tcp", e.srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(conn, "PUT %s HTTP/1.1\r\nHost: %s\r\nx-ms-blob-type: BlockBlob\r\nx-ms-version: 2025-01-05\r\nContent-Length: %d\r\n\r\n%s",
				path, e.srv.Listener.Addr(), declared, strings.Repeat("z", 100))
			if tc, ok := conn.(*net.TCPConn); ok {
				_ = tc.CloseWrite()
			}
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("no answer to a truncated upload: %v", err)
			}
			if resp.StatusCode != 400 || resp.Header.Get("x-ms-error-code") != "InvalidHeaderValue" {
				t.Errorf("truncated upload answered %d %q", resp.StatusCode, resp.Header.Get("x-ms-error-code"))
			}
			resp.Body.Close()
			conn.Close()
		}
	}
	_, err := e.client.ServiceClient().NewContainerClient("ctr").NewBlobClient("partial").GetProperties(ctx(), nil)
	wantCode(t, err, 404, bloberror.BlobNotFound)
	bl, err := e.client.ServiceClient().NewContainerClient("ctr").NewBlockBlobClient("partial").GetBlockList(ctx(), "all", nil)
	if err == nil && len(bl.UncommittedBlocks) > 0 {
		t.Errorf("truncated Put Block staged a block")
	}
}

// TestRootContainer checks that /ACCOUNT/NAME without restype addresses a
// blob in $root.
func TestRootContainer(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("$root")
	resp := e.do("PUT", "/"+devAccount+"/top.txt", map[string]string{"x-ms-blob-type": "BlockBlob"}, strings.NewReader("root blob"))
	if resp.StatusCode != 201 {
		t.Fatalf("put root blob: %d", resp.StatusCode)
	}
	if got := e.mustDownload(e.client, "$root", "top.txt"); string(got) != "root blob" {
		t.Fatalf("root blob = %q", got)
	}
}

func TestLimitsAndRecovery(t *testing.T) {
	e := newEnv(t, envOptions{maxBlobSize: 1000, keys: func(a string) ([]byte, bool) {
		if a == "panicky" {
			panic("injected")
		}
		return nil, false
	}})
	e.mustCreate("ctr")
	_, err := e.client.UploadBuffer(ctx(), "ctr", "big", make([]byte, 1001), nil)
	wantCode(t, err, 413, bloberror.RequestBodyTooLarge)
	_, err = e.client.ServiceClient().NewContainerClient("ctr").NewBlockBlobClient("big").StageBlock(ctx(), blockID(1), streamOf(make([]byte, 2000)), nil)
	wantCode(t, err, 413, bloberror.RequestBodyTooLarge)
	e.mustUpload("ctr", "fits", make([]byte, 1000))

	// A panic is answered with 500 InternalError and the server goes on.
	resp := e.raw("GET", e.srv.URL+"/panicky/ctr?restype=container", nil, nil)
	if resp.StatusCode != 500 || resp.Header.Get("x-ms-error-code") != "InternalError" {
		t.Fatalf("panic answered %d %q", resp.StatusCode, resp.Header.Get("x-ms-error-code"))
	}
	if got := e.mustDownload(e.client, "ctr", "fits"); len(got) != 1000 {
		t.Fatalf("after panic: %d bytes", len(got))
	}

	// HEAD errors carry the code in x-ms-error-code without a body.
	resp = e.do("HEAD", "/"+devAccount+"/ctr/missing", nil, nil)
	if resp.StatusCode != 404 || resp.Header.Get("x-ms-error-code") != "BlobNotFound" {
		t.Errorf("HEAD missing: %d %q", resp.StatusCode, resp.Header.Get("x-ms-error-code"))
	}
	// Chunked uploads without Content-Length are refused.
	req, _ := http.NewRequest("PUT", e.srv.URL+"/"+devAccount+"/ctr/chunked?"+e.accountSAS(), io.MultiReader(strings.NewReader("abc")))
	req.Header.Set("x-ms-blob-type", "BlockBlob")
	req.ContentLength = -1
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if r2.StatusCode != 411 || r2.Header.Get("x-ms-error-code") != "MissingContentLengthHeader" {
		t.Errorf("chunked upload: %d %q", r2.StatusCode, r2.Header.Get("x-ms-error-code"))
	}
}
