package redact

import (
	"net/url"
	"strings"
	"testing"
)

func TestURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://a.blob.core.windows.net/c?sv=1&SIG=abc&skoid=x", "https://a.blob.core.windows.net/c?sv=1&SIG=REDACTED&skoid=REDACTED"},
		{"https://user:pw@a.blob.core.windows.net/c/b", "https://a.blob.core.windows.net/c/b"},
		{"https://a.blob.core.windows.net/c?comp=list&restype=container", "https://a.blob.core.windows.net/c?comp=list&restype=container"},
		{"http://127.0.0.1:1/acct/c?sks=b&skv=2020&flag", "http://127.0.0.1:1/acct/c?sks=REDACTED&skv=REDACTED&flag"},
	} {
		u, err := url.Parse(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := URL(u); got != tc.want {
			t.Errorf("URL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := URL(nil); got != "" {
		t.Errorf("URL(nil) = %q", got)
	}
}

func TestQueryKeepsOtherParameters(t *testing.T) {
	const q = "sv=2024-01-01&se=2030-01-01T00%3A00%3A00Z&sp=r&sig=abc%3D"
	got := Query(q)
	if strings.Contains(got, "abc") || !strings.HasPrefix(got, "sv=2024-01-01&se=2030-01-01T00%3A00%3A00Z&sp=r&") {
		t.Fatalf("Query(%q) = %q", q, got)
	}
}
