package store

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/geoblob/geoblob/internal/slab"
)

type fakeNow struct{ t time.Time }

func (f *fakeNow) now() time.Time { return f.t }

func newTestStore(t *testing.T) (*Store, *fakeNow, *[]Change) {
	t.Helper()
	clk := &fakeNow{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	var changes []Change
	s := New(Options{Now: clk.now, OnCommit: func(c Change) { changes = append(changes, c) }})
	if _, err := s.CreateContainer("acct", "c", nil, ""); err != nil {
		t.Fatal(err)
	}
	return s, clk, &changes
}

func body(t *testing.T, b *Blob) string {
	t.Helper()
	var buf bytes.Buffer
	if _, err := b.Content.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestReadContentChunksAndLimit(t *testing.T) {
	data := strings.Repeat("x", ChunkSize+10)
	tests := []struct {
		name  string
		hint  int64
		sizes []int  // chunk lengths
		slabs []bool // whether each chunk is a slab buffer
	}{
		// A declared length reads whole slab buffers while one fills,
		// then doubling heap chunks for the rest.
		{"declared", int64(len(data)), []int{slab.Size, slab.Size, 10}, []bool{true, true, false}},
		// Without one, chunks double from 64 KiB up to ChunkSize: 64K,
		// 64K, 128K, ... 2M make the first 4 MiB, then the last 10 bytes.
		{"undeclared", 0, []int{firstChunk, firstChunk, 128 << 10, 256 << 10, 512 << 10, 1 << 20, 2 << 20, 10}, make([]bool, 8)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ReadContent(strings.NewReader(data), tt.hint, -1)
			if err != nil {
				t.Fatal(err)
			}
			if c.Size() != int64(len(data)) || len(c.chunks) != len(tt.sizes) {
				t.Fatalf("size %d chunks %d, want %d and %d", c.Size(), len(c.chunks), len(data), len(tt.sizes))
			}
			for i, ch := range c.chunks {
				if len(ch.b) != tt.sizes[i] || (ch.buf != nil) != tt.slabs[i] {
					t.Fatalf("chunk %d: %d bytes, slab %v; want %d, %v", i, len(ch.b), ch.buf != nil, tt.sizes[i], tt.slabs[i])
				}
			}
			var buf bytes.Buffer
			if _, err := c.WriteTo(&buf); err != nil || buf.String() != data {
				t.Fatalf("WriteTo: %d bytes, %v", buf.Len(), err)
			}
		})
	}
	c, err := ReadContent(strings.NewReader(data), int64(len(data)), -1)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := c.WriteRange(&buf, ChunkSize-5, 10); err != nil || buf.String() != "xxxxxxxxxx" {
		t.Fatalf("range across chunks: %q %v", buf.String(), err)
	}
	if _, err := ReadContent(strings.NewReader(data), 0, 100); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("limit: %v", err)
	}
	got, _ := ReadContent(strings.NewReader("hello world"), 0, -1)
	r := got.Reader(6, 5)
	out := make([]byte, 16)
	n, _ := r.Read(out)
	if string(out[:n]) != "world" {
		t.Fatalf("reader: %q", out[:n])
	}
}

