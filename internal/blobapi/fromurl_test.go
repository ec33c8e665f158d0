package blobapi_test

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/appendblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"

	"github.com/geoblob/geoblob/internal/blobapi"
	"github.com/geoblob/geoblob/internal/store"
)

// readSASURL is the primary URL of a blob with a read SAS signed by the
// account key.
func (e *env) readSASURL(cont, blob string) string {
	e.t.Helper()
	return e.primaryURL() + cont + "/" + blob + "?" + signRead(e.t, e.cred, cont, blob)
}

func signRead(t testing.TB, cred *azblob.SharedKeyCredential, cont, blob string) string {
	t.Helper()
	qp, err := sas.BlobSignatureValues{
		Protocol: sas.ProtocolHTTPSandHTTP, ExpiryTime: time.Now().Add(time.Hour).UTC(),
		Permissions: (&sas.BlobPermissions{Read: true}).String(), ContainerName: cont, BlobName: blob,
	}.SignWithSharedKey(cred)
	if err != nil {
		t.Fatal(err)
	}
	return qp.Encode()
}

// mustPutDirect writes a blob into the primary store, past the request
// size limit of the env.
func (e *env) mustPutDirect(cont, name string, data []byte) {
	e.t.Helper()
	if _, err := e.primary.PutBlob(devAccount, cont, name, store.Bytes(data), store.HTTPHeaders{}, nil, store.WriteOptions{}); err != nil {
		e.t.Fatal(err)
	}
}

// origin is an external copy source on loopback: it serves files with
// Range and conditional support (http.ServeContent) and records what
// reached it.
type origin struct {
	srv  *httptest.Server
	hits atomic.Int64
	mu   sync.Mutex
	last http.Header
}

func newOrigin(t *testing.T, files map[string][]byte) *origin {
	o := &origin{}
	mod := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	o.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.hits.Add(1)
		o.mu.Lock()
		o.last = r.Header.Clone()
		o.mu.Unlock()
		switch r.URL.Path {
		case "/norange":
			// A server that ignores Range.
			w.Header().Set("Content-Type", "text/plain")
			_, _ = w.Write(files["/norange"])
			return
		case "/chunked":
			// No Content-Length: the size shows only as the body arrives.
			data := files["/chunked"]
			_, _ = w.Write(data[:1])
			w.(http.Flusher).Flush()
			_, _ = w.Write(data[1:])
			return
		case "/forbidden":
			http.Error(w, "no", http.StatusForbidden)
			return
		case "/hang":
			<-r.Context().Done()
			return
		case "/redirect-to-control":
			http.Redirect(w, r, "/_geoblob/replication", http.StatusFound)
			return
		case "/_geoblob/replication":
			_, _ = w.Write([]byte("control state"))
			return
		}
		data, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/csv")
		w.Header().Set("Content-Language", "en")
		w.Header().Set("ETag", `"v1"`)
		http.ServeContent(w, r, "", mod, bytes.NewReader(data))
	}))
	t.Cleanup(o.srv.Close)
	return o
}

func (o *origin) lastHeader() http.Header {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.last
}

// fromURLOps runs each From URL operation on a destination blob named
// after it; the append destination is created first.
type fromURLOp struct {
	name string
	run  func(e *env, c *azblob.Client, cont, dest, src string) error
}

var fromURLOps = []fromURLOp{
	{"PutBlockFromURL", func(_ *env, c *azblob.Client, cont, dest, src string) error {
		_, err := c.ServiceClient().NewContainerClient(cont).NewBlockBlobClient(dest).StageBlockFromURL(ctx(), base64Std("b1"), src, nil)
		return err
	}},
	{"PutBlobFromURL", func(_ *env, c *azblob.Client, cont, dest, src string) error {
		_, err := c.ServiceClient().NewContainerClient(cont).NewBlockBlobClient(dest).UploadBlobFromURL(ctx(), src, nil)
		return err
	}},
	{"CopyBlobFromURL", func(_ *env, c *azblob.Client, cont, dest, src string) error {
		_, err := c.ServiceClient().NewContainerClient(cont).NewBlobClient(dest).CopyFromURL(ctx(), src, nil)
		return err
	}},
	{"AppendBlockFromURL", func(e *env, c *azblob.Client, cont, dest, src string) error {
		ab := e.appendClient(cont, dest)
		if _, err := ab.Create(ctx(), nil); err != nil {
			return err
		}
		_, err := c.ServiceClient().NewContainerClient(cont).NewAppendBlobClient(dest).AppendBlockFromURL(ctx(), src, nil)
		return err
	}},
}

