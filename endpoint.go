package geoblob

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/geoblob/geoblob/internal/location"
	"github.com/geoblob/geoblob/internal/redact"
)

// endpoint is the base of one location: scheme, host and, for path-style
// URLs, the leading account segment ("/account" or "/account-secondary").
type endpoint struct {
	scheme string
	host   string
	prefix string // "" for host-style, "/acct" for path-style
}

func parseEndpoint(raw string) (endpoint, *url.URL, error) {
	return parseEndpointStyle(raw, false)
}

// parseEndpointStyle is parseEndpoint that can force path style, for a
// host the name alone does not reveal.
func parseEndpointStyle(raw string, forcePath bool) (endpoint, *url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return endpoint{}, nil, fmt.Errorf("%w: bad URL %q: %v", ErrInvalidConfig, redact.Text(raw), redact.Text(err.Error()))
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return endpoint{}, nil, fmt.Errorf("%w: URL %q needs an http or https scheme and a host", ErrInvalidConfig, redact.URL(u))
	}
	e := endpoint{scheme: u.Scheme, host: u.Host}
	if forcePath || pathStyle(u.Hostname()) {
		seg := strings.TrimPrefix(u.EscapedPath(), "/")
		seg, _, _ = strings.Cut(seg, "/")
		if seg == "" {
			return endpoint{}, nil, fmt.Errorf("%w: path-style URL %q has no account segment", ErrInvalidConfig, redact.URL(u))
		}
		e.prefix = "/" + seg
	}
	return e, u, nil
}

// pathStyle reports whether URLs on host carry the account in the path, as
// with the emulator, Azurite and IP addresses. The rule is the one the
// emulator and fault.Transport use, so that all three agree on a host.
func pathStyle(host string) bool { return location.PathStyle(host) }

// accountName returns the storage account the URL addresses.
func accountName(u *url.URL) string {
	return location.Classify(u.Host, u.Path, false).Account
}

// deriveSecondary returns the secondary service URL for a primary one:
// ACCOUNT-secondary.blob.SUFFIX for real hosts, /ACCOUNT-secondary on the
// same host for path-style URLs.
func deriveSecondary(primary string) (string, error) {
	_, u, err := parseEndpoint(primary)
	if err != nil {
		return "", err
	}
	s := &url.URL{Scheme: u.Scheme, Host: u.Host}
	if pathStyle(u.Hostname()) {
		s.Path = "/" + accountName(u) + "-secondary"
		return s.String(), nil
	}
	name, rest, ok := strings.Cut(u.Hostname(), ".")
	if !ok || name == "" {
		return "", fmt.Errorf("%w: cannot derive a secondary for host %q; set Config.SecondaryURL", ErrInvalidConfig, u.Host)
	}
	host := name + "-secondary." + rest
	if p := u.Port(); p != "" {
		host = net.JoinHostPort(host, p)
	}
	s.Host = host
	return s.String(), nil
}

// String returns the service URL of the endpoint.
func (e endpoint) String() string { return e.scheme + "://" + e.host + e.prefix }

// matches reports whether u is addressed to this endpoint.
func (e *endpoint) matches(u *url.URL) bool {
	if u.Host != e.host || u.Scheme != e.scheme {
		return false
	}
	if e.prefix == "" {
		return true
	}
	p := u.Path
	return strings.HasPrefix(p, e.prefix) && (len(p) == len(e.prefix) || p[len(e.prefix)] == '/')
}

// relPath returns u's path below the endpoint's path-style prefix, so that
// the same blob has the same relPath at both locations. A URL of another
// endpoint (after a redirect, say) keeps its whole path.
func (e *endpoint) relPath(u *url.URL) string {
	if !strings.HasPrefix(u.Path, e.prefix) {
		return u.Path
	}
	return u.Path[len(e.prefix):]
}

// move readdresses req from endpoint from to endpoint to, setting both the
// URL host and the Host header and swapping the path-style prefix.
func move(req *http.Request, from, to *endpoint) {
	u := req.URL
	u.Scheme, u.Host = to.scheme, to.host
	req.Host = to.host
	if from.prefix != to.prefix {
		u.Path = to.prefix + strings.TrimPrefix(u.Path, from.prefix)
		if u.RawPath != "" {
			u.RawPath = to.prefix + strings.TrimPrefix(u.RawPath, from.prefix)
		}
	}
}
