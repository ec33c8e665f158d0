package blobapi

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"sort"
	"strconv"
	"strings"

	"github.com/geoblob/geoblob/internal/location"

	"github.com/google/uuid"

	"github.com/geoblob/geoblob/internal/auth"
	"github.com/geoblob/geoblob/internal/azerr"
)

// Blob Batch limits. Azure takes at most 256 sub-requests in one batch and
// a request body of at most 4 MiB.
const (
	// MaxBatchSubRequests is the largest number of sub-requests in a batch.
	MaxBatchSubRequests = 256
	// MaxBatchBodySize is the largest Blob Batch request body.
	MaxBatchBodySize = 4 << 20
	// maxBatchPartSize bounds one part: the sub-request's line and headers
	// (a Delete or Set Tier sub-request has no body).
	maxBatchPartSize = RequestHeaderLimit + 8<<10
	// maxSubResponseBody bounds what one sub-response may write; the
	// sub-operations answer with at most a small XML error.
	maxSubResponseBody = 64 << 10
)

var (
	opBatchService   = &op{name: "BlobBatch", write: true, perm: auth.PermDelete, orPerm: auth.PermWrite, rt: auth.ResourceService}
	opBatchContainer = &op{name: "BlobBatchInContainer", write: true, perm: auth.PermDelete, orPerm: auth.PermWrite, rt: auth.ResourceContainer}
)

func init() {
	// Set here: batch runs sub-requests through serve, which routes to
	// these operations.
	opBatchService.run = (*call).batch
	opBatchContainer.run = (*call).batch
}

// batchKind is the operation of a batch's sub-requests.
type batchKind int

const (
	batchDelete batchKind = iota + 1
	batchSetTier
)

// subRequest is one parsed part of a batch.
type subRequest struct {
	contentID string
	req       *http.Request
}

// batchError is a batch the emulator refuses as a whole, with the Azure
// error code to answer.
type batchError struct{ code, msg string }

func (e *batchError) Error() string { return e.code + ": " + e.msg }

func batchInputError(format string, args ...any) error {
	return &batchError{"InvalidInput", "One of the request inputs is not valid: " + fmt.Sprintf(format, args...)}
}

// batch runs a Blob Batch: it parses the multipart/mixed body into Delete
// Blob or Set Blob Tier sub-requests and runs each through the server's own
// handler, which authorises it with its own credentials (the batch's
// credentials authorise only the batch), then answers 202 with one embedded
// HTTP response per sub-request.
func (c *call) batch() {
	mt, params, err := mime.ParseMediaType(c.r.Header.Get("Content-Type"))
	boundary := params["boundary"]
	if err != nil || !strings.EqualFold(mt, "multipart/mixed") || boundary == "" {
		c.badHeader("Content-Type", c.r.Header.Get("Content-Type"))
		return
	}
	if c.r.ContentLength > MaxBatchBodySize {
		c.fail(http.StatusRequestEntityTooLarge, "RequestBodyTooLarge",
			fmt.Sprintf("The request body is too large and exceeds the maximum permissible limit of %d bytes for a batch.", MaxBatchBodySize))
		return
	}
	body, err := io.ReadAll(io.LimitReader(c.r.Body, MaxBatchBodySize+1))
	if err != nil {
		c.fail(http.StatusBadRequest, "InvalidInput", "One of the request inputs is not valid: the batch body could not be read.")
		return
	}
	if len(body) > MaxBatchBodySize {
		c.fail(http.StatusRequestEntityTooLarge, "RequestBodyTooLarge",
			fmt.Sprintf("The request body is too large and exceeds the maximum permissible limit of %d bytes for a batch.", MaxBatchBodySize))
		return
	}
	respBoundary := "batchresponse_" + uuid.NewString()
	var out bytes.Buffer
	subs, err := c.parseBatch(body, boundary)
	if err != nil {
		// As Azure does (and azblob expects), a batch refused as a whole
		// after its body was read answers 202 with a single part, without
		// Content-ID, holding the error; no sub-request has run.
		var be *batchError
		if !errors.As(err, &be) {
			be = &batchError{"InvalidInput", "One of the request inputs is not valid."}
		}
		c.s.log.Debug("blobapi: batch refused", "code", be.code, "reason", be.msg)
		rec := newSubRecorder()
		azerr.Write(rec, c.r, http.StatusBadRequest, be.code, be.msg)
		writeSubResponse(&out, respBoundary, "", rec)
		subs = nil
	}
	for _, sr := range subs {
		rec := newSubRecorder()
		c.s.serve(rec, sr.req, false)
		if v := c.r.Header.Get("x-ms-version"); v != "" && sr.req.Header.Get("x-ms-version") == "" {
			// The batch's version applies to every sub-request.
			rec.h.Set("x-ms-version", v)
		}
		writeSubResponse(&out, respBoundary, sr.contentID, rec)
	}
	fmt.Fprintf(&out, "--%s--\r\n", respBoundary)
	c.wrote = true
	h := c.w.Header()
	h.Set("Content-Type", "multipart/mixed; boundary="+respBoundary)
	h.Set("Content-Length", strconv.Itoa(out.Len()))
	c.w.WriteHeader(http.StatusAccepted)
	_, _ = c.w.Write(out.Bytes())
}

