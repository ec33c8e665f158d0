package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// User delegation keys and SAS.
//
// Azure hands a user delegation key to a caller authenticated with a
// Microsoft Entra ID token (Get User Delegation Key) and verifies the SAS
// signed with it. The emulator keeps no key store: a key's value is an
// HMAC-SHA256, under the account key, of a fixed label and the key's
// signed fields (DeriveUserDelegationKey), so a SAS carries everything the
// emulator needs to recompute the key and check the signature, and it
// verifies across restarts for as long as the account key is the same.
// Changing the account key therefore revokes every user delegation key (on
// Azure keys are revoked by revoking the user's delegation keys, which the
// emulator does not model).

// UserDelegationKeyTimeFormat is how key times appear in the Get User
// Delegation Key answer and in skt/ske.
const UserDelegationKeyTimeFormat = "2006-01-02T15:04:05Z"

// userDelegationLabel separates this use of the account key from every
// other (Shared Key, SAS signatures).
const userDelegationLabel = "geoblob user delegation key v1"

// MaxUserDelegationKeyLifetime is how far in the future (from now) a
// user delegation key may expire: Azure's limit of seven days.
const MaxUserDelegationKeyLifetime = 7 * 24 * time.Hour

// UserDelegationKey is one key as Get User Delegation Key returns it.
type UserDelegationKey struct {
	SignedOID, SignedTID string
	Start, Expiry        time.Time
	Service, Version     string
	Value                []byte
}

// DeriveUserDelegationKey returns the key value for the signed fields:
// HMAC-SHA256 under accountKey of the label, the account's name and the
// fields, each on its own line, the times in UserDelegationKeyTimeFormat.
// The name binds the key to its account, so two accounts configured with
// the same account key never accept each other's user delegation SAS
// (which matters because the verifier also accepts a SAS whose
// canonicalized resource names the account as azblob does for a
// path-style URL, after the host's first label).
func DeriveUserDelegationKey(accountKey []byte, account, oid, tid string, start, expiry time.Time, service, version string) []byte {
	mac := hmac.New(sha256.New, accountKey)
	for _, f := range []string{userDelegationLabel, account, oid, tid, start.UTC().Format(UserDelegationKeyTimeFormat),
		expiry.UTC().Format(UserDelegationKeyTimeFormat), service, version} {
		mac.Write([]byte(f))
		mac.Write([]byte{'\n'})
	}
	return mac.Sum(nil)
}

// BearerIdentity returns the object id (oid) and tenant id (tid) claims of
// the bearer token of r, which Authorize has accepted as Bearer. ok is
// false when the token names no object.
func BearerIdentity(r *http.Request) (oid, tid string, ok bool) {
	scheme, token, _ := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", "", false
	}
	parts := strings.Split(strings.TrimSpace(token), ".")
	if len(parts) != 3 || len(token) > MaxBearerTokenBytes {
		return "", "", false
	}
	var c struct {
		Oid string `json:"oid"`
		Tid string `json:"tid"`
	}
	if !decodePart(parts[1], &c) || c.Oid == "" {
		return "", "", false
	}
	if c.Tid == "" {
		c.Tid = tenantOfIssuer(parts[1])
	}
	return c.Oid, c.Tid, true
}

// tenantOfIssuer returns the tenant named in the iss claim of an encoded
// claims part, or "".
func tenantOfIssuer(part string) string {
	var c claims
	if !decodePart(part, &c) {
		return ""
	}
	c.Tid = ""
	return tenantOf(&c)
}

// userDelegationUnsupported are user delegation SAS fields the emulator
// does not model: a delegated user (the SAS is valid only for requests
// that also carry that user's token) and signed request headers and query
// parameters. A SAS carrying one is refused rather than verified without
// the restriction.
var userDelegationUnsupported = []struct{ param, feature string }{
	{"sduoid", "a delegated user object id (sduoid)"},
	{"skdutid", "a delegated user tenant id (skdutid)"},
	{"srh", "signed request headers (srh)"},
	{"srq", "signed request query parameters (srq)"},
}

