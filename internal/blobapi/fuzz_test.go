package blobapi

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"

	"github.com/geoblob/geoblob/internal/store"
)

// Fuzz targets. `go test` runs only their seeds (below and in
// testdata/fuzz); run one for real with
//
//	go test -fuzz=FuzzHandler -fuzztime=60s ./internal/blobapi/

func FuzzParseAddress(f *testing.F) {
	for _, s := range []struct {
		path, query string
		secondary   bool
	}{
		{"/devstoreaccount1", "comp=list", false},
		{"/devstoreaccount1-secondary/ctr", "restype=container", false},
		{"/devstoreaccount1/ctr/a/b/c.txt", "", true},
		{"/devstoreaccount1/top.txt", "", false},
		{"/devstoreaccount1/$root/x", "comp=metadata", false},
		{"/Bad_Acct/ctr", "restype=container", false},
		{"/", "", false},
		{"", "", false},
		{"/acc/a--b", "restype=container", false},
		{"/acc/ctr/\x00\xff", "", false},
		{"/acc/ctr/", "restype=account", false},
		{"/acc-secondary-secondary/ctr", "restype=%zz", false},
	} {
		f.Add(s.path, s.query, s.secondary)
	}
	f.Fuzz(func(t *testing.T, path, query string, secondary bool) {
		r := &http.Request{Method: http.MethodGet, URL: &url.URL{Path: path, RawQuery: query}, Header: http.Header{}}
		a, err := ParseAddress(r, secondary)
		if err != nil {
			var ae *AddressError
			if !errors.As(err, &ae) || ae.Code == "" || ae.Message == "" {
				t.Fatalf("ParseAddress(%q, %q) = %v (%T), want an *AddressError", path, query, err, err)
			}
			return
		}
		if !validAccountName(a.Account) {
			t.Fatalf("accepted account %q", a.Account)
		}
		if a.Container == "" && a.Blob != "" {
			t.Fatalf("blob %q without a container", a.Blob)
		}
		if a.Container != "" && validContainerName(a.Container) != nil {
			t.Fatalf("accepted container %q", a.Container)
		}
		if a.Blob != "" && validBlobName(a.Blob) != nil {
			t.Fatalf("accepted blob %q", a.Blob)
		}
		if secondary && a.Location != Secondary {
			t.Fatalf("secondary host gave %v", a.Location)
		}
	})
}

func FuzzParseBlockList(f *testing.F) {
	for _, s := range []string{
		"<BlockList><Latest>YQ==</Latest><Committed>Yg==</Committed><Uncommitted>Yw==</Uncommitted></BlockList>",
		`<?xml version="1.0" encoding="utf-8"?><BlockList> <Latest> YQ== </Latest> </BlockList>`,
		"<BlockList/>",
		"<BlockList><Latest>abc</Latest",
		"<Blocks/>",
		"<BlockList><Newest>YQ==</Newest></BlockList>",
		"<BlockList><Latest><x/></Latest></BlockList>",
		"<BlockList></BlockList><BlockList/>",
		"",
		"<BlockList><Latest>&amp;&#x41;</Latest></BlockList>",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		refs, err := parseBlockList(body)
		if err != nil {
			if refs != nil {
				t.Fatalf("error %v with %d refs", err, len(refs))
			}
			return
		}
		if wellFormed(body, "BlockList") != nil {
			t.Fatalf("accepted a document that is not a <BlockList>: %q", body)
		}
		for _, r := range refs {
			switch r.Mode {
			case store.BlockCommitted, store.BlockUncommitted, store.BlockLatest:
			default:
				t.Fatalf("invalid mode %v", r.Mode)
			}
		}
		if len(refs) > 50000 {
			t.Fatalf("%d refs accepted", len(refs))
		}
	})
}

