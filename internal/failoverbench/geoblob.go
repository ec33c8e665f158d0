package failoverbench

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"

	"github.com/geoblob/geoblob"
)

// This file is the only one that uses geoblob's API.

// newGeoblobClient builds client (a): geoblob.DefaultConfig() and the
// ClientOptions o (the SDK's defaults with a wire-recording transport).
// transitions counts breaker transitions.
func newGeoblobClient(ep endpoints, o *azblob.ClientOptions, transitions *atomic.Int64) (reader, error) {
	cfg := geoblob.DefaultConfig()
	cfg.SecondaryURL = ep.secondaryURL
	cfg.OnStateChange = func(geoblob.StateChange) { transitions.Add(1) }
	// The routing is the default's; only its log lines are kept out of the
	// benchmark's output.
	cfg.Logger = slog.New(slog.DiscardHandler)
	c, router, err := geoblob.NewClientWithSharedKey(ep.primaryURL, ep.account, ep.key, cfg, o)
	if err != nil {
		return nil, err
	}
	return &geoblobReader{azblobReader: azblobReader{c: c}, router: router}, nil
}

// geoblobReader reads whole blobs as azblobReader does, and chunked ones
// with geoblob.DownloadBuffer, the version-safe download.
type geoblobReader struct {
	azblobReader
	router *geoblob.Router
}

func (g *geoblobReader) buffer(ctx context.Context, container, name string, buf []byte, o *blob.DownloadBufferOptions) (int64, error) {
	return geoblob.DownloadBuffer(ctx, g.c, container, name, buf, o)
}

// Close stops the Router's background prober, so that it does not count as
// goroutine growth.
func (g *geoblobReader) Close() error { return g.router.Close() }

// isBothUnavailable reports whether err is geoblob's ErrBothUnavailable.
func isBothUnavailable(err error) bool { return errors.Is(err, geoblob.ErrBothUnavailable) }
