package auth

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"math"
	"net"
	"net/url"
	"strings"
	"time"
)

// Bearer-token (Microsoft Entra ID) verification, "basic" as Azurite calls
// it: the token's shape, issuer, audience and lifetime are checked, its
// signature is not (the emulator holds no Entra signing keys and fetches
// nothing). Every token that passes may do everything: Azure RBAC is not
// modelled.

// StorageResource is the resource ID of Azure Storage: the audience of a
// token for any account, and the resource_id of Azure's bearer challenge.
const StorageResource = "https://storage.azure.com"

// BearerClockSkew is how far outside its nbf-exp window a token is still
// accepted, as Microsoft's token validators allow by default.
const BearerClockSkew = 5 * time.Minute

// MaxBearerTokenBytes bounds the token the verifier decodes.
const MaxBearerTokenBytes = 16 << 10

// Versions that change how Azure refuses a bearer token: before the first
// the scheme is unknown; from the second a failure is a 401 with a
// challenge (WWW-Authenticate) instead of a 403.
const (
	bearerMinVersion       = "2017-11-09"
	bearerChallengeVersion = "2019-12-12"
)

// Details of refused tokens, the AuthenticationErrorDetail Azure sends.
const (
	detailBearerVersion   = "Authentication scheme Bearer is not supported in this version."
	detailBearerHTTP      = "Bearer tokens are accepted only over HTTPS."
	detailBearerMalformed = "The bearer token is not a well-formed JWT (three base64url parts, JSON header and claims)."
	detailExpired         = "Lifetime validation failed. The token is expired."
	detailNotYetValid     = "Lifetime validation failed. The token is not yet valid."
	detailNoLifetime      = "Lifetime validation failed. The token has no valid exp claim."
	detailIssuer          = "Issuer validation failed. Issuer did not match."
	detailAudience        = "Audience validation failed. Audience did not match."
)

// entraIssuerHosts are the hosts of Microsoft Entra ID token issuers in the
// public and sovereign clouds, v1 (sts) and v2 (login) endpoints.
var entraIssuerHosts = map[string]bool{
	"sts.windows.net":                  true,
	"login.microsoftonline.com":        true,
	"login.windows.net":                true,
	"sts.chinacloudapi.cn":             true,
	"login.chinacloudapi.cn":           true,
	"login.partner.microsoftonline.cn": true,
	"login.microsoftonline.us":         true,
	"sts.microsoftonline.de":           true,
	"login.microsoftonline.de":         true,
}

// blobEndpointSuffixes are the blob endpoint domains whose account
// endpoints are valid audiences, the emulator's host-style one included.
var blobEndpointSuffixes = []string{
	".blob.core.windows.net",
	".blob.core.chinacloudapi.cn",
	".blob.core.usgovcloudapi.net",
	".blob.core.cloudapi.de",
	".blob.localhost",
}

// claims are the token claims the verifier reads.
type claims struct {
	Aud json.RawMessage `json:"aud"`
	Iss string          `json:"iss"`
	Tid string          `json:"tid"`
	Exp *float64        `json:"exp"`
	Nbf *float64        `json:"nbf"`
}

// verifyBearer checks a bearer token (the Authorization header's value
// after "Bearer ").
func verifyBearer(req *Request, token string) (Method, error) {
	r := req.HTTP
	version := r.Header.Get("x-ms-version")
	if version < bearerMinVersion {
		return Anonymous, fail(CodeAuthenticationFailed, detailBearerVersion)
	}
	if r.TLS == nil {
		return Anonymous, fail(CodeAuthenticationFailed, detailBearerHTTP)
	}
	refuse := func(detail string, c *claims) error {
		if version < bearerChallengeVersion {
			return fail(CodeAuthenticationFailed, detail)
		}
		e := fail(CodeInvalidAuthenticationInfo, detail)
		e.Challenge = BearerChallenge(tenantOf(c))
		return e
	}
	c, ok := parseJWT(token)
	if !ok {
		return Anonymous, refuse(detailBearerMalformed, nil)
	}
	if req.MaxClockSkew >= 0 {
		if c.Exp == nil || math.IsNaN(*c.Exp) || math.IsInf(*c.Exp, 0) {
			return Anonymous, refuse(detailNoLifetime, c)
		}
		now := float64(req.Now.Unix())
		skew := BearerClockSkew.Seconds()
		if c.Nbf != nil && now+skew < *c.Nbf {
			return Anonymous, refuse(detailNotYetValid, c)
		}
		if now-skew >= *c.Exp {
			return Anonymous, refuse(detailExpired, c)
		}
	}
	if !validIssuer(c.Iss) {
		return Anonymous, refuse(detailIssuer, c)
	}
	if !validAudience(c.Aud, req.Account) {
		return Anonymous, refuse(detailAudience, c)
	}
	return Bearer, nil
}

