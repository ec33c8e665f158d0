package location

import "testing"

func TestPathStyle(t *testing.T) {
	tests := []struct {
		host string
		want bool
	}{
		{"localhost", true},
		{"LOCALHOST:10000", true},
		{"emu.localhost", true},
		{"emu.localhost:10000", true},
		{"127.0.0.1", true},
		{"127.0.0.1:10000", true},
		{"[::1]:10000", true},
		{"::1", true},
		{"azurite", true},
		{"azurite:10000", true},
		{"myacct.blob.core.windows.net", false},
		{"myacct-secondary.blob.core.windows.net:443", false},
		{"evillocalhost.example", false},
		// The emulator's host-style names.
		{"devstoreaccount1.blob.localhost", false},
		{"devstoreaccount1-secondary.blob.localhost:10000", false},
		{"DevStoreAccount1.Blob.Localhost.", false},
		{"blob.localhost", true},
		{".blob.localhost", true},
		{"a.b.blob.localhost", true},
		{"", false},
	}
	for _, tt := range tests {
		if got := PathStyle(tt.host); got != tt.want {
			t.Errorf("PathStyle(%q) = %v, want %v", tt.host, got, tt.want)
		}
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		host, path string
		forcePath  bool
		want       Address
	}{
		{"127.0.0.1:10000", "/devstoreaccount1/c/b/x", false, Address{Account: "devstoreaccount1", PathStyle: true, Container: "c", Blob: "b/x"}},
		{"127.0.0.1:10000", "/devstoreaccount1-secondary/c/b", false, Address{Account: "devstoreaccount1", Secondary: true, PathStyle: true, Container: "c", Blob: "b"}},
		// A dotted loopback name is path-style: the regression behind this package.
		{"emu.localhost:10000", "/devstoreaccount1-secondary/c/b", false, Address{Account: "devstoreaccount1", Secondary: true, PathStyle: true, Container: "c", Blob: "b"}},
		{"myacct.blob.core.windows.net", "/c/b", false, Address{Account: "myacct", Container: "c", Blob: "b"}},
		{"devstoreaccount1.blob.localhost:10000", "/c/b", false, Address{Account: "devstoreaccount1", Container: "c", Blob: "b"}},
		{"devstoreaccount1-secondary.blob.localhost:10000", "/c/b", false, Address{Account: "devstoreaccount1", Secondary: true, Container: "c", Blob: "b"}},
		{"MyAcct-Secondary.blob.core.windows.net", "/c/b", false, Address{Account: "myacct", Secondary: true, Container: "c", Blob: "b"}},
		{"emu.example.test:10000", "/devstoreaccount1/c", true, Address{Account: "devstoreaccount1", PathStyle: true, Container: "c"}},
		{"127.0.0.1", "/", false, Address{PathStyle: true}},
		{"127.0.0.1", "", false, Address{PathStyle: true}},
		// Found by FuzzClassify: a host that is no host name names no account.
		{"/.0", "0", false, Address{Container: "0"}},
		// Found by FuzzClassify: a malformed host is normalised once.
		{":]", "0", false, Address{PathStyle: true, Account: "0"}},
		{"127.0.0.1:10000", "/devstoreaccount1-secondary\\c\\dir\\b", false, Address{Account: "devstoreaccount1", Secondary: true, PathStyle: true, Container: "c", Blob: "dir/b"}},
	}
	for _, tt := range tests {
		if got := Classify(tt.host, tt.path, tt.forcePath); got != tt.want {
			t.Errorf("Classify(%q, %q, %v) = %+v, want %+v", tt.host, tt.path, tt.forcePath, got, tt.want)
		}
	}
}

func TestLocalHostStyle(t *testing.T) {
	tests := []struct {
		host string
		want bool
	}{
		{"devstoreaccount1.blob.localhost", true},
		{"devstoreaccount1-secondary.blob.localhost:10000", true},
		{"DEVSTOREACCOUNT1.BLOB.LOCALHOST:1", true},
		{"blob.localhost", false},
		{"x.y.blob.localhost", false},
		{"emu.localhost", false},
		{"devstoreaccount1.blob.core.windows.net", false},
		{"127.0.0.1:10000", false},
	}
	for _, tt := range tests {
		if got := LocalHostStyle(tt.host); got != tt.want {
			t.Errorf("LocalHostStyle(%q) = %v, want %v", tt.host, got, tt.want)
		}
	}
}

func TestClassifyServed(t *testing.T) {
	tests := []struct {
		host, path string
		want       Address
	}{
		{"devstoreaccount1-secondary.blob.localhost:1", "/c/b", Address{Account: "devstoreaccount1", Secondary: true, Container: "c", Blob: "b"}},
		{"emu.example.test:1", "/devstoreaccount1-secondary/c", Address{Account: "devstoreaccount1", Secondary: true, PathStyle: true, Container: "c"}},
		{"127.0.0.1:1", "/devstoreaccount1/c", Address{Account: "devstoreaccount1", PathStyle: true, Container: "c"}},
	}
	for _, tt := range tests {
		if got := ClassifyServed(tt.host, tt.path); got != tt.want {
			t.Errorf("ClassifyServed(%q, %q) = %+v, want %+v", tt.host, tt.path, got, tt.want)
		}
	}
}
