package blobapi_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
)

// TestUnmodelledRefused: what the emulator does not model is refused with
// Azure's status and code, and nothing is stored.
func TestUnmodelledRefused(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("ctr")
	e.mustUpload("ctr", "src", []byte("source data"))
	put := map[string]string{"x-ms-blob-type": "BlockBlob"}
	with := func(base map[string]string, k, v string) map[string]string {
		m := map[string]string{k: v}
		for bk, bv := range base {
			m[bk] = bv
		}
		return m
	}
	srcURL := e.primaryURL() + "ctr/src"
	tests := []struct {
		name, method, path string
		hdr                map[string]string
		body               string
		status             int
		code               string
		gone               string // a blob that must not exist afterwards
	}{
		{"tag condition on put block", "PUT", "/" + devAccount + "/ctr/tagged2?comp=block&blockid=" + base64Std("b1"), map[string]string{"x-ms-if-tags": `"a"='b'`}, "x", 400, "UnsupportedHeader", ""},
		{"source tag condition on put blob", "PUT", "/" + devAccount + "/ctr/tagged", with(put, "x-ms-source-if-tags", `"a"='b'`), "x", 400, "UnsupportedHeader", "tagged"},
		{"copy source tag option", "PUT", "/" + devAccount + "/ctr/tagged3", map[string]string{"x-ms-copy-source": srcURL, "x-ms-copy-source-tag-option": "COPY"}, "", 400, "UnsupportedHeader", "tagged3"},
		{"rehydrate priority on put blob", "PUT", "/" + devAccount + "/ctr/tiered", with(put, "x-ms-rehydrate-priority", "High"), "x", 400, "UnsupportedHeader", "tiered"},
		{"CRC64 on set container ACL", "PUT", "/" + devAccount + "/ctr?restype=container&comp=acl", map[string]string{"x-ms-content-crc64": "AAAAAAAAAAA="}, "", 400, "UnsupportedHeader", ""},
		{"CRC64 on properties", "HEAD", "/" + devAccount + "/ctr/src", map[string]string{"x-ms-range-get-content-crc64": "true"}, "", 400, "UnsupportedHeader", ""},
		{"page range diff against a missing snapshot", "GET", "/" + devAccount + "/ctr/src?comp=pagelist&prevsnapshot=2025-01-01T00:00:00.0000000Z", nil, "", 409, "PreviousSnapshotNotFound", ""},
		{"page range diff by URL", "GET", "/" + devAccount + "/ctr/src?comp=pagelist", map[string]string{"x-ms-previous-snapshot-url": srcURL}, "", 501, "NotImplemented", ""},
		{"encryption scope", "PUT", "/" + devAccount + "/ctr/scoped", with(put, "x-ms-encryption-scope", "s"), "x", 400, "UnsupportedHeader", "scoped"},
		{"properties on a copy", "PUT", "/" + devAccount + "/ctr/cpprops", map[string]string{"x-ms-copy-source": srcURL, "x-ms-blob-content-type": "text/csv"}, "", 400, "UnsupportedHeader", "cpprops"},
		{"metadata on a snapshot", "PUT", "/" + devAccount + "/ctr/src?comp=metadata&snapshot=2025-01-01T00:00:00.0000000Z", map[string]string{"x-ms-meta-a": "b"}, "", 400, "InvalidOperation", ""},
		{"tier of a version", "PUT", "/" + devAccount + "/ctr/src?comp=tier&versionid=2025-01-01T00:00:00.0000000Z", map[string]string{"x-ms-access-tier": "Cool"}, "", 501, "NotImplemented", ""},
		{"tier of a snapshot", "PUT", "/" + devAccount + "/ctr/src?comp=tier&snapshot=2025-01-01T00:00:00.0000000Z", map[string]string{"x-ms-access-tier": "Cool"}, "", 501, "NotImplemented", ""},
		{"malformed snapshot", "GET", "/" + devAccount + "/ctr/src?snapshot=yesterday", nil, "", 400, "InvalidQueryParameterValue", ""},
		{"delete snapshots bad value", "DELETE", "/" + devAccount + "/ctr/src", map[string]string{"x-ms-delete-snapshots": "some"}, "", 400, "InvalidHeaderValue", ""},
		{"permanent delete", "DELETE", "/" + devAccount + "/ctr/src?deletetype=permanent", nil, "", 501, "NotImplemented", ""},
		{"page from URL source lease", "PUT", "/" + devAccount + "/ctr/src?comp=page", map[string]string{"x-ms-copy-source": srcURL, "x-ms-page-write": "update", "x-ms-range": "bytes=0-511", "x-ms-source-range": "bytes=0-511", "x-ms-source-lease-id": "11111111-1111-1111-1111-111111111111"}, "", 400, "UnsupportedHeader", ""},
		{"copy source lease", "PUT", "/" + devAccount + "/ctr/srclease", map[string]string{"x-ms-copy-source": srcURL, "x-ms-source-lease-id": "11111111-1111-1111-1111-111111111111"}, "", 400, "UnsupportedHeader", "srclease"},
		{"page blob length on set properties", "PUT", "/" + devAccount + "/ctr/src?comp=properties", map[string]string{"x-ms-blob-content-length": "512"}, "", 409, "InvalidBlobType", ""},
		{"sequence number on set properties", "PUT", "/" + devAccount + "/ctr/src?comp=properties", map[string]string{"x-ms-sequence-number-action": "max", "x-ms-blob-sequence-number": "3"}, "", 409, "InvalidBlobType", ""},
		{"lease id on get container properties", "GET", "/" + devAccount + "/ctr?restype=container", map[string]string{"x-ms-lease-id": "11111111-1111-1111-1111-111111111111"}, "", 412, "LeaseNotPresentWithContainerOperation", ""},
		{"lease id on get container metadata", "HEAD", "/" + devAccount + "/ctr?restype=container&comp=metadata", map[string]string{"x-ms-lease-id": "11111111-1111-1111-1111-111111111111"}, "", 412, "LeaseNotPresentWithContainerOperation", ""},
		{"lease id on get container ACL", "GET", "/" + devAccount + "/ctr?restype=container&comp=acl", map[string]string{"x-ms-lease-id": "11111111-1111-1111-1111-111111111111"}, "", 412, "LeaseNotPresentWithContainerOperation", ""},
		{"encryption key hash without key", "PUT", "/" + devAccount + "/ctr/cpkhash", with(put, "x-ms-encryption-key-sha256", "AAAA"), "x", 400, "UnsupportedHeader", "cpkhash"},
		// A conditional delete must not delete what its condition spares.
		{"access tier modified since on delete", "DELETE", "/" + devAccount + "/ctr/src", map[string]string{"x-ms-access-tier-if-modified-since": "Wed, 01 Jan 2098 00:00:00 GMT"}, "", 400, "UnsupportedHeader", ""},
		{"access tier unmodified since on delete", "DELETE", "/" + devAccount + "/ctr/src", map[string]string{"x-ms-access-tier-if-unmodified-since": "Sat, 01 Jan 2000 00:00:00 GMT"}, "", 400, "UnsupportedHeader", ""},
		{"list blobs from a name", "GET", "/" + devAccount + "/ctr?restype=container&comp=list&startFrom=src", nil, "", 400, "UnsupportedQueryParameter", ""},
		// Azure's answer on an account without Arrow listing, which
		// sharding clients (rclone) take to list sequentially instead;
		// endBefore wins over startFrom, as in rclone's middle shards.
		{"list blobs up to a name", "GET", "/" + devAccount + "/ctr?restype=container&comp=list&delimiter=%2F&endBefore=src", nil, "", 400, "OperationNotSupportedWithFeatureMissing", ""},
		{"list blobs in a name range", "GET", "/" + devAccount + "/ctr?restype=container&comp=list&startFrom=a&endBefore=src", nil, "", 400, "OperationNotSupportedWithFeatureMissing", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := e.do(tt.method, tt.path, tt.hdr, strings.NewReader(tt.body))
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status || resp.Header.Get("x-ms-error-code") != tt.code {
				t.Fatalf("got %d %q, want %d %q: %s", resp.StatusCode, resp.Header.Get("x-ms-error-code"), tt.status, tt.code, body)
			}
			if tt.gone != "" {
				if _, err := e.client.ServiceClient().NewContainerClient("ctr").NewBlobClient(tt.gone).GetProperties(ctx(), nil); !bloberror.HasCode(err, bloberror.BlobNotFound) {
					t.Errorf("%s exists after the refusal (err %v)", tt.gone, err)
				}
			}
		})
	}
	// The refused deletes kept the blob.
	if got := e.mustDownload(e.client, "ctr", "src"); string(got) != "source data" {
		t.Errorf("src holds %q after the refused deletes", got)
	}
	// Copy Blob asked to seal its destination, as the SDK sends it.
	_, err := e.client.ServiceClient().NewContainerClient("ctr").NewBlobClient("sdk-srcmd5").StartCopyFromURL(ctx(), srcURL, &blob.StartCopyFromURLOptions{SealBlob: to.Ptr(true)})
	wantCode(t, err, 400, "UnsupportedHeader")
}

