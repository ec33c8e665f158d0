package metrics

import (
	"net/http/httptest"
	"testing"
)

func TestOperation(t *testing.T) {
	tests := []struct {
		method, target, copySource, want string
	}{
		{"GET", "/acct?comp=list", "", "ListContainers"},
		{"GET", "/acct/?restype=service&comp=properties", "", "GetServiceProperties"},
		{"PUT", "/acct/?restype=service&comp=properties", "", "SetServiceProperties"},
		{"GET", "/acct-secondary/?restype=service&comp=stats", "", "GetServiceStats"},
		{"GET", "/acct/?restype=account&comp=properties", "", "GetAccountInfo"},
		{"PUT", "/acct/c?restype=container", "", "CreateContainer"},
		{"DELETE", "/acct/c?restype=container", "", "DeleteContainer"},
		{"HEAD", "/acct/c?restype=container", "", "GetContainerProperties"},
		{"GET", "/acct/c?restype=container&comp=list", "", "ListBlobs"},
		{"PUT", "/acct/c?restype=container&comp=metadata", "", "SetContainerMetadata"},
		{"GET", "/acct/c?restype=container&comp=acl", "", "GetContainerACL"},
		{"PUT", "/acct/c?restype=container&comp=lease", "", "LeaseContainer"},
		{"PUT", "/acct/c?restype=container&comp=undelete", "", "RestoreContainer"},
		{"GET", "/acct/c/dir/b.txt", "", "GetBlob"},
		{"HEAD", "/acct/c/b", "", "GetBlobProperties"},
		{"PUT", "/acct/c/b", "", "PutBlob"},
		{"PUT", "/acct/c/b", "http://x/acct/c/a", "CopyBlob"},
		{"PUT", "/acct/c/b?comp=block&blockid=AA", "", "PutBlock"},
		{"PUT", "/acct/c/b?comp=blocklist", "", "PutBlockList"},
		{"GET", "/acct/c/b?comp=blocklist", "", "GetBlockList"},
		{"GET", "/acct/c/b?comp=metadata", "", "GetBlobMetadata"},
		{"PUT", "/acct/c/b?comp=properties", "", "SetBlobProperties"},
		{"PUT", "/acct/c/b?comp=lease", "", "LeaseBlob"},
		{"PUT", "/acct/c/b?comp=tier", "", "SetBlobTier"},
		{"PUT", "/acct/c/b?comp=tags", "", "SetBlobTags"},
		{"GET", "/acct/c/b?comp=tags", "", "GetBlobTags"},
		{"GET", "/acct/?comp=blobs&where=%22a%22%3D%271%27", "", "FindBlobsByTags"},
		{"GET", "/acct/c?restype=container&comp=blobs&where=%22a%22%3D%271%27", "", "FindBlobsByTagsInContainer"},
		{"DELETE", "/acct/c/b", "", "DeleteBlob"},
		{"POST", "/acct/c/b", "", "Other"},
		{"GET", "/acct/c/b?comp=nonsense", "", "Other"},
		{"GET", "/", "", "Other"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.target, nil)
			if tt.copySource != "" {
				r.Header.Set("x-ms-copy-source", tt.copySource)
			}
			if got := Operation(r); got != tt.want {
				t.Errorf("Operation = %q, want %q", got, tt.want)
			}
		})
	}
}
