package blobapi

import (
	"net/http"
	"net/url"

	"github.com/geoblob/geoblob/internal/auth"
)

// publicLevel is the container public access level that lets anonymous
// clients run an operation.
type publicLevel int

const (
	publicNone      publicLevel = iota // never anonymous
	publicBlob                         // "blob" or "container"
	publicContainer                    // "container" only
)

// op is one REST operation.
type op struct {
	name   string
	write  bool
	perm   auth.Permission
	orPerm auth.Permission // a SAS permission that grants the operation too; 0 when none
	rt     auth.ResourceType
	public publicLevel
	run    func(*call)
}

var (
	opListContainers    = &op{name: "ListContainers", perm: auth.PermList, rt: auth.ResourceService, run: (*call).listContainers}
	opGetServiceProps   = &op{name: "GetServiceProperties", perm: auth.PermRead, rt: auth.ResourceService, run: (*call).getServiceProperties}
	opSetServiceProps   = &op{name: "SetServiceProperties", write: true, perm: auth.PermWrite, rt: auth.ResourceService, run: (*call).setServiceProperties}
	opGetServiceStats   = &op{name: "GetServiceStats", perm: auth.PermRead, rt: auth.ResourceService, run: (*call).getServiceStats}
	opAccountInfo       = &op{name: "GetAccountInfo", perm: auth.PermRead, run: (*call).accountInfo}
	opCreateContainer   = &op{name: "CreateContainer", write: true, perm: auth.PermWrite, rt: auth.ResourceContainer, run: (*call).createContainer}
	opDeleteContainer   = &op{name: "DeleteContainer", write: true, perm: auth.PermDelete, rt: auth.ResourceContainer, run: (*call).deleteContainer}
	opContainerProps    = &op{name: "GetContainerProperties", perm: auth.PermRead, rt: auth.ResourceContainer, public: publicContainer, run: (*call).containerProperties}
	opContainerMeta     = &op{name: "GetContainerMetadata", perm: auth.PermRead, rt: auth.ResourceContainer, public: publicContainer, run: (*call).containerProperties}
	opSetContainerMeta  = &op{name: "SetContainerMetadata", write: true, perm: auth.PermWrite, rt: auth.ResourceContainer, run: (*call).setContainerMetadata}
	opGetContainerACL   = &op{name: "GetContainerACL", perm: auth.PermRead, rt: auth.ResourceContainer, run: (*call).getContainerACL}
	opSetContainerACL   = &op{name: "SetContainerACL", write: true, perm: auth.PermWrite, rt: auth.ResourceContainer, run: (*call).setContainerACL}
	opListBlobs         = &op{name: "ListBlobs", perm: auth.PermList, rt: auth.ResourceContainer, public: publicContainer, run: (*call).listBlobs}
	opPutBlob           = &op{name: "PutBlob", write: true, perm: auth.PermWrite, rt: auth.ResourceObject, run: (*call).putBlob}
	opCopyBlob          = &op{name: "CopyBlob", write: true, perm: auth.PermWrite, rt: auth.ResourceObject, run: (*call).copyBlob}
	opPutBlock          = &op{name: "PutBlock", write: true, perm: auth.PermWrite, rt: auth.ResourceObject, run: (*call).putBlock}
	opPutBlockList      = &op{name: "PutBlockList", write: true, perm: auth.PermWrite, rt: auth.ResourceObject, run: (*call).putBlockList}
	opGetBlockList      = &op{name: "GetBlockList", perm: auth.PermRead, rt: auth.ResourceObject, public: publicBlob, run: (*call).getBlockList}
	opGetBlob           = &op{name: "GetBlob", perm: auth.PermRead, rt: auth.ResourceObject, public: publicBlob, run: (*call).getBlob}
	opBlobProps         = &op{name: "GetBlobProperties", perm: auth.PermRead, rt: auth.ResourceObject, public: publicBlob, run: (*call).getBlob}
	opBlobMeta          = &op{name: "GetBlobMetadata", perm: auth.PermRead, rt: auth.ResourceObject, public: publicBlob, run: (*call).getBlobMetadata}
	opSetBlobProps      = &op{name: "SetBlobProperties", write: true, perm: auth.PermWrite, rt: auth.ResourceObject, run: (*call).setBlobProperties}
	opSetBlobMeta       = &op{name: "SetBlobMetadata", write: true, perm: auth.PermWrite, rt: auth.ResourceObject, run: (*call).setBlobMetadata}
	opDeleteBlob        = &op{name: "DeleteBlob", write: true, perm: auth.PermDelete, rt: auth.ResourceObject, run: (*call).deleteBlob}
	opLeaseBlob         = &op{name: "LeaseBlob", write: true, perm: auth.PermWrite, rt: auth.ResourceObject, run: (*call).leaseBlob}
	opSetBlobTier       = &op{name: "SetBlobTier", write: true, perm: auth.PermWrite, rt: auth.ResourceObject, run: (*call).setBlobTier}
	opAppendBlock       = &op{name: "AppendBlock", write: true, perm: auth.PermWrite, orPerm: auth.PermAdd, rt: auth.ResourceObject, run: (*call).appendBlock}
	opSealBlob          = &op{name: "SealBlob", write: true, perm: auth.PermWrite, rt: auth.ResourceObject, run: (*call).sealBlob}
	opGetBlobTags       = &op{name: "GetBlobTags", perm: auth.PermTag, rt: auth.ResourceObject, run: (*call).getBlobTags}
	opSetBlobTags       = &op{name: "SetBlobTags", write: true, perm: auth.PermTag, rt: auth.ResourceObject, run: (*call).setBlobTags}
	opFindBlobs         = &op{name: "FindBlobsByTags", perm: auth.PermFilter, rt: auth.ResourceService, run: (*call).findBlobs}
	opFindBlobsInCont   = &op{name: "FindBlobsByTagsInContainer", perm: auth.PermFilter, rt: auth.ResourceContainer, run: (*call).findBlobs}
	opLeaseContainer    = &op{name: "LeaseContainer", write: true, perm: auth.PermWrite, rt: auth.ResourceContainer, run: (*call).leaseContainer}
	opUnsupportedObject = &op{name: "Unsupported", write: true, perm: auth.PermWrite, rt: auth.ResourceObject, run: (*call).notImplemented}
	// Operations Azure has and the emulator does not model: authorized as
	// writes, then answered 501 NotImplemented.
	opUnsupportedContainer = &op{name: "Unsupported", write: true, perm: auth.PermWrite, rt: auth.ResourceContainer, run: (*call).notImplemented}
)

