package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Permission is a SAS permission letter an operation needs.
type Permission byte

// SAS permissions, as their letters appear in sp.
const (
	PermRead            Permission = 'r'
	PermAdd             Permission = 'a'
	PermCreate          Permission = 'c'
	PermWrite           Permission = 'w'
	PermDelete          Permission = 'd'
	PermList            Permission = 'l'
	PermTag             Permission = 't'
	PermFilter          Permission = 'f'
	PermMove            Permission = 'm'
	PermExecute         Permission = 'e'
	PermImmutability    Permission = 'i'
	PermDeleteVersion   Permission = 'x'
	PermPermanentDelete Permission = 'y'
)

// ResourceType is the account-SAS signed resource type (srt) an operation
// needs.
type ResourceType byte

// Account-SAS resource types, as their letters appear in srt.
const (
	ResourceService   ResourceType = 's'
	ResourceContainer ResourceType = 'c'
	ResourceObject    ResourceType = 'o'
)

// Method says how a request was authenticated.
type Method int

// Authentication methods.
const (
	Anonymous Method = iota
	SharedKey
	SharedKeyLite
	AccountSAS
	ServiceSAS
	// Bearer is a Microsoft Entra ID access token (Request.Bearer).
	Bearer
)

// String returns the method's name.
func (m Method) String() string {
	switch m {
	case Anonymous:
		return "Anonymous"
	case SharedKey:
		return "SharedKey"
	case SharedKeyLite:
		return "SharedKeyLite"
	case AccountSAS:
		return "AccountSAS"
	case ServiceSAS:
		return "ServiceSAS"
	case Bearer:
		return "Bearer"
	}
	return "Method(?)"
}

// Policy is a container's stored access policy (from Set Container ACL).
// A zero time means the field is not set; an empty Permission likewise.
type Policy struct {
	Start, Expiry time.Time
	Permission    string
}

// Request is what Authorize needs to know about a request.
type Request struct {
	// HTTP is the incoming request, with its path-style URL, e.g.
	// /devstoreaccount1-secondary/c/b?....
	HTTP *http.Request
	// Account is the account name, without any "-secondary" suffix.
	Account string
	// Key is the decoded account key.
	Key []byte
	// Container and Blob name the target (decoded); both are empty for
	// service-level operations and Blob is empty for container operations.
	Container, Blob string
	// Permissions lists what the operation needs; a SAS must grant all of
	// them.
	Permissions []Permission
	// ResourceType is the account-SAS resource type the operation needs. When
	// zero it is inferred from Container and Blob.
	ResourceType ResourceType
	// Now is the current time, against which st and se are checked.
	Now time.Time
	// LookupPolicy finds the stored access policy id of container, for a
	// service SAS with si. It may be nil, in which case such a SAS fails.
	LookupPolicy func(container, id string) (Policy, bool)
	// Query is the request's query as ParseQuery returns it. When nil,
	// Authorize parses HTTP.URL.RawQuery itself.
	Query url.Values
	// MaxClockSkew bounds how far the request time of a Shared Key or
	// Shared Key Lite request (x-ms-date, else Date) may be from Now. Zero
	// means DefaultMaxClockSkew; a negative value turns the check off, and
	// with it the lifetime check of bearer tokens (whose issuer's clock a
	// test clock does not follow either).
	MaxClockSkew time.Duration
	// Bearer accepts Microsoft Entra ID bearer tokens over HTTPS (see
	// verifyBearer in bearer.go); when false they are refused.
	Bearer bool
}

// DefaultMaxClockSkew is how far from the server's clock Azure Storage lets
// the request time of a Shared Key request be.
const DefaultMaxClockSkew = 15 * time.Minute

// Authorize authenticates and authorizes req. A request with an
// Authorization header is verified as Shared Key (or Shared Key Lite), or,
// when req.Bearer is set, as a bearer token if it says Bearer; else
// a request with a sig query parameter is verified as a SAS. A request with
// neither is reported as Anonymous with a nil error: the caller then decides
// from the container's public access level. Every failure is an *Error.
func Authorize(req Request) (Method, error) {
	r := req.HTTP
	if r == nil || r.URL == nil {
		return Anonymous, fail(CodeAuthenticationFailed, "The request is missing.")
	}
	if h := r.Header.Get("Authorization"); h != "" {
		if scheme, token, _ := strings.Cut(strings.TrimSpace(h), " "); req.Bearer && strings.EqualFold(scheme, "Bearer") {
			return verifyBearer(&req, strings.TrimSpace(token))
		}
		return verifySharedKey(&req, h)
	}
	q := req.Query
	if q == nil {
		q, _ = ParseQuery(r.URL.RawQuery) // keeps every well-formed pair
	}
	if q.Has("sig") {
		return verifySAS(&req, q)
	}
	return Anonymous, nil
}

// resourceType returns the resource type req needs, inferring it from the
// target when the caller did not set it.
func (req *Request) resourceType() ResourceType {
	switch {
	case req.ResourceType != 0:
		return req.ResourceType
	case req.Blob != "":
		return ResourceObject
	case req.Container != "":
		return ResourceContainer
	}
	return ResourceService
}

// matchesAny reports whether the HMAC-SHA256 under key of any candidate
// equals want, comparing in constant time.
func matchesAny(key, want []byte, candidates []string) bool {
	mac := hmac.New(sha256.New, key)
	for _, c := range candidates {
		mac.Reset()
		mac.Write([]byte(c))
		if hmac.Equal(mac.Sum(nil), want) {
			return true
		}
	}
	return false
}

// appendUnique appends s to list unless it is already there.
func appendUnique(list []string, s string) []string {
	for _, v := range list {
		if v == s {
			return list
		}
	}
	return append(list, s)
}

// checkPermissions fails unless granted holds every needed permission.
func checkPermissions(granted string, needed []Permission) error {
	for _, p := range needed {
		if !strings.ContainsRune(granted, rune(p)) {
			return fail(CodePermissionMismatch, "The signed permissions do not include '"+string(rune(p))+"'.")
		}
	}
	return nil
}
