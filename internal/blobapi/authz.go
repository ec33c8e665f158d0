package blobapi

import (
	"errors"
	"net/http"

	"github.com/geoblob/geoblob/internal/auth"
	"github.com/geoblob/geoblob/internal/azerr"
	"github.com/geoblob/geoblob/internal/store"
)

// authorize checks the request's credentials for o and, for anonymous
// requests, the container's public access level. It answers the request and
// returns false when it must not go on.
func (c *call) authorize(o *op, key []byte) bool {
	req := auth.Request{
		HTTP:         c.r,
		Account:      c.addr.Account,
		Key:          key,
		Container:    c.addr.Container,
		Blob:         c.addr.Blob,
		Permissions:  []auth.Permission{o.perm},
		ResourceType: o.rt,
		Now:          c.now,
		Query:        c.q,
		MaxClockSkew: c.s.cfg.MaxClockSkew,
		Bearer:       c.s.cfg.OAuth,
	}
	if c.q.Get("si") != "" {
		// Only a SAS naming a stored access policy looks one up; the
		// method value costs an allocation per request otherwise.
		req.LookupPolicy = c.lookupPolicy
	}
	if o == opDeleteBlob && c.q.Has("versionid") {
		// As in Azure, a SAS deletes a version only with x.
		req.Permissions = []auth.Permission{auth.PermDeleteVersion}
	}
	m, err := auth.Authorize(req)
	if err != nil && o.orPerm != 0 && isPermissionMismatch(err) {
		// A SAS may grant the operation through its other permission.
		req.Permissions = []auth.Permission{o.orPerm}
		m, err = auth.Authorize(req)
	}
	if err != nil {
		c.authFailed(err)
		return false
	}
	c.auth = m
	if m == auth.ServiceSAS && c.addr.Blob == "" && o != opListBlobs && o != opFindBlobsInCont && o != opAccountInfo && o != opBatchContainer {
		// A container SAS acts on the container's blobs: it can list them
		// but cannot read or write the container's properties, metadata or
		// ACL, nor delete it, whatever its permissions. With write it could
		// otherwise make a private container public.
		c.fail(http.StatusForbidden, auth.CodePermissionMismatch,
			"This request is not authorized to perform this operation using this permission: a service SAS cannot authorize container operations other than List Blobs; use an account SAS or the account key.")
		return false
	}
	if m != auth.Anonymous {
		return true
	}
	c.anon = true
	if o.public != publicNone && c.addr.Container != "" {
		if p, err := c.st.Container(c.addr.Account, c.addr.Container); err == nil {
			switch {
			case p.PublicAccess == "container":
				return true
			case p.PublicAccess == "blob" && o.public == publicBlob:
				return true
			}
		}
	}
	c.anonymousDenied()
	return false
}

// anonymousDenied answers an anonymous request that its container's public
// access level does not permit: 403 AuthorizationFailure, as the issue that
// specifies the emulator asks and as Azurite answers. Real Azure answers
// 404 ResourceNotFound instead, so that anonymous clients cannot tell
// whether a private container or blob exists (Azure/azure-storage-cpp#397).
func (c *call) anonymousDenied() {
	c.fail(http.StatusForbidden, "AuthorizationFailure",
		"This request is not authorized to perform this operation: it carries no credentials and the container does not permit anonymous access.")
}

// authFailed answers an authentication failure with its code and Azure's
// status for it (403, or 401 with a bearer challenge).
func (c *call) authFailed(err error) {
	var ae *auth.Error
	if !errors.As(err, &ae) {
		c.fail(http.StatusForbidden, auth.CodeAuthenticationFailed, "Server failed to authenticate the request.")
		return
	}
	var details []azerr.Detail
	if ae.Detail != "" {
		details = append(details, azerr.NewDetail("AuthenticationErrorDetail", ae.Detail))
	}
	if ae.Challenge != "" {
		c.w.Header().Set("WWW-Authenticate", ae.Challenge)
	}
	c.fail(ae.StatusCode(), ae.Code, ae.Message, details...)
}

// isPermissionMismatch reports whether err is an auth.Error for
// permissions a SAS lacks.
func isPermissionMismatch(err error) bool {
	var ae *auth.Error
	return errors.As(err, &ae) && ae.Code == auth.CodePermissionMismatch
}

// lookupPolicy finds a stored access policy of a container, for a service
// SAS with a signed identifier.
func (c *call) lookupPolicy(container, id string) (auth.Policy, bool) {
	p, err := c.st.Container(c.addr.Account, container)
	if err != nil {
		return auth.Policy{}, false
	}
	return findPolicy(p, id)
}

func findPolicy(p *store.Container, id string) (auth.Policy, bool) {
	for _, si := range p.ACL {
		if si.ID == id {
			return auth.Policy{Start: si.Start, Expiry: si.Expiry, Permission: si.Permission}, true
		}
	}
	return auth.Policy{}, false
}
