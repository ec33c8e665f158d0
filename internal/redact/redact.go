// Package redact removes secrets from URLs, error messages and free-form
// text before they reach a log, an error or an event: SAS signatures and
// user-delegation key material in query strings, account keys, bearer
// tokens, Shared Key authorization values and the request signature Azure
// quotes in an AuthenticationFailed message.
package redact

import (
	"errors"
	"net/url"
	"strings"
)

// Placeholder replaces every secret value.
const Placeholder = "REDACTED"

// secretParams are query parameters whose values must never appear in logs,
// errors or events: SAS signatures and user-delegation key material.
var secretParams = []string{"sig", "skoid", "sktid", "sks", "skv", "ske", "skt", "saoid", "suoid"}

// URL returns u as a string with its user information dropped and secret
// query values replaced. A nil URL gives "".
func URL(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := *u
	c.User = nil
	c.RawQuery = Query(c.RawQuery)
	return c.String()
}

// Query returns the raw query q with the values of secret parameters
// replaced; other parameters are kept byte for byte.
func Query(q string) string {
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
				parts[i] = name + "=" + Placeholder
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

// Text removes secret query values and authorization material from a
// free-form message, such as a transport error that embeds a URL or an
// Azure error body. A secret runs until the next &, ;, quote or white
// space.
func Text(s string) string {
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
		b.WriteString(Placeholder)
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

// Err returns err with secrets removed from its message. A *url.Error
// keeps its type and inner error when its redacted URL was the only
// secret, so timeouts and net errors stay detectable; otherwise the error
// is wrapped, and errors.Is and errors.As still reach its chain. A nil
// error gives nil.
func Err(err error) error {
	if err == nil {
		return nil
	}
	var ue *url.Error
	if errors.As(err, &ue) && err == error(ue) {
		c := *ue
		if u, perr := url.Parse(ue.URL); perr == nil {
			c.URL = URL(u)
		} else {
			c.URL = Text(ue.URL)
		}
		err = &c
	}
	msg := err.Error()
	if r := Text(msg); r != msg {
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