// TestFromURLSources: every From URL operation reads a public source or
// one with its own SAS, in this account or another of the emulator, and any
// reachable http(s) URL; a private source without its SAS, a SAS signed by
// another account's key and unreachable URLs fail with Azure's
// CannotVerifyCopySource.
func TestFromURLSources(t *testing.T) {
	keyB := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	rawB, _ := base64.StdEncoding.DecodeString(keyB)
	e := newEnv(t, envOptions{keys: func(a string) ([]byte, bool) {
		if a == "acctb" {
			return rawB, true
		}
		return nil, false
	}})
	credB, err := azblob.NewSharedKeyCredential("acctb", keyB)
	if err != nil {
		t.Fatal(err)
	}
	clientB, err := azblob.NewClientWithSharedKeyCredential(e.srv.URL+"/acctb/", credB, clientOptions())
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("the source data")
	e.mustCreate("priv")
	e.mustUpload("priv", "s", data)
	if _, err := e.client.CreateContainer(ctx(), "pub", &azblob.CreateContainerOptions{Access: to.Ptr(container.PublicAccessTypeBlob)}); err != nil {
		t.Fatal(err)
	}
	e.mustUpload("pub", "s", data)
	if _, err := clientB.CreateContainer(ctx(), "privb", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := clientB.UploadBuffer(ctx(), "privb", "s", data, nil); err != nil {
		t.Fatal(err)
	}
	org := newOrigin(t, map[string][]byte{"/file": data})
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL + "/file"
	closed.Close()
	e.mustCreate("dst")
	srcB := e.srv.URL + "/acctb/privb/s"
	tests := []struct {
		name   string
		src    string
		status int
		code   bloberror.Code
	}{
		{"same account, source SAS", e.readSASURL("priv", "s"), 0, ""},
		{"same account, public", e.primaryURL() + "pub/s", 0, ""},
		{"same account, private, account key only", e.primaryURL() + "priv/s", 403, bloberror.CannotVerifyCopySource},
		{"same account, missing blob", e.readSASURL("priv", "missing"), 404, bloberror.CannotVerifyCopySource},
		{"other account, its SAS", srcB + "?" + signRead(t, credB, "privb", "s"), 0, ""},
		{"other account, SAS signed with the caller's key", srcB + "?" + signRead(t, e.cred, "privb", "s"), 403, bloberror.CannotVerifyCopySource},
		{"other account, no SAS", srcB, 403, bloberror.CannotVerifyCopySource},
		{"external URL", org.srv.URL + "/file", 0, ""},
		{"external 404", org.srv.URL + "/none", 404, bloberror.CannotVerifyCopySource},
		{"external 403", org.srv.URL + "/forbidden", 403, bloberror.CannotVerifyCopySource},
		{"unreachable", closedURL, 409, bloberror.CannotVerifyCopySource},
		{"not http", "ftp://127.0.0.1/file", 400, bloberror.InvalidHeaderValue},
	}
	for _, op := range fromURLOps {
		for i, tt := range tests {
			t.Run(op.name+"/"+tt.name, func(t *testing.T) {
				dest := strings.ToLower(op.name) + string(rune('a'+i))
				err := op.run(e, e.client, "dst", dest, tt.src)
				if tt.status != 0 {
					wantCode(t, err, tt.status, tt.code)
					return
				}
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				got := e.readResult(op.name, "dst", dest)
				if !bytes.Equal(got, data) {
					t.Fatalf("destination holds %q", got)
				}
			})
		}
	}
}

// readResult returns what a From URL operation stored: the staged block
// for Put Block From URL, committed here, else the blob.
func (e *env) readResult(op, cont, dest string) []byte {
	e.t.Helper()
	if op == "PutBlockFromURL" {
		bb := e.client.ServiceClient().NewContainerClient(cont).NewBlockBlobClient(dest)
		if _, err := bb.CommitBlockList(ctx(), []string{base64Std("b1")}, nil); err != nil {
			e.t.Fatal(err)
		}
	}
	return e.mustDownload(e.client, cont, dest)
}

// TestFromURLAuthorizesFirst: a destination request that is not authorized
// never makes the emulator fetch anything, and a fetch carries none of the
// caller's credentials or headers.
func TestFromURLAuthorizesFirst(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("dst")
	org := newOrigin(t, map[string][]byte{"/file": []byte("external")})
	src := org.srv.URL + "/file"
	readOnly, err := sas.AccountSignatureValues{
		Protocol: sas.ProtocolHTTPSandHTTP, ExpiryTime: time.Now().Add(time.Hour).UTC(),
		Permissions:   (&sas.AccountPermissions{Read: true, List: true}).String(),
		ResourceTypes: (&sas.AccountResourceTypes{Container: true, Object: true}).String(),
	}.SignWithSharedKey(e.cred)
	if err != nil {
		t.Fatal(err)
	}
	paths := map[string]map[string]string{
		"/dst/blk?comp=block&blockid=" + base64Std("b1"): {},
		"/dst/blob":                 {"x-ms-blob-type": "BlockBlob"},
		"/dst/copy":                 {"x-ms-requires-sync": "true"},
		"/dst/app?comp=appendblock": {},
	}
	for p, hdr := range paths {
		hdr["x-ms-copy-source"] = src
		for _, auth := range []string{"", "?" + readOnly.Encode()} {
			u := e.primaryURL() + strings.TrimPrefix(p, "/")
			if auth != "" {
				if strings.Contains(u, "?") {
					u += "&" + strings.TrimPrefix(auth, "?")
				} else {
					u += auth
				}
			}
			resp := e.raw("PUT", u, hdr, nil)
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s with %q: %d, want 403", p, auth, resp.StatusCode)
			}
		}
	}
	if n := org.hits.Load(); n != 0 {
		t.Fatalf("unauthorized requests fetched the source %d times", n)
	}
	// An authorized one fetches, with nothing of the caller's.
	_, err = e.client.ServiceClient().NewContainerClient("dst").NewBlockBlobClient("ok").UploadBlobFromURL(ctx(), src, &blockblob.UploadBlobFromURLOptions{
		Metadata: map[string]*string{"m": to.Ptr("v")},
	})
	if err != nil {
		t.Fatal(err)
	}
	h := org.lastHeader()
	for k := range h {
		if lk := strings.ToLower(k); lk == "authorization" || strings.HasPrefix(lk, "x-ms-") {
			t.Errorf("the fetch carried %s: %v", k, h[k])
		}
	}
}