// TestCopySourceAuthorization: a same-account copy source is readable with
// the account key, with the source's own SAS, or when it is public; a SAS
// that may only write the destination cannot read a private blob.
func TestCopySourceAuthorization(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("private")
	if _, err := e.client.CreateContainer(ctx(), "public", &azblob.CreateContainerOptions{Access: to.Ptr(container.PublicAccessTypeBlob)}); err != nil {
		t.Fatal(err)
	}
	e.mustUpload("private", "secret", []byte("top secret"))
	e.mustUpload("public", "open", []byte("open data"))

	// A write-only service SAS on one destination blob.
	writeOnly := func(name string) string {
		qp, err := sas.BlobSignatureValues{
			Protocol: sas.ProtocolHTTPSandHTTP, ExpiryTime: time.Now().Add(time.Hour).UTC(),
			Permissions: (&sas.BlobPermissions{Write: true, Create: true}).String(), ContainerName: "public", BlobName: name,
		}.SignWithSharedKey(e.cred)
		if err != nil {
			t.Fatal(err)
		}
		return qp.Encode()
	}
	readSAS := func(cont, name string) string {
		qp, err := sas.BlobSignatureValues{
			Protocol: sas.ProtocolHTTPSandHTTP, ExpiryTime: time.Now().Add(time.Hour).UTC(),
			Permissions: (&sas.BlobPermissions{Read: true}).String(), ContainerName: cont, BlobName: name,
		}.SignWithSharedKey(e.cred)
		if err != nil {
			t.Fatal(err)
		}
		return qp.Encode()
	}
	copyWith := func(dest, sasQuery, source string) *http.Response {
		return e.raw("PUT", e.srv.URL+"/"+devAccount+"/public/"+dest+"?"+sasQuery, map[string]string{"x-ms-copy-source": source}, nil)
	}
	src := e.primaryURL() + "private/secret"

	// Write-only SAS, private source without its own SAS: refused.
	resp := copyWith("leak1", writeOnly("leak1"), src)
	if resp.StatusCode != 403 || resp.Header.Get("x-ms-error-code") != "CannotVerifyCopySource" {
		t.Fatalf("write-only SAS copied a private blob: %d %q", resp.StatusCode, resp.Header.Get("x-ms-error-code"))
	}
	if r := e.raw("GET", e.srv.URL+"/"+devAccount+"/public/leak1", nil, nil); r.StatusCode != 404 {
		t.Fatalf("anonymous read of the copy: %d", r.StatusCode)
	}
	// An account SAS on the destination does not stand in for the key either.
	resp = e.raw("PUT", e.srv.URL+"/"+devAccount+"/public/leak2?"+e.accountSAS(), map[string]string{"x-ms-copy-source": src}, nil)
	if resp.StatusCode != 403 {
		t.Fatalf("account SAS copied a private blob without a source SAS: %d", resp.StatusCode)
	}
	// With the source's own read SAS: allowed.
	resp = copyWith("ok1", writeOnly("ok1"), src+"?"+readSAS("private", "secret"))
	if resp.StatusCode != 202 {
		t.Fatalf("copy with a source SAS: %d %q", resp.StatusCode, resp.Header.Get("x-ms-error-code"))
	}
	// A public source: allowed.
	resp = copyWith("ok2", writeOnly("ok2"), e.primaryURL()+"public/open")
	if resp.StatusCode != 202 {
		t.Fatalf("copy of a public blob: %d %q", resp.StatusCode, resp.Header.Get("x-ms-error-code"))
	}
	// The account key (Shared Key): allowed.
	if _, err := e.client.ServiceClient().NewContainerClient("private").NewBlobClient("copy").StartCopyFromURL(ctx(), src, nil); err != nil {
		t.Fatalf("Shared Key copy: %v", err)
	}
}

