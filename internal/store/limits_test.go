package store

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func blockID(i int) string { return fmt.Sprintf("%08d", i) } // base64-valid: 8 chars, 6 bytes

func TestStagedBlocksExpireAfterSevenDays(t *testing.T) {
	s, clk, _ := newTestStore(t)
	if err := s.StageBlock("acct", "c", "b", blockID(1), Bytes([]byte("old")), ""); err != nil {
		t.Fatal(err)
	}
	clk.t = clk.t.Add(StagedBlockTTL - time.Second)
	if bl, err := s.BlockList("acct", "c", "b", ReadOptions{}); err != nil || len(bl.Uncommitted) != 1 {
		t.Fatalf("before a week: %+v, %v; want the block kept", bl, err)
	}
	clk.t = clk.t.Add(time.Second)
	if _, err := s.BlockList("acct", "c", "b", ReadOptions{}); !errors.Is(err, ErrBlobNotFound) {
		t.Fatalf("after a week: Get Block List err %v, want BlobNotFound", err)
	}
	if _, err := s.CommitBlockList("acct", "c", "b", []BlockRef{{ID: blockID(1), Mode: BlockUncommitted}}, HTTPHeaders{}, nil, WriteOptions{}); !errors.Is(err, ErrInvalidBlockList) {
		t.Fatalf("commit of an expired block: err %v, want InvalidBlockList", err)
	}
	// A new block of another id length is accepted: the expired set is gone.
	if err := s.StageBlock("acct", "c", "b", "AAAA", Bytes([]byte("new")), ""); err != nil {
		t.Fatalf("staging after expiry: %v", err)
	}
}

func TestStagedBlockTimerRestartsOnPutBlock(t *testing.T) {
	s, clk, _ := newTestStore(t)
	for i := range 2 {
		if err := s.StageBlock("acct", "c", "b", blockID(i), Bytes([]byte("x")), ""); err != nil {
			t.Fatal(err)
		}
		clk.t = clk.t.Add(StagedBlockTTL - time.Hour)
	}
	bl, err := s.BlockList("acct", "c", "b", ReadOptions{})
	if err != nil || len(bl.Uncommitted) != 2 {
		t.Fatalf("got %+v, %v; want both blocks, the second Put Block restarted the week", bl, err)
	}
}

