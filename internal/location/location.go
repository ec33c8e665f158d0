// Package location classifies Blob service request URLs, in one place for
// the client-side router, fault.Transport and the emulator: whether a host
// carries the account in the path (path-style, as with the emulator,
// Azurite and IP addresses) or in its first DNS label (host-style, as with
// ACCOUNT.blob.core.windows.net and the emulator's
// ACCOUNT.blob.localhost), which account a URL addresses, and whether it is
// that account's secondary (the "-secondary" suffix on the account, in the
// path or in the host).
package location

import (
	"net"
	"strings"
)

// SecondarySuffix marks an account's secondary: ACCOUNT-secondary in a
// path-style URL's first segment or in a host-style URL's first label.
const SecondarySuffix = "-secondary"

// Hostname returns host ("name", "name:port", "[v6]:port" or "v6") without
// its port and brackets, in lower case and without a trailing dot.
func Hostname(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	return strings.TrimSuffix(strings.ToLower(host), ".")
}

// LocalBlobSuffix ends the emulator's host-style names:
// ACCOUNT.blob.localhost and ACCOUNT-secondary.blob.localhost, the
// loopback counterparts of ACCOUNT.blob.core.windows.net.
const LocalBlobSuffix = ".blob.localhost"

// LocalHostStyle reports whether host (with or without a port) is one of
// the emulator's host-style names: a single label followed by
// LocalBlobSuffix, as in devstoreaccount1.blob.localhost:10000.
func LocalHostStyle(host string) bool {
	label, ok := strings.CutSuffix(Hostname(host), LocalBlobSuffix)
	return ok && label != "" && !strings.Contains(label, ".")
}

// PathStyle reports whether URLs on host (with or without a port; see
// Hostname) carry the account in the path: localhost and other names under
// .localhost (except the host-style ACCOUNT.blob.localhost, see
// LocalHostStyle), IP addresses, and single-label names such as a
// docker-compose service ("azurite"). Every Azure Storage host name has
// several labels.
func PathStyle(host string) bool {
	hostname := Hostname(host)
	if strings.HasSuffix(hostname, ".localhost") {
		return !LocalHostStyle(hostname)
	}
	return hostname == "localhost" || net.ParseIP(hostname) != nil ||
		(hostname != "" && !strings.Contains(hostname, "."))
}

// SplitAccount splits an account segment or label into the account name and
// whether it names the secondary.
func SplitAccount(s string) (account string, secondary bool) {
	return strings.CutSuffix(s, SecondarySuffix)
}

// dnsLabel reports whether s holds only what a host-name label may: lower
// case letters (Hostname lowered them), digits and hyphens.
func dnsLabel(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// Address is what a request URL names. Container and Blob are taken from
// the path as given (decoded or not, as the caller passes it), with a
// backslash read as a slash as Azure reads it; either may be empty.
type Address struct {
	Account   string // without SecondarySuffix
	Secondary bool   // the account's secondary
	PathStyle bool   // the account came from the path, not the host
	Container string
	Blob      string
}

// Classify describes a request for host (a Host header or URL host, with or
// without a port) and path. When pathStyle is true the URL is read
// path-style whatever the host, as on a listener that serves only
// path-style requests; otherwise PathStyle(host) decides. A host-style
// host whose first label is not a DNS label names no account.
func Classify(host, path string, pathStyle bool) Address {
	hostname := Hostname(host)
	// PathStyle normalises host itself: Hostname is not idempotent on
	// malformed hosts (":]" gives ":", which gives "").
	a := Address{PathStyle: pathStyle || PathStyle(host)}
	rest := strings.TrimPrefix(strings.ReplaceAll(path, "\\", "/"), "/")
	var acct string
	if a.PathStyle {
		acct, rest, _ = strings.Cut(rest, "/")
	} else {
		acct, _, _ = strings.Cut(hostname, ".")
		if !dnsLabel(acct) {
			acct = "" // not a host name: no account
		}
	}
	a.Account, a.Secondary = SplitAccount(acct)
	a.Container, a.Blob, _ = strings.Cut(rest, "/")
	return a
}

// ClassifyServed describes a request as the emulator reads it: host-style
// when host is one of its host-style names (LocalHostStyle), path-style
// whatever the host otherwise, since the emulator serves path-style on any
// name it is reached by.
func ClassifyServed(host, path string) Address {
	return Classify(host, path, !LocalHostStyle(host))
}
