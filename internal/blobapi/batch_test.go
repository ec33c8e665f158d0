package blobapi_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/lease"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"

	"github.com/geoblob/geoblob/internal/blobapi"
)

// batchOutcome is what a test expects of one sub-request.
type batchOutcome struct {
	status int    // 0: success
	code   string // error code when status is set
}

func checkBatch(t *testing.T, resps []*service.BatchResponseItem, want []batchOutcome) {
	t.Helper()
	if len(resps) != len(want) {
		t.Fatalf("%d sub-responses, want %d", len(resps), len(want))
	}
	for i, r := range resps {
		if r.ContentID == nil || *r.ContentID != i {
			t.Fatalf("sub-response %d has Content-ID %v", i, r.ContentID)
		}
		if r.RequestID == nil || *r.RequestID == "" {
			t.Errorf("sub-response %d has no x-ms-request-id", i)
		}
		w := want[i]
		if w.status == 0 {
			if r.Error != nil {
				t.Errorf("sub-response %d: %v, want success", i, r.Error)
			}
			continue
		}
		var re *azcore.ResponseError
		if !errors.As(r.Error, &re) {
			t.Errorf("sub-response %d: error %v, want %d %s", i, r.Error, w.status, w.code)
			continue
		}
		if re.StatusCode != w.status || re.ErrorCode != w.code {
			t.Errorf("sub-response %d: %d %s, want %d %s", i, re.StatusCode, re.ErrorCode, w.status, w.code)
		}
	}
}