func TestStagedBytesCapPerAccount(t *testing.T) {
	clk := &fakeNow{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	s := New(Options{Now: clk.now, MaxStagedBytes: 10})
	for _, a := range []string{"one", "two"} {
		if _, err := s.CreateContainer(a, "c", nil, ""); err != nil {
			t.Fatal(err)
		}
	}
	six := Bytes([]byte("123456"))
	if err := s.StageBlock("one", "c", "x", blockID(1), six, ""); err != nil {
		t.Fatal(err)
	}
	if err := s.StageBlock("one", "c", "y", blockID(1), six, ""); !errors.Is(err, ErrStagedBytesExceeded) {
		t.Fatalf("second 6 bytes: err %v, want ErrStagedBytesExceeded", err)
	}
	// Another account has its own budget.
	if err := s.StageBlock("two", "c", "y", blockID(1), six, ""); err != nil {
		t.Fatalf("other account: %v", err)
	}
	// Replacing a block counts only the difference.
	if err := s.StageBlock("one", "c", "x", blockID(1), Bytes([]byte("1234567890")), ""); err != nil {
		t.Fatalf("replace within budget: %v", err)
	}
	// Committing frees the bytes.
	if _, err := s.CommitBlockList("one", "c", "x", []BlockRef{{ID: blockID(1), Mode: BlockLatest}}, HTTPHeaders{}, nil, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.StageBlock("one", "c", "y", blockID(1), six, ""); err != nil {
		t.Fatalf("after commit: %v", err)
	}
	// Expired blocks are swept when the budget is reached.
	clk.t = clk.t.Add(StagedBlockTTL)
	if err := s.StageBlock("one", "c", "z", blockID(1), Bytes([]byte("1234567890")), ""); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
	// Deleting the container frees its blocks.
	if err := s.DeleteContainer("one", "c", Conditions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateContainer("one", "c", nil, ""); err != nil {
		t.Fatal(err)
	}
	if err := s.StageBlock("one", "c", "z", blockID(1), Bytes([]byte("1234567890")), ""); err != nil {
		t.Fatalf("after container delete: %v", err)
	}
}

func TestCommitBlockListTooLong(t *testing.T) {
	s, _, _ := newTestStore(t)
	refs := make([]BlockRef, MaxCommittedBlocks+1)
	for i := range refs {
		refs[i] = BlockRef{ID: blockID(i), Mode: BlockLatest}
	}
	if _, err := s.CommitBlockList("acct", "c", "b", refs, HTTPHeaders{}, nil, WriteOptions{}); !errors.Is(err, ErrBlockListTooLong) {
		t.Fatalf("err %v, want ErrBlockListTooLong", err)
	}
}

func TestUncommittedBlockCountLimit(t *testing.T) {
	s, _, _ := newTestStore(t)
	for i := range MaxUncommittedBlocks {
		if err := s.StageBlock("acct", "c", "b", blockID(i), Content{}, ""); err != nil {
			t.Fatalf("block %d: %v", i, err)
		}
	}
	if err := s.StageBlock("acct", "c", "b", blockID(MaxUncommittedBlocks), Content{}, ""); !errors.Is(err, ErrBlockCountExceeded) {
		t.Fatalf("err %v, want ErrBlockCountExceeded", err)
	}
	// Restaging an existing id is not a new block.
	if err := s.StageBlock("acct", "c", "b", blockID(7), Content{}, ""); err != nil {
		t.Fatal(err)
	}
}

// TestListingDoesNotBlockOtherAccounts holds a listing of one account at
// the point where it owns that account's lock, and checks that writes to
// another account go through meanwhile. With one lock for every account,
// the write waited for the listing.
func TestListingDoesNotBlockOtherAccounts(t *testing.T) {
	s := New(Options{})
	for _, a := range []string{"busy", "other"} {
		if _, err := s.CreateContainer(a, "c", nil, ""); err != nil {
			t.Fatal(err)
		}
	}
	listing, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	s.testHookListed = func() {
		once.Do(func() {
			close(listing)
			<-release
		})
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.ListBlobs("busy", "c", ListOptions{})
		done <- err
	}()
	<-listing
	wrote := make(chan error, 1)
	go func() {
		_, err := s.PutBlob("other", "c", "b", Bytes([]byte("x")), HTTPHeaders{}, nil, WriteOptions{})
		wrote <- err
	}()
	select {
	case err := <-wrote:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		close(release)
		t.Fatal("a write to another account waited for a listing")
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentServicePropertiesUpdatesAreNotLost runs read-modify-write
// updates concurrently: each must see the others' results.
func TestConcurrentServicePropertiesUpdatesAreNotLost(t *testing.T) {
	s := New(Options{})
	const n = 64
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = s.UpdateServiceProperties("acct", func(cur []byte) ([]byte, error) {
				return append(append([]byte(nil), cur...), fmt.Sprintf("<e%d/>", i)...), nil
			})
		}()
	}
	wg.Wait()
	doc := string(s.ServiceProperties("acct"))
	for i := range n {
		if !strings.Contains(doc, fmt.Sprintf("<e%d/>", i)) {
			t.Errorf("update %d lost", i)
		}
	}
	if err := s.UpdateServiceProperties("acct", func([]byte) ([]byte, error) { return nil, errors.New("no") }); err == nil {
		t.Fatal("an update's error was not returned")
	}
	if got := string(s.ServiceProperties("acct")); got != doc {
		t.Fatal("a failed update changed the document")
	}
}

func TestListBlobsSeeksPastDirectories(t *testing.T) {
	s, _, _ := newTestStore(t)
	for _, n := range []string{"a/1", "a/2", "a\xff/1", "a\xff\xff", "b"} {
		if _, err := s.PutBlob("acct", "c", n, Content{}, HTTPHeaders{}, nil, WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	p, err := s.ListBlobs("acct", "c", ListOptions{Delimiter: "/"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range p.Blobs {
		got = append(got, b.Name)
	}
	want := "a\xff\xff,b|a/,a\xff/"
	if g := strings.Join(got, ",") + "|" + strings.Join(p.Prefixes, ","); g != want {
		t.Fatalf("got %q, want %q", g, want)
	}
	p, _ = s.ListBlobs("acct", "c", ListOptions{Delimiter: "\xff"})
	if strings.Join(p.Prefixes, ",") != "a\xff" || len(p.Blobs) != 3 {
		t.Fatalf("0xff delimiter: %+v", p)
	}
}
