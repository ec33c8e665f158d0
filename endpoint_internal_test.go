package geoblob

import (
	"errors"
	"net/http"
	"net/url"
	"testing"
)

func TestDeriveSecondary(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://acct.blob.core.windows.net", "https://acct-secondary.blob.core.windows.net"},
		{"https://acct.blob.core.windows.net/?sv=1&sig=x", "https://acct-secondary.blob.core.windows.net"},
		{"https://acct.blob.core.usgovcloudapi.net:443/", "https://acct-secondary.blob.core.usgovcloudapi.net:443"},
		{"http://127.0.0.1:10000/devstoreaccount1", "http://127.0.0.1:10000/devstoreaccount1-secondary"},
		{"http://localhost:10000/devstoreaccount1/", "http://localhost:10000/devstoreaccount1-secondary"},
		{"http://[::1]:10000/acct", "http://[::1]:10000/acct-secondary"},
		// The emulator's host-style names are host-style.
		{"https://devstoreaccount1.blob.localhost:10000", "https://devstoreaccount1-secondary.blob.localhost:10000"},
		{"http://devstoreaccount1.blob.localhost:10000/", "http://devstoreaccount1-secondary.blob.localhost:10000"},
		// Other names under .localhost stay path-style.
		{"http://emu.localhost:10000/devstoreaccount1", "http://emu.localhost:10000/devstoreaccount1-secondary"},
	} {
		got, err := deriveSecondary(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("deriveSecondary(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "ftp://x/y", "http://127.0.0.1:10000/", "https://nodots/"} {
		if _, err := deriveSecondary(bad); err == nil {
			t.Errorf("deriveSecondary(%q) succeeded", bad)
		}
	}
}

func TestMoveRewritesHostAndPath(t *testing.T) {
	p, _, _ := parseEndpoint("http://127.0.0.1:10000/devstoreaccount1")
	s, _, _ := parseEndpoint("http://127.0.0.1:10000/devstoreaccount1-secondary")
	u, _ := url.Parse("http://127.0.0.1:10000/devstoreaccount1/c/b%20x?comp=x")
	if !p.matches(u) || s.matches(u) {
		t.Fatal("matches")
	}
	req := &http.Request{URL: u, Host: u.Host}
	move(req, &p, &s)
	if got := u.String(); got != "http://127.0.0.1:10000/devstoreaccount1-secondary/c/b%20x?comp=x" {
		t.Fatalf("moved to %s", got)
	}
	other, _ := url.Parse("http://127.0.0.1:10000/devstoreaccount12/c")
	if p.matches(other) {
		t.Fatal("a longer account name must not match")
	}
}

// TestPathStyleHosts: emulators reached by a single-label host name (a
// docker-compose service such as "azurite") are path-style, and two
// explicit URLs on one host that differ by their account segment are too.
func TestPathStyleHosts(t *testing.T) {
	for _, tc := range []struct{ primary, secondary, wantSecondary string }{
		{"http://azurite:10000/devstoreaccount1", "", "http://azurite:10000/devstoreaccount1-secondary"},
		{"http://blobs.internal:10000/acct", "http://blobs.internal:10000/acct-secondary", "http://blobs.internal:10000/acct-secondary"},
		{"https://acct.blob.core.windows.net", "", "https://acct-secondary.blob.core.windows.net"},
	} {
		cfg := DefaultConfig()
		cfg.SecondaryURL = tc.secondary
		r, err := NewRouter(tc.primary, cfg)
		if err != nil {
			t.Errorf("NewRouter(%q, %q): %v", tc.primary, tc.secondary, err)
			continue
		}
		if r.SecondaryURL() != tc.wantSecondary {
			t.Errorf("secondary %q, want %q", r.SecondaryURL(), tc.wantSecondary)
		}
		u, _ := url.Parse(tc.primary + "/c/b")
		req := &http.Request{URL: u, Host: u.Host, Header: http.Header{}}
		r.readdress(req, Secondary)
		if want := tc.wantSecondary + "/c/b"; req.URL.String() != want {
			t.Errorf("moved to %s, want %s", req.URL, want)
		}
	}
	cfg := DefaultConfig()
	cfg.SecondaryURL = "http://blobs.internal:10000/acct/"
	if _, err := NewRouter("http://blobs.internal:10000/acct", cfg); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("same endpoint twice: %v", err)
	}
}
