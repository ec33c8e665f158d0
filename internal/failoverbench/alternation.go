package failoverbench

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// alternation models the geo-redundant reads of the .NET, Java, JS and
// Python SDKs: a read's first try goes to the primary and every retry to
// the other location than the try before; once the secondary has answered
// 404 (the blob has not replicated yet) the rest of that read goes to the
// primary. Nothing is remembered between requests. Writes always go to the
// primary.
//
// It is two policies and a retry rule: perCall gives each request its own
// state before the SDK's retry policy, the alternation itself runs on every
// try, and shouldRetry makes the secondary's 404 retriable.
type alternation struct {
	secondary *url.URL // scheme and host of the secondary
}

func newAlternation(secondaryURL string) (*alternation, error) {
	u, err := url.Parse(secondaryURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("failoverbench: secondary URL %q: %v", secondaryURL, err)
	}
	return &alternation{secondary: u}, nil
}

// altState is one request's place in the alternation.
type altState struct {
	tries       int
	primaryOnly bool // the secondary said 404
}

type altKey struct{}

// perCall attaches a fresh altState to each request.
func (a *alternation) perCall() policy.Policy {
	return policyFunc(func(req *policy.Request) (*http.Response, error) {
		m := req.Raw().Method
		if m != http.MethodGet && m != http.MethodHead {
			return req.Next()
		}
		ctx := context.WithValue(req.Raw().Context(), altKey{}, &altState{})
		return req.WithContext(ctx).Next()
	})
}

// Do sends one try to the location its turn gives. The SDK's shared key
// signature covers the path, not the host, so moving a try to the
// secondary's host keeps it valid.
func (a *alternation) Do(req *policy.Request) (*http.Response, error) {
	st, ok := req.Raw().Context().Value(altKey{}).(*altState)
	if !ok {
		return req.Next()
	}
	st.tries++
	toSecondary := !st.primaryOnly && st.tries%2 == 0
	raw := req.Raw()
	if toSecondary {
		raw.URL.Scheme, raw.URL.Host = a.secondary.Scheme, a.secondary.Host
		raw.Host = ""
	}
	resp, err := req.Next()
	if toSecondary && err == nil && resp.StatusCode == http.StatusNotFound {
		// Not replicated yet: the rest of the request goes to the
		// primary (shouldRetry lets the SDK retry this 404).
		st.primaryOnly = true
	}
	return resp, err
}

// retriable are azcore's default retriable statuses.
var retriable = []int{408, 429, 500, 502, 503, 504}

// shouldRetry is the SDK's retry rule plus a 404 from the secondary, which
// the other SDKs retry on the primary.
func (a *alternation) shouldRetry(resp *http.Response, err error) bool {
	if err != nil {
		return true
	}
	if resp.StatusCode == http.StatusNotFound && resp.Request != nil && resp.Request.URL.Host == a.secondary.Host {
		return true
	}
	return slices.Contains(retriable, resp.StatusCode)
}

// policyFunc adapts a function to policy.Policy.
type policyFunc func(*policy.Request) (*http.Response, error)

func (f policyFunc) Do(req *policy.Request) (*http.Response, error) { return f(req) }
