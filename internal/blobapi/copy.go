package blobapi

import (
	"crypto/tls"
	"net/http"
	"net/url"
	"strings"

	"github.com/geoblob/geoblob/internal/auth"
	"github.com/geoblob/geoblob/internal/azerr"
	"github.com/geoblob/geoblob/internal/location"
	"github.com/geoblob/geoblob/internal/store"
)

// copySource resolves x-ms-copy-source to a blob of this emulator. The URL
// is read as a request URL is (ParseAddress): host-style on the emulator's
// ACCOUNT.blob.localhost names, path-style (http://host/ACCOUNT/CONTAINER/BLOB)
// elsewhere; and, when the first path segment names no account of this
// emulator, host-style from the first label of any host
// (http://ACCOUNT.example/CONTAINER/BLOB). It answers the request and
// returns false when the source is unusable.
func (c *call) copySource(raw string) (store.CopySource, bool) {
	return c.resolveCopySource(raw, true)
}

// resolveCopySource is copySource; keyReads says whether the caller's
// Shared Key may read a source in its own account, as for Copy Blob. The
// From URL operations read only a public source or one that carries its own
// SAS.
func (c *call) resolveCopySource(raw string, keyReads bool) (store.CopySource, bool) {
	src := store.CopySource{URL: raw, Conditions: conditions(c.r.Header, "x-ms-source-"), IfTags: c.tt.srcIfTags, CopyTags: c.tt.copyTags}
	u, err := url.Parse(raw)
	if err != nil || u.Path == "" {
		c.badHeader("x-ms-copy-source", raw)
		return src, false
	}
	known := func(a Address) bool { _, ok := c.s.cfg.Keys(a.Account); return ok }
	hostStyle := location.LocalHostStyle(u.Host)
	a, err := parseAddressStyle(u.Host, u.Path, nil, false, hostStyle)
	if !hostStyle && !known(a) && strings.Contains(u.Hostname(), ".") {
		a, err = parseAddressStyle(u.Host, u.Path, nil, false, true)
	}
	if err == nil && !known(a) {
		c.fail(http.StatusNotFound, "CannotVerifyCopySource", "The copy source does not name a blob of this emulator.")
		return src, false
	}
	if err != nil || a.Blob == "" {
		c.badHeader("x-ms-copy-source", raw)
		return src, false
	}
	acct, cont, blob := a.Account, a.Container, a.Blob
	src.Account, src.Container, src.Blob = acct, cont, blob
	if !c.copySourceVersion(u, &src) {
		return src, false
	}
	if !c.copySourceAllowed(u, src, keyReads) {
		c.fail(http.StatusForbidden, "CannotVerifyCopySource", "This request is not authorized to read the copy source.",
			azerr.NewDetail("CopySourceStatusCode", "403"))
		return src, false
	}
	return src, true
}

// copySourceAllowed: as in Azure, a source in the caller's own account is
// readable when the caller signed with the account key (Shared Key) or
// holds a bearer token (every token may read here: no RBAC); any
// other source (and any source of a caller that holds only a SAS) must
// carry its own SAS or live in a public container.
func (c *call) copySourceAllowed(u *url.URL, src store.CopySource, keyReads bool) bool {
	if keyReads && src.Account == c.addr.Account && (c.auth == auth.SharedKey || c.auth == auth.SharedKeyLite || c.auth == auth.Bearer) {
		return true
	}
	if sq, _ := auth.ParseQuery(u.RawQuery); sq.Has("sig") {
		key, _ := c.s.cfg.Keys(src.Account)
		r, err := http.NewRequestWithContext(c.r.Context(), http.MethodGet, u.String(), nil)
		if err != nil {
			return false
		}
		if strings.EqualFold(u.Scheme, "https") {
			// The source is addressed over HTTPS: a SAS that allows
			// HTTPS only (spr=https) holds for it.
			r.TLS = &tls.ConnectionState{}
		}
		m, err := auth.Authorize(auth.Request{
			HTTP: r, Account: src.Account, Key: key, Container: src.Container, Blob: src.Blob,
			Permissions: []auth.Permission{auth.PermRead}, ResourceType: auth.ResourceObject, Now: c.now,
			LookupPolicy: func(container, id string) (auth.Policy, bool) {
				p, err := c.s.cfg.Primary.Container(src.Account, container)
				if err != nil {
					return auth.Policy{}, false
				}
				return findPolicy(p, id)
			},
		})
		return err == nil && m != auth.Anonymous
	}
	p, err := c.s.cfg.Primary.Container(src.Account, src.Container)
	return err == nil && p.PublicAccess != ""
}

func (c *call) copyBlob() {
	raw := c.r.Header.Get("x-ms-copy-source")
	src, ok := c.copySource(raw)
	if !ok {
		return
	}
	meta, ok := c.metadata()
	if !ok {
		return
	}
	b, err := c.st.CopyBlob(c.addr.Account, c.addr.Container, c.addr.Blob, src, meta, c.writeOptions())
	if err != nil {
		c.storeErr(err)
		return
	}
	rh := c.w.Header()
	setWriteHeaders(rh, b.ETag, b.LastModified)
	setVersionHeaders(rh, b, false)
	rh.Set("x-ms-copy-id", b.Copy.ID)
	rh.Set("x-ms-copy-status", b.Copy.Status)
	rh.Set("Content-Length", "0")
	c.ok(http.StatusAccepted)
}
