package store

import (
	"bytes"
	"fmt"
)

// BlobType is the type of a blob, as x-ms-blob-type names it.
type BlobType string

// Blob types. The zero value is a block blob.
const (
	BlockBlob  BlobType = "BlockBlob"
	AppendBlob BlobType = "AppendBlob"
)

// Type is the blob's type, BlockBlob when BlobType is unset.
func (b *Blob) Type() BlobType {
	if b.BlobType == "" {
		return BlockBlob
	}
	return b.BlobType
}

// MaxAppendBlocks is the most blocks an append blob may hold, as in Azure.
const MaxAppendBlocks = 50000

// Append blob errors, named after their Azure error codes.
var (
	ErrInvalidBlobType               = newErr("InvalidBlobType", "The blob type is invalid for this operation.")
	ErrBlobIsSealed                  = newErr("BlobIsSealed", "The blob is sealed: it can no longer be appended to.")
	ErrAppendPositionConditionNotMet = newErr("AppendPositionConditionNotMet", "The append position condition specified was not met.")
	ErrMaxBlobSizeConditionNotMet    = newErr("MaxBlobSizeConditionNotMet", "The max blob size condition specified was not met.")
	ErrAppendBlockCountExceeded      = newErr("BlockCountExceedsLimit", "The committed block count cannot exceed the maximum limit of 50,000 blocks.")
)

// AppendOptions qualify Append Block and Seal: the write conditions and
// lease, and the append blob conditions x-ms-blob-condition-appendpos and
// x-ms-blob-condition-maxsize (negative when absent).
type AppendOptions struct {
	WriteOptions
	AppendPos int64
	MaxSize   int64
}

// CreateAppendBlob creates an empty append blob (Put Blob with
// x-ms-blob-type: AppendBlob), replacing any blob of that name.
func (s *Store) CreateAppendBlob(acct, cname, name string, h HTTPHeaders, meta map[string]string, o WriteOptions) (*Blob, error) {
	return s.writeBlob(acct, cname, name, o, true, func(_ *Blob, a *account, c *container) (*Blob, error) {
		a.dropStaged(c, name)
		return &Blob{Headers: h, Metadata: meta, BlobType: AppendBlob}, nil
	})
}

// checkAppendable checks that cur is an append blob that o lets the caller
// append to or seal.
func (o AppendOptions) checkAppendable(cur *Blob) error {
	switch {
	case cur.Type() != AppendBlob:
		return ErrInvalidBlobType
	case o.AppendPos >= 0 && o.AppendPos != cur.Size():
		return ErrAppendPositionConditionNotMet
	}
	return nil
}

// AppendBlock appends content to an append blob (Append Block). It returns
// the new version and the offset the block was written at. Every append is
// a committed write: it replicates as a PutBlob change with the whole new
// record.
func (s *Store) AppendBlock(acct, cname, name string, content Content, o AppendOptions) (*Blob, int64, error) {
	var offset int64
	b, err := s.writeBlob(acct, cname, name, o.WriteOptions, false, func(cur *Blob, _ *account, _ *container) (*Blob, error) {
		if cur.Type() == AppendBlob && cur.Sealed {
			return nil, ErrBlobIsSealed
		}
		if err := o.checkAppendable(cur); err != nil {
			return nil, err
		}
		switch {
		case o.MaxSize >= 0 && cur.Size()+content.Size() > o.MaxSize:
			return nil, ErrMaxBlobSizeConditionNotMet
		case cur.CommittedBlockCount >= MaxAppendBlocks:
			return nil, ErrAppendBlockCountExceeded
		}
		offset = cur.Size()
		data, err := s.appendContent(cur.Content, content)
		if err != nil {
			return nil, err
		}
		b := cur.clone()
		b.Content = data
		b.CommittedBlockCount++
		return b, nil
	})
	return b, offset, err
}

// SealBlob seals an append blob (Seal): later appends fail with
// ErrBlobIsSealed. Sealing a sealed blob succeeds and changes nothing but
// its ETag and Last-Modified, like any write.
func (s *Store) SealBlob(acct, cname, name string, o AppendOptions) (*Blob, error) {
	return s.writeBlob(acct, cname, name, o.WriteOptions, false, func(cur *Blob, _ *account, _ *container) (*Blob, error) {
		if err := o.checkAppendable(cur); err != nil {
			return nil, err
		}
		b := cur.clone()
		b.Sealed = true
		return b, nil
	})
}

// checkBlockBlob refuses block blob operations (Put Block, Put Block List)
// on an existing blob of another type.
func checkBlockBlob(cur *Blob) error {
	if cur != nil && cur.Type() != BlockBlob {
		return ErrInvalidBlobType
	}
	return nil
}

// PutCopiedBlob writes a block blob whose content was read from a copy
// source (Copy Blob From URL): like PutBlob, and it records how the blob
// was copied.
func (s *Store) PutCopiedBlob(acct, cname, name string, content Content, h HTTPHeaders, meta map[string]string, cp CopyInfo, o WriteOptions) (*Blob, error) {
	return s.writeBlob(acct, cname, name, o, true, func(_ *Blob, a *account, c *container) (*Blob, error) {
		a.dropStaged(c, name)
		if cp.CompletionTime.IsZero() {
			cp.CompletionTime = s.now().UTC()
		}
		return &Blob{Content: content, Headers: h, Metadata: meta, Copy: &cp}, nil
	})
}

// SourceBlob returns a blob of the store read as a copy source: it checks
// src's conditions and answers ErrCannotVerifyCopySource when the blob or
// its container does not exist, and SourceConditionNotMet when a
// condition fails.
func (s *Store) SourceBlob(src CopySource) (*Blob, error) {
	return s.copySourceBlob(src)
}

// appendSegment is the granularity at which small appends are merged.
const appendSegment = 64 << 10

// appendContent returns cur followed by add. Every version of an append
// blob has its own list of chunks, and a pending replication keeps each
// version alive, so a blob grown by many small appends must not hold one
// chunk per append: a small block is merged with the bytes after the last
// appendSegment boundary into one new chunk of less than two segments,
// which keeps the chunk count near size/appendSegment. Blocks of a segment
// or more keep their own chunks. Earlier versions are never modified.
func (s *Store) appendContent(cur, add Content) (Content, error) {
	if add.Size() >= appendSegment {
		return Concat(cur, add), nil
	}
	size := cur.Size()
	tailStart := size / appendSegment * appendSegment
	tail := size - tailStart
	// WriteRange, not Reader: it checks content files against their
	// checksums, so damaged bytes on disk fail the append (with
	// ErrCorruptContent) instead of being copied into a new file whose
	// fresh checksum would vouch for them.
	merged := bytes.NewBuffer(make([]byte, 0, tail+add.Size()))
	if _, err := cur.WriteRange(merged, tailStart, tail); err != nil {
		return Content{}, fmt.Errorf("store: reading the end of the append blob: %w", err)
	}
	if _, err := add.WriteRange(merged, 0, add.Size()); err != nil {
		return Content{}, fmt.Errorf("store: reading the appended block: %w", err)
	}
	tailContent, err := s.NewContent(merged.Bytes()) // a content file with a data directory
	if err != nil {
		return Content{}, err
	}
	return Concat(cur.Slice(0, tailStart), tailContent), nil
}
