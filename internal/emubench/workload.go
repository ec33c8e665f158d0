package emubench

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
)

// benchContainer holds the small and large blobs.
const benchContainer = "bench"

// outcome is what one phase did on one server.
type outcome struct {
	ops      int
	bytes    int64
	items    int // blobs or prefixes listed, for listing phases
	errs     int
	firstErr error
	lat      []time.Duration // per operation, when latency is reported
}

func (o *outcome) fail(err error) {
	o.errs++
	if o.firstErr == nil {
		o.firstErr = err
	}
}

// merge adds p into o.
func (o *outcome) merge(p *outcome) {
	o.ops += p.ops
	o.bytes += p.bytes
	o.items += p.items
	o.errs += p.errs
	if o.firstErr == nil {
		o.firstErr = p.firstErr
	}
	o.lat = append(o.lat, p.lat...)
}

func smallName(i int) string { return fmt.Sprintf("small-%05d", i) }

// runWorkers runs clients workers, each calling op with a global sequence
// number until maxOps calls were made or d passed, and merges what they
// did. op returns the bytes moved.
func runWorkers(ctx context.Context, clients, maxOps int, d time.Duration, op func(ctx context.Context, n int) (int64, error)) outcome {
	var next atomic.Int64
	deadline := time.Now().Add(d)
	parts := make([]outcome, clients)
	var wg sync.WaitGroup
	for w := range clients {
		wg.Go(func() {
			p := &parts[w]
			for ctx.Err() == nil {
				n := int(next.Add(1)) - 1
				if n >= maxOps || time.Now().After(deadline) {
					return
				}
				t0 := time.Now()
				b, err := op(ctx, n)
				p.lat = append(p.lat, time.Since(t0))
				p.ops++
				if err != nil {
					p.fail(err)
					continue
				}
				p.bytes += b
			}
		})
	}
	wg.Wait()
	var o outcome
	for i := range parts {
		o.merge(&parts[i])
	}
	return o
}

// smallGet reads the small blobs round robin.
func smallGet(ctx context.Context, s *server, cfg *Config, clients int) outcome {
	return runWorkers(ctx, clients, cfg.SmallMaxOps, cfg.SmallDuration, func(ctx context.Context, n int) (int64, error) {
		resp, err := s.client.DownloadStream(ctx, benchContainer, smallName(n%cfg.SmallBlobs), nil)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		got, err := io.Copy(io.Discard, resp.Body)
		if err != nil {
			return got, err
		}
		if got != cfg.SmallSize {
			return got, fmt.Errorf("small GET: %d bytes, want %d", got, cfg.SmallSize)
		}
		return got, nil
	})
}

// smallPut overwrites the small blobs round robin.
func smallPut(ctx context.Context, s *server, cfg *Config, clients int, payload []byte) outcome {
	return runWorkers(ctx, clients, cfg.SmallMaxOps, cfg.SmallDuration, func(ctx context.Context, n int) (int64, error) {
		_, err := s.client.UploadBuffer(ctx, benchContainer, smallName(n%cfg.SmallBlobs), payload, nil)
		if err != nil {
			return 0, err
		}
		return int64(len(payload)), nil
	})
}

// fill uploads count blobs named by name, from conc workers, with body.
func fill(ctx context.Context, s *server, containerName string, count, conc int, body []byte, name func(int) string) outcome {
	return runWorkers(ctx, conc, count, 24*time.Hour, func(ctx context.Context, n int) (int64, error) {
		_, err := s.client.UploadBuffer(ctx, containerName, name(n), body, nil)
		return int64(len(body)), err
	})
}

// verifySmall downloads one small blob and compares it with the payload.
func verifySmall(ctx context.Context, s *server, payload []byte) error {
	resp, err := s.client.DownloadStream(ctx, benchContainer, smallName(0), nil)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(io.LimitReader(resp.Body, int64(len(payload))+1))
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	if !bytes.Equal(got, payload) {
		return fmt.Errorf("verify: %s holds other bytes than were written", smallName(0))
	}
	return nil
}

// azblobUpload uploads the large payload reps times with UploadBuffer. For
// blobs up to 256 MiB azblob sends them as one Put Blob.
func azblobUpload(ctx context.Context, s *server, cfg *Config, name string, reps int, payload []byte) outcome {
	var o outcome
	for range reps {
		t0 := time.Now()
		_, err := s.client.UploadBuffer(ctx, benchContainer, name, payload, &azblob.UploadBufferOptions{
			BlockSize: cfg.LargeBlock, Concurrency: uint16(cfg.LargeConc),
		})
		o.lat = append(o.lat, time.Since(t0))
		o.ops++
		if err != nil {
			o.fail(err)
			continue
		}
		o.bytes += int64(len(payload))
	}
	return o
}

