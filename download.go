package geoblob

import (
	"context"
	"errors"
	"os"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
)

// maxRestarts bounds how often the download helpers start over.
const maxRestarts = 2

// DownloadBuffer downloads blob blobName of container into buf like
// azblob.Client.DownloadBuffer, but never mixes bytes of two blob versions
// and survives a location flip. client is the *azblob.Client a geoblob
// constructor returned (its own DownloadBuffer lacks this guarantee for an
// explicit Range); o may be nil.
//
// azblob reads the first chunk and sends the others with If-Match set to
// its ETag, except with an explicit Range (Count > 0), where the chunks
// carry no condition at all and could come from two versions on two
// locations. DownloadBuffer therefore reads the ETag first (Get Blob
// Properties) for an explicit Range and sets If-Match itself. When a chunk
// then fails because that version is not available where the chunk was
// read (412 ConditionNotMet, or both locations failing), the whole download
// restarts, so every byte comes from one version. It restarts at most
// twice. A download with the caller's own If-Match is never restarted: its
// 412 is the answer.
func DownloadBuffer(ctx context.Context, client *azblob.Client, container, blobName string, buf []byte, o *azblob.DownloadBufferOptions) (int64, error) {
	c := client.ServiceClient().NewContainerClient(container).NewBlobClient(blobName)
	var opts blob.DownloadBufferOptions
	if o != nil {
		opts = *o
	}
	return restartable(ctx, c, downloadSpec{rng: opts.Range, ac: &opts.AccessConditions, cpk: opts.CPKInfo},
		func() (int64, error) { return c.DownloadBuffer(ctx, buf, &opts) })
}

// DownloadFile downloads blob blobName of container into f like
// azblob.Client.DownloadFile, with DownloadBuffer's guarantees.
func DownloadFile(ctx context.Context, client *azblob.Client, container, blobName string, f *os.File, o *azblob.DownloadFileOptions) (int64, error) {
	c := client.ServiceClient().NewContainerClient(container).NewBlobClient(blobName)
	var opts blob.DownloadFileOptions
	if o != nil {
		opts = *o
	}
	return restartable(ctx, c, downloadSpec{rng: opts.Range, ac: &opts.AccessConditions, cpk: opts.CPKInfo},
		func() (int64, error) { return c.DownloadFile(ctx, f, &opts) })
}

// downloadSpec is what restartable needs of a download's options; ac
// points into the options copy the download runs with.
type downloadSpec struct {
	rng blob.HTTPRange
	ac  **blob.AccessConditions
	cpk *blob.CPKInfo
}

func (d downloadSpec) userIfMatch() bool {
	ac := *d.ac
	return ac != nil && ac.ModifiedAccessConditions != nil && ac.ModifiedAccessConditions.IfMatch != nil
}

// pinVersion reads the blob's ETag and makes every chunk request of the
// download conditional on it, leaving the caller's options untouched.
func (d downloadSpec) pinVersion(ctx context.Context, c *blob.Client, user *blob.AccessConditions) error {
	props, err := c.GetProperties(ctx, &blob.GetPropertiesOptions{AccessConditions: user, CPKInfo: d.cpk})
	if err != nil {
		return err
	}
	ac := blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{}}
	if user != nil {
		ac.LeaseAccessConditions = user.LeaseAccessConditions
		if user.ModifiedAccessConditions != nil {
			m := *user.ModifiedAccessConditions
			ac.ModifiedAccessConditions = &m
		}
	}
	ac.ModifiedAccessConditions.IfMatch = props.ETag
	*d.ac = &ac
	return nil
}

func restartable(ctx context.Context, c *blob.Client, d downloadSpec, do func() (int64, error)) (int64, error) {
	userCondition := d.userIfMatch()
	user := *d.ac
	for i := 0; ; i++ {
		if !userCondition && d.rng.Count > 0 {
			if err := d.pinVersion(ctx, c, user); err != nil {
				return 0, err
			}
		}
		n, err := do()
		if err == nil || userCondition || i == maxRestarts || ctx.Err() != nil {
			return n, err
		}
		if !bloberror.HasCode(err, bloberror.ConditionNotMet) && !isBoth(err) {
			return n, err
		}
	}
}

func isBoth(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == ErrBothUnavailable
}
