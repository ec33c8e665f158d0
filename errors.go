package geoblob

import (
	"errors"
	"net/url"
	"strings"
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

	// ErrInvalidConfig is wrapped by Config.Validate and the constructors
	// for unusable configuration or connection strings.
	ErrInvalidConfig = errors.New("geoblob: invalid configuration")
)

// Error is the error a geoblob-routed read or write returns when the policy
// itself decides the outcome. Kind is one of the sentinel errors; Primary
// and Secondary hold the cause observed at each location, when any.
//
// Error implements the azcore retry policy's non-retriable marker, so the
// SDK returns it at once instead of retrying.
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
		b.WriteString(redactText(e.Primary.Error()))
	}
	if e.Secondary != nil {
		b.WriteString("; secondary: ")
		b.WriteString(redactText(e.Secondary.Error()))
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

// NonRetriable marks the error as final for azcore's retry policy.
func (e *Error) NonRetriable() {}

// secretParams are query parameters whose values must never appear in logs,
// errors or events: SAS signatures and user-delegation key material.
var secretParams = []string{"sig", "skoid", "sktid", "sks", "skv", "ske", "skt", "saoid", "suoid"}

// redactURL returns u as a string with secret query values replaced.
func redactURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := *u
	c.User = nil
	c.RawQuery = redactQuery(c.RawQuery)
	return c.String()
}

func redactQuery(q string) string {
	if q == "" {
		return q
	}
	parts := strings.Split(q, "&")
	for i, p := range parts {
		name, _, ok := strings.Cut(p, "=")
		if !ok {
			continue
		}
		for _, s := range secretParams {
			if strings.EqualFold(name, s) {
				parts[i] = name + "=REDACTED"
				break
			}
		}
	}
	return strings.Join(parts, "&")
}

// secretMarkers precede a secret in free-form text: SAS signatures (also
// URL-encoded, as in a copy source), account keys, Authorization values,
// and the request signature Azure quotes in its AuthenticationFailed
// message. Lowercase.
var secretMarkers = []string{"sig=", "sig%3d", "accountkey=", "bearer ", "sharedkey ", "signature found in the http request '"}

// redactText removes secret query values and authorization material from a
// free-form message, such as a transport error that embeds a URL or an
// Azure error body.
func redactText(s string) string {
	lower := strings.ToLower(s)
	if j, _ := nextSecret(lower); j < 0 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		j, key := nextSecret(lower[i:])
		if j < 0 {
			b.WriteString(s[i:])
			break
		}
		start := i + j + len(key)
		b.WriteString(s[i:start])
		b.WriteString("REDACTED")
		end := start
		for end < len(s) && !strings.ContainsRune("&;\" \t\n'", rune(s[end])) {
			end++
		}
		i = end
	}
	return b.String()
}

func nextSecret(s string) (int, string) {
	best, key := -1, ""
	for _, k := range secretMarkers {
		if j := strings.Index(s, k); j >= 0 && (best < 0 || j < best) {
			best, key = j, k
		}
	}
	return best, key
}

// redactErr returns err with secrets removed from its message. A
// *url.Error keeps its type and inner error when its redacted URL was the
// only secret, so timeouts and net errors stay detectable; otherwise the
// error is wrapped, and errors.Is and errors.As still reach its chain.
func redactErr(err error) error {
	if err == nil {
		return nil
	}
	var ue *url.Error
	if errors.As(err, &ue) && err == error(ue) {
		c := *ue
		if u, perr := url.Parse(ue.URL); perr == nil {
			c.URL = redactURL(u)
		} else {
			c.URL = redactText(ue.URL)
		}
		err = &c
	}
	msg := err.Error()
	if r := redactText(msg); r != msg {
		return &redactedError{msg: r, err: err}
	}
	return err
}

// redactedError is an error whose message had secrets removed.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
