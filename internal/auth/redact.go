package auth

import (
	"net/url"
	"strings"
)

// secretParams are the query parameters whose values RedactURL hides.
var secretParams = map[string]bool{
	"sig":       true,
	"signature": true,
}

// RedactURL returns u as a string for logs, with the values of secret query
// parameters (sig, signature) replaced by "REDACTED" and any password in the
// user information removed. The order and encoding of the other parameters
// are kept as they were.
func RedactURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := *u
	if c.User != nil {
		if _, has := c.User.Password(); has {
			c.User = url.UserPassword(c.User.Username(), "REDACTED")
		}
	}
	if c.RawQuery != "" {
		parts := strings.Split(c.RawQuery, "&")
		for i, p := range parts {
			k, _, hasValue := strings.Cut(p, "=")
			name, err := url.QueryUnescape(k)
			if err != nil {
				name = k
			}
			if hasValue && secretParams[strings.ToLower(name)] {
				parts[i] = k + "=REDACTED"
			}
		}
		c.RawQuery = strings.Join(parts, "&")
	}
	return c.String()
}