// route picks the operation for a request. When it finds none it returns
// the Azure error code and message to answer with.
func route(method string, q url.Values, a Address) (*op, string, string) {
	restype, comp := q.Get("restype"), q.Get("comp")
	verb := func(ops map[string]*op) (*op, string, string) {
		if o := ops[method]; o != nil {
			return o, "", ""
		}
		return nil, "UnsupportedHttpVerb", "The resource doesn't support specified Http Verb."
	}
	badComp := func() (*op, string, string) {
		return nil, "InvalidQueryParameterValue", "Value for one of the query parameters specified in the request URI is invalid: comp=" + comp + " is not supported here."
	}
	if restype == "account" {
		if comp != "properties" {
			return badComp()
		}
		return verb(map[string]*op{http.MethodGet: opAccountInfo, http.MethodHead: opAccountInfo})
	}
	switch {
	case a.Container == "":
		switch {
		case comp == "list" && restype == "":
			return verb(map[string]*op{http.MethodGet: opListContainers})
		case restype == "service" && comp == "properties":
			return verb(map[string]*op{http.MethodGet: opGetServiceProps, http.MethodPut: opSetServiceProps})
		case comp == "blobs" && restype == "":
			return verb(map[string]*op{http.MethodGet: opFindBlobs})
		case restype == "service" && comp == "stats":
			return verb(map[string]*op{http.MethodGet: opGetServiceStats})
		case comp == "batch" && (restype == "" || restype == "container"):
			// restype=container without a container: the JavaScript SDK's
			// service BlobBatchClient sends that on a path-style URL (it
			// takes the account segment of the path for a container).
			return verb(map[string]*op{http.MethodPost: opBatchService})
		case restype == "service" && comp == "userdelegationkey":
			return verb(map[string]*op{http.MethodPost: opGetUserDelegationKey}) // userdelegation.go
		case restype != "" && restype != "service":
			return nil, "InvalidQueryParameterValue", "Value for one of the query parameters specified in the request URI is invalid: restype=" + restype + " is not supported on the service."
		case comp == "":
			return nil, "InvalidQueryParameterValue", "Value for one of the query parameters specified in the request URI is invalid: the service requires comp."
		}
		return badComp()
	case a.Blob == "":
		if restype != "container" {
			return nil, "InvalidQueryParameterValue", "Value for one of the query parameters specified in the request URI is invalid: restype=" + restype + " is not supported on a container."
		}
		switch comp {
		case "":
			return verb(map[string]*op{http.MethodPut: opCreateContainer, http.MethodDelete: opDeleteContainer,
				http.MethodGet: opContainerProps, http.MethodHead: opContainerProps})
		case "metadata":
			return verb(map[string]*op{http.MethodPut: opSetContainerMeta, http.MethodGet: opContainerMeta, http.MethodHead: opContainerMeta})
		case "acl":
			return verb(map[string]*op{http.MethodPut: opSetContainerACL, http.MethodGet: opGetContainerACL, http.MethodHead: opGetContainerACL})
		case "list":
			return verb(map[string]*op{http.MethodGet: opListBlobs})
		case "blobs":
			return verb(map[string]*op{http.MethodGet: opFindBlobsInCont})
		case "lease":
			return verb(map[string]*op{http.MethodPut: opLeaseContainer})
		case "batch":
			return verb(map[string]*op{http.MethodPost: opBatchContainer})
		case "undelete":
			return verb(map[string]*op{http.MethodPut: opRestoreContainer})
		case "rename":
			return verb(map[string]*op{http.MethodPut: opUnsupportedContainer})
		}
		return badComp()
	}
	if restype != "" {
		return nil, "InvalidQueryParameterValue", "Value for one of the query parameters specified in the request URI is invalid: restype=" + restype + " is not supported on a blob."
	}
	if comp == "copy" && method == http.MethodPut {
		return opAbortCopy, "", "" // abortcopy.go
	}
	switch comp {
	case "":
		return verb(map[string]*op{http.MethodPut: opPutBlob, http.MethodGet: opGetBlob, http.MethodHead: opBlobProps, http.MethodDelete: opDeleteBlob})
	case "block":
		return verb(map[string]*op{http.MethodPut: opPutBlock})
	case "blocklist":
		return verb(map[string]*op{http.MethodPut: opPutBlockList, http.MethodGet: opGetBlockList})
	case "properties":
		return verb(map[string]*op{http.MethodPut: opSetBlobProps})
	case "metadata":
		return verb(map[string]*op{http.MethodPut: opSetBlobMeta, http.MethodGet: opBlobMeta, http.MethodHead: opBlobMeta})
	case "lease":
		return verb(map[string]*op{http.MethodPut: opLeaseBlob})
	case "tier":
		return verb(map[string]*op{http.MethodPut: opSetBlobTier})
	case "tags":
		return verb(map[string]*op{http.MethodGet: opGetBlobTags, http.MethodPut: opSetBlobTags})
	case "appendblock":
		return verb(map[string]*op{http.MethodPut: opAppendBlock})
	case "seal":
		return verb(map[string]*op{http.MethodPut: opSealBlob})
	case "page":
		return verb(map[string]*op{http.MethodPut: opPutPage})
	case "pagelist":
		return verb(map[string]*op{http.MethodGet: opGetPageRanges})
	case "snapshot":
		return verb(map[string]*op{http.MethodPut: opSnapshotBlob})
	case "undelete":
		return verb(map[string]*op{http.MethodPut: opUndeleteBlob})
	case "copy", "expiry", "query", "immutabilityPolicies", "legalhold", "incrementalcopy":
		return verb(map[string]*op{http.MethodPut: opUnsupportedObject, http.MethodGet: opUnsupportedObject, http.MethodPost: opUnsupportedObject, http.MethodDelete: opUnsupportedObject, http.MethodHead: opUnsupportedObject})
	}
	return badComp()
}

// notImplemented answers operations the emulator knows but does not
// implement.
func (c *call) notImplemented() {
	c.fail(http.StatusNotImplemented, "NotImplemented", "The requested operation is not implemented by the geoblob emulator.")
}
