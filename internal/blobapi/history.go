package blobapi

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/geoblob/geoblob/internal/auth"
	"github.com/geoblob/geoblob/internal/store"
)

// Snapshots, versions and blob soft delete: Snapshot Blob, the snapshot
// and versionid query parameters, the x-ms-version-id headers, Delete
// Blob with its retention and Undelete Blob. The store keeps all of them
// in each container's history (store/history.go, store/softdelete.go).

var (
	opSnapshotBlob = &op{name: "SnapshotBlob", write: true, perm: auth.PermWrite, rt: auth.ResourceObject, run: (*call).snapshotBlob}
	opUndeleteBlob = &op{name: "UndeleteBlob", write: true, perm: auth.PermWrite, rt: auth.ResourceObject, run: (*call).undeleteBlob}
)

// deleteRetention is how long the account keeps deleted blobs: the days
// of an enabled DeleteRetentionPolicy in its service properties, 0 when
// soft delete is off.
func (c *call) deleteRetention() time.Duration {
	return c.s.settings.get(c.st, c.addr.Account).retention
}

// parseDeleteRetention reads the blob soft delete retention of a service
// properties document: zero when soft delete is off.
func parseDeleteRetention(doc []byte) time.Duration {
	root, err := parseServiceProperties(doc)
	if err != nil {
		return 0 // the store holds only documents the emulator wrote
	}
	p := root.child("DeleteRetentionPolicy")
	if p == nil {
		return 0
	}
	e, d := p.child("Enabled"), p.child("Days")
	if e == nil || e.text != "true" || d == nil {
		return 0
	}
	days, err := strconv.Atoi(d.text)
	if err != nil || days <= 0 {
		return 0
	}
	return time.Duration(days) * 24 * time.Hour
}

// undeleteBlob answers Undelete Blob (comp=undelete).
func (c *call) undeleteBlob() {
	if err := c.st.Undelete(c.addr.Account, c.addr.Container, c.addr.Blob); err != nil {
		c.storeErr(err)
		return
	}
	c.w.Header().Set("Content-Length", "0")
	c.ok(http.StatusOK)
}

// historyRef is the snapshot or version a request addresses.
type historyRef struct {
	snapshot, versionID string
}

// historyReadOps read a snapshot or a version when asked to.
var historyReadOps = []*op{opGetBlob, opBlobProps, opBlobMeta, opGetBlobTags, opGetBlockList, opGetPageRanges}

// checkHistoryQuery reads the snapshot and versionid parameters of a blob
// request. The reads of historyReadOps and Delete Blob take them. Every
// other write is refused as Azure refuses writes to a snapshot (400
// InvalidOperation: snapshots and previous versions are read-only);
// Set Blob Tier and Set Blob Tags on a snapshot or version, which Azure
// models, are refused with 501. It answers the request and returns false
// when the request may not go on.
func (c *call) checkHistoryQuery(o *op) bool {
	if c.addr.Blob == "" || (!c.q.Has("snapshot") && !c.q.Has("versionid")) {
		return true
	}
	if c.q.Has("snapshot") && c.q.Has("versionid") {
		c.badQuery("versionid", c.q.Get("versionid"), "snapshot and versionid cannot be given together.")
		return false
	}
	for _, p := range []struct {
		name string
		dst  *string
	}{{"snapshot", &c.hist.snapshot}, {"versionid", &c.hist.versionID}} {
		if !c.q.Has(p.name) {
			continue
		}
		v := c.q.Get(p.name)
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			c.badQuery(p.name, v, p.name+" must be a date and time as Azure writes it, e.g. 2011-03-09T01:42:34.9360000Z.")
			return false
		}
		*p.dst = store.HistoryID(t)
	}
	switch {
	case containsOp(historyReadOps, o), o == opDeleteBlob:
		return true
	case o == opSetBlobTier || o == opSetBlobTags:
		c.notImplementedFeature("changing the tier or tags of a snapshot or version")
		return false
	case !o.write:
		c.notImplementedFeature("this operation on snapshots and versions")
		return false
	}
	c.fail(http.StatusBadRequest, "InvalidOperation", "Invalid operation against a blob snapshot or version: they are read-only; write to the base blob instead.")
	return false
}