// parseBatch splits a batch body into sub-requests and checks them as a
// whole: count, a single operation kind, same account and, for a container
// batch, the same container.
func (c *call) parseBatch(body []byte, boundary string) ([]subRequest, error) {
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	var subs []subRequest
	var kind batchKind
	ids := map[int]bool{}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, batchInputError("the batch body is not valid multipart/mixed: %v", err)
		}
		if len(subs) == MaxBatchSubRequests {
			return nil, &batchError{"ExceedsMaxBatchRequestCount", fmt.Sprintf("The batch holds more than the %d sub-requests a batch may hold.", MaxBatchSubRequests)}
		}
		sr, k, err := c.parsePart(part)
		if err != nil {
			var be *batchError
			if errors.As(err, &be) {
				be.msg += fmt.Sprintf(" (sub-request %d)", len(subs))
			}
			return nil, err
		}
		// Clients match each answer to its request by Content-ID (azblob
		// reads it as an integer): two parts with one id would make their
		// answers ambiguous, so the batch is refused before anything runs.
		id, _ := strconv.Atoi(sr.contentID)
		if ids[id] {
			return nil, batchInputError("the Content-ID %s is used by more than one part (sub-request %d)", sr.contentID, len(subs))
		}
		ids[id] = true
		if kind != 0 && k != kind {
			return nil, &batchError{"AllBatchSubRequestsShouldBeSameApi", "Every sub-request of a batch must be the same operation: Delete Blob or Set Blob Tier, not both."}
		}
		kind = k
		subs = append(subs, sr)
	}
	if len(subs) == 0 {
		return nil, batchInputError("the batch holds no sub-requests")
	}
	return subs, nil
}

// parsePart reads one part: an application/http Delete Blob or Set Blob
// Tier request addressed to a blob of the batch's account (and container).
func (c *call) parsePart(part *multipart.Part) (subRequest, batchKind, error) {
	if ct := part.Header.Get("Content-Type"); !strings.EqualFold(strings.TrimSpace(ct), "application/http") {
		return subRequest{}, 0, batchInputError("a part's Content-Type must be application/http, not %q", ct)
	}
	if te := part.Header.Get("Content-Transfer-Encoding"); te != "" && !strings.EqualFold(strings.TrimSpace(te), "binary") {
		return subRequest{}, 0, batchInputError("a part's Content-Transfer-Encoding must be binary, not %q", te)
	}
	id := strings.TrimSpace(part.Header.Get("Content-ID"))
	if _, err := strconv.Atoi(id); err != nil || len(id) > 10 {
		// Each answer part carries its request's Content-ID; a part
		// without one would read as the batch's own failure.
		return subRequest{}, 0, batchInputError("each part needs an integer Content-ID")
	}
	raw, err := io.ReadAll(io.LimitReader(part, maxBatchPartSize+1))
	if err != nil {
		return subRequest{}, 0, batchInputError("a part could not be read: %v", err)
	}
	if len(raw) > maxBatchPartSize {
		return subRequest{}, 0, batchInputError("a sub-request exceeds %d bytes", maxBatchPartSize)
	}
	// The embedded request ends with an empty line; add one when the
	// writer left it to the boundary.
	if !bytes.HasSuffix(raw, []byte("\r\n\r\n")) && !bytes.HasSuffix(raw, []byte("\n\n")) {
		raw = append(raw, "\r\n"...)
	}
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		return subRequest{}, 0, batchInputError("a sub-request is not a valid HTTP request")
	}
	if req.ContentLength > 0 || len(req.TransferEncoding) > 0 {
		return subRequest{}, 0, batchInputError("a Delete Blob or Set Blob Tier sub-request has no body")
	}
	if !strings.HasPrefix(req.RequestURI, "/") || req.URL.Host != "" {
		return subRequest{}, 0, batchInputError("a sub-request's URI must be a path relative to the account")
	}
	q, err := auth.ParseQuery(req.URL.RawQuery)
	if err != nil {
		return subRequest{}, 0, batchInputError("a sub-request's query string is malformed")
	}
	var kind batchKind
	switch {
	case req.Method == http.MethodDelete && q.Get("comp") == "":
		kind = batchDelete
	case req.Method == http.MethodPut && q.Get("comp") == "tier":
		kind = batchSetTier
	default:
		return subRequest{}, 0, batchInputError("a batch sub-request must be Delete Blob or Set Blob Tier, not %s %s", req.Method, truncate(req.URL.Path, 256))
	}
	addr, err := parseAddress(c.r.Host, req.URL.Path, q, false)
	if err != nil {
		return subRequest{}, 0, batchInputError("a sub-request's URI is not a valid blob address")
	}
	if seg := batchAccountSegment(c.r); addr.Account != c.addr.Account && seg != "" && c.addr.Container != "" && addr.Account == c.addr.Container {
		// The Python SDK's container batch writes sub-request paths
		// relative to the account even on a path-style endpoint
		// (/container/blob); read them under the batch's own account
		// segment when they start with the batch's container.
		if a2, err2 := parseAddress(c.r.Host, "/"+seg+req.URL.Path, q, false); err2 == nil && a2.Account == c.addr.Account {
			addr = a2
			req.URL.Path = "/" + seg + req.URL.Path
			req.URL.RawPath = ""
			// RequestURI keeps the path as sent: the client signed
			// that one (Shared Key canonicalizes "/account" + it).
		}
	}
	switch {
	case addr.Account != c.addr.Account || addr.Location != c.addr.Location:
		return subRequest{}, 0, batchInputError("every sub-request must address the batch's account %s", c.addr.Account)
	case addr.Blob == "":
		return subRequest{}, 0, batchInputError("every sub-request must address a blob")
	case c.addr.Container != "" && addr.Container != c.addr.Container:
		return subRequest{}, 0, batchInputError("every sub-request of a container batch must address a blob in container %s", c.addr.Container)
	}
	// Run it as a request of its own over the batch's connection.
	sub := req.WithContext(c.r.Context())
	sub.Host = c.r.Host
	sub.RemoteAddr = c.r.RemoteAddr
	sub.TLS = c.r.TLS
	sub.Body = http.NoBody
	sub.ContentLength = 0
	return subRequest{contentID: id, req: sub}, kind, nil
}