func FuzzParseACL(f *testing.F) {
	for _, s := range []string{
		"",
		"<SignedIdentifiers/>",
		"<SignedIdentifiers><SignedIdentifier><Id>a</Id><AccessPolicy><Start>2025-01-01T00:00:00Z</Start><Expiry>2025-01-02T00:00:00.0000000Z</Expiry><Permission>rwdl</Permission></AccessPolicy></SignedIdentifier></SignedIdentifiers>",
		"<SignedIdentifiers><SignedIdentifier><Id>a</Id></SignedIdentifier></SignedIdentifiers>",
		"<SignedIdentifiers><SignedIdentifier>",
		"<SignedIdentifiers><SignedIdentifier><Id>a</Id><AccessPolicy><Start>yesterday</Start></AccessPolicy></SignedIdentifier></SignedIdentifiers>",
		"<SignedIdentifiers><SignedIdentifier><Id></Id></SignedIdentifier></SignedIdentifiers>",
		"<Other/>",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		acl, err := parseACL(body)
		if err != nil {
			return
		}
		if len(acl) > 5 {
			t.Fatalf("%d identifiers accepted", len(acl))
		}
		for _, si := range acl {
			if si.ID == "" || len(si.ID) > 64 {
				t.Fatalf("accepted id %q", si.ID)
			}
			for _, r := range si.Permission {
				if !strings.ContainsRune("racwdxltmeopi", r) {
					t.Fatalf("accepted permission %q", si.Permission)
				}
			}
		}
	})
}

func FuzzServiceProperties(f *testing.F) {
	for _, s := range []string{
		defaultServiceProperties,
		"<StorageServiceProperties><Cors><CorsRule><AllowedOrigins>*</AllowedOrigins></CorsRule></Cors></StorageServiceProperties>",
		"<StorageServiceProperties><DefaultServiceVersion>2025-01-05</DefaultServiceVersion></StorageServiceProperties>",
		"<StorageServiceProperties><Cors>",
		"<StorageServiceProperties xmlns:a=\"urn:x\"><a:Cors><a:b/></a:Cors></StorageServiceProperties>",
		"<StorageServiceProperties><![CDATA[x]]><!-- c --><Logging>&lt;</Logging></StorageServiceProperties>",
		"<Other/>",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		doc, err := mergeServiceProperties([]byte(defaultServiceProperties), body)
		if err != nil {
			return
		}
		// The stored document is well formed and is itself a valid update
		// that changes nothing.
		if err := wellFormed(doc, "StorageServiceProperties"); err != nil {
			t.Fatalf("stored document is not well formed (%v): %q", err, doc)
		}
		if err := wellFormedAny(doc); err != nil {
			t.Fatalf("stored document is not namespace-well-formed (%v): %q", err, doc)
		}
		again, err := mergeServiceProperties(doc, doc)
		if err != nil {
			t.Fatalf("stored document is not a valid update (%v): %q", err, doc)
		}
		if !bytes.Equal(again, doc) {
			t.Fatalf("re-applying the stored document changed it:\n%q\n%q", doc, again)
		}
	})
}

func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"bytes=0-9", "bytes=5-", "bytes=-3", "bytes=a-b", "bytes=9-0", "bytes=0-1,2-3", " bytes= 1 - 2 ", "bytes=-0", "items=0-1", "bytes=0-9223372036854775807", "bytes=-9223372036854775807"} {
		f.Add(s, int64(10))
	}
	f.Fuzz(func(t *testing.T, v string, size int64) {
		r, ok := parseRange(v)
		if !ok {
			return
		}
		if r.start < 0 || (r.end != -1 && r.end < r.start) {
			t.Fatalf("parseRange(%q) = %+v", v, r)
		}
		if size < 0 {
			size = -(size + 1)
		}
		off, n, ok := r.resolve(size)
		if !ok {
			return
		}
		if off < 0 || n < 1 || off > size-n {
			t.Fatalf("parseRange(%q).resolve(%d) = %d, %d", v, size, off, n)
		}
	})
}

// fuzzServer is a Server with a container "ctr" holding blob "b", and an
// account SAS query that grants everything.
type fuzzServer struct {
	s   *Server
	sas string
}