// copySourceVersion reads the snapshot or versionid of a copy source URL
// into src: the copy then reads that snapshot or version (promoting it
// when copied over its own base blob). It answers the request and returns
// false when one is malformed.
func (c *call) copySourceVersion(u *url.URL, src *store.CopySource) bool {
	sq, err := auth.ParseQuery(u.RawQuery)
	if err != nil {
		c.badHeader("x-ms-copy-source", u.String())
		return false
	}
	for _, p := range []struct {
		name string
		dst  *string
	}{{"snapshot", &src.Snapshot}, {"versionid", &src.VersionID}} {
		if v := sq.Get(p.name); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				c.badHeader("x-ms-copy-source", u.String())
				return false
			}
			*p.dst = store.HistoryID(t)
		}
	}
	return true
}

// snapshotBlob answers Snapshot Blob (comp=snapshot).
func (c *call) snapshotBlob() {
	meta, ok := c.metadata()
	if !ok {
		return
	}
	switch {
	case !hasMetadataHeader(c.r.Header):
		meta = nil // none given: the snapshot keeps the blob's
	case meta == nil:
		meta = map[string]string{}
	}
	snap, err := c.st.SnapshotBlob(c.addr.Account, c.addr.Container, c.addr.Blob, meta, c.writeOptions())
	if err != nil {
		c.storeErr(err)
		return
	}
	rh := c.w.Header()
	setWriteHeaders(rh, snap.ETag, snap.LastModified)
	rh.Set("x-ms-snapshot", snap.Snapshot)
	rh.Set("x-ms-request-server-encrypted", "true")
	rh.Set("Content-Length", "0")
	c.ok(http.StatusCreated)
}

// hasMetadataHeader reports whether the request carries any x-ms-meta-*
// header.
func hasMetadataHeader(h http.Header) bool {
	for k := range h {
		if strings.HasPrefix(strings.ToLower(k), "x-ms-meta-") {
			return true
		}
	}
	return false
}

// setVersionHeaders writes x-ms-version-id and, on reads,
// x-ms-is-current-version for a blob that has a version id.
func setVersionHeaders(h http.Header, b *store.Blob, read bool) {
	if b.VersionID == "" || b.Snapshot != "" {
		return
	}
	h.Set("x-ms-version-id", b.VersionID)
	if read {
		if b.NonCurrent {
			h.Set("x-ms-is-current-version", "false")
		} else {
			h.Set("x-ms-is-current-version", "true")
		}
	}
}

// deleteBlob answers Delete Blob: the blob, one snapshot or version, or
// only the blob's snapshots.
func (c *call) deleteBlob() {
	d := store.DeleteOptions{Snapshot: c.hist.snapshot, VersionID: c.hist.versionID}
	if v := c.r.Header.Get("x-ms-delete-snapshots"); v != "" {
		switch {
		case d.Snapshot != "" || d.VersionID != "":
			// Azure: the header is for the base blob only.
			c.badHeader("x-ms-delete-snapshots", v)
			return
		case strings.EqualFold(v, "include"):
			d.Snapshots = store.DeleteSnapshotsInclude
		case strings.EqualFold(v, "only"):
			d.Snapshots = store.DeleteSnapshotsOnly
		default:
			c.badHeader("x-ms-delete-snapshots", v)
			return
		}
	}
	d.Retain = c.deleteRetention()
	if err := c.st.DeleteBlobWith(c.addr.Account, c.addr.Container, c.addr.Blob, d, c.writeOptions()); err != nil {
		c.storeErr(err)
		return
	}
	c.w.Header().Set("x-ms-delete-type-permanent", strconv.FormatBool(d.Retain == 0))
	c.w.Header().Set("Content-Length", "0")
	c.ok(http.StatusAccepted)
}