// TestQueryNamesCaseInsensitive: a signature made for ?comp=metadata cannot
// be used for ?COMP=metadata to fetch the body: routing reads parameter
// names as the signature does.
func TestQueryNamesCaseInsensitive(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("ctr")
	e.mustUpload("ctr", "b", []byte("the body"))
	if _, err := e.client.ServiceClient().NewContainerClient("ctr").NewBlobClient("b").SetMetadata(ctx(), map[string]*string{"k": to.Ptr("v")}, nil); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"COMP=metadata", "Comp=metadata"} {
		resp := e.do("GET", "/"+devAccount+"/ctr/b?"+q, nil, nil)
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || len(body) != 0 || resp.Header.Get("x-ms-meta-k") != "v" {
			t.Errorf("%s: got %d with %d body bytes, want Get Blob Metadata", q, resp.StatusCode, len(body))
		}
	}
	// Upper-case restype reaches the container.
	resp := e.do("GET", "/"+devAccount+"/ctr?RESTYPE=container&COMP=list", nil, nil)
	if body, _ := io.ReadAll(resp.Body); resp.StatusCode != 200 || !bytes.Contains(body, []byte("<Name>b</Name>")) {
		t.Errorf("upper-case list: %d %s", resp.StatusCode, body)
	}
}

