package store

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"testing"
)

func TestAppendBlockRules(t *testing.T) {
	s, _, _ := newTestStore(t)
	if _, err := s.CreateAppendBlob("acct", "c", "a", HTTPHeaders{ContentType: "text/plain"}, map[string]string{"k": "v"}, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutBlob("acct", "c", "blk", Bytes([]byte("x")), HTTPHeaders{}, nil, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	none := AppendOptions{AppendPos: -1, MaxSize: -1}
	with := func(pos, max int64) AppendOptions { return AppendOptions{AppendPos: pos, MaxSize: max} }
	tests := []struct {
		name    string
		blob    string
		data    string
		o       AppendOptions
		wantErr error
		wantOff int64
	}{
		{"first", "a", "abc", none, nil, 0},
		{"at position", "a", "de", with(3, -1), nil, 3},
		{"wrong position", "a", "x", with(4, -1), ErrAppendPositionConditionNotMet, 0},
		{"within max size", "a", "f", with(-1, 6), nil, 5},
		{"beyond max size", "a", "g", with(-1, 6), ErrMaxBlobSizeConditionNotMet, 0},
		{"if-match fails", "a", "g", AppendOptions{WriteOptions: WriteOptions{Conditions: Conditions{IfMatch: `"0x0"`}}, AppendPos: -1, MaxSize: -1}, ErrConditionNotMet, 0},
		{"lease id without a lease", "a", "g", AppendOptions{WriteOptions: WriteOptions{LeaseID: "x"}, AppendPos: -1, MaxSize: -1}, ErrLeaseNotPresent, 0},
		{"block blob", "blk", "g", none, ErrInvalidBlobType, 0},
		{"missing", "none", "g", none, ErrBlobNotFound, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, off, err := s.AppendBlock("acct", "c", tt.blob, Bytes([]byte(tt.data)), tt.o)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err %v, want %v", err, tt.wantErr)
			}
			if err == nil && (off != tt.wantOff || b.Type() != AppendBlob) {
				t.Errorf("offset %d type %s", off, b.Type())
			}
		})
	}
	b, err := s.Blob("acct", "c", "a", ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if body(t, b) != "abcdef" || b.CommittedBlockCount != 3 || b.Headers.ContentType != "text/plain" || b.Metadata["k"] != "v" {
		t.Fatalf("blob %q %+v", body(t, b), b)
	}
	// Block blob operations refuse the append blob.
	if err := s.StageBlock("acct", "c", "a", id("b1"), Bytes([]byte("x")), ""); !errors.Is(err, ErrInvalidBlobType) {
		t.Errorf("StageBlock: %v", err)
	}
	if _, err := s.CommitBlockList("acct", "c", "a", nil, HTTPHeaders{}, nil, WriteOptions{}); !errors.Is(err, ErrInvalidBlobType) {
		t.Errorf("CommitBlockList: %v", err)
	}
	// Sealed.
	if _, err := s.SealBlob("acct", "c", "a", with(2, -1)); !errors.Is(err, ErrAppendPositionConditionNotMet) {
		t.Errorf("seal at a wrong position: %v", err)
	}
	if _, err := s.SealBlob("acct", "c", "a", none); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.AppendBlock("acct", "c", "a", Bytes([]byte("x")), none); !errors.Is(err, ErrBlobIsSealed) {
		t.Errorf("append to sealed: %v", err)
	}
	if _, err := s.SealBlob("acct", "c", "blk", none); !errors.Is(err, ErrInvalidBlobType) {
		t.Errorf("seal a block blob: %v", err)
	}
	// The block count limit.
	big := &Blob{Name: "full", BlobType: AppendBlob, CommittedBlockCount: MaxAppendBlocks, ETag: `"0x1"`}
	s.Apply(Change{Kind: PutBlob, Account: "acct", Container: "c", BlobName: "full", Blob: big})
	if _, _, err := s.AppendBlock("acct", "c", "full", Bytes([]byte("x")), none); !errors.Is(err, ErrAppendBlockCountExceeded) {
		t.Errorf("append beyond the block count: %v", err)
	}
}

// TestAppendReplicates: every append and the seal are committed writes
// whose changes carry the whole new record, and replaying them in order
// rebuilds the blob exactly.
func TestAppendReplicates(t *testing.T) {
	s, _, changes := newTestStore(t)
	if _, err := s.CreateAppendBlob("acct", "c", "log", HTTPHeaders{}, nil, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{"a", "bb", "ccc"} {
		if _, _, err := s.AppendBlock("acct", "c", "log", Bytes([]byte(part)), AppendOptions{AppendPos: -1, MaxSize: -1}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.SealBlob("acct", "c", "log", AppendOptions{AppendPos: -1, MaxSize: -1}); err != nil {
		t.Fatal(err)
	}
	sec := New(Options{})
	var seq uint64
	for _, ch := range *changes {
		if ch.Seq <= seq {
			t.Fatalf("change %d after %d", ch.Seq, seq)
		}
		seq = ch.Seq
		sec.Apply(ch)
	}
	last := (*changes)[len(*changes)-1]
	if last.Kind != PutBlob || !last.Blob.Sealed || last.Blob.CommittedBlockCount != 3 {
		t.Fatalf("last change %+v", last)
	}
	p, _ := s.Blob("acct", "c", "log", ReadOptions{})
	r, err := sec.Blob("acct", "c", "log", ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if body(t, r) != "abbccc" || r.ETag != p.ETag || !r.Sealed || r.Type() != AppendBlob {
		t.Fatalf("replayed %q %+v", body(t, r), r)
	}
}

// TestAppendContentStaysCompact: many small appends keep the content's
// chunk count near size/appendSegment, large ones keep their chunks, and
// no earlier version changes.
func TestAppendContentStaysCompact(t *testing.T) {
	s, _, _ := newTestStore(t)
	if _, err := s.CreateAppendBlob("acct", "c", "a", HTTPHeaders{}, nil, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var want []byte
	var early *Blob
	var earlyBody string
	for i := range 1200 {
		n := 1 + rng.IntN(300)
		if i%300 == 299 {
			n = appendSegment + rng.IntN(appendSegment)
		}
		part := make([]byte, n)
		for j := range part {
			part[j] = byte(rng.IntN(256))
		}
		b, _, err := s.AppendBlock("acct", "c", "a", Bytes(part), AppendOptions{AppendPos: -1, MaxSize: -1})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, part...)
		if i == 100 {
			early, earlyBody = b, string(want)
		}
		if limit := 2*int(b.Size()/appendSegment) + 2; len(b.Content.chunks) > limit {
			t.Fatalf("after %d appends (%d bytes): %d chunks, want at most %d", i+1, b.Size(), len(b.Content.chunks), limit)
		}
	}
	b, _ := s.Blob("acct", "c", "a", ReadOptions{})
	if got := body(t, b); !bytes.Equal([]byte(got), want) {
		t.Fatalf("content differs after %d bytes", len(want))
	}
	if body(t, early) != earlyBody {
		t.Fatal("an earlier version changed")
	}
}

// TestAppendRefusesDamagedTail: a small append rewrites the end of the blob
// into a new content file. When the file holding that end is damaged on
// disk, the append fails with ErrCorruptContent instead of copying the
// damaged bytes into a file with a fresh checksum, which would then be
// served as right.
func TestAppendRefusesDamagedTail(t *testing.T) {
	dir := t.TempDir()
	files, err := OpenFiles(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := New(Options{Files: files})
	if _, err := s.CreateContainer("acct", "c", nil, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateAppendBlob("acct", "c", "a", HTTPHeaders{}, nil, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	none := AppendOptions{AppendPos: -1, MaxSize: -1}
	first, err := s.NewContent([]byte("first block"))
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := s.AppendBlock("acct", "c", "a", first, none)
	if err != nil {
		t.Fatal(err)
	}
	// Flip a byte of the file that holds the blob's bytes: same length.
	tail := b.Content.chunks[len(b.Content.chunks)-1].f.id
	path := files.path(tail)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[0] ^= 0xff
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	second, err := s.NewContent([]byte(", second"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.AppendBlock("acct", "c", "a", second, none); !errors.Is(err, ErrCorruptContent) {
		t.Fatalf("append after the tail was damaged: %v, want ErrCorruptContent", err)
	}
	cur, err := s.Blob("acct", "c", "a", ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := cur.Content.WriteTo(&buf); !errors.Is(err, ErrCorruptContent) {
		t.Fatalf("read of the damaged blob: %q, %v; want ErrCorruptContent", buf.String(), err)
	}
}