// azblobDownload downloads the large blob reps times with DownloadBuffer
// (ranged GETs in parallel) into dst and checks the bytes once.
func azblobDownload(ctx context.Context, s *server, cfg *Config, name string, dst, payload []byte) outcome {
	var o outcome
	for r := range cfg.LargeReps {
		t0 := time.Now()
		n, err := s.client.DownloadBuffer(ctx, benchContainer, name, dst, &blob.DownloadBufferOptions{
			BlockSize: cfg.LargeBlock, Concurrency: uint16(cfg.LargeConc),
		})
		o.lat = append(o.lat, time.Since(t0))
		o.ops++
		if err != nil {
			o.fail(err)
			continue
		}
		o.bytes += n
		if r == 0 && (n != int64(len(payload)) || !bytes.Equal(dst, payload)) {
			o.fail(fmt.Errorf("azblob download: %d bytes differ from the %d written", n, len(payload)))
		}
	}
	return o
}

// rawClient speaks Put Block, Put Block List and ranged GET with net/http
// and a container SAS, so that no SDK work is counted on the client.
type rawClient struct {
	http *http.Client
	base string // container URL
	sas  string
}

func newRawClient(s *server) (*rawClient, error) {
	now := time.Now().UTC()
	perms := (&sas.ContainerPermissions{Read: true, Write: true, Create: true}).String()
	q, err := sas.BlobSignatureValues{
		Protocol:      sas.ProtocolHTTPSandHTTP,
		StartTime:     now.Add(-time.Hour),
		ExpiryTime:    now.Add(6 * time.Hour),
		Permissions:   perms,
		ContainerName: benchContainer,
	}.SignWithSharedKey(s.cred)
	if err != nil {
		return nil, fmt.Errorf("raw client: SAS: %w", err)
	}
	return &rawClient{http: s.http, base: s.base + "/" + benchContainer, sas: q.Encode()}, nil
}

func (c *rawClient) do(ctx context.Context, method, url string, body []byte, hdr map[string]string, want int, dst []byte) (int64, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, fmt.Errorf("raw %s: %w", method, err)
	}
	req.ContentLength = int64(len(body))
	req.Header.Set("x-ms-version", "2025-11-05")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("raw %s: %w", method, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return 0, fmt.Errorf("raw %s: status %d, want %d: %s", method, resp.StatusCode, want, strings.TrimSpace(string(msg)))
	}
	if dst == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return 0, err
	}
	n, err := io.ReadFull(resp.Body, dst)
	if err != nil {
		return int64(n), fmt.Errorf("raw %s: body: %w", method, err)
	}
	return int64(n), nil
}

// blockID is the base64 ID of block i, all of one length.
func blockID(i int) string {
	return base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "block-%06d", i))
}

// ranges cuts size bytes into blocks of block bytes.
func ranges(size, block int64) [][2]int64 {
	var r [][2]int64
	for a := int64(0); a < size; a += block {
		r = append(r, [2]int64{a, min(a+block, size)})
	}
	return r
}