// TestPutBlockFromURL: source ranges, source conditions and checksums;
// the staged blocks commit like any others.
func TestPutBlockFromURL(t *testing.T) {
	e := newEnv(t, envOptions{maxBlobSize: 64})
	e.mustCreate("ctr")
	data := []byte("0123456789abcdefghij")
	e.mustUpload("ctr", "src", data)
	props, err := e.client.ServiceClient().NewContainerClient("ctr").NewBlobClient("src").GetProperties(ctx(), nil)
	if err != nil {
		t.Fatal(err)
	}
	e.mustPutDirect("ctr", "big", bytes.Repeat([]byte("x"), 65))
	big := bytes.Repeat([]byte("z"), 65)
	org := newOrigin(t, map[string][]byte{"/file": data, "/norange": data, "/big": big, "/chunked": big})
	local := e.readSASURL("ctr", "src")
	bb := e.client.ServiceClient().NewContainerClient("ctr").NewBlockBlobClient("dst")
	sum := md5.Sum(data[5:10])
	tests := []struct {
		name   string
		src    string
		opts   *blockblob.StageBlockFromURLOptions
		want   string // the staged block
		status int
		code   bloberror.Code
	}{
		{"local range", local, &blockblob.StageBlockFromURLOptions{Range: blob.HTTPRange{Offset: 5, Count: 5}}, "56789", 0, ""},
		{"local range to end", local, &blockblob.StageBlockFromURLOptions{Range: blob.HTTPRange{Offset: 15}}, "fghij", 0, ""},
		{"external range", org.srv.URL + "/file", &blockblob.StageBlockFromURLOptions{Range: blob.HTTPRange{Offset: 10, Count: 3}}, "abc", 0, ""},
		{"external ignoring the range", org.srv.URL + "/norange", &blockblob.StageBlockFromURLOptions{Range: blob.HTTPRange{Offset: 2, Count: 4}}, "2345", 0, ""},
		{"source MD5", local, &blockblob.StageBlockFromURLOptions{Range: blob.HTTPRange{Offset: 5, Count: 5}, SourceContentValidation: blob.SourceContentValidationTypeMD5(sum[:])}, "56789", 0, ""},
		{"source MD5 mismatch", local, &blockblob.StageBlockFromURLOptions{SourceContentValidation: blob.SourceContentValidationTypeMD5(sum[:])}, "", 400, bloberror.MD5Mismatch},
		{"source CRC64 mismatch", local, &blockblob.StageBlockFromURLOptions{SourceContentValidation: blob.SourceContentValidationTypeCRC64(make([]byte, 8))}, "", 400, bloberror.CRC64Mismatch},
		{"range beyond the source", local, &blockblob.StageBlockFromURLOptions{Range: blob.HTTPRange{Offset: 100, Count: 5}}, "", 416, bloberror.InvalidRange},
		{"external range beyond the source", org.srv.URL + "/file", &blockblob.StageBlockFromURLOptions{Range: blob.HTTPRange{Offset: 100, Count: 5}}, "", 416, bloberror.InvalidRange},
		{"source if-match met", local, &blockblob.StageBlockFromURLOptions{Range: blob.HTTPRange{Offset: 0, Count: 2}, SourceModifiedAccessConditions: &blob.SourceModifiedAccessConditions{SourceIfMatch: props.ETag}}, "01", 0, ""},
		{"source if-match fails", local, &blockblob.StageBlockFromURLOptions{SourceModifiedAccessConditions: &blob.SourceModifiedAccessConditions{SourceIfMatch: to.Ptr(azcore.ETag(`"0xBAD"`))}}, "", 412, "SourceConditionNotMet"},
		{"external if-none-match fails", org.srv.URL + "/file", &blockblob.StageBlockFromURLOptions{SourceModifiedAccessConditions: &blob.SourceModifiedAccessConditions{SourceIfNoneMatch: to.Ptr(azcore.ETag(`"v1"`))}}, "", 412, "SourceConditionNotMet"},
		{"source larger than allowed", e.readSASURL("ctr", "big"), nil, "", 409, bloberror.CannotVerifyCopySource},
		{"external source larger than allowed", org.srv.URL + "/big", nil, "", 409, bloberror.CannotVerifyCopySource},
		{"external source larger than allowed, chunked", org.srv.URL + "/chunked", nil, "", 409, bloberror.CannotVerifyCopySource},
		{"external chunked source", org.srv.URL + "/chunked", &blockblob.StageBlockFromURLOptions{Range: blob.HTTPRange{Offset: 60}}, "zzzzz", 0, ""},
		{"OAuth source authorization", local, &blockblob.StageBlockFromURLOptions{CopySourceAuthorization: to.Ptr("Bearer token")}, "", 400, bloberror.UnsupportedHeader},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := base64Std("block-" + string(rune('a'+i)))
			r, err := bb.StageBlockFromURL(ctx(), id, tt.src, tt.opts)
			bl, lerr := bb.GetBlockList(ctx(), blockblob.BlockListTypeUncommitted, nil)
			staged := lerr == nil && len(bl.UncommittedBlocks) > 0 && *bl.UncommittedBlocks[len(bl.UncommittedBlocks)-1].Name == id
			if tt.status != 0 {
				wantCode(t, err, tt.status, tt.code)
				if staged {
					t.Error("a refused Put Block From URL staged its block")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := md5.Sum([]byte(tt.want)); !bytes.Equal(r.ContentMD5, want[:]) {
				t.Errorf("Content-MD5 %x", r.ContentMD5)
			}
			if _, err := bb.CommitBlockList(ctx(), []string{id}, nil); err != nil {
				t.Fatal(err)
			}
			if got := e.mustDownload(e.client, "ctr", "dst"); string(got) != tt.want {
				t.Errorf("block holds %q, want %q", got, tt.want)
			}
		})
	}
	// Onto an append blob.
	e.mustCreateAppend("ctr", "app")
	_, err = e.client.ServiceClient().NewContainerClient("ctr").NewBlockBlobClient("app").StageBlockFromURL(ctx(), base64Std("x"), local, nil)
	wantCode(t, err, 409, bloberror.InvalidBlobType)
}

