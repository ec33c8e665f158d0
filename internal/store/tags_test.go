package store

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// TestFindBlobsByTagsPaging: the search goes container by container in
// name order, resumes at its marker, and examines a bounded number of
// blobs per call, so a page may come back short, or empty, with a marker.
func TestFindBlobsByTagsPaging(t *testing.T) {
	s, _, _ := newTestStore(t)
	if _, err := s.CreateContainer("acct", "d", nil, ""); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"c", "d"} {
		for i := range 5 {
			var o WriteOptions
			if i%2 == 0 {
				o.Tags = map[string]string{"even": "yes"}
			}
			if _, err := s.PutBlob("acct", c, fmt.Sprint(i), Bytes(nil), HTTPHeaders{}, nil, o); err != nil {
				t.Fatal(err)
			}
		}
	}
	match := func(_ string, b *Blob) bool { return b.Tags["even"] == "yes" }
	tests := []struct {
		name  string
		scan  int
		max   int
		scope string
		want  string
	}{
		{"one page", 0, 0, "", "c/0 c/2 c/4 d/0 d/2 d/4"},
		{"pages of two", 0, 2, "", "c/0 c/2 | c/4 d/0 | d/2 d/4"},
		{"scan two at a time", 2, 0, "", "c/0 | c/2 | c/4 d/0 | d/2 | d/4"},
		{"scan three", 3, 0, "", "c/0 c/2 | c/4 d/0 | d/2 | d/4"},
		{"one container", 0, 0, "d", "d/0 d/2 d/4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.testFindScan = tt.scan
			got := ""
			o := FindOptions{Match: match, MaxResults: tt.max, Container: tt.scope}
			for range 20 {
				p, err := s.FindBlobsByTags("acct", o)
				if err != nil {
					t.Fatal(err)
				}
				for _, b := range p.Blobs {
					if got != "" && got[len(got)-1] != ' ' {
						got += " "
					}
					got += b.Container + "/" + b.Blob.Name
				}
				if p.NextContainer == "" {
					break
				}
				got += " | "
				o.MarkerContainer, o.MarkerBlob = p.NextContainer, p.NextBlob
			}
			if got != tt.want {
				t.Fatalf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
	s.testFindScan = 0
	if _, err := s.FindBlobsByTags("acct", FindOptions{Match: match, Container: "nope"}); !errors.Is(err, ErrContainerNotFound) {
		t.Fatalf("missing container: %v", err)
	}
}

// TestTagAndTierWritesKeepETag: Set Blob Tags and Set Blob Tier commit a
// replicated change without a new ETag or Last-Modified.
func TestTagAndTierWritesKeepETag(t *testing.T) {
	s, clk, changes := newTestStore(t)
	b, err := s.PutBlob("acct", "c", "b", Bytes([]byte("x")), HTTPHeaders{}, nil, WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n := len(*changes)
	clk.t = clk.t.Add(time.Hour)
	if err := s.SetBlobTags("acct", "c", "b", map[string]string{"k": "v"}, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetBlobTier("acct", "c", "b", TierCool, "", WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if len(*changes) != n+2 {
		t.Fatalf("%d changes committed, want 2", len(*changes)-n)
	}
	last := (*changes)[len(*changes)-1].Blob
	if last.ETag != b.ETag || !last.LastModified.Equal(b.LastModified) || last.Tags["k"] != "v" || last.Tier != TierCool {
		t.Fatalf("after tags and tier: %+v", last)
	}
	if err := s.SetBlobTags("acct", "c", "b", map[string]string{"k!": "v"}, WriteOptions{}); !errors.Is(err, ErrInvalidTag) {
		t.Fatalf("invalid tag: %v", err)
	}
	if _, err := s.SetBlobTier("acct", "c", "b", "Premium", "", WriteOptions{}); err == nil {
		t.Fatal("unknown tier accepted")
	}
}
