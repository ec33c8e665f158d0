package blobapi

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/geoblob/geoblob/internal/store"
)

// publicAccess reads x-ms-blob-public-access. It answers the request and
// returns false when the value is invalid.
func (c *call) publicAccess() (string, bool) {
	v := c.r.Header.Get("x-ms-blob-public-access")
	switch v {
	case "", "blob", "container":
		return v, true
	}
	c.badHeader("x-ms-blob-public-access", v)
	return "", false
}

func (c *call) createContainer() {
	meta, ok := c.metadata()
	if !ok {
		return
	}
	pa, ok := c.publicAccess()
	if !ok {
		return
	}
	p, err := c.st.CreateContainer(c.addr.Account, c.addr.Container, meta, pa)
	if err != nil {
		c.storeErr(err)
		return
	}
	setWriteHeaders(c.w.Header(), p.ETag, p.LastModified)
	c.ok(http.StatusCreated)
}

func (c *call) deleteContainer() {
	cond := conditions(c.r.Header, "")
	if cond.IfMatch != "" || cond.IfNoneMatch != "" {
		// Azure rejects ETag conditions on Delete Container.
		c.unsupportedHeader()
		return
	}
	if err := c.st.DeleteContainerRetained(c.addr.Account, c.addr.Container, c.leaseID(), cond, containerRetention); err != nil {
		c.storeErr(err)
		return
	}
	c.ok(http.StatusAccepted)
}

// containerProperties answers Get Container Properties and Get Container
// Metadata.
func (c *call) containerProperties() {
	p, err := c.st.ContainerLeased(c.addr.Account, c.addr.Container, c.leaseID())
	if err != nil {
		c.storeErr(err)
		return
	}
	h := c.w.Header()
	setWriteHeaders(h, p.ETag, p.LastModified)
	writeMetadata(h, p.Metadata)
	setLeaseHeaders(h, p.Lease.At(c.now))
	if p.PublicAccess != "" {
		h.Set("x-ms-blob-public-access", p.PublicAccess)
	}
	h.Set("x-ms-has-immutability-policy", "false")
	h.Set("x-ms-has-legal-hold", "false")
	h.Set("x-ms-default-encryption-scope", "$account-encryption-key")
	h.Set("x-ms-deny-encryption-scope-override", "false")
	h.Set("Content-Length", "0")
	c.ok(http.StatusOK)
}

func (c *call) setContainerMetadata() {
	meta, ok := c.metadata()
	if !ok {
		return
	}
	cond := conditions(c.r.Header, "")
	if cond.IfMatch != "" || cond.IfNoneMatch != "" || !cond.IfUnmodifiedSince.IsZero() {
		c.unsupportedHeader()
		return
	}
	p, err := c.st.SetContainerMetadataLeased(c.addr.Account, c.addr.Container, meta, c.leaseID(), cond)
	if err != nil {
		c.storeErr(err)
		return
	}
	setWriteHeaders(c.w.Header(), p.ETag, p.LastModified)
	c.ok(http.StatusOK)
}

func (c *call) getContainerACL() {
	p, err := c.st.ContainerLeased(c.addr.Account, c.addr.Container, c.leaseID())
	if err != nil {
		c.storeErr(err)
		return
	}
	h := c.w.Header()
	setWriteHeaders(h, p.ETag, p.LastModified)
	if p.PublicAccess != "" {
		h.Set("x-ms-blob-public-access", p.PublicAccess)
	}
	b := newXML()
	b.open("SignedIdentifiers")
	for _, si := range p.ACL {
		b.open("SignedIdentifier")
		b.elem("Id", si.ID)
		b.open("AccessPolicy")
		if !si.Start.IsZero() {
			b.elem("Start", isoTime(si.Start))
		}
		if !si.Expiry.IsZero() {
			b.elem("Expiry", isoTime(si.Expiry))
		}
		b.opt("Permission", si.Permission)
		b.close("AccessPolicy")
		b.close("SignedIdentifier")
	}
	b.close("SignedIdentifiers")
	c.sendXML(http.StatusOK, b)
}