func (e *env) exists(c *azblob.Client, cont, name string) bool {
	e.t.Helper()
	_, err := c.ServiceClient().NewContainerClient(cont).NewBlobClient(name).GetProperties(ctx(), nil)
	if bloberror.HasCode(err, bloberror.BlobNotFound) {
		return false
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return true
}

func (e *env) tierOf(cont, name string) string {
	e.t.Helper()
	p, err := e.client.ServiceClient().NewContainerClient(cont).NewBlobClient(name).GetProperties(ctx(), nil)
	if err != nil {
		e.t.Fatal(err)
	}
	if p.AccessTier == nil {
		return ""
	}
	return *p.AccessTier
}

// sasClient returns a client of the primary authorised by an account SAS
// only.
func (e *env) sasClient() *azblob.Client {
	e.t.Helper()
	c, err := azblob.NewClientWithNoCredential(e.primaryURL()+"?"+e.accountSAS(), clientOptions())
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// containerSAS returns a service SAS for a container granting perms.
func (e *env) containerSAS(cont string, perms sas.ContainerPermissions) string {
	e.t.Helper()
	qp, err := sas.BlobSignatureValues{Protocol: sas.ProtocolHTTPSandHTTP, ExpiryTime: time.Now().Add(time.Hour).UTC(),
		ContainerName: cont, Permissions: perms.String()}.SignWithSharedKey(e.cred)
	if err != nil {
		e.t.Fatal(err)
	}
	return qp.Encode()
}

// TestBlobBatch runs service and container batches through the SDK with
// Shared Key and SAS credentials: deletes, tiers, and per-sub-request
// failures next to successes.
func TestBlobBatch(t *testing.T) {
	e := newEnv(t, envOptions{manualClock: true})
	e.mustCreate("bat")
	e.mustCreate("other")
	sk := e.client
	sasC := e.sasClient()
	contSAS, err := container.NewClientWithNoCredential(e.primaryURL()+"bat?"+e.containerSAS("bat", sas.ContainerPermissions{Delete: true, Write: true, Read: true}), &container.ClientOptions{ClientOptions: clientOptions().ClientOptions})
	if err != nil {
		t.Fatal(err)
	}
	type submit func(t *testing.T, names []string, tier *blob.AccessTier, opts *blob.DeleteOptions) ([]*service.BatchResponseItem, error)
	svcSubmit := func(c *azblob.Client) submit {
		return func(t *testing.T, names []string, tier *blob.AccessTier, opts *blob.DeleteOptions) ([]*service.BatchResponseItem, error) {
			bb, err := c.ServiceClient().NewBatchBuilder()
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range names {
				cont, name, _ := strings.Cut(n, "/")
				if tier != nil {
					err = bb.SetTier(cont, name, *tier, nil)
				} else {
					o := &service.BatchDeleteOptions{}
					if opts != nil {
						o.DeleteOptions = *opts
					}
					err = bb.Delete(cont, name, o)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			resp, err := c.ServiceClient().SubmitBatch(ctx(), bb, nil)
			return resp.Responses, err
		}
	}
	contSubmit := func(cc *container.Client) submit {
		return func(t *testing.T, names []string, tier *blob.AccessTier, opts *blob.DeleteOptions) ([]*service.BatchResponseItem, error) {
			bb, err := cc.NewBatchBuilder()
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range names {
				_, name, _ := strings.Cut(n, "/")
				if tier != nil {
					err = bb.SetTier(name, *tier, nil)
				} else {
					o := &container.BatchDeleteOptions{}
					if opts != nil {
						o.DeleteOptions = *opts
					}
					err = bb.Delete(name, o)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			resp, err := cc.SubmitBatch(ctx(), bb, nil)
			return resp.Responses, err
		}
	}
	clients := []struct {
		name   string
		submit submit
	}{
		{"service shared key", svcSubmit(sk)},
		{"service account sas", svcSubmit(sasC)},
		{"container shared key", contSubmit(sk.ServiceClient().NewContainerClient("bat"))},
		{"container service sas", contSubmit(contSAS)},
	}
	for i, cl := range clients {
		t.Run(cl.name, func(t *testing.T) {
			p := fmt.Sprintf("c%d-", i)
			for _, n := range []string{"a", "b", "c", "leased", "t1", "t2"} {
				e.mustUpload("bat", p+n, []byte(n))
			}
			lc, err := lease.NewBlobClient(sk.ServiceClient().NewContainerClient("bat").NewBlobClient(p+"leased"), nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := lc.AcquireLease(ctx(), -1, nil); err != nil {
				t.Fatal(err)
			}
			// Deletes: three succeed, one is missing, one is leased.
			resps, err := cl.submit(t, []string{"bat/" + p + "a", "bat/" + p + "b", "bat/" + p + "missing", "bat/" + p + "leased", "bat/" + p + "c"}, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			checkBatch(t, resps, []batchOutcome{{}, {}, {404, "BlobNotFound"}, {412, "LeaseIdMissing"}, {}})
			for _, n := range []string{"a", "b", "c"} {
				if e.exists(sk, "bat", p+n) {
					t.Errorf("%s still exists", p+n)
				}
			}
			if !e.exists(sk, "bat", p+"leased") {
				t.Error("the leased blob was deleted")
			}
			// With the lease ID the leased blob goes.
			resps, err = cl.submit(t, []string{"bat/" + p + "leased"}, nil, &blob.DeleteOptions{AccessConditions: &blob.AccessConditions{LeaseAccessConditions: &blob.LeaseAccessConditions{LeaseID: lc.LeaseID()}}})
			if err != nil {
				t.Fatal(err)
			}
			checkBatch(t, resps, []batchOutcome{{}})
			// x-ms-delete-snapshots=only deletes the snapshots and keeps
			// the blob, as Delete Blob does; without it a blob that has
			// snapshots is refused as by Delete Blob.
			t1 := sk.ServiceClient().NewContainerClient("bat").NewBlobClient(p + "t1")
			snap, err := t1.CreateSnapshot(ctx(), nil)
			if err != nil {
				t.Fatal(err)
			}
			resps, err = cl.submit(t, []string{"bat/" + p + "t1"}, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, single := t1.Delete(ctx(), nil)
			var sre, bre *azcore.ResponseError
			if !errors.As(single, &sre) || !errors.As(resps[0].Error, &bre) || sre.StatusCode != bre.StatusCode || sre.ErrorCode != bre.ErrorCode || sre.ErrorCode != "SnapshotsPresent" {
				t.Errorf("batch refusal %v differs from Delete Blob's %v", resps[0].Error, single)
			}
			resps, err = cl.submit(t, []string{"bat/" + p + "t1"}, nil, &blob.DeleteOptions{DeleteSnapshots: to.Ptr(blob.DeleteSnapshotsOptionTypeOnly)})
			if err != nil {
				t.Fatal(err)
			}
			checkBatch(t, resps, []batchOutcome{{}})
			if !e.exists(sk, "bat", p+"t1") {
				t.Error("delete-snapshots=only deleted the blob")
			}
			sc, err := t1.WithSnapshot(*snap.Snapshot)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := sc.GetProperties(ctx(), nil); !bloberror.HasCode(err, bloberror.BlobNotFound) {
				t.Errorf("the snapshot survived delete-snapshots=only: %v", err)
			}
			// Set tiers.
			resps, err = cl.submit(t, []string{"bat/" + p + "t1", "bat/" + p + "t2", "bat/" + p + "gone"}, to.Ptr(blob.AccessTierCool), nil)
			if err != nil {
				t.Fatal(err)
			}
			checkBatch(t, resps, []batchOutcome{{}, {}, {404, "BlobNotFound"}})
			for _, n := range []string{"t1", "t2"} {
				if got := e.tierOf("bat", p+n); got != "Cool" {
					t.Errorf("%s tier %q, want Cool", p+n, got)
				}
			}
		})
	}
}

// TestBlobBatchReplication: batch deletes and tiers replicate to the
// secondary after the lag, and a batch sent to the secondary is refused.
func TestBlobBatchReplication(t *testing.T) {
	e := newEnv(t, envOptions{manualClock: true})
	e.mustCreate("rep")
	for _, n := range []string{"x", "y", "z"} {
		e.mustUpload("rep", n, []byte(n))
	}
	e.sync()
	bb, err := svc(e.client).NewBatchBuilder()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"x", "y"} {
		if err := bb.Delete("rep", n, nil); err != nil {
			t.Fatal(err)
		}
	}
	e.clock.Advance(time.Second)
	resp, err := svc(e.client).SubmitBatch(ctx(), bb, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkBatch(t, resp.Responses, []batchOutcome{{}, {}})
	// Before replication the secondary still serves both.
	for _, n := range []string{"x", "y"} {
		if !e.exists(e.secClient, "rep", n) {
			t.Fatalf("%s gone from the secondary before replication", n)
		}
	}
	e.clock.Advance(15 * time.Second)
	e.sync()
	for _, n := range []string{"x", "y"} {
		if e.exists(e.secClient, "rep", n) {
			t.Errorf("%s still on the secondary after replication", n)
		}
	}
	if !e.exists(e.secClient, "rep", "z") {
		t.Error("z lost on the secondary")
	}
	// The secondary refuses a batch as it refuses any write.
	sb, err := svc(e.secClient).NewBatchBuilder()
	if err != nil {
		t.Fatal(err)
	}
	if err := sb.Delete("rep", "z", nil); err != nil {
		t.Fatal(err)
	}
	_, err = svc(e.secClient).SubmitBatch(ctx(), sb, nil)
	wantCode(t, err, http.StatusForbidden, blobapi.SecondaryWriteCode)
	if !e.exists(e.client, "rep", "z") {
		t.Error("a batch on the secondary deleted z on the primary")
	}
}

// TestBlobBatchTooMany: 257 sub-requests are refused as a whole.
func TestBlobBatchTooMany(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("many")
	e.mustUpload("many", "keep", []byte("k"))
	bb, err := svc(e.client).NewBatchBuilder()
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i <= blobapi.MaxBatchSubRequests; i++ {
		if err := bb.Delete("many", "keep", nil); err != nil {
			t.Fatal(err)
		}
	}
	_, err = svc(e.client).SubmitBatch(ctx(), bb, nil)
	// Azure answers 202 with one part, without Content-ID, holding the
	// error; azblob returns that part's text as the error.
	if err == nil || !strings.Contains(err.Error(), "400 Bad Request") || !strings.Contains(err.Error(), "ExceedsMaxBatchRequestCount") {
		t.Fatalf("257 sub-requests: %v", err)
	}
	if !e.exists(e.client, "many", "keep") {
		t.Error("a refused batch deleted a blob")
	}
}

// rawPart is one hand-made sub-request.
type rawPart struct {
	method, uri string
	headers     map[string]string
}

func batchBody(parts []rawPart) (string, []byte) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for i, p := range parts {
		pw, _ := w.CreatePart(map[string][]string{"Content-Type": {"application/http"}, "Content-Transfer-Encoding": {"binary"}, "Content-ID": {fmt.Sprint(i)}})
		fmt.Fprintf(pw, "%s %s HTTP/1.1\r\n", p.method, p.uri)
		for k, v := range p.headers {
			fmt.Fprintf(pw, "%s: %s\r\n", k, v)
		}
		fmt.Fprint(pw, "\r\n")
	}
	w.Close()
	return "multipart/mixed; boundary=" + w.Boundary(), b.Bytes()
}

// subStatus is the status and error code of one sub-response.
type subStatus struct {
	status int
	code   string
	noID   bool // the part has no Content-ID
}

func readBatchResponse(t *testing.T, resp *http.Response) []subStatus {
	t.Helper()
	if resp.StatusCode != http.StatusAccepted {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("batch answered %d %s", resp.StatusCode, b)
	}
	_, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(params["boundary"], "batchresponse_") {
		t.Fatalf("Content-Type %q", resp.Header.Get("Content-Type"))
	}
	mr := multipart.NewReader(resp.Body, params["boundary"])
	var out []subStatus
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		raw, err := io.ReadAll(p)
		if err != nil {
			t.Fatal(err)
		}
		// As in Azure's answers, the delimiter's CRLF ends the headers.
		raw = append(raw, "\r\n"...)
		sr, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), nil)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, subStatus{sr.StatusCode, sr.Header.Get("x-ms-error-code"), p.Header.Get("Content-ID") == ""})
		sr.Body.Close()
	}
}

// TestBlobBatchSubRequestAuth: each sub-request stands on its own
// credentials, never on the batch's.
func TestBlobBatchSubRequestAuth(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("one")
	e.mustCreate("two")
	for _, n := range []string{"a", "b", "c", "d"} {
		e.mustUpload("one", n, []byte(n))
		e.mustUpload("two", n, []byte(n))
	}
	acct := "/" + devAccount
	oneSAS := e.containerSAS("one", sas.ContainerPermissions{Delete: true})
	badSig := strings.Replace(oneSAS, "sig=", "sig=AAAA", 1)
	tests := []struct {
		name    string
		target  string // batch path
		parts   []rawPart
		want    []subStatus
		gone    []string
		remains []string
	}{
		{"batch credential does not reach sub-requests", acct + "/?comp=batch",
			[]rawPart{{"DELETE", acct + "/one/a", nil}, {"DELETE", acct + "/one/b?" + oneSAS, nil}},
			[]subStatus{{403, "AuthorizationFailure", false}, {202, "", false}}, []string{"one/b"}, []string{"one/a"}},
		{"own auth fails while others succeed", acct + "/?comp=batch",
			[]rawPart{{"DELETE", acct + "/one/a?" + oneSAS, nil}, {"DELETE", acct + "/one/c?" + badSig, nil}},
			[]subStatus{{202, "", false}, {403, "AuthenticationFailed", false}}, []string{"one/a"}, []string{"one/c"}},
		{"wrong Shared Key signature fails alone", acct + "/?comp=batch",
			[]rawPart{{"DELETE", acct + "/one/c", map[string]string{"x-ms-date": time.Now().UTC().Format(http.TimeFormat), "Authorization": "SharedKey " + devAccount + ":AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}}, {"DELETE", acct + "/two/c?" + e.accountSAS(), nil}},
			[]subStatus{{403, "AuthenticationFailed", false}, {202, "", false}}, []string{"two/c"}, []string{"one/c"}},
		{"path relative to the account (Python SDK on a path-style endpoint)", acct + "/one?restype=container&comp=batch",
			[]rawPart{{"DELETE", "/one/d?" + oneSAS, nil}, {"DELETE", "/one/nope?" + oneSAS, nil}},
			[]subStatus{{202, "", false}, {404, "BlobNotFound", false}}, []string{"one/d"}, nil},
		{"container SAS does not reach another container", acct + "/?comp=batch",
			[]rawPart{{"DELETE", acct + "/two/a?" + oneSAS, nil}},
			[]subStatus{{403, "AuthenticationFailed", false}}, nil, []string{"two/a"}},
		// A condition the emulator does not model is refused inside a
		// batch too, never ignored (the delete would go ahead).
		{"unmodelled condition in a sub-request", acct + "/?comp=batch",
			[]rawPart{{"DELETE", acct + "/two/b?" + e.accountSAS(), map[string]string{"x-ms-access-tier-if-modified-since": "Wed, 01 Jan 2098 00:00:00 GMT"}}},
			[]subStatus{{400, "UnsupportedHeader", false}}, nil, []string{"two/b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ct, body := batchBody(tt.parts)
			got := readBatchResponse(t, e.do(http.MethodPost, tt.target, map[string]string{"Content-Type": ct, "x-ms-version": "2025-11-05"}, bytes.NewReader(body)))
			if len(got) != len(tt.want) {
				t.Fatalf("%d sub-responses %v, want %v", len(got), got, tt.want)
			}
			for i := range got {
				if got[i].status != tt.want[i].status || got[i].noID || (tt.want[i].code != "" && got[i].code != tt.want[i].code) {
					t.Errorf("sub-response %d: %v, want %v", i, got[i], tt.want[i])
				}
			}
			for _, n := range tt.gone {
				c, b, _ := strings.Cut(n, "/")
				if e.exists(e.client, c, b) {
					t.Errorf("%s still exists", n)
				}
			}
			for _, n := range tt.remains {
				c, b, _ := strings.Cut(n, "/")
				if !e.exists(e.client, c, b) {
					t.Errorf("%s was deleted", n)
				}
			}
		})
	}
}

// TestBlobBatchRefused: batches refused as a whole, before any
// sub-request runs. A body that is read but refused gets Azure's answer: 202
// with a single part, without Content-ID, holding the error.
func TestBlobBatchRefused(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("one")
	e.mustCreate("two")
	e.mustUpload("one", "a", []byte("a"))
	e.mustUpload("two", "a", []byte("a"))
	acct := "/" + devAccount
	s := "?" + e.accountSAS()
	del := func(p string) rawPart { return rawPart{"DELETE", acct + p + s, nil} }
	tier := func(p string) rawPart {
		return rawPart{"PUT", acct + p + "?comp=tier&" + s[1:], map[string]string{"x-ms-access-tier": "Cool"}}
	}
	tests := []struct {
		name     string
		target   string
		ct       string // overrides the Content-Type when set
		parts    []rawPart
		body     string // overrides the body when set
		embedded bool   // the error is the batch response's only part
		status   int
		code     string
	}{
		{"mixed kinds", "/?comp=batch", "", []rawPart{del("/one/a"), tier("/two/a")}, "", true, 400, "AllBatchSubRequestsShouldBeSameApi"},
		{"outside the container", "/one?restype=container&comp=batch", "", []rawPart{del("/one/a"), del("/two/a")}, "", true, 400, "InvalidInput"},
		{"another account", "/?comp=batch", "", []rawPart{del("/one/a"), {"DELETE", "/otheraccount/two/a" + s, nil}}, "", true, 400, "InvalidInput"},
		{"the secondary location", "/?comp=batch", "", []rawPart{del("/one/a"), {"DELETE", acct + "-secondary/two/a" + s, nil}}, "", true, 400, "InvalidInput"},
		{"other operation", "/?comp=batch", "", []rawPart{del("/one/a"), {"GET", acct + "/two/a" + s, nil}}, "", true, 400, "InvalidInput"},
		{"a container", "/?comp=batch", "", []rawPart{{"DELETE", acct + "/two?restype=container&" + s[1:], nil}}, "", true, 400, "InvalidInput"},
		{"absolute URI", "/?comp=batch", "", []rawPart{del("/one/a"), {"DELETE", "http://evil.example" + acct + "/two/a" + s, nil}}, "", true, 400, "InvalidInput"},
		{"empty", "/?comp=batch", "", nil, "", true, 400, "InvalidInput"},
		{"malformed multipart", "/?comp=batch", "multipart/mixed; boundary=batch_x", nil, "--batch_x\r\nContent-Type: application/http\r\n\r\nnot http\r\n--batch_x--\r\n", true, 400, "InvalidInput"},
		{"no Content-ID", "/?comp=batch", "multipart/mixed; boundary=batch_x", nil, "--batch_x\r\nContent-Type: application/http\r\n\r\nDELETE " + acct + "/one/a" + s + " HTTP/1.1\r\n\r\n--batch_x--\r\n", true, 400, "InvalidInput"},
		{"duplicate Content-ID", "/?comp=batch", "multipart/mixed; boundary=batch_x", nil,
			"--batch_x\r\nContent-Type: application/http\r\nContent-ID: 0\r\n\r\nDELETE " + acct + "/one/a" + s + " HTTP/1.1\r\n\r\n" +
				"--batch_x\r\nContent-Type: application/http\r\nContent-ID: 00\r\n\r\nDELETE " + acct + "/two/a" + s + " HTTP/1.1\r\n\r\n--batch_x--\r\n", true, 400, "InvalidInput"},
		{"oversized part", "/?comp=batch", "", []rawPart{{"DELETE", acct + "/one/a" + s, map[string]string{"x-ms-client-request-id": strings.Repeat("i", 80<<10)}}}, "", true, 400, "InvalidInput"},
		{"not multipart", "/?comp=batch", "application/xml", nil, "<x/>", false, 400, "InvalidHeaderValue"},
		{"too large", "/?comp=batch", "multipart/mixed; boundary=batch_x", nil, strings.Repeat("x", blobapi.MaxBatchBodySize+1), false, 413, "RequestBodyTooLarge"},
		// Azure: the body "can't exceed 4 MB"; 4 MiB itself is read (and
		// refused here for what it holds).
		{"exactly 4 MiB", "/?comp=batch", "multipart/mixed; boundary=batch_x", nil, strings.Repeat("x", blobapi.MaxBatchBodySize), true, 400, "InvalidInput"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ct, body := batchBody(tt.parts)
			if tt.ct != "" {
				ct, body = tt.ct, []byte(tt.body)
			}
			resp := e.do(http.MethodPost, acct+tt.target, map[string]string{"Content-Type": ct}, bytes.NewReader(body))
			if tt.embedded {
				got := readBatchResponse(t, resp)
				if len(got) != 1 || !got[0].noID || got[0].status != tt.status || got[0].code != tt.code {
					t.Fatalf("sub-responses %v, want one without Content-ID: %d %s", got, tt.status, tt.code)
				}
			} else if resp.StatusCode != tt.status || resp.Header.Get("x-ms-error-code") != tt.code {
				b, _ := io.ReadAll(resp.Body)
				t.Fatalf("%d %s, want %d %s: %s", resp.StatusCode, resp.Header.Get("x-ms-error-code"), tt.status, tt.code, b)
			}
			for _, c := range []string{"one", "two"} {
				if !e.exists(e.client, c, "a") {
					t.Fatalf("%s/a deleted by a refused batch", c)
				}
			}
		})
	}
	// An unauthorised batch runs nothing, even with valid sub-requests.
	ct, body := batchBody([]rawPart{del("/one/a")})
	resp := e.raw(http.MethodPost, e.srv.URL+acct+"/?comp=batch", map[string]string{"Content-Type": ct}, bytes.NewReader(body))
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("unauthorised batch answered %d", resp.StatusCode)
	}
	if !e.exists(e.client, "one", "a") {
		t.Fatal("an unauthorised batch deleted one/a")
	}
}

// TestBlobBatchConditions: a sub-request's conditions (ETag, tags) are
// checked as for a single request.
func TestBlobBatchConditions(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("cond")
	cc := e.client.ServiceClient().NewContainerClient("cond")
	for _, n := range []string{"a", "b", "c"} {
		if _, err := cc.NewBlockBlobClient(n).Upload(ctx(), streamOf([]byte(n)), &blockblob.UploadOptions{Tags: map[string]string{"k": "v"}}); err != nil {
			t.Fatal(err)
		}
	}
	wrong := azcore.ETag(`"0x1"`)
	bb, err := cc.NewBatchBuilder()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []struct {
		name string
		mac  blob.ModifiedAccessConditions
	}{
		{"a", blob.ModifiedAccessConditions{IfMatch: &wrong}},
		{"b", blob.ModifiedAccessConditions{IfTags: to.Ptr("k = 'x'")}},
		{"c", blob.ModifiedAccessConditions{IfTags: to.Ptr("k = 'v'")}},
	} {
		mac := d.mac
		if err := bb.Delete(d.name, &container.BatchDeleteOptions{DeleteOptions: blob.DeleteOptions{AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &mac}}}); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := cc.SubmitBatch(ctx(), bb, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkBatch(t, resp.Responses, []batchOutcome{{412, "ConditionNotMet"}, {412, "ConditionNotMet"}, {}})
	for n, want := range map[string]bool{"a": true, "b": true, "c": false} {
		if got := e.exists(e.client, "cond", n); got != want {
			t.Errorf("%s exists %v, want %v", n, got, want)
		}
	}
}

// TestBlobBatchSubResponseWire: the sub-responses carry Azure's x-ms-*
// headers in lower case, as Azure writes them: the JavaScript SDK matches
// "x-ms-error-code" case sensitively and counted a failed sub-request as a
// success when it read X-Ms-Error-Code. And the account batch is also
// taken at /ACCOUNT?restype=container&comp=batch, which is what the
// JavaScript SDK's service batch client sends on a path-style URL.
func TestBlobBatchSubResponseWire(t *testing.T) {
	e := newEnv(t)
	e.mustCreate("wire")
	e.mustUpload("wire", "a", []byte("a"))
	acct := "/" + devAccount
	s := "?" + e.accountSAS()
	for _, target := range []string{"/?comp=batch", "?restype=container&comp=batch"} {
		t.Run(target, func(t *testing.T) {
			e.mustUpload("wire", "a", []byte("a"))
			ct, body := batchBody([]rawPart{{"DELETE", acct + "/wire/a" + s, nil}, {"DELETE", acct + "/wire/missing" + s, nil}})
			resp := e.do(http.MethodPost, acct+target, map[string]string{"Content-Type": ct}, bytes.NewReader(body))
			raw, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusAccepted {
				t.Fatalf("status %d: %s", resp.StatusCode, raw)
			}
			if !bytes.Contains(raw, []byte("\r\nx-ms-error-code: BlobNotFound\r\n")) || bytes.Contains(raw, []byte("X-Ms-")) {
				t.Fatalf("sub-response headers not as Azure writes them:\n%s", raw)
			}
			if e.exists(e.client, "wire", "a") {
				t.Fatal("wire/a not deleted")
			}
		})
	}
}