// TestPutBlobFromURL: 201; the source's properties are copied unless
// x-ms-copy-source-blob-properties is false, request headers override
// them, metadata comes from the request, destination conditions and
// leases apply.
func TestPutBlobFromURL(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("ctr")
	data := []byte("source for put blob from url")
	if _, err := e.client.UploadBuffer(ctx(), "ctr", "src", data, &azblob.UploadBufferOptions{
		HTTPHeaders: &blob.HTTPHeaders{BlobContentType: to.Ptr("text/plain"), BlobContentLanguage: to.Ptr("fr"), BlobCacheControl: to.Ptr("no-cache")},
		Metadata:    map[string]*string{"src": to.Ptr("1")},
	}); err != nil {
		t.Fatal(err)
	}
	src := e.readSASURL("ctr", "src")
	org := newOrigin(t, map[string][]byte{"/file": []byte("a,b\n")})
	cc := e.client.ServiceClient().NewContainerClient("ctr")
	tests := []struct {
		name                string
		src                 string
		opts                *blockblob.UploadBlobFromURLOptions
		wantType, wantLang  string
		wantCache, wantMeta string
		wantData            string
	}{
		{"copies properties", src, nil, "text/plain", "fr", "no-cache", "", string(data)},
		{"request overrides", src, &blockblob.UploadBlobFromURLOptions{HTTPHeaders: &blob.HTTPHeaders{BlobContentType: to.Ptr("application/json")}, Metadata: map[string]*string{"mine": to.Ptr("2")}},
			"application/json", "fr", "no-cache", "2", string(data)},
		{"without source properties", src, &blockblob.UploadBlobFromURLOptions{CopySourceBlobProperties: to.Ptr(false)}, "application/octet-stream", "", "", "", string(data)},
		{"external source", org.srv.URL + "/file", nil, "text/csv", "en", "", "", "a,b\n"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := "dst" + string(rune('a'+i))
			r, err := cc.NewBlockBlobClient(name).UploadBlobFromURL(ctx(), tt.src, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if r.ETag == nil || r.LastModified == nil {
				t.Fatal("no answer")
			}
			p, err := cc.NewBlobClient(name).GetProperties(ctx(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if *p.ContentType != tt.wantType || str(p.ContentLanguage) != tt.wantLang || str(p.CacheControl) != tt.wantCache ||
				metaValue(p.Metadata, "mine") != tt.wantMeta || metaValue(p.Metadata, "src") != "" || *p.BlobType != blob.BlobTypeBlockBlob {
				t.Errorf("properties %+v", p)
			}
			if sum := md5.Sum([]byte(tt.wantData)); !bytes.Equal(p.ContentMD5, sum[:]) {
				t.Errorf("Content-MD5 %x", p.ContentMD5)
			}
			if got := e.mustDownload(e.client, "ctr", name); string(got) != tt.wantData {
				t.Errorf("holds %q", got)
			}
		})
	}
	// The answer is 201, as the SDK expects of Put Blob From URL.
	resp := e.do("PUT", "/"+devAccount+"/ctr/raw", map[string]string{"x-ms-blob-type": "BlockBlob", "x-ms-copy-source": src}, nil)
	if resp.StatusCode != 201 {
		t.Errorf("raw Put Blob From URL: %d", resp.StatusCode)
	}
	// Destination conditions and a page blob type.
	_, err := cc.NewBlockBlobClient("dsta").UploadBlobFromURL(ctx(), src, &blockblob.UploadBlobFromURLOptions{
		AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: to.Ptr(azcore.ETagAny)}},
	})
	wantCode(t, err, 409, bloberror.BlobAlreadyExists)
	resp = e.do("PUT", "/"+devAccount+"/ctr/pg", map[string]string{"x-ms-blob-type": "PageBlob", "x-ms-copy-source": src}, nil)
	if resp.StatusCode != 400 || resp.Header.Get("x-ms-error-code") != "InvalidHeaderValue" {
		t.Errorf("page blob from URL: %d %s", resp.StatusCode, resp.Header.Get("x-ms-error-code"))
	}
	// Tags and a tier given with the request apply to the destination.
	if _, err = cc.NewBlockBlobClient("tagged").UploadBlobFromURL(ctx(), src, &blockblob.UploadBlobFromURLOptions{
		Tags: map[string]string{"a": "b"}, Tier: to.Ptr(blob.AccessTierCool),
	}); err != nil {
		t.Fatal(err)
	}
	p, err := cc.NewBlobClient("tagged").GetProperties(ctx(), nil)
	if err != nil || p.AccessTier == nil || *p.AccessTier != "Cool" || p.TagCount == nil || *p.TagCount != 1 {
		t.Fatalf("Put Blob From URL with tags and tier: tier %v tags %v %v", p.AccessTier, p.TagCount, err)
	}
}