func TestConditions(t *testing.T) {
	tests := []struct {
		name  string
		cond  func(b *Blob) Conditions
		read  error
		write error
	}{
		{"none", func(*Blob) Conditions { return Conditions{} }, nil, nil},
		{"if-match ok", func(b *Blob) Conditions { return Conditions{IfMatch: b.ETag} }, nil, nil},
		{"if-match star", func(*Blob) Conditions { return Conditions{IfMatch: "*"} }, nil, nil},
		{"if-match bad", func(*Blob) Conditions { return Conditions{IfMatch: `"0x1"`} }, ErrConditionNotMet, ErrConditionNotMet},
		{"if-none-match same", func(b *Blob) Conditions { return Conditions{IfNoneMatch: b.ETag} }, ErrNotModified, ErrConditionNotMet},
		{"if-none-match other", func(*Blob) Conditions { return Conditions{IfNoneMatch: `"0x1"`} }, nil, nil},
		{"if-modified-since later", func(b *Blob) Conditions { return Conditions{IfModifiedSince: b.LastModified.Add(time.Hour)} }, ErrNotModified, ErrConditionNotMet},
		{"if-modified-since earlier", func(b *Blob) Conditions { return Conditions{IfModifiedSince: b.LastModified.Add(-time.Hour)} }, nil, nil},
		{"if-unmodified-since earlier", func(b *Blob) Conditions { return Conditions{IfUnmodifiedSince: b.LastModified.Add(-time.Hour)} }, ErrConditionNotMet, ErrConditionNotMet},
		{"if-unmodified-since same second", func(b *Blob) Conditions { return Conditions{IfUnmodifiedSince: b.LastModified} }, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, clk, _ := newTestStore(t)
			b, err := s.PutBlob("acct", "c", "b", Bytes([]byte("v1")), HTTPHeaders{}, nil, WriteOptions{})
			if err != nil {
				t.Fatal(err)
			}
			clk.t = clk.t.Add(time.Minute)
			if _, err := s.Blob("acct", "c", "b", ReadOptions{Conditions: tc.cond(b)}); !errors.Is(err, tc.read) {
				t.Errorf("read: got %v want %v", err, tc.read)
			}
			if _, err := s.SetBlobMetadata("acct", "c", "b", map[string]string{"k": "v"}, WriteOptions{Conditions: tc.cond(b)}); !errors.Is(err, tc.write) {
				t.Errorf("write: got %v want %v", err, tc.write)
			}
		})
	}
	s, _, _ := newTestStore(t)
	if _, err := s.PutBlob("acct", "c", "b", Bytes([]byte("v1")), HTTPHeaders{}, nil, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutBlob("acct", "c", "b", Bytes([]byte("v2")), HTTPHeaders{}, nil, WriteOptions{Conditions: Conditions{IfNoneMatch: "*"}}); !errors.Is(err, ErrBlobAlreadyExists) {
		t.Fatalf("if-none-match * on existing: %v", err)
	}
	if _, err := s.PutBlob("acct", "c", "new", Bytes([]byte("v")), HTTPHeaders{}, nil, WriteOptions{Conditions: Conditions{IfMatch: "*"}}); !errors.Is(err, ErrConditionNotMet) {
		t.Fatalf("if-match on missing: %v", err)
	}
}

