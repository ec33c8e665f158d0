package emulator

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// DevTenantID is the tenant DevTokenCredential names when given none.
const DevTenantID = "00000000-0000-4000-8000-000000000de7"

// DevTokenCredential is an azcore.TokenCredential that issues well-formed
// but unsigned Microsoft Entra ID access tokens, for the emulator with
// Options.OAuth (which, like Azurite's basic OAuth mode, checks a token's
// shape, issuer, audience and lifetime but not its signature). Real Azure
// refuses these tokens. The zero value is ready to use and safe for
// concurrent use once built.
type DevTokenCredential struct {
	// TenantID is the token's tenant (tid and the issuer's path);
	// DevTenantID when empty.
	TenantID string
	// Issuer overrides the issuer; https://sts.windows.net/TENANT/ when
	// empty.
	Issuer string
	// Audience overrides the audience; when empty it is the requested
	// scope without "/.default" (https://storage.azure.com for azblob).
	Audience string
	// Lifetime of each token; one hour when zero. A negative lifetime
	// issues tokens that have already expired.
	Lifetime time.Duration
	// Now is the clock the token's iat, nbf and exp follow; time.Now when
	// nil.
	Now func() time.Time
}

// GetToken issues a token for the first scope of opts.
func (c *DevTokenCredential) GetToken(_ context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	t := now()
	life := c.Lifetime
	if life == 0 {
		life = time.Hour
	}
	tenant := c.TenantID
	if tenant == "" {
		tenant = DevTenantID
	}
	iss := c.Issuer
	if iss == "" {
		iss = "https://sts.windows.net/" + tenant + "/"
	}
	aud := c.Audience
	if aud == "" {
		if len(opts.Scopes) == 0 {
			return azcore.AccessToken{}, fmt.Errorf("emulator: DevTokenCredential: no scope requested")
		}
		aud = strings.TrimSuffix(opts.Scopes[0], "/.default")
	}
	exp := t.Add(life)
	tok, err := UnsignedJWT(map[string]any{
		"aud": aud, "iss": iss, "tid": tenant,
		"iat": t.Unix(), "nbf": t.Unix(), "exp": exp.Unix(),
		"oid": "00000000-0000-4000-8000-000000000001", "sub": "geoblob-dev", "ver": "1.0",
	})
	if err != nil {
		return azcore.AccessToken{}, err
	}
	return azcore.AccessToken{Token: tok, ExpiresOn: exp}, nil
}

// UnsignedJWT returns a compact JWT holding claims, with the header
// {"alg":"none","typ":"JWT"} and an empty signature, for tests that need a
// token of a given shape.
func UnsignedJWT(claims map[string]any) (string, error) {
	body, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("emulator: token claims: %w", err)
	}
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc.EncodeToString(body) + ".", nil
}
