package metrics

import (
	"net/http"
	"strings"
)

// Operation names the Blob REST operation of r from its method, path and
// restype/comp parameters, as a label: GetBlob, PutBlock, ListBlobs... It
// returns "Other" for anything else, so the label set stays bounded. It
// never parses the body.
func Operation(r *http.Request) string {
	var restype, comp string
	if r.URL.RawQuery != "" { // most blob reads and writes have none: no map to build
		q := r.URL.Query()
		restype, comp = q.Get("restype"), q.Get("comp")
	}
	p := strings.Trim(r.URL.Path, "/")
	segs := 0
	if p != "" {
		segs = strings.Count(p, "/") + 1
	}
	m := r.Method
	if m == http.MethodOptions {
		return "PreflightBlobRequest" // CORS, any path
	}
	switch {
	case restype == "account":
		return "GetAccountInfo"
	case restype == "service" || (segs <= 1 && comp != ""):
		switch comp {
		case "properties":
			if m == http.MethodPut {
				return "SetServiceProperties"
			}
			return "GetServiceProperties"
		case "stats":
			return "GetServiceStats"
		case "list":
			return "ListContainers"
		case "blobs":
			return "FindBlobsByTags"
		case "userdelegationkey":
			return "GetUserDelegationKey"
		}
	case restype == "container":
		switch comp {
		case "list":
			return "ListBlobs"
		case "metadata":
			if m == http.MethodPut {
				return "SetContainerMetadata"
			}
			return "GetContainerMetadata"
		case "acl":
			if m == http.MethodPut {
				return "SetContainerACL"
			}
			return "GetContainerACL"
		case "lease":
			return "LeaseContainer"
		case "undelete":
			return "RestoreContainer"
		case "blobs":
			return "FindBlobsByTagsInContainer"
		case "":
			switch m {
			case http.MethodPut:
				return "CreateContainer"
			case http.MethodDelete:
				return "DeleteContainer"
			case http.MethodGet, http.MethodHead:
				return "GetContainerProperties"
			}
		}
	case segs >= 2:
		switch comp {
		case "block":
			if r.Header.Get("X-Ms-Copy-Source") != "" {
				return "PutBlockFromURL"
			}
			return "PutBlock"
		case "appendblock":
			if r.Header.Get("X-Ms-Copy-Source") != "" {
				return "AppendBlockFromURL"
			}
			return "AppendBlock"
		case "seal":
			return "SealBlob"
		case "copy":
			if m == http.MethodPut {
				return "AbortCopyBlob"
			}
		case "blocklist":
			if m == http.MethodPut {
				return "PutBlockList"
			}
			return "GetBlockList"
		case "metadata":
			if m == http.MethodPut {
				return "SetBlobMetadata"
			}
			return "GetBlobMetadata"
		case "properties":
			return "SetBlobProperties"
		case "lease":
			return "LeaseBlob"
		case "tier":
			return "SetBlobTier"
		case "tags":
			if m == http.MethodPut {
				return "SetBlobTags"
			}
			return "GetBlobTags"
		case "":
			switch m {
			case http.MethodGet:
				return "GetBlob"
			case http.MethodHead:
				return "GetBlobProperties"
			case http.MethodDelete:
				return "DeleteBlob"
			case http.MethodPut:
				if r.Header.Get("X-Ms-Copy-Source") != "" {
					switch {
					case r.Header.Get("X-Ms-Blob-Type") != "":
						return "PutBlobFromURL"
					case r.Header.Get("X-Ms-Requires-Sync") != "":
						return "CopyBlobFromURL"
					}
					return "CopyBlob"
				}
				return "PutBlob"
			}
		}
	}
	return "Other"
}
