package store

import (
	"strings"
	"time"
	"unique"
)

// HTTPHeaders are the standard blob properties set through x-ms-blob-*
// headers.
type HTTPHeaders struct {
	ContentType        string
	ContentEncoding    string
	ContentLanguage    string
	ContentDisposition string
	CacheControl       string
	ContentMD5         []byte // nil when unknown
}

// internHeaders returns h with its property strings shared: with cur's
// when they are equal, else with one canonical copy per value. The few
// values these take (application/octet-stream, gzip, en-US...) would
// otherwise be held once per blob, each a copy of its request's header.
func internHeaders(h HTTPHeaders, cur *Blob) HTTPHeaders {
	intern := func(s string, prev string) string {
		switch {
		case s == "":
			return ""
		case s == prev:
			return prev
		}
		return unique.Make(s).Value()
	}
	var prev HTTPHeaders
	if cur != nil {
		prev = cur.Headers
	}
	h.ContentType = intern(h.ContentType, prev.ContentType)
	h.ContentEncoding = intern(h.ContentEncoding, prev.ContentEncoding)
	h.ContentLanguage = intern(h.ContentLanguage, prev.ContentLanguage)
	h.CacheControl = intern(h.CacheControl, prev.CacheControl)
	return h
}

// Block is one block of a block blob: its base64 id as the client sent it,
// and its bytes.
type Block struct {
	ID      string
	Content Content
}

// CopyInfo describes the copy operation that produced a blob.
type CopyInfo struct {
	ID             string
	Source         string
	Status         string // always "success": copies complete synchronously
	Progress       string
	CompletionTime time.Time
}

// Blob is one committed version of a block or append blob. It is immutable: a write
// creates a new *Blob. Callers must not modify any field, map or slice of a
// Blob they receive.
type Blob struct {
	Name         string
	Content      Content
	Headers      HTTPHeaders
	Metadata     map[string]string
	ETag         string // quoted, e.g. "0x8DC1F2A3B4C5D6E"
	Created      time.Time
	LastModified time.Time
	Blocks       []Block // the committed block list; empty for a blob written by Put Blob
	Lease        Lease
	Copy         *CopyInfo

	// Blob type and append blob state. Plain exported values, so that an
	// encoder of Blob records carries them like the fields above.
	BlobType            BlobType // "" is a block blob
	CommittedBlockCount int32    // append blobs: the blocks appended so far (at most MaxAppendBlocks; int32 packs it with Sealed)
	Sealed              bool     // append blobs: sealed, no more appends
	// Blob index tags and access tier (tags.go, tier.go). Tags is nil
	// when the blob has none. Tier is "" while the tier is inferred (Hot);
	// RehydrateTier, RehydratePriority and RehydrateAt are set while an
	// archived blob rehydrates (TierAt evaluates them at a given time).
	Tags              map[string]string
	Tier              string
	TierChangeTime    time.Time
	RehydrateTier     string
	RehydratePriority string
	RehydrateAt       time.Time
	// Page blobs (page.go): the length, the written extents and the
	// sequence number.
	PageBlobLength int64
	Pages          []PageExtent
	SequenceNumber int64
	// History (history.go). Snapshot is a snapshot's id (its time in
	// ISO 8601 with seven fractional digits), "" for any other blob.
	// VersionID is the version the blob was written as while versioning
	// was enabled, "" when none. NonCurrent marks a previous version kept
	// in the container's history.
	Snapshot   string
	VersionID  string
	NonCurrent bool
	// Soft delete (softdelete.go): when a history entry was soft-deleted
	// and until when it is kept; zero for an entry that is not.
	DeletedTime time.Time
	RetainUntil time.Time
}

// Size is the blob's length in bytes.
func (b *Blob) Size() int64 {
	if b.BlobType == PageBlob {
		return b.PageBlobLength
	}
	return b.Content.Size()
}

// clone returns a shallow copy that a write may modify before publishing.
func (b *Blob) clone() *Blob {
	c := *b
	return &c
}

// SignedIdentifier is a stored access policy of a container.
type SignedIdentifier struct {
	ID         string
	Start      time.Time // zero when unset
	Expiry     time.Time // zero when unset
	Permission string
}

// Container is a snapshot of a container's properties. It is immutable once
// returned.
type Container struct {
	Name         string
	Metadata     map[string]string
	PublicAccess string // "", "blob" or "container"
	ACL          []SignedIdentifier
	ETag         string
	LastModified time.Time

	// Container lease (containerlease.go); evaluate it with Lease.At.
	Lease Lease
	// Deleted is set on a soft-deleted container (deletedcontainers.go).
	Deleted *ContainerDeletion `json:",omitempty"`
}

// Conditions are the HTTP conditional headers of a request. Empty strings
// and zero times mean the header was absent.
type Conditions struct {
	IfMatch           string
	IfNoneMatch       string
	IfModifiedSince   time.Time
	IfUnmodifiedSince time.Time
}

// IsZero reports whether no condition is set.
func (c Conditions) IsZero() bool {
	return c.IfMatch == "" && c.IfNoneMatch == "" && c.IfModifiedSince.IsZero() && c.IfUnmodifiedSince.IsZero()
}

func etagEqual(a, b string) bool {
	return strings.Trim(strings.TrimSpace(a), `"`) == strings.Trim(b, `"`)
}

func etagMatches(header, etag string) bool {
	for _, part := range strings.Split(header, ",") {
		p := strings.TrimSpace(part)
		if p == "*" || etagEqual(p, etag) {
			return true
		}
	}
	return false
}

// modifiedAfter compares at the one-second resolution of HTTP dates.
func modifiedAfter(lastModified, t time.Time) bool {
	return lastModified.Truncate(time.Second).After(t.Truncate(time.Second))
}

// checkRead evaluates conditions for a read of an existing resource: failed
// If-Match/If-Unmodified-Since give ErrConditionNotMet, failed
// If-None-Match/If-Modified-Since give ErrNotModified.
func (c Conditions) checkRead(etag string, lastModified time.Time) error {
	if c.IfMatch != "" && !etagMatches(c.IfMatch, etag) {
		return ErrConditionNotMet
	}
	if !c.IfUnmodifiedSince.IsZero() && modifiedAfter(lastModified, c.IfUnmodifiedSince) {
		return ErrConditionNotMet
	}
	if c.IfNoneMatch != "" && etagMatches(c.IfNoneMatch, etag) {
		return ErrNotModified
	}
	if !c.IfModifiedSince.IsZero() && !modifiedAfter(lastModified, c.IfModifiedSince) {
		return ErrNotModified
	}
	return nil
}

// checkWrite evaluates conditions for a write. exists says whether the
// target exists; every failure is ErrConditionNotMet.
func (c Conditions) checkWrite(exists bool, etag string, lastModified time.Time) error {
	if !exists {
		if c.IfMatch != "" || !c.IfUnmodifiedSince.IsZero() {
			return ErrConditionNotMet
		}
		return nil
	}
	if err := c.checkRead(etag, lastModified); err != nil {
		return ErrConditionNotMet
	}
	return nil
}