// TestCopyBlobFromURL: synchronous, 202 with x-ms-copy-status: success;
// properties and metadata come from the source unless metadata is given;
// the source must be a block blob of at most 256 MiB (or MaxBlobSize).
func TestCopyBlobFromURL(t *testing.T) {
	e := newEnv(t, envOptions{maxBlobSize: 1 << 10})
	e.mustCreate("ctr")
	data := []byte("copy me synchronously")
	if _, err := e.client.UploadBuffer(ctx(), "ctr", "src", data, &azblob.UploadBufferOptions{
		HTTPHeaders: &blob.HTTPHeaders{BlobContentType: to.Ptr("text/plain")},
		Metadata:    map[string]*string{"from": to.Ptr("src")},
	}); err != nil {
		t.Fatal(err)
	}
	src := e.readSASURL("ctr", "src")
	b := e.client.ServiceClient().NewContainerClient("ctr").NewBlobClient("dst")
	r, err := b.CopyFromURL(ctx(), src, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.CopyStatus == nil || *r.CopyStatus != "success" || r.CopyID == nil || *r.CopyID == "" {
		t.Fatalf("answer %+v", r)
	}
	p, err := b.GetProperties(ctx(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if *p.CopyID != *r.CopyID || *p.CopyStatus != blob.CopyStatusTypeSuccess || *p.ContentType != "text/plain" || metaValue(p.Metadata, "from") != "src" ||
		*p.CopyProgress != "21/21" {
		t.Errorf("properties %+v", p)
	}
	if got := e.mustDownload(e.client, "ctr", "dst"); !bytes.Equal(got, data) {
		t.Errorf("holds %q", got)
	}
	if _, err := b.CopyFromURL(ctx(), src, &blob.CopyFromURLOptions{Metadata: map[string]*string{"new": to.Ptr("1")}}); err != nil {
		t.Fatal(err)
	}
	if p, _ := b.GetProperties(ctx(), nil); metaValue(p.Metadata, "new") != "1" || metaValue(p.Metadata, "from") != "" {
		t.Errorf("metadata %v", p.Metadata)
	}
	sum := md5.Sum(data)
	if _, err := b.CopyFromURL(ctx(), src, &blob.CopyFromURLOptions{SourceContentMD5: sum[:]}); err != nil {
		t.Errorf("matching source MD5: %v", err)
	}
	_, err = b.CopyFromURL(ctx(), src, &blob.CopyFromURLOptions{SourceContentMD5: make([]byte, 16)})
	wantCode(t, err, 400, bloberror.MD5Mismatch)
	e.mustPutDirect("ctr", "big", bytes.Repeat([]byte("x"), 1<<10+1))
	_, err = b.CopyFromURL(ctx(), e.readSASURL("ctr", "big"), nil)
	wantCode(t, err, 409, bloberror.CannotVerifyCopySource)
	e.mustCreateAppend("ctr", "app")
	_, err = b.CopyFromURL(ctx(), e.readSASURL("ctr", "app"), nil)
	wantCode(t, err, 409, bloberror.InvalidSourceBlobType)
	resp := e.do("PUT", "/"+devAccount+"/ctr/x", map[string]string{"x-ms-copy-source": src, "x-ms-requires-sync": "maybe"}, nil)
	if resp.StatusCode != 400 || resp.Header.Get("x-ms-error-code") != "InvalidHeaderValue" {
		t.Errorf("x-ms-requires-sync: maybe: %d %s", resp.StatusCode, resp.Header.Get("x-ms-error-code"))
	}
	// "false" is the asynchronous Copy Blob.
	resp = e.do("PUT", "/"+devAccount+"/ctr/x", map[string]string{"x-ms-copy-source": src, "x-ms-requires-sync": "false"}, nil)
	if resp.StatusCode != 202 || resp.Header.Get("x-ms-copy-status") != "success" {
		t.Errorf("x-ms-requires-sync: false: %d %s", resp.StatusCode, resp.Header.Get("x-ms-error-code"))
	}
}

// TestAppendBlockFromURL: the block comes from the source (a range of it),
// with the append conditions and headers of Append Block.
func TestAppendBlockFromURL(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("ctr")
	e.mustUpload("ctr", "src", []byte("0123456789"))
	src := e.readSASURL("ctr", "src")
	ab := e.mustCreateAppend("ctr", "log")
	if _, err := ab.AppendBlock(ctx(), streamOf([]byte("head:")), nil); err != nil {
		t.Fatal(err)
	}
	r, err := ab.AppendBlockFromURL(ctx(), src, &appendblob.AppendBlockFromURLOptions{Range: blob.HTTPRange{Offset: 2, Count: 3}})
	if err != nil {
		t.Fatal(err)
	}
	if *r.BlobAppendOffset != "5" || *r.BlobCommittedBlockCount != 2 {
		t.Errorf("offset %s count %d", *r.BlobAppendOffset, *r.BlobCommittedBlockCount)
	}
	_, err = ab.AppendBlockFromURL(ctx(), src, &appendblob.AppendBlockFromURLOptions{
		AppendPositionAccessConditions: &appendblob.AppendPositionAccessConditions{AppendPosition: to.Ptr[int64](0)},
	})
	wantCode(t, err, 412, bloberror.AppendPositionConditionNotMet)
	_, err = ab.AppendBlockFromURL(ctx(), src, &appendblob.AppendBlockFromURLOptions{
		AppendPositionAccessConditions: &appendblob.AppendPositionAccessConditions{MaxSize: to.Ptr[int64](12)},
	})
	wantCode(t, err, 412, bloberror.MaxBlobSizeConditionNotMet)
	if got := e.mustDownload(e.client, "ctr", "log"); string(got) != "head:234" {
		t.Fatalf("holds %q", got)
	}
	_, err = e.appendClient("ctr", "src").AppendBlockFromURL(ctx(), src, nil)
	wantCode(t, err, 409, bloberror.InvalidBlobType)
	if _, err := ab.Seal(ctx(), nil); err != nil {
		t.Fatal(err)
	}
	_, err = ab.AppendBlockFromURL(ctx(), src, nil)
	wantCode(t, err, 409, "BlobIsSealed")
}

// TestFromURLTimeout: a source that never answers is given up after
// Config.CopySourceTimeout with 409 CannotVerifyCopySource.
func TestFromURLTimeout(t *testing.T) {
	e := newEnv(t, envOptions{copySourceTimeout: 50 * time.Millisecond})
	e.mustCreate("ctr")
	org := newOrigin(t, nil)
	_, err := e.client.ServiceClient().NewContainerClient("ctr").NewBlockBlobClient("d").UploadBlobFromURL(ctx(), org.srv.URL+"/hang", nil)
	wantCode(t, err, 409, bloberror.CannotVerifyCopySource)
}

// TestFromURLSecondary: the From URL writes replicate like any write and
// the secondary refuses them.
func TestFromURLSecondary(t *testing.T) {
	e := newEnv(t, envOptions{manualClock: true})
	e.mustCreate("ctr")
	e.mustUpload("ctr", "src", []byte("replicate me"))
	src := e.readSASURL("ctr", "src")
	for _, op := range fromURLOps {
		t.Run(op.name, func(t *testing.T) {
			dest := strings.ToLower(op.name)
			if op.name == "AppendBlockFromURL" {
				e.mustCreateAppend("ctr", dest)
			}
			e.sync()
			run := op.run
			if op.name == "AppendBlockFromURL" {
				run = func(_ *env, c *azblob.Client, cont, dest, src string) error {
					_, err := c.ServiceClient().NewContainerClient(cont).NewAppendBlobClient(dest).AppendBlockFromURL(ctx(), src, nil)
					return err
				}
			}
			wantCode(t, run(e, e.secClient, "ctr", dest, src), 403, blobapi.SecondaryWriteCode)
			e.clock.Advance(time.Second)
			if err := run(e, e.client, "ctr", dest, src); err != nil {
				t.Fatal(err)
			}
			if op.name == "PutBlockFromURL" {
				e.readResult(op.name, "ctr", dest)
			}
			if _, err := e.secClient.ServiceClient().NewContainerClient("ctr").NewBlobClient(dest).GetProperties(ctx(), nil); op.name != "AppendBlockFromURL" && !bloberror.HasCode(err, bloberror.BlobNotFound) {
				t.Fatalf("secondary has the blob before sync: %v", err)
			}
			e.sync()
			if got := e.mustDownload(e.secClient, "ctr", dest); string(got) != "replicate me" {
				t.Fatalf("secondary holds %q", got)
			}
		})
	}
}

// TestFromURLControlAPIRefused: the emulator's control API, which answers
// loopback clients only, is never read as a copy source, directly or
// through a redirect.
func TestFromURLControlAPIRefused(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("ctr")
	org := newOrigin(t, nil)
	bb := e.client.ServiceClient().NewContainerClient("ctr").NewBlockBlobClient("d")
	_, err := bb.UploadBlobFromURL(ctx(), org.srv.URL+"/_geoblob/replication", nil)
	wantCode(t, err, 403, bloberror.CannotVerifyCopySource)
	if n := org.hits.Load(); n != 0 {
		t.Fatalf("the control path was fetched %d times", n)
	}
	_, err = bb.UploadBlobFromURL(ctx(), org.srv.URL+"/redirect-to-control", nil)
	wantCode(t, err, 409, bloberror.CannotVerifyCopySource)
	if n := org.hits.Load(); n != 1 {
		t.Fatalf("%d fetches, want only the redirect", n)
	}
	if _, err := bb.GetProperties(ctx(), nil); !bloberror.HasCode(err, bloberror.BlobNotFound) {
		t.Fatalf("a blob was written: %v", err)
	}
}
