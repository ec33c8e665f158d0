package geoblob

import (
	"errors"
	"strings"

	"github.com/geoblob/geoblob/internal/redact"
)

// Sentinel errors. Test for them with errors.Is; the errors the client
// returns wrap the underlying causes, which errors.As can still reach (for
// example an *azcore.ResponseError from either location).
var (
	// ErrPrimaryUnavailable is returned for a write while the breaker holds
	// the primary as down: writes never go to the read-only secondary, so
	// they fail fast instead of burning retries (Microsoft's read-only mode).
	ErrPrimaryUnavailable = errors.New("geoblob: primary unavailable, writes are refused while reads are served by the secondary")

	// ErrBothUnavailable is returned when a read failed on the primary and
	// on the secondary. The error is an *Error whose Primary and Secondary
	// hold each cause (an *azcore.ResponseError for an HTTP failure);
	// errors.As on the error itself finds the first of them.
	ErrBothUnavailable = errors.New("geoblob: both primary and secondary are unreachable")

	// ErrTooStale is returned for a read that would be served by the
	// secondary while its LastSyncTime is older than Config.MaxStaleness.
	ErrTooStale = errors.New("geoblob: secondary is staler than the configured MaxStaleness")

	// ErrNoSecondary is returned by Staleness when no way to read the
	// secondary's service statistics is configured.
	ErrNoSecondary = errors.New("geoblob: no secondary statistics source configured")

	// ErrSecondaryDown is the secondary's cause in an ErrBothUnavailable
	// error when the read was not sent there because the Router holds the
	// secondary as down (see Router.SecondaryState).
	ErrSecondaryDown = errors.New("geoblob: the secondary is marked down")

	// ErrNoRecoveryPoint is returned by RecoveryPoint when the secondary
	// reports no LastSyncTime: its status is unavailable or bootstrap, so
	// what an unplanned failover now would keep is unknown.
	ErrNoRecoveryPoint = errors.New("geoblob: the secondary reports no LastSyncTime, so there is no known recovery point")

	// ErrInvalidConfig is wrapped by Config.Validate and the constructors
	// for unusable configuration or connection strings.
	ErrInvalidConfig = errors.New("geoblob: invalid configuration")
)

// Error is the error a geoblob-routed read or write returns when the policy
// itself decides the outcome. Kind is one of the sentinel errors; Primary
// and Secondary hold the cause observed at each location, when any.
//
// The Router returns most of these errors marked final for azcore's retry
// policy, so the SDK returns them at once. The exception is
// ErrBothUnavailable during the first half second of a double outage
// (bothRetryWindow): it is left retriable, so a secondary that blips while
// the primary is down is ridden out by the SDK's next try. Either way
// errors.As finds the *Error and errors.Is its Kind.
type Error struct {
	Kind      error
	Primary   error
	Secondary error
}

// Error describes the failure without secrets: URLs in causes are redacted.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Kind.Error())
	if e.Primary != nil {
		b.WriteString("; primary: ")
		b.WriteString(redact.Text(e.Primary.Error()))
	}
	if e.Secondary != nil {
		b.WriteString("; secondary: ")
		b.WriteString(redact.Text(e.Secondary.Error()))
	}
	return b.String()
}

// Is reports whether target is e's Kind.
func (e *Error) Is(target error) bool { return target == e.Kind }

// Unwrap returns the causes, so errors.As finds e.g. an
// *azcore.ResponseError of either location.
func (e *Error) Unwrap() []error {
	var errs []error
	for _, err := range []error{e.Primary, e.Secondary} {
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}