// parallel runs f(i) for i in [0,n) on conc workers; errors land in o.
func parallel(n, conc int, o *outcome, f func(i int) error) {
	var mu sync.Mutex
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(conc, n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					mu.Lock()
					o.fail(err)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
}

// rawUpload stages the payload as blocks in parallel and commits them,
// reps times.
func rawUpload(ctx context.Context, c *rawClient, cfg *Config, name string, payload []byte) outcome {
	var o outcome
	rs := ranges(int64(len(payload)), cfg.LargeBlock)
	var list strings.Builder
	list.WriteString(`<?xml version="1.0" encoding="utf-8"?><BlockList>`)
	for i := range rs {
		list.WriteString("<Latest>" + blockID(i) + "</Latest>")
	}
	list.WriteString("</BlockList>")
	blobURL := c.base + "/" + name + "?" + c.sas
	for range cfg.LargeReps {
		t0 := time.Now()
		errs := o.errs
		parallel(len(rs), cfg.LargeConc, &o, func(i int) error {
			_, err := c.do(ctx, http.MethodPut, blobURL+"&comp=block&blockid="+urlEscape(blockID(i)), payload[rs[i][0]:rs[i][1]], nil, http.StatusCreated, nil)
			return err
		})
		if o.errs == errs {
			if _, err := c.do(ctx, http.MethodPut, blobURL+"&comp=blocklist", []byte(list.String()), map[string]string{"Content-Type": "application/xml"}, http.StatusCreated, nil); err != nil {
				o.fail(err)
			}
		}
		o.lat = append(o.lat, time.Since(t0))
		o.ops++
		if o.errs == errs {
			o.bytes += int64(len(payload))
		}
	}
	return o
}

// rawDownload reads the blob with ranged GETs in parallel into dst, reps
// times, and checks the bytes once.
func rawDownload(ctx context.Context, c *rawClient, cfg *Config, name string, dst, payload []byte) outcome {
	var o outcome
	rs := ranges(int64(len(payload)), cfg.LargeBlock)
	blobURL := c.base + "/" + name + "?" + c.sas
	for r := range cfg.LargeReps {
		t0 := time.Now()
		errs := o.errs
		parallel(len(rs), cfg.LargeConc, &o, func(i int) error {
			a, b := rs[i][0], rs[i][1]
			_, err := c.do(ctx, http.MethodGet, blobURL, nil, map[string]string{"x-ms-range": fmt.Sprintf("bytes=%d-%d", a, b-1)}, http.StatusPartialContent, dst[a:b])
			return err
		})
		o.lat = append(o.lat, time.Since(t0))
		o.ops++
		if o.errs == errs {
			o.bytes += int64(len(payload))
			if r == 0 && !bytes.Equal(dst, payload) {
				o.fail(fmt.Errorf("raw download: bytes differ from those written"))
			}
		}
	}
	return o
}

// urlEscape escapes a base64 block ID for a query string.
func urlEscape(s string) string {
	return strings.NewReplacer("+", "%2B", "/", "%2F", "=", "%3D").Replace(s)
}

// listName is the name of blob i in a listed container: ListDirs virtual
// directories at the root, blobs spread evenly over them.
func listName(dirs int) func(int) string {
	return func(i int) string { return fmt.Sprintf("d%04d/b%08d", i%dirs, i) }
}

func listContainer(n int) string { return fmt.Sprintf("list-%d", n) }

// listFlat lists the whole container, all pages, until the budget or the
// repetition bound is reached, and checks the count every time.
func listFlat(ctx context.Context, s *server, cfg *Config, n int) outcome {
	return repeatListing(cfg, func() (int, error) {
		pager := s.client.NewListBlobsFlatPager(listContainer(n), nil)
		items := 0
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				return items, err
			}
			items += len(page.Segment.BlobItems)
		}
		if items != n {
			return items, fmt.Errorf("flat listing of %s: %d blobs, want %d", listContainer(n), items, n)
		}
		return items, nil
	})
}

// listDelim lists the root of the container with delimiter "/", all pages.
func listDelim(ctx context.Context, s *server, cfg *Config, n int) outcome {
	want := min(n, cfg.ListDirs)
	cc := s.client.ServiceClient().NewContainerClient(listContainer(n))
	return repeatListing(cfg, func() (int, error) {
		pager := cc.NewListBlobsHierarchyPager("/", &container.ListBlobsHierarchyOptions{})
		items := 0
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				return items, err
			}
			items += len(page.Segment.BlobPrefixes) + len(page.Segment.BlobItems)
		}
		if items != want {
			return items, fmt.Errorf("delimited listing of %s: %d prefixes, want %d", listContainer(n), items, want)
		}
		return items, nil
	})
}

func repeatListing(cfg *Config, list func() (int, error)) outcome {
	var o outcome
	start := time.Now()
	for o.ops < cfg.ListMaxReps && (o.ops == 0 || time.Since(start) < cfg.ListBudget) {
		t0 := time.Now()
		items, err := list()
		o.lat = append(o.lat, time.Since(t0))
		o.ops++
		o.items += items
		if err != nil {
			o.fail(err)
		}
	}
	return o
}

// overwrite uploads the large payload over one name Overwrites times.
func overwrite(ctx context.Context, s *server, cfg *Config, payload []byte) outcome {
	return azblobUpload(ctx, s, cfg, LargePrefix+"-overwrite", cfg.Overwrites, payload)
}

// deleteContainer deletes a container the workload made.
func deleteContainer(ctx context.Context, s *server, name string) error {
	if _, err := s.client.DeleteContainer(ctx, name, nil); err != nil {
		return fmt.Errorf("%s: delete container %s: %w", s.name, name, err)
	}
	return nil
}

// deleteBlob deletes a blob the workload wrote.
func deleteBlob(ctx context.Context, s *server, containerName, name string) error {
	if _, err := s.client.DeleteBlob(ctx, containerName, name, nil); err != nil {
		return fmt.Errorf("%s: delete blob %s/%s: %w", s.name, containerName, name, err)
	}
	return nil
}

// createContainer creates a container, accepting one that exists.
func createContainer(ctx context.Context, s *server, name string) error {
	_, err := s.client.CreateContainer(ctx, name, nil)
	if err != nil && !strings.Contains(err.Error(), "ContainerAlreadyExists") {
		return fmt.Errorf("%s: create container %s: %w", s.name, name, err)
	}
	return nil
}
