package store

import (
	"slices"
	"strings"
	"testing"
)

// TestListBlobsWithUncommitted: include=uncommittedblobs merges the blobs
// that have only uncommitted blocks into the committed ones in name order,
// with prefixes, delimiters and paging, and leaves out expired staged
// blocks and blobs that also have a committed version.
func TestListBlobsWithUncommitted(t *testing.T) {
	s, clk, _ := newTestStore(t)
	for _, n := range []string{"a", "c", "dir/x", "e"} {
		if _, err := s.PutBlob("acct", "c", n, Bytes([]byte("x")), HTTPHeaders{}, nil, WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []string{"b", "c", "dir/y", "dis/z", "f", "g"} {
		if err := s.StageBlock("acct", "c", n, id("1"), Bytes([]byte("yy")), ""); err != nil {
			t.Fatal(err)
		}
	}
	list := func(o ListOptions) []string {
		t.Helper()
		var out []string
		for range 20 {
			o.IncludeUncommitted = true
			p, err := s.ListBlobs("acct", "c", o)
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range p.Blobs {
				name := b.Name
				if b.Size() == 0 && b.ETag != "" {
					name += "*"
				}
				out = append(out, name)
			}
			for _, pr := range p.Prefixes {
				out = append(out, pr+"/")
			}
			if p.NextMarker == "" {
				return out
			}
			out = append(out, "|")
			o.Marker = p.NextMarker
		}
		t.Fatal("no end")
		return nil
	}
	tests := []struct {
		name string
		o    ListOptions
		want string
	}{
		{"all", ListOptions{}, "a b* c dir/x dir/y* dis/z* e f* g*"},
		{"delimiter", ListOptions{Delimiter: "/"}, "a b* c dir// dis// e f* g*"},
		{"prefix", ListOptions{Prefix: "di"}, "dir/x dir/y* dis/z*"},
		{"pages of two", ListOptions{MaxResults: 2}, "a b* | c dir/x | dir/y* dis/z* | e f* | g*"},
		{"pages of three with delimiter", ListOptions{MaxResults: 3, Delimiter: "/"}, "a b* c | dir// dis// e | f* g*"},
		{"marker on an uncommitted name", ListOptions{Marker: "f"}, "f* g*"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := strings.Join(sortPage(list(tt.o)), " "); got != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
	// Without the option nothing uncommitted shows.
	p, err := s.ListBlobs("acct", "c", ListOptions{})
	if err != nil || len(p.Blobs) != 4 {
		t.Fatalf("plain listing: %d blobs %v", len(p.Blobs), err)
	}
	// Expired staged blocks are not listed.
	clk.t = clk.t.Add(StagedBlockTTL)
	if got := strings.Join(list(ListOptions{}), " "); got != "a c dir/x e" {
		t.Fatalf("after expiry: %s", got)
	}
}

// sortPage puts each page's prefixes (listed after its blobs) in name
// order among the blobs, as they interleave in the XML.
func sortPage(items []string) []string {
	var out, page []string
	flush := func() {
		slices.SortFunc(page, func(a, b string) int {
			return strings.Compare(strings.TrimSuffix(strings.TrimSuffix(a, "*"), "/"), strings.TrimSuffix(strings.TrimSuffix(b, "*"), "/"))
		})
		out = append(out, page...)
		page = nil
	}
	for _, it := range items {
		if it == "|" {
			flush()
			out = append(out, it)
			continue
		}
		page = append(page, it)
	}
	flush()
	return out
}
