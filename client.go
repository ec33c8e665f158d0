package geoblob

import (
	"fmt"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/geoblob/geoblob/internal/redact"
)

// NewClient returns an official *azblob.Client authenticated with a
// Microsoft Entra ID credential (for example from azidentity), whose reads
// are routed by a new Router, and that Router. serviceURL is the primary
// blob service URL. cfg nil means DefaultConfig(); o is passed to azblob
// with the router appended to its PerRetryPolicies.
func NewClient(serviceURL string, cred azcore.TokenCredential, cfg *Config, o *azblob.ClientOptions) (*azblob.Client, *Router, error) {
	return build(serviceURL, cfg, o, func(opts *azblob.ClientOptions) (*azblob.Client, error) {
		return azblob.NewClient(serviceURL, cred, opts)
	})
}

// NewClientWithSharedKeyCredential is NewClient for an account key.
func NewClientWithSharedKeyCredential(serviceURL string, cred *azblob.SharedKeyCredential, cfg *Config, o *azblob.ClientOptions) (*azblob.Client, *Router, error) {
	return build(serviceURL, cfg, o, func(opts *azblob.ClientOptions) (*azblob.Client, error) {
		return azblob.NewClientWithSharedKeyCredential(serviceURL, cred, opts)
	})
}

// NewClientWithSharedKey is NewClientWithSharedKeyCredential for an account
// name and base64 key. Unlike a credential, the key lets the router sign
// requests again when it moves them to a path-style secondary
// (/ACCOUNT-secondary), as strict servers require.
func NewClientWithSharedKey(serviceURL, accountName, accountKey string, cfg *Config, o *azblob.ClientOptions) (*azblob.Client, *Router, error) {
	cred, err := azblob.NewSharedKeyCredential(accountName, accountKey)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: account key is not valid base64", ErrInvalidConfig)
	}
	c, r, err := NewClientWithSharedKeyCredential(serviceURL, cred, cfg, o)
	if err != nil {
		return nil, nil, err
	}
	if err := r.SetAccountKey(accountName, accountKey); err != nil {
		return nil, nil, err
	}
	return c, r, nil
}

// NewClientWithNoCredential is NewClient for a URL that carries a SAS
// token (or for anonymous access). The SAS is sent unchanged to the
// secondary, which accepts the primary's signatures.
func NewClientWithNoCredential(serviceURL string, cfg *Config, o *azblob.ClientOptions) (*azblob.Client, *Router, error) {
	return build(serviceURL, cfg, o, func(opts *azblob.ClientOptions) (*azblob.Client, error) {
		return azblob.NewClientWithNoCredential(serviceURL, opts)
	})
}

// NewClientFromConnectionString is NewClient for a connection string. It
// honours BlobSecondaryEndpoint (unless cfg.SecondaryURL is set) and
// UseDevelopmentStorage=true.
func NewClientFromConnectionString(connectionString string, cfg *Config, o *azblob.ClientOptions) (*azblob.Client, *Router, error) {
	cs, err := ParseConnectionString(connectionString)
	if err != nil {
		return nil, nil, err
	}
	if cfg == nil {
		cfg = DefaultConfig()
	}
	if cfg.SecondaryURL == "" && cs.SecondaryURL != "" {
		c := *cfg
		c.SecondaryURL = cs.SecondaryURL
		cfg = &c
	}
	if cs.AccountKey == "" {
		return NewClientWithNoCredential(cs.PrimaryURL+"?"+cs.SAS, cfg, o)
	}
	return NewClientWithSharedKey(cs.PrimaryURL, cs.AccountName, cs.AccountKey, cfg, o)
}

func build(serviceURL string, cfg *Config, o *azblob.ClientOptions, mk func(*azblob.ClientOptions) (*azblob.Client, error)) (*azblob.Client, *Router, error) {
	r, err := NewRouter(serviceURL, cfg)
	if err != nil {
		return nil, nil, err
	}
	c, err := mk(r.ClientOptions(o))
	if err != nil {
		return nil, nil, fmt.Errorf("geoblob: %s", redact.Text(err.Error()))
	}
	r.SetStatsClient(c.ServiceClient())
	return c, r, nil
}

// ClientOptions returns a copy of o (nil allowed) with the router appended
// to PerRetryPolicies, for building azblob clients by hand.
func (r *Router) ClientOptions(o *azblob.ClientOptions) *azblob.ClientOptions {
	var opts azblob.ClientOptions
	if o != nil {
		opts = *o
	}
	opts.PerRetryPolicies = append(append([]policy.Policy(nil), opts.PerRetryPolicies...), r)
	if opts.Transport != nil {
		r.hedgeTransport.Store(&opts.Transport)
	}
	return &opts
}

// defaultTransport sends hedged requests of clients built without a
// custom transport.
var defaultTransport policy.Transporter = &http.Client{Transport: http.DefaultTransport}

func (r *Router) transport() policy.Transporter {
	if t := r.hedgeTransport.Load(); t != nil {
		return *t
	}
	return defaultTransport
}
