package blobapi

import (
	"net/http"

	"github.com/geoblob/geoblob/internal/azerr"
)

// The emulator never acknowledges a request and then drops part of it: a
// feature it does not model is refused, the operation with 501
// NotImplemented (as Azurite answers Put Block From URL) and a header it
// cannot honour with 400 UnsupportedHeader, Azure's common code for "One of
// the HTTP headers specified in the request is not supported".

// unmodelledHeader is a request header whose feature the emulator does not
// model.
type unmodelledHeader struct {
	name    string
	feature string
	// ops limits the refusal to these operations; nil means every blob and
	// container operation.
	ops []*op
	// except lists the operations that model the header.
	except []*op
}

var unmodelledHeaders = []unmodelledHeader{
	{name: "x-ms-rehydrate-priority", feature: "rehydration priorities on this operation", except: []*op{opSetBlobTier, opCopyBlob}},
	{name: "x-ms-if-tags", feature: "tag conditions on this operation", except: ifTagsOps},
	{name: "x-ms-source-if-tags", feature: "source tag conditions on this operation", except: []*op{opCopyBlob}},
	{name: "x-ms-encryption-key", feature: "customer-provided encryption keys"},
	{name: "x-ms-encryption-key-sha256", feature: "customer-provided encryption keys"},
	{name: "x-ms-encryption-algorithm", feature: "customer-provided encryption keys"},
	{name: "x-ms-encryption-scope", feature: "encryption scopes"},
	{name: "x-ms-default-encryption-scope", feature: "encryption scopes"},
	{name: "x-ms-immutability-policy-until-date", feature: "immutability policies"},
	{name: "x-ms-immutability-policy-mode", feature: "immutability policies"},
	{name: "x-ms-legal-hold", feature: "legal holds"},
	{name: "x-ms-immutable-storage-with-versioning-enabled", feature: "immutable storage"},
	// Delete Blob would delete whatever the tier's change time says.
	{name: "x-ms-access-tier-if-modified-since", feature: "access-tier change time conditions"},
	{name: "x-ms-access-tier-if-unmodified-since", feature: "access-tier change time conditions"},
	// CRC64 checksums: verified on the uploads of checksum.go and on Append
	// Block, returned on a ranged Get Blob.
	{name: "x-ms-content-crc64", feature: "CRC64 checksums on this operation", except: []*op{opPutBlob, opPutBlock, opPutBlockList, opSetBlobTags, opAppendBlock, opPutPage}},
	{name: "x-ms-range-get-content-crc64", feature: "CRC64 checksums on this operation", except: []*op{opGetBlob}},
	{name: "x-ms-structured-body", feature: "structured message bodies"},
	// Copy Blob copies the source's properties; these would be dropped.
	{name: "x-ms-copy-source-authorization", feature: "OAuth copy-source authorization"},
	{name: "x-ms-copy-source-blob-properties", feature: "copies that do not keep the source's properties", ops: []*op{opCopyBlob, opCopyBlobFromURL}},
	{name: "x-ms-seal-blob", feature: "sealing the destination of a copy", ops: []*op{opCopyBlob, opCopyBlobFromURL}},
	{name: "x-ms-copy-source-tag-option", feature: "x-ms-copy-source-tag-option on this operation", except: []*op{opCopyBlob, opPutBlobFromURL, opCopyBlobFromURL}},
	{name: "x-ms-file-request-intent", feature: "Azure Files copy sources"},
	{name: "x-ms-source-encryption-key", feature: "customer-provided encryption keys"},
	{name: "x-ms-source-encryption-key-sha256", feature: "customer-provided encryption keys"},
	{name: "x-ms-source-encryption-algorithm", feature: "customer-provided encryption keys"},
	// Copy Blob (From URL) would copy without these source checks.
	{name: "x-ms-source-content-md5", feature: "verifying the copy source's MD5", ops: []*op{opCopyBlob}},
	{name: "x-ms-source-content-crc64", feature: "CRC64 checksums", ops: []*op{opCopyBlob}},
	{name: "x-ms-source-lease-id", feature: "copy-source lease conditions", ops: []*op{opCopyBlob, opCopyBlobFromURL, opPutBlobFromURL, opPutBlockFromURL, opAppendBlockFromURL, opPutPageFromURL}},
	{name: "x-ms-blob-content-type", feature: "setting properties on a copy", ops: []*op{opCopyBlob, opCopyBlobFromURL}},
	{name: "x-ms-blob-content-encoding", feature: "setting properties on a copy", ops: []*op{opCopyBlob, opCopyBlobFromURL}},
	{name: "x-ms-blob-content-language", feature: "setting properties on a copy", ops: []*op{opCopyBlob, opCopyBlobFromURL}},
	{name: "x-ms-blob-content-disposition", feature: "setting properties on a copy", ops: []*op{opCopyBlob, opCopyBlobFromURL}},
	{name: "x-ms-blob-cache-control", feature: "setting properties on a copy", ops: []*op{opCopyBlob, opCopyBlobFromURL}},
	{name: "x-ms-blob-content-md5", feature: "setting properties on a copy", ops: []*op{opCopyBlob, opCopyBlobFromURL}},
	// Index tags and tiers belong to the blob a creating write makes (Put
	// Blob, Put Block List, the copies); a block, an append or a page
	// write does not take them, and would drop them.
	{name: "x-ms-tags", feature: "index tags on this operation (they are set by Put Blob, Put Block List, the copies and Set Blob Tags)", ops: contentWriteOps},
	{name: "x-ms-access-tier", feature: "access tiers on this operation (they are set by Put Blob, Put Block List, the copies and Set Blob Tier)", ops: contentWriteOps},
}

