package blobapi

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/geoblob/geoblob/internal/azerr"
	"github.com/geoblob/geoblob/internal/store"
)

// tagTierHeaders are the request headers of blob index tags and access
// tiers, parsed once before an operation runs.
type tagTierHeaders struct {
	ifTags    store.TagCondition // x-ms-if-tags
	srcIfTags store.TagCondition // x-ms-source-if-tags (Copy Blob)
	copyTags  bool               // x-ms-copy-source-tag-option: COPY
	tags      map[string]string  // x-ms-tags
	tier      string             // x-ms-access-tier, normalised; "" when absent
}

// ifTagsOps are the operations that take x-ms-if-tags.
var ifTagsOps = []*op{opGetBlob, opBlobProps, opBlobMeta, opSetBlobProps, opSetBlobMeta, opPutBlob, opPutBlockList,
	opDeleteBlob, opLeaseBlob, opCopyBlob, opSetBlobTier, opGetBlobTags, opSetBlobTags, opGetBlockList,
	opPutPage, opPutPageFromURL, opGetPageRanges, opSnapshotBlob}

// parseTagTierHeaders reads x-ms-if-tags, x-ms-source-if-tags, x-ms-tags and
// x-ms-access-tier for the operations that take them. It answers the
// request and returns false when one is invalid. refuseUnmodelled has
// already refused them on every other operation.
func (c *call) parseTagTierHeaders(o *op) bool {
	h := c.r.Header
	if v, ok := h["X-Ms-If-Tags"]; ok {
		e, err := parseTagExpr(strings.Join(v, ","), dialectCondition)
		if err != nil {
			c.badTagHeader("x-ms-if-tags", h.Get("X-Ms-If-Tags"), err)
			return false
		}
		c.tt.ifTags = e.condition()
	}
	if v, ok := h["X-Ms-Source-If-Tags"]; ok {
		e, err := parseTagExpr(strings.Join(v, ","), dialectCondition)
		if err != nil {
			c.badTagHeader("x-ms-source-if-tags", h.Get("X-Ms-Source-If-Tags"), err)
			return false
		}
		c.tt.srcIfTags = e.condition()
	}
	switch o {
	case opPutBlob, opPutBlockList, opCopyBlob, opPutBlobFromURL, opCopyBlobFromURL:
	default:
		return true
	}
	if v := h.Get("X-Ms-Tags"); v != "" {
		tags, err := parseTagsHeader(v)
		if err != nil {
			c.storeErr(err)
			return false
		}
		c.tt.tags = tags
	}
	if v, ok := h["X-Ms-Copy-Source-Tag-Option"]; ok && o != opPutBlob && o != opPutBlockList {
		// Put Blob From URL and Copy Blob From URL only: an asynchronous
		// Copy Blob never copies the source's tags.
		opt := strings.Join(v, ",")
		switch {
		case o == opCopyBlob:
			c.fail(http.StatusBadRequest, "UnsupportedHeader", "One of the HTTP headers specified in the request is not supported: x-ms-copy-source-tag-option applies to Copy Blob From URL (x-ms-requires-sync: true).",
				azerr.NewDetail("HeaderName", "x-ms-copy-source-tag-option"))
			return false
		case strings.EqualFold(opt, "COPY") && c.tt.tags == nil:
			c.tt.copyTags = true
		case strings.EqualFold(opt, "REPLACE"):
		default:
			// COPY together with x-ms-tags, or an unknown value.
			c.badHeader("x-ms-copy-source-tag-option", opt)
			return false
		}
	}
	if v := h.Get("X-Ms-Access-Tier"); v != "" {
		t, ok := normaliseTier(v)
		if !ok {
			c.badHeader("x-ms-access-tier", v)
			return false
		}
		c.tt.tier = t
	}
	return true
}

func (c *call) badTagHeader(name, value string, err error) {
	c.fail(http.StatusBadRequest, "InvalidHeaderValue", "The value for one of the HTTP headers is not in the correct format: "+err.Error(),
		azerr.NewDetail("HeaderName", name), azerr.NewDetail("HeaderValue", value))
}

// parseTagsHeader parses x-ms-tags, a query string of tags
// (k1=v1&k2=v2, URL-encoded), and applies the tag limits.
func parseTagsHeader(v string) (map[string]string, error) {
	vals, err := url.ParseQuery(v)
	if err != nil {
		return nil, store.ErrInvalidTag
	}
	tags := make(map[string]string, len(vals))
	for k, vs := range vals {
		if len(vs) != 1 {
			return nil, store.ErrInvalidTag
		}
		tags[k] = vs[0]
	}
	if err := store.CheckTags(tags); err != nil {
		return nil, err
	}
	return tags, nil
}

// normaliseTier returns the canonical spelling of a block blob tier.
func normaliseTier(v string) (string, bool) {
	for _, t := range []string{store.TierHot, store.TierCool, store.TierCold, store.TierArchive} {
		if strings.EqualFold(v, t) {
			return t, true
		}
	}
	return "", false
}

type tagsXML struct {
	XMLName xml.Name `xml:"Tags"`
	Tags    []struct {
		Key   *string `xml:"Key"`
		Value *string `xml:"Value"`
	} `xml:"TagSet>Tag"`
}

// parseTagsBody parses a Set Blob Tags body. A key given twice is
// ErrInvalidTag; the limits are applied by the store.
func parseTagsBody(body []byte) (map[string]string, error) {
	if err := wellFormed(body, "Tags"); err != nil {
		return nil, err
	}
	var doc tagsXML
	if err := xml.Unmarshal(body, &doc); err != nil {
		return nil, err
	}
	tags := make(map[string]string, len(doc.Tags))
	for _, t := range doc.Tags {
		if t.Key == nil {
			return nil, errors.New("a <Tag> has no <Key>")
		}
		v := ""
		if t.Value != nil {
			v = *t.Value
		}
		if _, dup := tags[*t.Key]; dup {
			return nil, store.ErrInvalidTag
		}
		tags[*t.Key] = v
	}
	return tags, nil
}

// writeTagSet writes <Tags><TagSet>...</TagSet></Tags> with the tags in key
// order; keys limits it to those keys when not nil.
func writeTagSet(b *xmlBuf, tags map[string]string, keys []string) {
	if keys == nil {
		keys = make([]string, 0, len(tags))
		for k := range tags {
			keys = append(keys, k)
		}
		sort.Strings(keys)
	}
	b.open("Tags")
	b.open("TagSet")
	for _, k := range keys {
		v, ok := tags[k]
		if !ok {
			continue
		}
		b.open("Tag")
		b.elem("Key", k)
		b.elem("Value", v)
		b.close("Tag")
	}
	b.close("TagSet")
	b.close("Tags")
}

// tagReadOptions are the conditions of Get Blob Tags and Set Blob Tags:
// the x-ms-blob-if-* forms of the ETag and date conditions, the lease and
// x-ms-if-tags.
func (c *call) tagConditions() store.Conditions { return conditions(c.r.Header, "x-ms-blob-") }

func (c *call) getBlobTags() {
	b, err := c.st.Blob(c.addr.Account, c.addr.Container, c.addr.Blob,
		store.ReadOptions{Conditions: c.tagConditions(), LeaseID: c.leaseID(), IfTags: c.tt.ifTags,
			Snapshot: c.hist.snapshot, VersionID: c.hist.versionID})
	if err != nil {
		if errors.Is(err, store.ErrNotModified) {
			err = store.ErrConditionNotMet
		}
		c.storeErr(err)
		return
	}
	x := newXML()
	writeTagSet(x, b.Tags, nil)
	c.sendXML(http.StatusOK, x)
}

func (c *call) setBlobTags() {
	body, ok := c.readXMLBody()
	if !ok {
		return
	}
	if !c.checkBodyDigests(body) {
		return
	}
	tags, err := parseTagsBody(body)
	if errors.Is(err, store.ErrInvalidTag) {
		c.storeErr(err)
		return
	}
	if err != nil {
		c.invalidXML(err)
		return
	}
	err = c.st.SetBlobTags(c.addr.Account, c.addr.Container, c.addr.Blob, tags,
		store.WriteOptions{Conditions: c.tagConditions(), LeaseID: c.leaseID(), IfTags: c.tt.ifTags})
	if err != nil {
		c.storeErr(err)
		return
	}
	c.ok(http.StatusNoContent)
}

// setTagCount writes x-ms-tag-count when the blob has tags.
func setTagCount(h http.Header, b *store.Blob) {
	if n := len(b.Tags); n > 0 {
		h.Set("X-Ms-Tag-Count", itoa(n))
	}
}

// findBlobs answers Find Blobs by Tags, on the account (GET
// /?comp=blobs&where=...) and on a container
// (restype=container&comp=blobs).
func (c *call) findBlobs() {
	if !c.q.Has("where") {
		c.fail(http.StatusBadRequest, "MissingRequiredQueryParameter", "A query parameter that's mandatory for this request is not specified.",
			azerr.NewDetail("QueryParameterName", "where"))
		return
	}
	where := c.q.Get("where")
	e, err := parseTagExpr(where, dialectFind)
	if err != nil {
		c.badQuery("where", where, err.Error())
		return
	}
	lo, ok := c.listOptions()
	if !ok {
		return
	}
	fo := store.FindOptions{Container: e.container, MaxResults: lo.MaxResults}
	if c.addr.Container != "" {
		if e.container != "" && e.container != c.addr.Container {
			c.badQuery("where", where, "@container names another container than the one addressed.")
			return
		}
		fo.Container = c.addr.Container
	}
	if m := c.q.Get("marker"); m != "" {
		raw, err := base64.RawURLEncoding.DecodeString(m)
		cont, blob, found := strings.Cut(string(raw), "/")
		if err != nil || !found {
			c.badQuery("marker", m, "The marker is not one this emulator handed out.")
			return
		}
		fo.MarkerContainer, fo.MarkerBlob = cont, blob
	}
	fo.Match = func(_ string, b *store.Blob) bool { return len(b.Tags) > 0 && e.root.eval(b.Tags) }
	page, err := c.st.FindBlobsByTags(c.addr.Account, fo)
	if errors.Is(err, store.ErrContainerNotFound) && c.addr.Container == "" {
		// On the account, @container naming no container finds nothing.
		err = nil
	}
	if err != nil {
		c.storeErr(err)
		return
	}
	x := c.streamXML(http.StatusOK)
	defer x.done()
	x.WriteString(`<EnumerationResults ServiceEndpoint="`)
	x.text(c.serviceEndpoint())
	x.WriteString(`">`)
	x.elem("Where", where)
	x.open("Blobs")
	keys := slices.Clone(e.keys)
	sort.Strings(keys)
	for _, tb := range page.Blobs {
		if x.failed() {
			return
		}
		x.open("Blob")
		x.name(tb.Blob.Name)
		x.elem("ContainerName", tb.Container)
		writeTagSet(x, tb.Blob.Tags, keys)
		x.close("Blob")
	}
	x.close("Blobs")
	next := ""
	if page.NextContainer != "" {
		next = base64.RawURLEncoding.EncodeToString([]byte(page.NextContainer + "/" + page.NextBlob))
	}
	x.elem("NextMarker", next)
	x.close("EnumerationResults")
}

// checkBodyDigests verifies Content-MD5 and x-ms-content-crc64 against a
// body read whole. It answers the request and returns false on a mismatch
// or a malformed header.
func (c *call) checkBodyDigests(body []byte) bool {
	sent, ok := c.md5Header("Content-MD5")
	if !ok {
		return false
	}
	crc, ok := c.crc64Header()
	if !ok {
		return false
	}
	content := store.Bytes(body)
	if sent != nil {
		sum := md5Of(content)
		if !bytes.Equal(sent, sum) {
			c.md5Mismatch(sent, sum)
			return false
		}
	}
	if crc != nil {
		return c.checkCRC64(crc, content)
	}
	return true
}