// BearerChallenge is the WWW-Authenticate value Azure sends with a 401 for
// a refused bearer token: where to get a token for tenant ("common" when
// empty) and for which resource.
func BearerChallenge(tenant string) string {
	if tenant == "" {
		tenant = "common"
	}
	return "Bearer authorization_uri=https://login.microsoftonline.com/" + tenant + "/oauth2/authorize resource_id=" + StorageResource
}

// parseJWT decodes a compact JWS: three base64url parts, the first two JSON
// objects. The signature part is not verified.
func parseJWT(token string) (*claims, bool) {
	if len(token) > MaxBearerTokenBytes {
		return nil, false
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, false
	}
	var header map[string]any
	if !decodePart(parts[0], &header) {
		return nil, false
	}
	if alg, ok := header["alg"].(string); !ok || alg == "" {
		return nil, false
	}
	var c claims
	if !decodePart(parts[1], &c) {
		return nil, false
	}
	if _, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[2], "=")); err != nil {
		return nil, false
	}
	return &c, true
}

// decodePart decodes one base64url part (padding tolerated) holding a JSON
// object into v.
func decodePart(s string, v any) bool {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil || !bytes.HasPrefix(bytes.TrimSpace(b), []byte("{")) {
		return false
	}
	return json.Unmarshal(b, v) == nil
}

// validIssuer accepts https://ISSUER_HOST/TENANT/ and
// https://ISSUER_HOST/TENANT/v2.0 for the Entra ID issuer hosts, nothing
// else: no userinfo (https://x@sts.windows.net/ is not Entra's issuer
// string), no port, query or fragment.
func validIssuer(iss string) bool {
	u, err := url.Parse(iss)
	if err != nil || u.Scheme != "https" || u.User != nil || !entraIssuerHosts[u.Host] || u.RawQuery != "" || u.Fragment != "" {
		return false
	}
	tenant, rest, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
	if tenant == "" {
		return false
	}
	return rest == "" || rest == "v2.0" || rest == "v2.0/"
}

// validAudience accepts the Azure Storage resource and the account's own
// blob endpoints (https://ACCOUNT.blob.core.windows.net, sovereign clouds,
// and the emulator's https://ACCOUNT.blob.localhost[:PORT]), each with or
// without a trailing slash. aud may be a string or an array of strings.
func validAudience(raw json.RawMessage, account string) bool {
	var list []string
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		list = []string{one}
	} else if err := json.Unmarshal(raw, &list); err != nil {
		return false
	}
	for _, aud := range list {
		if audienceMatches(aud, account) {
			return true
		}
	}
	return false
}

func audienceMatches(aud, account string) bool {
	aud = strings.TrimSuffix(aud, "/")
	if aud == StorageResource {
		return true
	}
	u, err := url.Parse(aud)
	if err != nil || u.Scheme != "https" || u.Path != "" || u.RawQuery != "" || u.User != nil {
		return false
	}
	host := strings.ToLower(u.Host)
	for _, suffix := range blobEndpointSuffixes {
		if suffix == ".blob.localhost" {
			if h, _, err := net.SplitHostPort(host); err == nil {
				host = h
			}
		}
		if host == account+suffix {
			return true
		}
	}
	return false
}

// tenantOf returns the token's tenant, from tid or else from its issuer.
func tenantOf(c *claims) string {
	if c == nil {
		return ""
	}
	if c.Tid != "" && !strings.ContainsAny(c.Tid, " \"/,") {
		return c.Tid
	}
	if validIssuer(c.Iss) {
		u, _ := url.Parse(c.Iss)
		t, _, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
		if !strings.ContainsAny(t, " \",") {
			return t
		}
	}
	return ""
}
