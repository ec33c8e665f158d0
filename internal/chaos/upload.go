package chaos

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"fmt"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
)

// Method is how Upload sends a payload.
type Method int

// Upload methods.
const (
	// PutBlob sends the payload in one Put Blob (azblob UploadBuffer).
	PutBlob Method = iota
	// Blocks stages the payload as blocks of BlockSize bytes, a few at a
	// time, then commits them with Put Block List.
	Blocks
	// Stream uses azblob UploadStream, whose blocks are at least 1 MiB.
	Stream
)

func (m Method) String() string {
	switch m {
	case PutBlob:
		return "put-blob"
	case Blocks:
		return "blocks"
	case Stream:
		return "stream"
	}
	return fmt.Sprintf("Method(%d)", int(m))
}

// BlockSize is the block size of the Blocks method: small, so that a
// payload of a few hundred KiB takes several Put Block requests.
const BlockSize = 32 << 10

// Upload writes data as blob name of container with the given method,
// setting the blob's Content-MD5 to the MD5 of data, through the official
// SDK. It returns nil only once the write has been acknowledged.
func Upload(ctx context.Context, c *azblob.Client, container, name string, ver uint64, data []byte, m Method) error {
	sum := md5.Sum(data)
	headers := &blob.HTTPHeaders{BlobContentMD5: sum[:]}
	switch m {
	case PutBlob:
		_, err := c.UploadBuffer(ctx, container, name, data, &azblob.UploadBufferOptions{HTTPHeaders: headers})
		return err
	case Stream:
		_, err := c.UploadStream(ctx, container, name, bytes.NewReader(data), &azblob.UploadStreamOptions{
			BlockSize: 1 << 20, Concurrency: 2, HTTPHeaders: headers})
		return err
	}
	bb := c.ServiceClient().NewContainerClient(container).NewBlockBlobClient(name)
	var ids []string
	for off := 0; off < len(data) || off == 0; off += BlockSize {
		// Every block ID of a blob has the same length; the version in
		// it keeps concurrent writers of one blob apart.
		ids = append(ids, base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "v%020d-b%06d", ver, len(ids))))
		if len(data) == 0 {
			break
		}
	}
	// Three blocks in flight at a time; the first failure cancels the rest.
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		sem  = make(chan struct{}, 3)
	)
	for i, id := range ids {
		chunk := data[min(i*BlockSize, len(data)):min((i+1)*BlockSize, len(data))]
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if _, err := bb.StageBlock(sctx, id, nopCloser{bytes.NewReader(chunk)}, nil); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				cancel()
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return errs[0]
	}
	_, err := bb.CommitBlockList(ctx, ids, &blockblob.CommitBlockListOptions{HTTPHeaders: headers})
	return err
}

// nopCloser is the io.ReadSeekCloser StageBlock wants.
type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }
