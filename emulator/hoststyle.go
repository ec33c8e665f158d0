package emulator

import (
	"fmt"
	"net"

	"github.com/geoblob/geoblob/internal/location"
)

// HostStyleURL is the host-style Blob service URL of an account (the first
// configured one when account is empty), as real accounts are addressed
// (ACCOUNT.blob.core.windows.net):
//
//	Primary                       http(s)://ACCOUNT.blob.localhost:PORT
//	Secondary, SecondaryPathStyle http(s)://ACCOUNT-secondary.blob.localhost:PORT
//
// Both names are served on the primary listener, so the secondary URL is
// exactly the one a client derives from the primary's; the distinct
// secondary listener answers either name too, as the secondary. Names under
// .localhost reach loopback only where the resolver maps them; dial with
// DialLocalhost (HTTPClient does) where it does not. It is empty for an
// emulator built with New.
func (e *Emulator) HostStyleURL(loc Location, account string) string {
	if account == "" {
		account = e.AccountName()
	}
	if e.primaryAddr == "" {
		return ""
	}
	_, port, err := net.SplitHostPort(e.primaryAddr)
	if err != nil {
		return ""
	}
	name := account
	if loc != Primary {
		name += location.SecondarySuffix
	}
	return e.scheme() + "://" + net.JoinHostPort(name+location.LocalBlobSuffix, port)
}

// HostStyleConnectionString is ConnectionString with host-style
// BlobEndpoint and BlobSecondaryEndpoint (see HostStyleURL).
func (e *Emulator) HostStyleConnectionString() string {
	if e.primaryAddr == "" {
		return ""
	}
	name := e.AccountName()
	return fmt.Sprintf("DefaultEndpointsProtocol=%s;AccountName=%s;AccountKey=%s;BlobEndpoint=%s;BlobSecondaryEndpoint=%s;",
		e.scheme(), name, e.AccountKey(), e.HostStyleURL(Primary, name), e.HostStyleURL(Secondary, name))
}
