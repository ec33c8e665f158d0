package geoblob

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// accountKey is the key the router signs with; never logged or printed.
type accountKey struct {
	name string
	key  []byte
}

// SetAccountKey gives the router the account name and base64 key the
// client signs with. NewClientFromConnectionString and
// NewClientWithSharedKey set it. azblob's Shared Key policy runs before the
// router, so when the router moves a request between path-style URLs whose
// account segments differ (/acct and /acct-secondary), it signs the request
// again for the path it is actually sent to. Without a key the request
// keeps the primary path's signature, which the geoblob emulator accepts on
// the secondary too.
func (r *Router) SetAccountKey(name, base64Key string) error {
	k, err := base64.StdEncoding.DecodeString(base64Key)
	if err != nil {
		return fmt.Errorf("%w: account key is not valid base64", ErrInvalidConfig)
	}
	r.sharedKey.Store(&accountKey{name: name, key: k})
	return nil
}

// resign replaces a Shared Key Authorization header with one computed for
// the request's current URL. Requests authorized otherwise are left alone.
func (r *Router) resign(req *http.Request) {
	k := r.sharedKey.Load()
	if k == nil || !strings.HasPrefix(req.Header.Get("Authorization"), "SharedKey ") {
		return
	}
	sts, err := stringToSign(k.name, req)
	if err != nil {
		return
	}
	m := hmac.New(sha256.New, k.key)
	m.Write([]byte(sts))
	req.Header.Set("Authorization", "SharedKey "+k.name+":"+base64.StdEncoding.EncodeToString(m.Sum(nil)))
}

// stringToSign builds the Shared Key string-to-sign of the Blob service
// (version 2015-02-21 and later), as described in "Authorize with Shared
// Key" of the Azure Storage REST reference.
func stringToSign(account string, req *http.Request) (string, error) {
	h := req.Header
	length := h.Get("Content-Length")
	if length == "0" {
		length = ""
	}
	var b strings.Builder
	for _, s := range []string{
		req.Method, h.Get("Content-Encoding"), h.Get("Content-Language"), length,
		h.Get("Content-MD5"), h.Get("Content-Type"), "", // Date: x-ms-date is used
		h.Get("If-Modified-Since"), h.Get("If-Match"), h.Get("If-None-Match"),
		h.Get("If-Unmodified-Since"), h.Get("Range"),
	} {
		b.WriteString(s)
		b.WriteByte('\n')
	}
	// x-ms- headers, by lowercase name; the SDK stores them under
	// non-canonical keys, so read the map directly.
	xms := map[string][]string{}
	var names []string
	for k, v := range h {
		if lk := strings.ToLower(k); strings.HasPrefix(lk, "x-ms-") {
			if _, seen := xms[lk]; !seen {
				names = append(names, lk)
			}
			xms[lk] = append(xms[lk], v...)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		b.WriteString(n)
		b.WriteByte(':')
		b.WriteString(strings.Join(xms[n], ","))
		b.WriteByte('\n')
	}
	b.WriteByte('/')
	b.WriteString(account)
	if p := req.URL.EscapedPath(); p != "" {
		b.WriteString(p)
	} else {
		b.WriteByte('/')
	}
	q, err := url.ParseQuery(req.URL.RawQuery)
	if err != nil {
		return "", err
	}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := q[k]
		sort.Strings(v)
		b.WriteString("\n" + strings.ToLower(k) + ":" + strings.Join(v, ","))
	}
	return b.String(), nil
}
