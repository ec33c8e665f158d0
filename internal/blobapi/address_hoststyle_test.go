package blobapi

import (
	"errors"
	"net/url"
	"testing"
)

// TestParseAddressHostStyle: on the emulator's host-style names the
// account comes from the host, /CONTAINER/BLOB from the path; other hosts
// stay path-style.
func TestParseAddressHostStyle(t *testing.T) {
	tests := []struct {
		host, path, restype string
		secondaryHost       bool
		want                Address
		code                string // AddressError code; "" means none
	}{
		{host: "devstoreaccount1.blob.localhost:10000", path: "/", want: Address{Account: "devstoreaccount1", hostStyle: true}},
		{host: "devstoreaccount1.blob.localhost:10000", path: "/c1c", restype: "container", want: Address{Account: "devstoreaccount1", Container: "c1c", hostStyle: true}},
		{host: "devstoreaccount1.blob.localhost:10000", path: "/c1c/dir/b", want: Address{Account: "devstoreaccount1", Container: "c1c", Blob: "dir/b", hostStyle: true}},
		{host: "devstoreaccount1.blob.localhost", path: "/rootblob", want: Address{Account: "devstoreaccount1", Container: "$root", Blob: "rootblob", hostStyle: true}},
		{host: "DevStoreAccount1-Secondary.Blob.Localhost:1", path: "/c1c/b", want: Address{Account: "devstoreaccount1", Location: Secondary, Container: "c1c", Blob: "b", hostStyle: true, pathSecondary: true}},
		{host: "devstoreaccount1.blob.localhost:1", path: "/c1c/b", secondaryHost: true, want: Address{Account: "devstoreaccount1", Location: Secondary, Container: "c1c", Blob: "b", hostStyle: true}},
		// A path that names the account again is a container of that name.
		{host: "devstoreaccount1.blob.localhost", path: "/devstoreaccount1/c1c", want: Address{Account: "devstoreaccount1", Container: "devstoreaccount1", Blob: "c1c", hostStyle: true}},
		{host: "ab.blob.localhost", path: "/c1c", code: "InvalidUri"},
		{host: "devstoreaccount1.blob.localhost", path: "/x/b", code: "OutOfRangeInput"},
		// Not host-style: other names under .localhost, IPs and dotted names.
		{host: "emu.localhost:10000", path: "/devstoreaccount1/c1c/b", want: Address{Account: "devstoreaccount1", Container: "c1c", Blob: "b"}},
		{host: "a.b.blob.localhost", path: "/devstoreaccount1/c1c/b", want: Address{Account: "devstoreaccount1", Container: "c1c", Blob: "b"}},
		{host: "storage.example.test:10000", path: "/devstoreaccount1-secondary/c1c/b", want: Address{Account: "devstoreaccount1", Location: Secondary, Container: "c1c", Blob: "b", pathSecondary: true}},
	}
	for _, tt := range tests {
		q := url.Values{}
		if tt.restype != "" {
			q.Set("restype", tt.restype)
		}
		got, err := parseAddress(tt.host, tt.path, q, tt.secondaryHost)
		if tt.code != "" {
			var ae *AddressError
			if !errors.As(err, &ae) || ae.Code != tt.code {
				t.Errorf("parseAddress(%q, %q) error %v, want %s", tt.host, tt.path, err, tt.code)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parseAddress(%q, %q) = %+v, %v; want %+v", tt.host, tt.path, got, err, tt.want)
		}
	}
}

// FuzzParseAddressHost: whatever the Host header, parsing never panics,
// fails only with an *AddressError, and a success names a valid account.
func FuzzParseAddressHost(f *testing.F) {
	for _, s := range [][2]string{
		{"devstoreaccount1.blob.localhost:10000", "/c1c/b"},
		{"devstoreaccount1-secondary.blob.localhost", "/"},
		{"-secondary.blob.localhost", "/c1c"},
		{".blob.localhost", "/devstoreaccount1/c1c"},
		{"[::1]:10000", "/devstoreaccount1/c1c"},
		{"x.blob.localhost.", "\\c1c\\b"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, host, path string) {
		a, err := parseAddress(host, path, nil, false)
		if err != nil {
			var ae *AddressError
			if !errors.As(err, &ae) {
				t.Fatalf("parseAddress(%q, %q) = %v (%T)", host, path, err, err)
			}
			return
		}
		if !validAccountName(a.Account) {
			t.Fatalf("parseAddress(%q, %q) accepted account %q", host, path, a.Account)
		}
	})
}