func TestETagChangesOnEveryWrite(t *testing.T) {
	s, _, changes := newTestStore(t)
	seen := map[string]bool{}
	for i := 0; i < 50; i++ {
		b, err := s.PutBlob("acct", "c", "b", Bytes([]byte{byte(i)}), HTTPHeaders{}, nil, WriteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if seen[b.ETag] {
			t.Fatalf("etag %s repeated", b.ETag)
		}
		seen[b.ETag] = true
	}
	for i := 1; i < len(*changes); i++ {
		if !(*changes)[i].Time.After((*changes)[i-1].Time) || (*changes)[i].Seq <= (*changes)[i-1].Seq {
			t.Fatal("change times and sequence numbers must increase strictly")
		}
	}
}

func id(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestBlockLists(t *testing.T) {
	s, _, changes := newTestStore(t)
	for _, b := range []string{"a", "b", "c"} {
		if err := s.StageBlock("acct", "c", "blob", id(b), Bytes([]byte(strings.ToUpper(b))), ""); err != nil {
			t.Fatal(err)
		}
	}
	before := len(*changes)
	if before != 1 {
		t.Fatalf("staging must not replicate; %d changes", before)
	}
	bl, err := s.BlockList("acct", "c", "blob", ReadOptions{})
	if err != nil || len(bl.Uncommitted) != 3 || bl.Blob != nil {
		t.Fatalf("uncommitted list %+v %v", bl, err)
	}
	b, err := s.CommitBlockList("acct", "c", "blob", []BlockRef{{id("b"), BlockUncommitted}, {id("a"), BlockLatest}}, HTTPHeaders{}, nil, WriteOptions{})
	if err != nil || body(t, b) != "BA" {
		t.Fatalf("commit: %v", err)
	}
	// "c" was not named and is discarded.
	if err := s.StageBlock("acct", "c", "blob", id("d"), Bytes([]byte("D")), ""); err != nil {
		t.Fatal(err)
	}
	b, err = s.CommitBlockList("acct", "c", "blob", []BlockRef{{id("a"), BlockCommitted}, {id("d"), BlockLatest}, {id("b"), BlockCommitted}}, HTTPHeaders{}, nil, WriteOptions{})
	if err != nil || body(t, b) != "ADB" {
		t.Fatalf("recommit: %v", err)
	}
	tests := []struct {
		name string
		refs []BlockRef
	}{
		{"unknown", []BlockRef{{id("zz"), BlockLatest}}},
		{"discarded c", []BlockRef{{id("c"), BlockUncommitted}}},
		{"committed named uncommitted", []BlockRef{{id("a"), BlockUncommitted}}},
	}
	for _, tc := range tests {
		if _, err := s.CommitBlockList("acct", "c", "blob", tc.refs, HTTPHeaders{}, nil, WriteOptions{}); !errors.Is(err, ErrInvalidBlockList) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	if err := s.StageBlock("acct", "c", "blob", "not base64!", Bytes(nil), ""); !errors.Is(err, ErrInvalidBlockID) {
		t.Fatalf("bad id: %v", err)
	}
	bl, _ = s.BlockList("acct", "c", "blob", ReadOptions{})
	if len(bl.Committed) != 3 || len(bl.Uncommitted) != 0 {
		t.Fatalf("final list %+v", bl)
	}
}

func TestListBlobs(t *testing.T) {
	s, _, _ := newTestStore(t)
	for _, n := range []string{"a/1", "a/2", "b", "c/x/1", "c/y", "d"} {
		if _, err := s.PutBlob("acct", "c", n, Bytes(nil), HTTPHeaders{}, nil, WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	names := func(p BlobPage) string {
		var out []string
		for _, b := range p.Blobs {
			out = append(out, b.Name)
		}
		for _, x := range p.Prefixes {
			out = append(out, x+"*")
		}
		return strings.Join(out, ",")
	}
	tests := []struct {
		opts ListOptions
		want string
		next string
	}{
		{ListOptions{}, "a/1,a/2,b,c/x/1,c/y,d", ""},
		{ListOptions{MaxResults: 2}, "a/1,a/2", "b"},
		{ListOptions{Marker: "b", MaxResults: 2}, "b,c/x/1", "c/y"},
		{ListOptions{Delimiter: "/"}, "b,d,a/*,c/*", ""},
		{ListOptions{Delimiter: "/", MaxResults: 2}, "b,a/*", "c/x/1"},
		{ListOptions{Delimiter: "/", Prefix: "c/"}, "c/y,c/x/*", ""},
		{ListOptions{Prefix: "c"}, "c/x/1,c/y", ""},
	}
	for _, tc := range tests {
		p, err := s.ListBlobs("acct", "c", tc.opts)
		if err != nil {
			t.Fatal(err)
		}
		if got := names(p); got != tc.want || p.NextMarker != tc.next {
			t.Errorf("%+v: got %s next %q, want %s next %q", tc.opts, got, p.NextMarker, tc.want, tc.next)
		}
	}
}

func TestLeases(t *testing.T) {
	s, clk, _ := newTestStore(t)
	if _, err := s.PutBlob("acct", "c", "b", Bytes([]byte("x")), HTTPHeaders{}, nil, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	res, err := s.LeaseBlob("acct", "c", "b", LeaseRequest{Action: LeaseAcquire, Duration: 15, ProposedID: "L1"}, Conditions{})
	if err != nil || res.ID != "L1" {
		t.Fatalf("acquire: %v", err)
	}
	write := func(lease string) error {
		_, err := s.SetBlobMetadata("acct", "c", "b", nil, WriteOptions{LeaseID: lease})
		return err
	}
	if err := write(""); !errors.Is(err, ErrLeaseIDMissing) {
		t.Fatalf("no lease id: %v", err)
	}
	if err := write("L2"); !errors.Is(err, ErrLeaseIDMismatch) {
		t.Fatalf("wrong lease id: %v", err)
	}
	if err := write("L1"); err != nil {
		t.Fatalf("with lease: %v", err)
	}
	steps := []struct {
		req  LeaseRequest
		want error
	}{
		{LeaseRequest{Action: LeaseAcquire, Duration: 15, ProposedID: "other"}, ErrLeaseAlreadyPresent},
		{LeaseRequest{Action: LeaseAcquire, Duration: 5}, ErrInvalidLeaseDuration},
		{LeaseRequest{Action: LeaseRenew, ID: "nope"}, ErrLeaseIDMismatchWithLeaseOp},
		{LeaseRequest{Action: LeaseRenew, ID: "L1"}, nil},
		{LeaseRequest{Action: LeaseChange, ID: "L1", ProposedID: "L3"}, nil},
		{LeaseRequest{Action: LeaseBreak, BreakPeriod: 10}, nil},
		{LeaseRequest{Action: LeaseChange, ID: "L3", ProposedID: "L4"}, ErrLeaseIsBreakingAndCannotChg},
	}
	for i, st := range steps {
		if _, err := s.LeaseBlob("acct", "c", "b", st.req, Conditions{}); !errors.Is(err, st.want) {
			t.Fatalf("step %d %v: got %v want %v", i, st.req.Action, err, st.want)
		}
	}
	b, _ := s.Blob("acct", "c", "b", ReadOptions{})
	if b.Lease.State != LeaseBreaking {
		t.Fatalf("state %s", b.Lease.State)
	}
	clk.t = clk.t.Add(11 * time.Second)
	b, _ = s.Blob("acct", "c", "b", ReadOptions{})
	if b.Lease.State != LeaseBroken {
		t.Fatalf("state after break period %s", b.Lease.State)
	}
	if err := write(""); err != nil {
		t.Fatalf("write on broken lease: %v", err)
	}
	if _, err := s.LeaseBlob("acct", "c", "b", LeaseRequest{Action: LeaseRelease, ID: "L3"}, Conditions{}); err != nil {
		t.Fatalf("release: %v", err)
	}
	// A fixed lease expires.
	if _, err := s.LeaseBlob("acct", "c", "b", LeaseRequest{Action: LeaseAcquire, Duration: 15}, Conditions{}); err != nil {
		t.Fatal(err)
	}
	clk.t = clk.t.Add(16 * time.Second)
	if err := write(""); err != nil {
		t.Fatalf("write after expiry: %v", err)
	}
}

func TestCopyAndApply(t *testing.T) {
	s, _, changes := newTestStore(t)
	if _, err := s.PutBlob("acct", "c", "src", Bytes([]byte("payload")), HTTPHeaders{ContentType: "text/plain"}, map[string]string{"a": "1"}, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	b, err := s.CopyBlob("acct", "c", "dst", CopySource{Account: "acct", Container: "c", Blob: "src", URL: "u"}, nil, WriteOptions{})
	if err != nil || body(t, b) != "payload" || b.Metadata["a"] != "1" || b.Copy.Status != "success" {
		t.Fatalf("copy: %v", err)
	}
	if _, err := s.CopyBlob("acct", "c", "dst", CopySource{Account: "acct", Container: "c", Blob: "missing"}, nil, WriteOptions{}); !errors.Is(err, ErrCannotVerifyCopySource) {
		t.Fatalf("missing source: %v", err)
	}
	if err := s.DeleteBlob("acct", "c", "src", WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	s.SetServiceProperties("acct", []byte("<x/>"))
	sec := New(Options{})
	for _, c := range *changes {
		sec.Apply(c)
	}
	if _, err := sec.Blob("acct", "c", "src", ReadOptions{}); !errors.Is(err, ErrBlobNotFound) {
		t.Fatalf("deleted blob on secondary: %v", err)
	}
	got, err := sec.Blob("acct", "c", "dst", ReadOptions{})
	if err != nil || body(t, got) != "payload" {
		t.Fatalf("copied blob on secondary: %v", err)
	}
	if string(sec.ServiceProperties("acct")) != "<x/>" {
		t.Fatal("service properties not replicated")
	}
	if err := s.DeleteContainer("acct", "c", Conditions{}); err != nil {
		t.Fatal(err)
	}
	sec.Apply((*changes)[len(*changes)-1])
	if _, err := sec.Container("acct", "c"); !errors.Is(err, ErrContainerNotFound) {
		t.Fatalf("container delete not applied: %v", err)
	}
}

type brokenReader struct{ data []byte }

func (b *brokenReader) Read(p []byte) (int, error) {
	if len(b.data) == 0 {
		return 0, io.ErrUnexpectedEOF
	}
	n := copy(p, b.data)
	b.data = b.data[n:]
	return n, nil
}

func TestReadContentErrors(t *testing.T) {
	if _, err := ReadContent(&brokenReader{data: []byte("partial")}, 100, -1); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("a broken body must be an error, got %v", err)
	}
	c, err := ReadContent(strings.NewReader("exact"), 5, -1)
	if err != nil || c.Size() != 5 || len(c.chunks) != 1 || cap(c.chunks[0].b) != 5 {
		t.Fatalf("exact hint: %v %d chunks", err, len(c.chunks))
	}
	c, err = ReadContent(strings.NewReader("longer than hinted"), 4, -1)
	if err != nil || c.Size() != 18 {
		t.Fatalf("wrong hint: %v size %d", err, c.Size())
	}
}

func TestStageBlockIDLengthMustMatch(t *testing.T) {
	s, _, _ := newTestStore(t)
	if err := s.StageBlock("acct", "c", "blob", id("aaaa"), Bytes([]byte("A")), ""); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		blockID string
		want    error
	}{
		{"same length", id("bbbb"), nil},
		{"restaged id", id("aaaa"), nil},
		{"longer", id("cccccccc"), ErrInvalidBlobOrBlock},
		{"shorter", id("d"), ErrInvalidBlobOrBlock},
	}
	for _, tc := range tests {
		if err := s.StageBlock("acct", "c", "blob", tc.blockID, Bytes([]byte("x")), ""); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
	// Another blob keeps its own length; a commit clears the staged set,
	// so the next blob version may use ids of another length.
	if err := s.StageBlock("acct", "c", "other", id("x"), Bytes([]byte("x")), ""); err != nil {
		t.Fatalf("other blob: %v", err)
	}
	if _, err := s.CommitBlockList("acct", "c", "blob", []BlockRef{{id("aaaa"), BlockLatest}}, HTTPHeaders{}, nil, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.StageBlock("acct", "c", "blob", id("cccccccc"), Bytes([]byte("x")), ""); err != nil {
		t.Fatalf("after commit: %v", err)
	}
}

// TestConcurrentWritesReplayExactly runs every kind of blob operation from
// many goroutines at once (meaningful under -race), then checks the change
// feed: sequence numbers and times strictly increase, every write got an
// ETag of its own, and replaying the feed on an empty store reproduces the
// primary exactly.
func TestConcurrentWritesReplayExactly(t *testing.T) {
	var (
		feed []Change
		mu   sync.Mutex
		tags = map[string]bool{}
	)
	s := New(Options{OnCommit: func(c Change) { feed = append(feed, c) }})
	if _, err := s.CreateContainer("acct", "c", nil, ""); err != nil {
		t.Fatal(err)
	}
	record := func(b *Blob, err error) {
		if err != nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if tags[b.ETag] {
			t.Errorf("ETag %s handed out twice", b.ETag)
		}
		tags[b.ETag] = true
	}
	const workers, ops = 8, 150
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < ops; i++ {
				name := fmt.Sprint("b", (w+i)%5)
				switch i % 8 {
				case 0:
					record(s.PutBlob("acct", "c", name, Bytes([]byte{byte(w), byte(i)}), HTTPHeaders{}, nil, WriteOptions{}))
				case 1:
					bid := id(fmt.Sprintf("%04d", w))
					if err := s.StageBlock("acct", "c", name, bid, Bytes([]byte("blk")), ""); err == nil {
						record(s.CommitBlockList("acct", "c", name, []BlockRef{{bid, BlockLatest}}, HTTPHeaders{}, nil, WriteOptions{}))
					}
				case 2:
					record(s.SetBlobMetadata("acct", "c", name, map[string]string{"w": fmt.Sprint(w)}, WriteOptions{}))
				case 3:
					if r, err := s.LeaseBlob("acct", "c", name, LeaseRequest{Action: LeaseAcquire, Duration: -1}, Conditions{}); err == nil {
						record(s.SetBlobHTTPHeaders("acct", "c", name, HTTPHeaders{ContentType: "x/y"}, WriteOptions{LeaseID: r.ID}))
						_, _ = s.LeaseBlob("acct", "c", name, LeaseRequest{Action: LeaseRelease, ID: r.ID}, Conditions{})
					}
				case 4:
					if _, err := s.ListBlobs("acct", "c", ListOptions{MaxResults: 2}); err != nil {
						t.Error(err)
					}
				case 5:
					if b, err := s.Blob("acct", "c", name, ReadOptions{}); err == nil {
						var buf bytes.Buffer
						_, _ = b.Content.WriteTo(&buf)
					}
				case 6:
					_ = s.DeleteBlob("acct", "c", name, WriteOptions{})
				case 7:
					record(s.CopyBlob("acct", "c", name+"copy", CopySource{Account: "acct", Container: "c", Blob: name}, nil, WriteOptions{}))
				}
			}
		}(w)
	}
	wg.Wait()
	for i := 1; i < len(feed); i++ {
		if feed[i].Seq <= feed[i-1].Seq || !feed[i].Time.After(feed[i-1].Time) || feed[i].Clock.Before(feed[i-1].Clock) || feed[i].Time.Before(feed[i].Clock) {
			t.Fatalf("change %d out of order: %+v after %+v", i, feed[i], feed[i-1])
		}
	}
	replica := New(Options{})
	for _, c := range feed {
		replica.Apply(c)
	}
	want, _ := s.ListBlobs("acct", "c", ListOptions{})
	got, _ := replica.ListBlobs("acct", "c", ListOptions{})
	if len(got.Blobs) != len(want.Blobs) {
		t.Fatalf("replica has %d blobs, primary %d", len(got.Blobs), len(want.Blobs))
	}
	for i := range want.Blobs {
		if got.Blobs[i] != want.Blobs[i] {
			t.Fatalf("replica differs at %s", want.Blobs[i].Name)
		}
	}
}

// TestReadsSurviveOverwrite: a reader holding a blob keeps its bytes while
// the blob is overwritten, also when the new version reuses its blocks.
func TestReadsSurviveOverwrite(t *testing.T) {
	s, _, _ := newTestStore(t)
	for _, b := range []string{"aaaa", "bbbb"} {
		if err := s.StageBlock("acct", "c", "blob", id(b), Bytes([]byte(b)), ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.CommitBlockList("acct", "c", "blob", []BlockRef{{id("aaaa"), BlockLatest}, {id("bbbb"), BlockLatest}}, HTTPHeaders{}, nil, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	held, err := s.Blob("acct", "c", "blob", ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r := held.Content.Reader(0, held.Size())
	first := make([]byte, 2)
	if _, err := io.ReadFull(r, first); err != nil {
		t.Fatal(err)
	}
	if err := s.StageBlock("acct", "c", "blob", id("cccc"), Bytes([]byte("cccc")), ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CommitBlockList("acct", "c", "blob", []BlockRef{{id("bbbb"), BlockCommitted}, {id("cccc"), BlockLatest}}, HTTPHeaders{}, nil, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutBlob("acct", "c", "blob", Bytes([]byte("zzzzzzzz")), HTTPHeaders{}, nil, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(first) + string(rest); got != "aaaabbbb" {
		t.Fatalf("held version reads %q", got)
	}
}
