package store

import (
	"fmt"
	"testing"
	"unsafe"
)

// TestBlobRecordSharesWhatItCan: a blob's name does not keep the string it
// was cut from (a request's whole path) alive, an overwrite reuses the
// name the tree holds, and the property strings of many blobs are one
// copy each. Each blob used to hold its own copy of its content type and
// the whole request path behind its name.
func TestBlobRecordSharesWhatItCan(t *testing.T) {
	s, _, _ := newTestStore(t)
	path := "/devstoreaccount1/c/dir/blob-0"
	name := path[len("/devstoreaccount1/c/"):]
	var blobs []*Blob
	for i := range 3 {
		// A fresh copy of the header value each time, as net/http makes.
		ct := fmt.Sprintf("application/%s", "octet-stream")
		b, err := s.PutBlob("acct", "c", name, Bytes([]byte{byte(i)}), HTTPHeaders{ContentType: ct, CacheControl: fmt.Sprint("no-", "cache")}, nil, WriteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		blobs = append(blobs, b)
	}
	other, err := s.PutBlob("acct", "c", "other", Content{}, HTTPHeaders{ContentType: fmt.Sprintf("application/%s", "octet-stream")}, nil, WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if unsafe.StringData(blobs[0].Name) == unsafe.StringData(name) {
		t.Error("the blob's name points into the caller's string")
	}
	for i, b := range blobs {
		if b.Name != name || unsafe.StringData(b.Name) != unsafe.StringData(blobs[0].Name) {
			t.Errorf("version %d: name %q not shared with the first version's", i, b.Name)
		}
		if b.Headers.ContentType != "application/octet-stream" || unsafe.StringData(b.Headers.ContentType) != unsafe.StringData(other.Headers.ContentType) {
			t.Errorf("version %d: content type %q is its own copy", i, b.Headers.ContentType)
		}
		if b.Headers.CacheControl != "no-cache" || unsafe.StringData(b.Headers.CacheControl) != unsafe.StringData(blobs[0].Headers.CacheControl) {
			t.Errorf("version %d: cache control %q is its own copy", i, b.Headers.CacheControl)
		}
	}
	if other.Headers.CacheControl != "" {
		t.Errorf("empty property became %q", other.Headers.CacheControl)
	}
}
