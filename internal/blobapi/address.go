package blobapi

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/geoblob/geoblob/internal/auth"
	"github.com/geoblob/geoblob/internal/location"
)

// Location says which copy of an account a request addresses.
type Location int

// Locations.
const (
	Primary Location = iota
	Secondary
)

func (l Location) String() string {
	if l == Secondary {
		return "secondary"
	}
	return "primary"
}

// SecondarySuffix is appended to an account name in a path-style URL to
// address the account's secondary, as in /devstoreaccount1-secondary/c/b.
const SecondarySuffix = location.SecondarySuffix

// Address is what a request URL names, path-style or host-style.
type Address struct {
	Account   string // without the -secondary suffix
	Location  Location
	Container string // "" for a service-level request
	Blob      string // "" for a service- or container-level request
	// pathSecondary records that the secondary was named by the
	// -secondary suffix rather than by the distinct secondary listener.
	pathSecondary bool
	// hostStyle records that the account came from the host
	// (ACCOUNT[-secondary].blob.localhost), not from the path.
	hostStyle bool
}

// AddressError is a request URL that names no valid resource. Code is the
// Azure error code to answer with (always with status 400).
type AddressError struct {
	Code    string
	Message string
}

func (e *AddressError) Error() string { return e.Code + ": " + e.Message }

// ParseAddress splits a request URL into the account, location, container
// and blob it names. A request whose Host is one of the emulator's
// host-style names (ACCOUNT.blob.localhost or
// ACCOUNT-secondary.blob.localhost, see location.LocalHostStyle) carries the
// account in the host and /CONTAINER/BLOB in the path; every other request
// is path-style, /ACCOUNT[-secondary]/CONTAINER/BLOB. When secondaryHost is
// true the request came to the distinct secondary listener, where the
// account already is the secondary whichever way it is named. Blob names
// keep their slashes; the path is used URL-decoded. A request with a single
// segment after the account and no restype addresses a blob in the $root
// container, as in Azure. A backslash in the path is read as a slash, as
// Azure reads it, so `dir\file` and `dir/file` name the same blob. Query
// parameter names are matched without regard to case. Failures are
// *AddressError.
func ParseAddress(r *http.Request, secondaryHost bool) (Address, error) {
	q, _ := auth.ParseQuery(r.URL.RawQuery)
	return parseAddress(r.Host, r.URL.Path, q, secondaryHost)
}

// parseAddress is ParseAddress for a Host header, a decoded path and a query
// parsed by auth.ParseQuery.
func parseAddress(host, p string, q url.Values, secondaryHost bool) (Address, error) {
	return parseAddressStyle(host, p, q, secondaryHost, location.LocalHostStyle(host))
}

// parseAddressStyle is parseAddress with the style given: when hostStyle
// is true the account is the first label of host, else the first segment
// of p.
func parseAddressStyle(host, p string, q url.Values, secondaryHost, hostStyle bool) (Address, error) {
	var a Address
	if !strings.HasPrefix(p, "/") {
		return a, &AddressError{"InvalidUri", "The requested URI does not represent any resource on the server."}
	}
	p = strings.ReplaceAll(p[1:], "\\", "/")
	var acct, rest string
	var hasRest bool
	if hostStyle {
		acct, _, _ = strings.Cut(location.Hostname(host), ".")
		rest, hasRest = p, true
		a.hostStyle = true
	} else {
		acct, rest, hasRest = strings.Cut(p, "/")
	}
	if secondaryHost {
		a.Location = Secondary
	}
	if base, ok := location.SplitAccount(acct); ok {
		acct = base
		a.Location = Secondary
		a.pathSecondary = true
	}
	if !validAccountName(acct) {
		return a, &AddressError{"InvalidUri", fmt.Sprintf("The requested URI does not represent any resource on the server: %q is not a valid account name.", acct)}
	}
	a.Account = acct
	if !hasRest || rest == "" {
		return a, nil
	}
	cont, blob, hasBlob := strings.Cut(rest, "/")
	if hasBlob && blob == "" {
		hasBlob = false // "/acct/container/" is the container
	}
	if !hasBlob {
		switch q.Get("restype") {
		case "container", "account", "service":
		default:
			// Azure: /account/name without restype is a blob in $root.
			blob, cont, hasBlob = cont, "$root", true
		}
	}
	if err := validContainerName(cont); err != nil {
		return a, err
	}
	a.Container = cont
	if hasBlob {
		if err := validBlobName(blob); err != nil {
			return a, err
		}
		a.Blob = blob
	}
	return a, nil
}

// validAccountName: 3-24 lowercase letters and digits.
func validAccountName(s string) bool {
	if len(s) < 3 || len(s) > 24 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

var errNameLength = &AddressError{"OutOfRangeInput", "The specified resource name length is not within the permissible limits."}
var errNameChars = &AddressError{"InvalidResourceName", "The specified resource name contains invalid characters."}

// validContainerName: 3-63 characters, lowercase letters, digits and
// single hyphens between them; $root, $web and $logs are allowed.
func validContainerName(s string) error {
	switch s {
	case "$root", "$web", "$logs":
		return nil
	}
	if len(s) < 3 || len(s) > 63 {
		for i := 0; i < len(s); i++ {
			if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return errNameChars
			}
		}
		return errNameLength
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '-':
			if i == 0 || i == len(s)-1 || s[i-1] == '-' {
				return errNameChars
			}
		default:
			return errNameChars
		}
	}
	return nil
}

// MaxBlobPathSegments is Azure's limit on the number of path segments
// (the parts between slashes) of a blob name.
const MaxBlobPathSegments = 254

var errNameSegments = &AddressError{"InvalidResourceName", fmt.Sprintf("The specified resource name has more than %d path segments.", MaxBlobPathSegments)}

// validBlobName: 1-1024 characters of valid UTF-8 without control
// characters, in at most MaxBlobPathSegments path segments.
func validBlobName(s string) error {
	n := utf8.RuneCountInString(s)
	if n < 1 || n > 1024 {
		return errNameLength
	}
	if strings.Count(s, "/") >= MaxBlobPathSegments {
		return errNameSegments
	}
	if !utf8.ValidString(s) {
		return errNameChars
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return errNameChars
		}
	}
	return nil
}

func asAddressError(err error) (*AddressError, bool) {
	var ae *AddressError
	ok := errors.As(err, &ae)
	return ae, ok
}

// CheckNames applies the checks a request path gets to a container and a
// blob name given directly (by the emulator's seed helpers), and returns
// the blob name as the emulator stores it, with `\` read as `/`, so that
// every seeded blob can be addressed over HTTP. Failures are *AddressError.
func CheckNames(container, blob string) (string, error) {
	if err := validContainerName(container); err != nil {
		return "", err
	}
	blob = strings.ReplaceAll(blob, `\`, "/")
	if err := validBlobName(blob); err != nil {
		return "", err
	}
	return blob, nil
}
