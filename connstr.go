package geoblob

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/geoblob/geoblob/internal/redact"
)

// The development storage account of Azurite and the geoblob emulator.
const (
	DevAccountName = "devstoreaccount1"
	DevAccountKey  = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
	devBlobURL     = "http://127.0.0.1:10000/" + DevAccountName
)

// ConnectionString is a parsed Azure Storage connection string. Unlike the
// SDK's parser it keeps BlobSecondaryEndpoint.
type ConnectionString struct {
	AccountName string
	AccountKey  string // base64; empty with a SAS
	SAS         string // SharedAccessSignature, without "?"
	// PrimaryURL is the blob service URL.
	PrimaryURL string
	// SecondaryURL is BlobSecondaryEndpoint, or empty when not given.
	SecondaryURL string
}

// String returns the connection string with the key and signature
// redacted, safe to log.
func (c ConnectionString) String() string {
	var parts []string
	if c.AccountName != "" {
		parts = append(parts, "AccountName="+c.AccountName)
	}
	if c.AccountKey != "" {
		parts = append(parts, "AccountKey=REDACTED")
	}
	if c.SAS != "" {
		parts = append(parts, "SharedAccessSignature="+redact.Query(c.SAS))
	}
	parts = append(parts, "BlobEndpoint="+c.PrimaryURL)
	if c.SecondaryURL != "" {
		parts = append(parts, "BlobSecondaryEndpoint="+c.SecondaryURL)
	}
	return strings.Join(parts, ";")
}

// ParseConnectionString parses an Azure Storage connection string,
// including UseDevelopmentStorage=true (the development account on
// http://127.0.0.1:10000) and BlobSecondaryEndpoint. Errors never quote
// the key or the signature.
func ParseConnectionString(s string) (ConnectionString, error) {
	kv := map[string]string{}
	for _, part := range strings.Split(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return ConnectionString{}, fmt.Errorf("%w: connection string segment without '=' (%d characters)", ErrInvalidConfig, len(part))
		}
		kv[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
	}
	var c ConnectionString
	if strings.EqualFold(kv["usedevelopmentstorage"], "true") {
		c = ConnectionString{AccountName: DevAccountName, AccountKey: DevAccountKey, PrimaryURL: devBlobURL}
		if proxy := kv["developmentstorageproxyuri"]; proxy != "" {
			u, err := url.Parse(proxy)
			if err != nil || u.Host == "" {
				return ConnectionString{}, fmt.Errorf("%w: bad DevelopmentStorageProxyUri", ErrInvalidConfig)
			}
			c.PrimaryURL = u.Scheme + "://" + u.Hostname() + ":10000/" + DevAccountName
		}
		return c, nil
	}
	c.AccountName = kv["accountname"]
	c.AccountKey = kv["accountkey"]
	c.SAS = strings.TrimPrefix(kv["sharedaccesssignature"], "?")
	c.PrimaryURL = strings.TrimSuffix(kv["blobendpoint"], "/")
	c.SecondaryURL = strings.TrimSuffix(kv["blobsecondaryendpoint"], "/")
	if c.PrimaryURL == "" {
		if c.AccountName == "" {
			return ConnectionString{}, fmt.Errorf("%w: connection string needs AccountName or BlobEndpoint", ErrInvalidConfig)
		}
		proto := kv["defaultendpointsprotocol"]
		if proto == "" {
			proto = "https"
		}
		suffix := kv["endpointsuffix"]
		if suffix == "" {
			suffix = "core.windows.net"
		}
		c.PrimaryURL = proto + "://" + c.AccountName + ".blob." + suffix
	}
	u, err := url.Parse(c.PrimaryURL)
	if err != nil || u.Host == "" {
		return ConnectionString{}, fmt.Errorf("%w: bad BlobEndpoint", ErrInvalidConfig)
	}
	if c.AccountName == "" {
		c.AccountName = accountName(u)
	}
	if c.AccountKey == "" && c.SAS == "" {
		return ConnectionString{}, fmt.Errorf("%w: connection string needs AccountKey or SharedAccessSignature", ErrInvalidConfig)
	}
	return c, nil
}
