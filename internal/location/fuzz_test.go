package location

import (
	"strings"
	"testing"
)

// FuzzClassify: Classify never panics, path-style reads the account from
// the first path segment and host-style from the first label, and the
// -secondary suffix is removed exactly once. Run with
//
//	go test -fuzz=FuzzClassify -fuzztime=60s ./internal/location/
func FuzzClassify(f *testing.F) {
	for _, s := range []struct {
		host, path string
		force      bool
	}{
		{"127.0.0.1:10000", "/devstoreaccount1-secondary/c/b", false},
		{"emu.localhost:10000", "/devstoreaccount1/c/d/e", false},
		{"acct-secondary.blob.core.windows.net", "/c/b", false},
		{"[::1]:443", "//", false},
		{"a-secondary-secondary", "/x-secondary-secondary/c", true},
		{"", "", false},
		{"[", "no-leading-slash", false},
		{"HOST.LOCALHOST.", "/A/B", false},
	} {
		f.Add(s.host, s.path, s.force)
	}
	f.Fuzz(func(t *testing.T, host, path string, force bool) {
		a := Classify(host, path, force)
		if force && !a.PathStyle {
			t.Fatal("forced path style ignored")
		}
		if a.PathStyle != (force || PathStyle(host)) {
			t.Fatalf("PathStyle %v disagrees with PathStyle(%q)", a.PathStyle, host)
		}
		if strings.Contains(a.Account, "/") || strings.Contains(a.Container, "/") {
			t.Fatalf("slash in account or container: %+v", a)
		}
		first := ""
		if a.PathStyle {
			first, _, _ = strings.Cut(strings.TrimPrefix(strings.ReplaceAll(path, "\\", "/"), "/"), "/")
		} else {
			first, _, _ = strings.Cut(Hostname(host), ".")
		}
		if !a.PathStyle && a.Account == "" && !a.Secondary {
			return // the host's first label is not a DNS label
		}
		if want := a.Account + map[bool]string{true: SecondarySuffix}[a.Secondary]; want != first {
			t.Fatalf("account %q (secondary %v) from %q", a.Account, a.Secondary, first)
		}
	})
}