// contentWriteOps write content into a blob without creating it as a
// whole: Azure documents neither x-ms-tags nor x-ms-access-tier for them.
var contentWriteOps = []*op{opPutBlock, opPutBlockFromURL, opAppendBlock, opAppendBlockFromURL, opPutPage, opPutPageFromURL}

// unmodelledIndex maps the canonical form of each name of
// unmodelledHeaders to its index, so that a request is checked with one
// lookup per header it carries (about ten) rather than one per unmodelled
// name (over thirty), and no request pays for canonicalizing them.
var unmodelledIndex = func() map[string]int {
	idx := make(map[string]int, len(unmodelledHeaders))
	for i, u := range unmodelledHeaders {
		idx[http.CanonicalHeaderKey(u.name)] = i
	}
	return idx
}()

// refuseUnmodelled answers a request that asks for something the emulator
// does not model and returns true; it returns false when the request may go
// on.
func (c *call) refuseUnmodelled(o *op) bool {
	h := c.r.Header
	switch {
	case o == opDeleteBlob && c.q.Has("deletetype"):
		c.notImplementedFeature("permanent deletion of soft-deleted snapshots and versions")
		return true
	case !c.checkHistoryQuery(o):
		return true
	case o == opListBlobs && c.q.Has("endbefore"):
		// endBefore is served only on the Apache Arrow listing path of
		// accounts with Arrow listing enabled; the emulator answers XML,
		// like an account without it, so it answers as such an account
		// does. Clients that shard a listing by name range (rclone's
		// list_parallelism) take this code to fall back to one listing;
		// UnsupportedQueryParameter would fail their listing instead.
		c.fail(http.StatusBadRequest, "OperationNotSupportedWithFeatureMissing",
			"The requested operation is not allowed as EndBefore parameter support is missing on this account (the geoblob emulator does not model Apache Arrow listing).")
		return true
	case o == opListBlobs && c.q.Has("startfrom"):
		// Listing from a name (2026-02-06): the emulator would list every
		// blob as if the parameter were absent.
		c.fail(http.StatusBadRequest, "UnsupportedQueryParameter",
			"One of the query parameters specified in the request URI is not supported: the geoblob emulator does not model listing from a blob name (startFrom).",
			azerr.NewDetail("QueryParameterName", "startFrom"), azerr.NewDetail("QueryParameterValue", c.q.Get("startfrom")))
		return true
	case o.write && c.q.Get("ses") != "":
		// A SAS's signed encryption scope makes Azure encrypt what the
		// write stores with that scope; the emulator has no scopes, so
		// it would store the data as if the field were absent.
		c.fail(http.StatusBadRequest, "UnsupportedQueryParameter",
			"One of the query parameters specified in the request URI is not supported: the geoblob emulator does not model encryption scopes (a SAS's ses).",
			azerr.NewDetail("QueryParameterName", "ses"), azerr.NewDetail("QueryParameterValue", c.q.Get("ses")))
		return true
	}
	// The first refused header in unmodelledHeaders' order is named, as
	// when the list was walked.
	first := -1
	for k := range h {
		i, ok := unmodelledIndex[k]
		if !ok || (first >= 0 && i > first) {
			continue
		}
		if u := unmodelledHeaders[i]; (u.ops != nil && !containsOp(u.ops, o)) || containsOp(u.except, o) {
			continue
		}
		first = i
	}
	if first < 0 {
		return false
	}
	u := unmodelledHeaders[first]
	c.fail(http.StatusBadRequest, "UnsupportedHeader",
		"One of the HTTP headers specified in the request is not supported: the geoblob emulator does not model "+u.feature+".",
		azerr.NewDetail("HeaderName", u.name))
	return true
}

func containsOp(ops []*op, o *op) bool {
	for _, x := range ops {
		if x == o {
			return true
		}
	}
	return false
}

// notImplementedFeature answers 501 NotImplemented naming the feature.
func (c *call) notImplementedFeature(feature string) {
	c.fail(http.StatusNotImplemented, "NotImplemented", "The requested operation is not implemented by the geoblob emulator: it does not model "+feature+".")
}