type signedIdentifiersXML struct {
	XMLName xml.Name `xml:"SignedIdentifiers"`
	Items   []struct {
		ID     string `xml:"Id"`
		Policy *struct {
			Start      string `xml:"Start"`
			Expiry     string `xml:"Expiry"`
			Permission string `xml:"Permission"`
		} `xml:"AccessPolicy"`
	} `xml:"SignedIdentifier"`
}

// parseACL parses a Set Container ACL body.
func parseACL(body []byte) ([]store.SignedIdentifier, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, nil
	}
	if err := wellFormed(body, "SignedIdentifiers"); err != nil {
		return nil, err
	}
	var doc signedIdentifiersXML
	if err := xml.Unmarshal(body, &doc); err != nil {
		return nil, err
	}
	if len(doc.Items) > 5 {
		return nil, errors.New("at most 5 signed identifiers are allowed")
	}
	acl := make([]store.SignedIdentifier, 0, len(doc.Items))
	for _, it := range doc.Items {
		if it.ID == "" || len(it.ID) > 64 {
			return nil, errors.New("a signed identifier Id must be 1 to 64 characters")
		}
		si := store.SignedIdentifier{ID: it.ID}
		if p := it.Policy; p != nil {
			var err error
			if si.Start, err = parseISOTime(p.Start); err != nil {
				return nil, err
			}
			if si.Expiry, err = parseISOTime(p.Expiry); err != nil {
				return nil, err
			}
			for _, r := range p.Permission {
				if !strings.ContainsRune("racwdxltmeopi", r) {
					return nil, fmt.Errorf("invalid permission %q", r)
				}
			}
			si.Permission = p.Permission
		}
		acl = append(acl, si)
	}
	return acl, nil
}

func parseISOTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04Z07:00", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("invalid date %q", s)
}

func (c *call) setContainerACL() {
	pa, ok := c.publicAccess()
	if !ok {
		return
	}
	body, ok := c.readXMLBody()
	if !ok {
		return
	}
	acl, err := parseACL(body)
	if err != nil {
		c.invalidXML(err)
		return
	}
	cond := conditions(c.r.Header, "")
	if cond.IfMatch != "" || cond.IfNoneMatch != "" {
		c.unsupportedHeader()
		return
	}
	p, err := c.st.SetContainerACLLeased(c.addr.Account, c.addr.Container, pa, acl, c.leaseID(), cond)
	if err != nil {
		c.storeErr(err)
		return
	}
	setWriteHeaders(c.w.Header(), p.ETag, p.LastModified)
	c.ok(http.StatusOK)
}

func (c *call) listBlobs() {
	o, ok := c.listOptions()
	if !ok {
		return
	}
	o.Delimiter = c.q.Get("delimiter")
	include := c.q.Get("include")
	if !c.validInclude(include, listBlobsInclude) {
		return
	}
	if hasToken(include, "deletedwithversions") {
		// Azure lists a deleted blob that keeps versions as an entry with
		// HasVersionsOnly; the emulator does not model that entry.
		c.notImplementedFeature("listing deleted blobs with versions (include=deletedwithversions)")
		return
	}
	withMeta, withCopy := hasToken(include, "metadata"), hasToken(include, "copy")
	o.IncludeUncommitted = hasToken(include, "uncommittedblobs")
	o.IncludeSnapshots, o.IncludeVersions = hasToken(include, "snapshots"), hasToken(include, "versions")
	o.IncludeDeleted = hasToken(include, "deleted")
	page, err := c.st.ListBlobs(c.addr.Account, c.addr.Container, o)
	if err != nil {
		c.storeErr(err)
		return
	}
	// The page holds immutable snapshots and the store's lock is released:
	// the body streams out at the client's pace without holding anything
	// but the page and a write buffer.
	b := c.streamXML(http.StatusOK)
	defer b.done()
	b.WriteString(`<EnumerationResults ServiceEndpoint="`)
	b.text(c.serviceEndpoint())
	b.WriteString(`" ContainerName="`)
	b.text(c.addr.Container)
	b.WriteString(`">`)
	b.opt("Prefix", o.Prefix)
	b.opt("Marker", c.q.Get("marker"))
	if c.q.Has("maxresults") {
		b.elem("MaxResults", fmt.Sprint(maxResults(o)))
	}
	b.opt("Delimiter", o.Delimiter)
	b.open("Blobs")
	bi, pi := 0, 0
	for bi < len(page.Blobs) || pi < len(page.Prefixes) {
		if b.failed() {
			return
		}
		if pi < len(page.Prefixes) && (bi == len(page.Blobs) || page.Prefixes[pi] < page.Blobs[bi].Name) {
			b.open("BlobPrefix")
			b.name(page.Prefixes[pi])
			b.close("BlobPrefix")
			pi++
			continue
		}
		c.blobItem(b, page.Blobs[bi], withMeta, withCopy)
		bi++
	}
	b.close("Blobs")
	b.elem("NextMarker", encodeMarker(page.NextMarker))
	b.close("EnumerationResults")
}