// TestBackslashIsSlash: dir\file and dir/file are one blob.
func TestBackslashIsSlash(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("ctr")
	e.mustUpload("ctr", "dir/file", []byte("v1"))
	resp := e.do("PUT", "/"+devAccount+"/ctr/dir%5Cfile", map[string]string{"x-ms-blob-type": "BlockBlob"}, strings.NewReader("v2"))
	if resp.StatusCode != 201 {
		t.Fatalf("put dir\\file: %d", resp.StatusCode)
	}
	if got := e.mustDownload(e.client, "ctr", "dir/file"); string(got) != "v2" {
		t.Errorf("dir/file holds %q, want the write to dir\\file", got)
	}
	pager := e.client.NewListBlobsFlatPager("ctr", nil)
	n := 0
	for pager.More() {
		page, err := pager.NextPage(ctx())
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.Segment.BlobItems)
	}
	if n != 1 {
		t.Errorf("%d blobs, want 1", n)
	}
}

// TestMetadataLimits: a metadata name given twice (in any case) is refused
// instead of merged; 8 KiB of names and values pass, more does not.
func TestMetadataLimits(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("ctr")
	e.mustUpload("ctr", "b", []byte("x"))
	send := func(hdr http.Header) *http.Response {
		req, err := http.NewRequest("PUT", e.srv.URL+"/"+devAccount+"/ctr/b?comp=metadata&"+e.accountSAS(), nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header = hdr
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	dup := http.Header{}
	dup["x-ms-meta-a"] = []string{"1"}
	dup["X-Ms-Meta-A"] = []string{"2"}
	if resp := send(dup); resp.StatusCode != 400 || resp.Header.Get("x-ms-error-code") != "InvalidMetadata" {
		t.Errorf("duplicate name: %d %q", resp.StatusCode, resp.Header.Get("x-ms-error-code"))
	}
	twice := http.Header{"X-Ms-Meta-A": {"1", "2"}}
	if resp := send(twice); resp.StatusCode != 400 || resp.Header.Get("x-ms-error-code") != "InvalidMetadata" {
		t.Errorf("repeated header: %d %q", resp.StatusCode, resp.Header.Get("x-ms-error-code"))
	}
	fits := http.Header{"X-Ms-Meta-Big": {strings.Repeat("v", 8<<10-len("big"))}}
	if resp := send(fits); resp.StatusCode != 200 {
		t.Errorf("8 KiB of metadata: %d %q", resp.StatusCode, resp.Header.Get("x-ms-error-code"))
	}
	over := http.Header{"X-Ms-Meta-Big": {strings.Repeat("v", 8<<10-len("big")+1)}}
	if resp := send(over); resp.StatusCode != 400 || resp.Header.Get("x-ms-error-code") != "MetadataTooLarge" {
		t.Errorf("8 KiB + 1: %d %q", resp.StatusCode, resp.Header.Get("x-ms-error-code"))
	}
}

// TestBlobPathSegments: 254 path segments pass, 255 do not.
func TestBlobPathSegments(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("ctr")
	name := func(n int) string { return strings.TrimSuffix(strings.Repeat("a/", n), "/") }
	if _, err := e.client.UploadBuffer(ctx(), "ctr", name(254), []byte("x"), nil); err != nil {
		t.Fatalf("254 segments: %v", err)
	}
	_, err := e.client.UploadBuffer(ctx(), "ctr", name(255), []byte("x"), nil)
	wantCode(t, err, 400, "InvalidResourceName")
}

// TestSASResponseHeaderOverrides: rscc, rscd, rsce, rscl and rsct of a
// service SAS replace the stored properties on GET and HEAD.
func TestSASResponseHeaderOverrides(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("ctr")
	if _, err := e.client.UploadBuffer(ctx(), "ctr", "b", []byte("a,b"), &azblob.UploadBufferOptions{HTTPHeaders: &blob.HTTPHeaders{BlobContentType: to.Ptr("text/plain")}}); err != nil {
		t.Fatal(err)
	}
	qp, err := sas.BlobSignatureValues{
		Protocol: sas.ProtocolHTTPSandHTTP, ExpiryTime: time.Now().Add(time.Hour).UTC(),
		Permissions: (&sas.BlobPermissions{Read: true}).String(), ContainerName: "ctr", BlobName: "b",
		CacheControl: "no-cache", ContentDisposition: "attachment; filename=b.csv", ContentEncoding: "identity",
		ContentLanguage: "en", ContentType: "text/csv",
	}.SignWithSharedKey(e.cred)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"Cache-Control": "no-cache", "Content-Disposition": "attachment; filename=b.csv",
		"Content-Encoding": "identity", "Content-Language": "en", "Content-Type": "text/csv"}
	for _, method := range []string{"GET", "HEAD"} {
		resp := e.raw(method, e.srv.URL+"/"+devAccount+"/ctr/b?"+qp.Encode(), nil, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", method, resp.StatusCode)
		}
		for k, v := range want {
			if got := resp.Header.Get(k); got != v {
				t.Errorf("%s %s: got %q, want %q", method, k, got, v)
			}
		}
	}
	// Without a SAS the stored properties are answered.
	props, err := e.client.ServiceClient().NewContainerClient("ctr").NewBlobClient("b").GetProperties(ctx(), nil)
	if err != nil || *props.ContentType != "text/plain" {
		t.Errorf("stored properties changed: %v %v", props.ContentType, err)
	}
}

// TestSharedKeyClockSkew: the REST layer refuses a Shared Key request whose
// date is more than 15 minutes from the emulator clock, with Azure's 403;
// the clock is the emulator's, so a manual clock drives the check.
func TestSharedKeyClockSkew(t *testing.T) {
	e := newEnv(t, envOptions{manualClock: true, clockStart: time.Now(), maxClockSkew: 15 * time.Minute})
	e.mustCreate("ctr")
	e.clock.Advance(10 * time.Minute)
	if _, err := e.client.UploadBuffer(ctx(), "ctr", "b", []byte("x"), nil); err != nil {
		t.Fatalf("10 minutes off: %v", err)
	}
	e.clock.Advance(10 * time.Minute)
	_, err := e.client.UploadBuffer(ctx(), "ctr", "b", []byte("x"), nil)
	wantCode(t, err, 403, bloberror.AuthenticationFailed)
	// A SAS is not a signed request time: it keeps working within its window.
	if resp := e.do("GET", "/"+devAccount+"/ctr/b", nil, nil); resp.StatusCode != 200 {
		t.Errorf("SAS request: %d", resp.StatusCode)
	}
}

// TestUnmodelledNamesTheFirstListed: with several unmodelled headers the
// refusal names the one listed first in unmodelledHeaders, whatever order
// the request's header map yields them in.
func TestUnmodelledNamesTheFirstListed(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("ctr")
	hdr := map[string]string{
		"x-ms-blob-type":                "BlockBlob",
		"x-ms-legal-hold":               "true",
		"x-ms-encryption-scope":         "scope",
		"x-ms-structured-body":          "XSM/1.0; properties=crc64",
		"x-ms-encryption-key-sha256":    "AAAA",
		"x-ms-immutability-policy-mode": "locked",
	}
	for range 20 { // map order varies from run to run
		resp := e.do("PUT", "/"+devAccount+"/ctr/many", hdr, strings.NewReader("x"))
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 400 || !strings.Contains(string(body), "<HeaderName>x-ms-encryption-key-sha256</HeaderName>") {
			t.Fatalf("got %d: %s", resp.StatusCode, body)
		}
	}
}
