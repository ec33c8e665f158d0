package auth

import "net/http"

// Azure error codes returned by this package.
const (
	CodeAuthenticationFailed        = "AuthenticationFailed"
	CodeAuthorizationFailure        = "AuthorizationFailure"
	CodePermissionMismatch          = "AuthorizationPermissionMismatch"
	CodeResourceTypeMismatch        = "AuthorizationResourceTypeMismatch"
	CodeServiceMismatch             = "AuthorizationServiceMismatch"
	CodeProtocolMismatch            = "AuthorizationProtocolMismatch"
	CodeSourceIPMismatch            = "AuthorizationSourceIPMismatch"
	CodeNoAuthenticationInformation = "NoAuthenticationInformation"
	CodeInvalidAuthenticationInfo   = "InvalidAuthenticationInfo"
)

// Error is an authentication or authorization failure. Code is the Azure
// error code, Message a complete human-readable message and Detail the
// specific reason (suitable for an AuthenticationErrorDetail element). None of
// them ever contains the account key or a signature.
type Error struct {
	Code    string
	Message string
	Detail  string
	Err     error
	// Challenge, when set, is the WWW-Authenticate value to answer with
	// (a refused bearer token).
	Challenge string
}

// Error implements error.
func (e *Error) Error() string {
	s := e.Code + ": " + e.Message
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the underlying cause, if any.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is an *Error with the same Code, so that
// errors.Is(err, ErrPermissionMismatch) works for any permission failure.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// StatusCode is the HTTP status Azure answers with for this error: 401 for
// NoAuthenticationInformation and InvalidAuthenticationInfo (a refused
// bearer token), 403 for everything else.
func (e *Error) StatusCode() int {
	if e.Code == CodeNoAuthenticationInformation || e.Code == CodeInvalidAuthenticationInfo {
		return http.StatusUnauthorized
	}
	return http.StatusForbidden
}

// Sentinel errors for errors.Is; they match any *Error with the same Code.
var (
	ErrAuthenticationFailed        = &Error{Code: CodeAuthenticationFailed, Message: baseMessage[CodeAuthenticationFailed]}
	ErrAuthorizationFailure        = &Error{Code: CodeAuthorizationFailure, Message: baseMessage[CodeAuthorizationFailure]}
	ErrPermissionMismatch          = &Error{Code: CodePermissionMismatch, Message: baseMessage[CodePermissionMismatch]}
	ErrResourceTypeMismatch        = &Error{Code: CodeResourceTypeMismatch, Message: baseMessage[CodeResourceTypeMismatch]}
	ErrServiceMismatch             = &Error{Code: CodeServiceMismatch, Message: baseMessage[CodeServiceMismatch]}
	ErrProtocolMismatch            = &Error{Code: CodeProtocolMismatch, Message: baseMessage[CodeProtocolMismatch]}
	ErrSourceIPMismatch            = &Error{Code: CodeSourceIPMismatch, Message: baseMessage[CodeSourceIPMismatch]}
	ErrNoAuthenticationInformation = &Error{Code: CodeNoAuthenticationInformation, Message: baseMessage[CodeNoAuthenticationInformation]}
	ErrInvalidAuthenticationInfo   = &Error{Code: CodeInvalidAuthenticationInfo, Message: baseMessage[CodeInvalidAuthenticationInfo]}
)

var baseMessage = map[string]string{
	CodeAuthenticationFailed:        "Server failed to authenticate the request. Make sure the Authorization header or the shared access signature is formed correctly, including the signature.",
	CodeAuthorizationFailure:        "This request is not authorized to perform this operation.",
	CodePermissionMismatch:          "This request is not authorized to perform this operation using this permission.",
	CodeResourceTypeMismatch:        "This request is not authorized to perform this operation using this resource type.",
	CodeServiceMismatch:             "This request is not authorized to perform this operation using this service.",
	CodeProtocolMismatch:            "This request is not authorized to perform this operation using this protocol.",
	CodeSourceIPMismatch:            "This request is not authorized to perform this operation using this source IP.",
	CodeNoAuthenticationInformation: "Server failed to authenticate the request. Please refer to the information in the www-authenticate header.",
	CodeInvalidAuthenticationInfo:   "Server failed to authenticate the request. Please refer to the information in the www-authenticate header.",
}

// fail builds an *Error with the standard message for code followed by
// detail. detail must never contain a key or a signature.
func fail(code, detail string) *Error {
	msg := baseMessage[code]
	if detail != "" {
		msg += " " + detail
	}
	return &Error{Code: code, Message: msg, Detail: detail}
}