// blobItem writes one <Blob> of List Blobs.
func (c *call) blobItem(b *xmlBuf, bl *store.Blob, withMeta, withCopy bool) {
	b.open("Blob")
	b.name(bl.Name)
	b.opt("Snapshot", bl.Snapshot)
	if bl.VersionID != "" && bl.Snapshot == "" {
		b.elem("VersionId", bl.VersionID)
		b.elem("IsCurrentVersion", strconv.FormatBool(!bl.NonCurrent && bl.DeletedTime.IsZero()))
	}
	if !bl.DeletedTime.IsZero() {
		b.elem("Deleted", "true")
	}
	b.open("Properties")
	b.elem("Creation-Time", httpTime(bl.Created))
	b.elem("Last-Modified", httpTime(bl.LastModified))
	b.elem("Etag", bl.ETag)
	b.elem("Content-Length", strconv.FormatInt(bl.Size(), 10))
	ct := bl.Headers.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	b.elem("Content-Type", ct)
	b.elem("Content-Encoding", bl.Headers.ContentEncoding)
	b.elem("Content-Language", bl.Headers.ContentLanguage)
	if len(bl.Headers.ContentMD5) > 0 {
		b.elem("Content-MD5", base64.StdEncoding.EncodeToString(bl.Headers.ContentMD5))
	} else {
		b.elem("Content-MD5", "")
	}
	b.elem("Content-Disposition", bl.Headers.ContentDisposition)
	b.elem("Cache-Control", bl.Headers.CacheControl)
	if bl.Type() == store.PageBlob {
		b.elem("x-ms-blob-sequence-number", strconv.FormatInt(bl.SequenceNumber, 10))
	}
	b.elem("BlobType", string(bl.Type()))
	if bl.Type() == store.BlockBlob {
		c.tierElems(b, bl)
	}
	if n := len(bl.Tags); n > 0 {
		b.elem("TagCount", itoa(n))
	}
	l := bl.Lease.At(c.now)
	b.elem("LeaseStatus", l.Status())
	b.elem("LeaseState", string(l.State))
	b.opt("LeaseDuration", l.DurationType())
	if withCopy && bl.Copy != nil {
		b.elem("CopyId", bl.Copy.ID)
		b.elem("CopyStatus", bl.Copy.Status)
		b.elem("CopySource", bl.Copy.Source)
		b.elem("CopyProgress", bl.Copy.Progress)
		b.elem("CopyCompletionTime", httpTime(bl.Copy.CompletionTime))
	}
	b.elem("ServerEncrypted", "true")
	if bl.Type() == store.AppendBlob {
		b.elem("Sealed", strconv.FormatBool(bl.Sealed))
	}
	if !bl.DeletedTime.IsZero() {
		b.elem("DeletedTime", httpTime(bl.DeletedTime))
		b.elem("RemainingRetentionDays", strconv.Itoa(bl.RemainingRetentionDays(c.now)))
	}
	b.close("Properties")
	if withMeta {
		b.metadata(bl.Metadata)
	}
	if len(bl.Tags) > 0 && hasToken(c.q.Get("include"), "tags") {
		writeTagSet(b, bl.Tags, nil)
	}
	b.close("Blob")
}

// unsupportedHeader answers a container operation that was sent a
// conditional header Azure does not support for it.
func (c *call) unsupportedHeader() {
	c.fail(http.StatusBadRequest, "UnsupportedHeader", "One of the HTTP headers specified in the request is not supported.")
}