// subRecorder captures one sub-request's response, bounded.
type subRecorder struct {
	h      http.Header
	status int
	body   bytes.Buffer
}

func newSubRecorder() *subRecorder { return &subRecorder{h: http.Header{}} }

func (r *subRecorder) Header() http.Header { return r.h }

func (r *subRecorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *subRecorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	if room := maxSubResponseBody - r.body.Len(); len(p) > room {
		r.body.Write(p[:max(room, 0)])
		return len(p), nil
	}
	return r.body.Write(p)
}

// writeSubResponse writes one part of the batch response: the embedded
// HTTP response of a sub-request.
func writeSubResponse(w *bytes.Buffer, boundary, contentID string, rec *subRecorder) {
	status := rec.status
	if status == 0 {
		status = http.StatusOK
	}
	fmt.Fprintf(w, "--%s\r\nContent-Type: application/http\r\n", boundary)
	if contentID != "" {
		fmt.Fprintf(w, "Content-ID: %s\r\n", contentID)
	}
	fmt.Fprintf(w, "\r\nHTTP/1.1 %d %s\r\n", status, http.StatusText(status))
	rec.h.Del("Content-Length")
	rec.h.Del("Date")
	keys := make([]string, 0, len(rec.h))
	for k := range rec.h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		name := textproto.CanonicalMIMEHeaderKey(k)
		if strings.HasPrefix(name, "X-Ms-") {
			// Azure writes its own headers in lower case, and the
			// JavaScript SDK's batch parser matches x-ms-error-code case
			// sensitively: in another case a failed sub-request reads
			// as a success.
			name = strings.ToLower(name)
		}
		for _, v := range rec.h[k] {
			fmt.Fprintf(w, "%s: %s\r\n", name, v)
		}
	}
	if rec.body.Len() > 0 {
		fmt.Fprintf(w, "Content-Length: %d\r\n\r\n", rec.body.Len())
		w.Write(rec.body.Bytes())
		w.WriteString("\r\n")
	} else {
		w.WriteString("\r\n")
	}
}

// batchAccountSegment is the account segment of a path-style batch URL
// ("devstoreaccount1" of /devstoreaccount1/?comp=batch), "" when the batch
// was addressed host-style.
func batchAccountSegment(r *http.Request) string {
	if location.LocalHostStyle(r.Host) {
		return ""
	}
	seg, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	return seg
}
