// Package auth verifies the credentials of requests to the emulated Blob
// service: Shared Key (and Shared Key Lite) signatures in the Authorization
// header, account or service shared access signatures (SAS) in the query
// string, and, when Request.Bearer is set, Microsoft Entra ID bearer tokens. It knows the HTTP request but nothing of the store: the REST layer
// tells it who the request is for (account, key, container, blob), what the
// operation needs (SAS permissions and account-SAS resource type), the
// current time, and how to find a container's stored access policies.
//
// # Model
//
// [Authorize] first decides which scheme the request uses. A request with an
// Authorization header is verified as Shared Key; otherwise a request with a
// sig query parameter is verified as a SAS; a request with neither is
// reported as [Anonymous] with no error, and the caller decides from the
// container's public access level. Every failure is an [*Error] whose Code is
// the Azure error code (AuthenticationFailed, AuthorizationPermissionMismatch,
// and so on) and whose Message is safe to log and to send: it never holds the
// key or a signature.
//
// # Shared Key
//
// The string-to-sign is rebuilt from the request as the Azure "Authorize with
// Shared Key" rules describe. Clients differ in a few details that Azure
// itself tolerates or that do not matter against real endpoints, so the
// verifier tries each plausible form and accepts the request when any of them
// yields the signature the client sent (compared in constant time):
//
//   - the canonicalized resource is "/" + account + the URL path exactly as
//     the client sent it (and, as fallbacks, Go's re-escaped and the decoded
//     path). With path-style addressing the path already starts with the
//     account, so the official SDKs sign "/devstoreaccount1/devstoreaccount1/c/b"
//     on the primary and "/devstoreaccount1/devstoreaccount1-secondary/c/b" on
//     the secondary; the form without the "-secondary" suffix is accepted too;
//   - x-ms- headers are ordered the way the Go, .NET and JavaScript SDKs order
//     them (a culture-style comparison in which '-' only breaks ties), and in
//     plain byte order as the specification describes;
//   - query values are decoded both with and without '+' meaning a space.
//
// The request time (x-ms-date, else Date) must be a valid HTTP date within
// Request.MaxClockSkew (15 minutes by default, as in Azure) of Request.Now,
// the emulator's clock; a negative MaxClockSkew turns the check off for
// callers whose clock does not follow the wall clock the SDKs sign with.
//
// Query parameter names are matched without regard to case: [ParseQuery]
// lower-cases them once, and the REST layer routes with the same values that
// the signature covers.
//
// # Shared access signatures
//
// A SAS with sr is a service SAS; one with ss and srt is an account SAS. The
// string-to-sign is laid out according to the signed version (sv): the
// 2012-02-12, 2013-08-15, 2015-04-05, 2018-11-09 and 2020-12-06 layouts are
// known, and because the Go SDK always signs with its newest layout whatever
// sv it is given, the newest layout is tried as a fallback. A service SAS is
// bound to its container (sr=c) or blob (sr=b) through the canonicalized
// resource, so using it on another resource fails the signature check.
// Snapshot, version and directory SAS (sr=bs, bv, d) are rejected with a
// clear message.
//
// A SAS with the key fields skoid, sktid, skt, ske, sks and skv is a user
// delegation SAS (userdelegation.go). Its key is not stored anywhere: it is
// DeriveUserDelegationKey of the account key, its name and those fields, the same
// derivation that Get User Delegation Key answers with, so the verifier
// recomputes it from the SAS, checks the signature with it, then the key's
// own window (skt..ske) and the checks of a service SAS. It is reported as
// ServiceSAS.
//
// After the signature, the verifier checks, in this order: the stored access
// policy (si, which may supply st, se and sp but may not repeat them), the
// validity window (st and se, with no clock-skew allowance), the source IP
// (sip), the protocol (spr), the signed services (ss must include b), the
// signed resource types (srt) and finally the permissions (sp must grant every
// permission the operation needs).
//
// # Bearer tokens
//
// With Request.Bearer, an "Authorization: Bearer TOKEN" header is checked
// the way Azurite's basic OAuth mode checks it, without the signature (the
// emulator holds no Entra ID keys; this is for development only): the
// request must come over TLS; the token must be a JWT of three base64url
// parts with a JSON header naming an alg and JSON claims; iss must be an
// Entra ID issuer (https://sts.windows.net/TENANT/,
// https://login.microsoftonline.com/TENANT/v2.0 and the sovereign clouds');
// aud must be https://storage.azure.com or the account's blob endpoint
// (public and sovereign clouds, and the emulator's ACCOUNT.blob.localhost
// with any port), with or without a trailing slash; and the request time
// must lie within nbf and exp, give or take BearerClockSkew (skipped when
// MaxClockSkew is negative). Every valid token is granted every permission:
// Azure RBAC is not modelled. Refusals follow Azure: for x-ms-version
// 2019-12-12 and later 401 InvalidAuthenticationInfo with a Bearer challenge
// (Error.Challenge, for WWW-Authenticate), before it 403
// AuthenticationFailed; a token over plain HTTP, or with a version older
// than 2017-11-09, 403 AuthenticationFailed.
package auth