// verifyUserDelegationSAS checks a service SAS signed with a user
// delegation key (skoid...skv). It is reported as ServiceSAS: it grants
// what a service SAS with the same fields grants. saoid, suoid and scid
// are signed and otherwise change nothing (they matter to POSIX ACL checks
// of hierarchical namespace accounts and to audit logs, neither modelled).
func verifyUserDelegationSAS(req *Request, q url.Values, want []byte) (Method, error) {
	for _, u := range userDelegationUnsupported {
		if q.Get(u.param) != "" {
			return Anonymous, fail(CodeAuthenticationFailed, "User delegation SAS with "+u.feature+" are not supported by the emulator.")
		}
	}
	for _, k := range userDelegationParams {
		if q.Get(k) == "" {
			return Anonymous, fail(CodeAuthenticationFailed, "The user delegation SAS is missing "+k+".")
		}
	}
	sr, sv := q.Get("sr"), q.Get("sv")
	if err := checkSignedResource(sr, "The signed resource (sr) of a user delegation SAS"); err != nil {
		return Anonymous, err
	}
	if sv < "2018-11-09" {
		return Anonymous, fail(CodeAuthenticationFailed, "A user delegation SAS needs a signed version (sv) of 2018-11-09 or later.")
	}
	keyStart, err := parseSASTime(q.Get("skt"))
	if err != nil {
		return Anonymous, fail(CodeAuthenticationFailed, "The signed key start (skt) is not a valid ISO 8601 UTC time.")
	}
	keyExpiry, err := parseSASTime(q.Get("ske"))
	if err != nil {
		return Anonymous, fail(CodeAuthenticationFailed, "The signed key expiry (ske) is not a valid ISO 8601 UTC time.")
	}
	if req.Container == "" {
		return Anonymous, fail(CodeResourceTypeMismatch, "A user delegation SAS cannot authorize a service-level operation.")
	}
	if sr == "b" && req.Blob == "" {
		return Anonymous, fail(CodeResourceTypeMismatch, "A blob SAS (sr=b) cannot authorize a container operation.")
	}
	key := DeriveUserDelegationKey(req.Key, req.Account, q.Get("skoid"), q.Get("sktid"), keyStart, keyExpiry, q.Get("sks"), q.Get("skv"))
	names := canonicalNames(req, sr, sv)
	if alias := sdkAccountName(req.HTTP.Host); alias != "" && alias != req.Account {
		// azblob names the credential's account after the first label of
		// the service URL's host, which for a path-style URL
		// (https://127.0.0.1:10000/ACCOUNT) is not the account. The key
		// is the account's all the same, so the signature still proves
		// it; accept the resource named that way too.
		other := *req
		other.Account = alias
		names = append(names, canonicalNames(&other, sr, sv)...)
	}
	var candidates []string
	for _, name := range names {
		candidates = appendUnique(candidates, userDelegationStringToSign(sv, name, q))
		candidates = appendUnique(candidates, userDelegationStringToSign(newestUserDelegationLayout, name, q))
	}
	if !matchesAny(key, want, candidates) {
		return Anonymous, signatureMismatch(candidates[0])
	}
	// The key's own window, on the emulator's clock.
	if req.Now.Before(keyStart) || req.Now.After(keyExpiry) {
		return Anonymous, fail(CodeAuthenticationFailed, "The user delegation key is not valid at this time: Start ["+keyStart.UTC().Format(UserDelegationKeyTimeFormat)+
			"] - Expiry ["+keyExpiry.UTC().Format(UserDelegationKeyTimeFormat)+"] - Current ["+req.Now.UTC().Format(UserDelegationKeyTimeFormat)+"].")
	}
	if !strings.Contains(q.Get("sks"), "b") {
		return Anonymous, fail(CodeServiceMismatch, "The signed key service (sks) does not include the Blob service (b).")
	}
	if q.Has("si") {
		return Anonymous, fail(CodeAuthenticationFailed, "A user delegation SAS cannot use a stored access policy (si).")
	}
	perms := q.Get("sp")
	if perms == "" {
		return Anonymous, fail(CodeAuthenticationFailed, "The signed permissions (sp) are missing.")
	}
	if err := checkValidity(req, q); err != nil {
		return Anonymous, err
	}
	if err := checkPermissions(perms, req.Permissions); err != nil {
		return Anonymous, err
	}
	return ServiceSAS, nil
}

// newestUserDelegationLayout is the newest user delegation string-to-sign
// layout this package knows, the one azblob v1.8 signs with whatever sv it
// writes: it has the delegated user fields and the signed request headers
// and query parameters (empty here, since the emulator refuses them).
const newestUserDelegationLayout = "9999-12-31"

// userDelegationStringToSign lays out the string-to-sign of a user
// delegation SAS for a signed version layout, with canonical as the
// canonicalized resource. The fields and their order follow Azure's
// "Create a user delegation SAS" for each version.
func userDelegationStringToSign(layout, canonical string, q url.Values) string {
	f := []string{q.Get("sp"), q.Get("st"), q.Get("se"), canonical,
		q.Get("skoid"), q.Get("sktid"), q.Get("skt"), q.Get("ske"), q.Get("sks"), q.Get("skv")}
	if layout >= "2020-02-10" {
		f = append(f, q.Get("saoid"), q.Get("suoid"), q.Get("scid"))
	}
	if layout >= "2025-07-05" {
		f = append(f, q.Get("skdutid"), q.Get("sduoid"))
	}
	f = append(f, q.Get("sip"), q.Get("spr"), q.Get("sv"), q.Get("sr"), "") // signed snapshot time: empty for sr=b and sr=c
	if layout >= "2020-12-06" {
		f = append(f, q.Get("ses"))
	}
	if layout == newestUserDelegationLayout {
		f = append(f, q.Get("srh"), q.Get("srq"))
	}
	f = append(f, q.Get("rscc"), q.Get("rscd"), q.Get("rsce"), q.Get("rscl"), q.Get("rsct"))
	return strings.Join(f, "\n")
}

// sdkAccountName is the account name azblob's GetUserDelegationCredential
// gives a credential for a service URL on host: the host's first label.
func sdkAccountName(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	first, _, _ := strings.Cut(host, ".")
	return first
}
