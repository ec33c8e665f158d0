package auth

import (
	"net/url"
	"strings"
)

// ParseQuery parses a raw query string the way the Blob service reads it:
// parameter names are matched without regard to case, so every name is
// lower-cased, and the values of names that differ only in case are
// collected under one name in the order they appear. Shared Key signing
// lower-cases names the same way (see canonicalQuery), so a request routed
// by these values is the request that was signed. Like url.ParseQuery it
// keeps every well-formed pair and reports the first malformed one.
func ParseQuery(raw string) (url.Values, error) {
	q, err := url.ParseQuery(raw)
	for k, vs := range q {
		lk := strings.ToLower(k)
		if lk == k {
			continue
		}
		delete(q, k)
		q[lk] = append(q[lk], vs...)
	}
	return q, err
}