func newFuzzServer(tb testing.TB) *fuzzServer {
	tb.Helper()
	const account = "devstoreaccount1"
	keyB64 := "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
	key, err := base64.StdEncoding.DecodeString(keyB64)
	if err != nil {
		tb.Fatal(err)
	}
	primary, secondary := store.New(store.Options{}), store.New(store.Options{})
	for _, st := range []*store.Store{primary, secondary} {
		if _, err := st.CreateContainer(account, "ctr", nil, "blob"); err != nil {
			tb.Fatal(err)
		}
		if _, err := st.PutBlob(account, "ctr", "b", store.Bytes([]byte("hello world")), store.HTTPHeaders{}, map[string]string{"k": "v"}, store.WriteOptions{}); err != nil {
			tb.Fatal(err)
		}
	}
	s := New(Config{
		Primary: primary, Secondary: secondary,
		Keys: func(a string) ([]byte, bool) {
			if a == account {
				return key, true
			}
			return nil, false
		},
		MaxBlobSize: 1 << 20,
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	cred, err := azblob.NewSharedKeyCredential(account, keyB64)
	if err != nil {
		tb.Fatal(err)
	}
	perms := sas.AccountPermissions{Read: true, Write: true, Delete: true, List: true, Add: true, Create: true, Update: true, Process: true, Tag: true}
	qp, err := sas.AccountSignatureValues{
		Protocol:      sas.ProtocolHTTPSandHTTP,
		ExpiryTime:    time.Now().Add(24 * time.Hour).UTC(),
		Permissions:   perms.String(),
		ResourceTypes: (&sas.AccountResourceTypes{Service: true, Container: true, Object: true}).String(),
	}.SignWithSharedKey(cred)
	if err != nil {
		tb.Fatal(err)
	}
	return &fuzzServer{s: s, sas: qp.Encode()}
}

// Flags of a FuzzHandler input.
const (
	fuzzSigned    = 1 << iota // append the account SAS
	fuzzSecondary             // use the distinct secondary handler
	fuzzNoLength              // Content-Length unknown (-1)
	fuzzLongLen               // Content-Length one more than the body
)

// FuzzHandler sends arbitrary requests through the whole Server: it must
// never panic or answer 500, and every error answer must be an Azure error.
func FuzzHandler(f *testing.F) {
	fs := newFuzzServer(f)
	acct := "/devstoreaccount1"
	type seed struct {
		method, path, query, headers string
		body                         string
		flags                        uint8
	}
	for _, s := range []seed{
		{"GET", acct + "/", "comp=list&include=metadata&maxresults=2", "", "", fuzzSigned},
		{"GET", acct + "/", "restype=service&comp=properties", "", "", fuzzSigned},
		{"PUT", acct + "/", "restype=service&comp=properties", "", "<StorageServiceProperties><Cors/></StorageServiceProperties>", fuzzSigned},
		{"PUT", acct + "/", "restype=service&comp=properties", "", `<StorageServiceProperties xmlns:a="urn:x"><Cors><a:CorsRule/></Cors></StorageServiceProperties>`, fuzzSigned},
		{"GET", acct + "/", "restype=service&comp=properties", "", "", fuzzSigned},
		{"GET", acct + "/", "restype=service&comp=stats", "", "", fuzzSigned | fuzzSecondary},
		{"GET", acct + "-secondary/ctr", "restype=container&comp=list&delimiter=/&prefix=a", "", "", fuzzSigned},
		{"PUT", acct + "/new", "restype=container", "x-ms-meta-a: b\nx-ms-blob-public-access: container", "", fuzzSigned},
		{"PUT", acct + "/ctr", "restype=container&comp=acl", "", "<SignedIdentifiers><SignedIdentifier><Id>a</Id><AccessPolicy><Permission>r</Permission></AccessPolicy></SignedIdentifier></SignedIdentifiers>", fuzzSigned},
		{"GET", acct + "/ctr", "restype=container&comp=acl", "", "", fuzzSigned},
		{"PUT", acct + "/ctr/n", "", "x-ms-blob-type: BlockBlob\nContent-MD5: XUFAKrxLKna5cZ2REBfFkg==", "hello", fuzzSigned},
		{"PUT", acct + "/ctr/n", "comp=block&blockid=YQ==", "", "abc", fuzzSigned},
		{"PUT", acct + "/ctr/n", "comp=blocklist", "x-ms-meta-z: 1", "<BlockList><Latest>YQ==</Latest></BlockList>", fuzzSigned},
		{"GET", acct + "/ctr/n", "comp=blocklist&blocklisttype=all", "", "", fuzzSigned},
		{"GET", acct + "/ctr/b", "", "x-ms-range: bytes=2-5\nx-ms-range-get-content-md5: true", "", fuzzSigned},
		{"GET", acct + "/ctr/b", "", "Range: bytes=-3\nIf-None-Match: *", "", 0},
		{"HEAD", acct + "/ctr/b", "", "If-Modified-Since: Sat, 01 Jan 2000 00:00:00 GMT", "", fuzzSigned},
		{"PUT", acct + "/ctr/b", "comp=lease", "x-ms-lease-action: acquire\nx-ms-lease-duration: -1", "", fuzzSigned},
		{"PUT", acct + "/ctr/b", "comp=lease", "x-ms-lease-action: break\nx-ms-lease-break-period: 0", "", fuzzSigned},
		{"PUT", acct + "/ctr/b", "comp=properties", "x-ms-blob-content-type: text/plain", "", fuzzSigned},
		{"PUT", acct + "/ctr/b", "comp=metadata", "x-ms-meta-k: v", "", fuzzSigned},
		{"PUT", acct + "/ctr/c", "", "x-ms-copy-source: http://127.0.0.1/devstoreaccount1/ctr/b", "", fuzzSigned},
		{"DELETE", acct + "/ctr/c", "", "", "", fuzzSigned},
		{"PUT", acct + "/ctr/a", "", "x-ms-blob-type: AppendBlob", "", fuzzSigned},
		{"PUT", acct + "/ctr/a", "comp=appendblock", "x-ms-blob-condition-appendpos: 0\nx-ms-blob-condition-maxsize: 10", "abc", fuzzSigned},
		{"PUT", acct + "/ctr/a", "comp=appendblock", "x-ms-copy-source: http://127.0.0.1/devstoreaccount1/ctr/b\nx-ms-source-range: bytes=0-1", "", fuzzSigned},
		{"PUT", acct + "/ctr/a", "comp=seal", "x-ms-blob-condition-appendpos: 3", "", fuzzSigned},
		{"PUT", acct + "/ctr/u", "", "x-ms-blob-type: BlockBlob\nx-ms-copy-source: http://127.0.0.1/devstoreaccount1/ctr/b", "", fuzzSigned},
		{"PUT", acct + "/ctr/u", "", "x-ms-requires-sync: true\nx-ms-copy-source: http://127.0.0.1/devstoreaccount1/ctr/b", "", fuzzSigned},
		{"PUT", acct + "/ctr/u", "comp=block&blockid=YQ==", "x-ms-copy-source: http://127.0.0.1/devstoreaccount1/ctr/b\nx-ms-source-range: bytes=1-", "", fuzzSigned},
		{"PUT", acct + "/ctr/t", "", "x-ms-blob-type: BlockBlob", "truncated", fuzzSigned | fuzzLongLen},
		{"PUT", acct + "/ctr/t", "", "x-ms-blob-type: BlockBlob", "chunked", fuzzSigned | fuzzNoLength},
		{"GET", acct + "/", "restype=account&comp=properties", "", "", fuzzSigned},
		{"POST", acct + "/ctr", "restype=container&x=%zz", "", "", fuzzSigned},
		{"GET", "/", "", "", "", 0},
		{"BREW", acct + "/ctr/b", "comp=snapshot", "x-ms-version: 2099-01-01", "", fuzzSigned},
		// CORS (cors.go) and x-ms-version (version.go).
		{"PUT", acct + "/", "restype=service&comp=properties", "", "<StorageServiceProperties><Cors><CorsRule><AllowedOrigins>*</AllowedOrigins><AllowedMethods>GET,PUT</AllowedMethods><AllowedHeaders>x-ms-meta*</AllowedHeaders><ExposedHeaders>x-ms-*</ExposedHeaders><MaxAgeInSeconds>5</MaxAgeInSeconds></CorsRule></Cors></StorageServiceProperties>", fuzzSigned},
		{"OPTIONS", acct + "/ctr/b", "", "Origin: http://a.example\nAccess-Control-Request-Method: PUT\nAccess-Control-Request-Headers: x-ms-meta-a, x-ms-blob-type", "", 0},
		{"GET", acct + "/ctr/b", "", "Origin: http://a.example\nx-ms-version: 2020-13-45", "", fuzzSigned},
		// Snapshots, versions, soft delete and page range diffs (history.go).
		{"PUT", acct + "/ctr/b", "comp=snapshot", "x-ms-meta-s: 1\nIf-Match: *", "", fuzzSigned},
		{"GET", acct + "/ctr/b", "snapshot=2026-12-02T00:00:00.0000000Z", "", "", fuzzSigned},
		{"GET", acct + "/ctr/b", "versionid=2026-12-02T00:00:00.0000000Z", "", "", fuzzSigned},
		{"DELETE", acct + "/ctr/b", "", "x-ms-delete-snapshots: include", "", fuzzSigned},
		{"PUT", acct + "/ctr/b", "comp=undelete", "", "", fuzzSigned},
		{"GET", acct + "/ctr", "restype=container&comp=list&include=snapshots,versions,deleted&prefix=b&delimiter=/&maxresults=1", "", "", fuzzSigned},
		{"GET", acct + "/ctr/p", "comp=pagelist&prevsnapshot=2026-12-02T00:00:00.0000000Z", "x-ms-range: bytes=0-511", "", fuzzSigned},
		{"PUT", acct + "/ctr/b", "comp=copy&copyid=abc", "x-ms-copy-action: abort", "", fuzzSigned},
		{"PUT", acct + "/ctr/b", "comp=metadata&snapshot=2026-12-02T00:00:00.0000000Z", "x-ms-meta-k: v", "", fuzzSigned},
	} {
		f.Add(s.method, s.path, s.query, s.headers, []byte(s.body), s.flags)
	}
	f.Fuzz(func(t *testing.T, method, path, query, headers string, body []byte, flags uint8) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Method = method
		if flags&fuzzSigned != 0 {
			if query != "" {
				query += "&"
			}
			query += fs.sas
		}
		r.URL = &url.URL{Path: path, RawQuery: query}
		r.RequestURI = r.URL.RequestURI()
		for _, line := range strings.Split(headers, "\n") {
			k, v, ok := strings.Cut(line, ":")
			if !ok || k == "" {
				continue
			}
			r.Header.Add(k, strings.TrimSpace(v))
		}
		// net/http limits a request body to its Content-Length.
		r.ContentLength = int64(len(body))
		r.Body = io.NopCloser(bytes.NewReader(body))
		switch {
		case flags&fuzzNoLength != 0:
			r.ContentLength = -1
		case flags&fuzzLongLen != 0:
			r.ContentLength++
		}
		w := httptest.NewRecorder()
		h := http.Handler(fs.s)
		if flags&fuzzSecondary != 0 {
			h = fs.s.SecondaryHandler()
		}
		h.ServeHTTP(w, r)
		checkAnswer(t, r, w)
	})
}

// checkAnswer asserts what every answer of the Server must satisfy.
func checkAnswer(t *testing.T, r *http.Request, w *httptest.ResponseRecorder) {
	t.Helper()
	res := w.Result()
	if res.StatusCode == http.StatusInternalServerError {
		t.Fatalf("%s %s?%s answered 500: %s", r.Method, r.URL.Path, r.URL.RawQuery, w.Body.Bytes())
	}
	for _, h := range []string{"x-ms-request-id", "x-ms-version"} {
		if res.Header.Get(h) == "" {
			t.Fatalf("%s %s answered %d without %s", r.Method, r.URL.Path, res.StatusCode, h)
		}
	}
	// Date is written by net/http for every answer whose header map has
	// none; a Date entry with no value would suppress it on the wire.
	if v, ok := res.Header["Date"]; ok && (len(v) == 0 || v[0] == "") {
		t.Fatalf("%s %s answered %d with Date suppressed", r.Method, r.URL.Path, res.StatusCode)
	}
	if cl := res.Header.Get("Content-Length"); cl != "" && r.Method != http.MethodHead && res.StatusCode != http.StatusNotModified {
		if n, err := strconv.Atoi(cl); err != nil || n != w.Body.Len() {
			t.Fatalf("%s %s answered %d with Content-Length %s and %d body bytes", r.Method, r.URL.Path, res.StatusCode, cl, w.Body.Len())
		}
	}
	if res.StatusCode < 400 && res.StatusCode != http.StatusNotModified {
		if res.Header.Get("Content-Type") == "application/xml" && r.Method != http.MethodHead {
			if err := wellFormedAny(w.Body.Bytes()); err != nil {
				t.Fatalf("%s %s?%s answered %d with malformed XML (%v): %q", r.Method, r.URL.Path, r.URL.RawQuery, res.StatusCode, err, w.Body.Bytes())
			}
		}
		return
	}
	code := res.Header.Get("x-ms-error-code")
	if code == "" {
		t.Fatalf("%s %s answered %d without x-ms-error-code", r.Method, r.URL.Path, res.StatusCode)
	}
	if r.Method == http.MethodHead || res.StatusCode == http.StatusNotModified {
		if w.Body.Len() != 0 {
			t.Fatalf("%s answered %d with a body", r.Method, res.StatusCode)
		}
		return
	}
	var doc struct {
		XMLName xml.Name `xml:"Error"`
		Code    string   `xml:"Code"`
		Message string   `xml:"Message"`
	}
	if err := xml.Unmarshal(w.Body.Bytes(), &doc); err != nil || doc.Code != code || doc.Message == "" {
		t.Fatalf("%s %s answered %d %s with an invalid error body (%v): %q", r.Method, r.URL.Path, res.StatusCode, code, err, w.Body.Bytes())
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/xml" {
		t.Fatalf("error body with Content-Type %q", ct)
	}
}

// wellFormedAny checks that doc is a well-formed XML document whose
// prefixed names are all declared.
func wellFormedAny(doc []byte) error {
	d := xml.NewDecoder(bytes.NewReader(doc))
	var ns []map[string]bool
	var names []xml.Name
	declared := func(prefix string) bool {
		for _, m := range ns {
			if m[prefix] {
				return true
			}
		}
		return prefix == "" || prefix == "xml" || prefix == "xmlns"
	}
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			m := map[string]bool{}
			for _, a := range t.Attr {
				if a.Name.Space == "xmlns" {
					m[a.Name.Local] = true
				}
			}
			ns = append(ns, m)
			names = append(names, t.Name)
			if !declared(t.Name.Space) {
				return errors.New("undeclared namespace prefix " + t.Name.Space)
			}
			for _, a := range t.Attr {
				if !declared(a.Name.Space) {
					return errors.New("undeclared namespace prefix " + a.Name.Space)
				}
			}
		case xml.EndElement:
			if len(ns) == 0 || names[len(names)-1] != t.Name {
				return errors.New("unbalanced end element")
			}
			ns, names = ns[:len(ns)-1], names[:len(names)-1]
		}
	}
}
