//go:build linux

package emulator_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/geoblob/geoblob/emulator"
	"github.com/geoblob/geoblob/internal/emubench"
)

// The server-cost benchmarks send the exact bytes azblob sends for a 4 KiB
// Get Blob or Put Blob (Shared Key signed, as `geoblob bench emulator`
// sends them) over keep-alive loopback connections, from a client that does
// nothing but write those bytes and skip the answer. They run against the
// emulator as `geoblob serve` configures it and against the bench's floor
// (emubench.FloorHandler on a bare http.Server), so that the difference of
// the two ns/op is the emulator's own cost per request.

const serverCostSize = 4 << 10

// captureTransport records the wire form of every request azblob sends and
// answers it as a server would, without a network.
type captureTransport struct {
	mu   sync.Mutex
	wire [][]byte
}

func (t *captureTransport) Do(req *http.Request) (*http.Response, error) {
	var b bytes.Buffer
	if err := req.Write(&b); err != nil {
		return nil, err
	}
	t.mu.Lock()
	t.wire = append(t.wire, b.Bytes())
	t.mu.Unlock()
	status := http.StatusCreated
	h := http.Header{"Etag": {`"0x1"`}, "Last-Modified": {time.Now().UTC().Format(http.TimeFormat)}}
	body := io.NopCloser(bytes.NewReader(nil))
	if req.Method == http.MethodGet {
		status = http.StatusOK
		h.Set("Content-Length", strconv.Itoa(serverCostSize))
		body = io.NopCloser(bytes.NewReader(make([]byte, serverCostSize)))
	}
	return &http.Response{StatusCode: status, Header: h, Body: body, Request: req, ContentLength: -1}, nil
}

// capture returns the wire bytes of n small GETs and n small PUTs of the
// bench's blobs, addressed to baseURL.
func capture(b *testing.B, baseURL string, n int) (gets, puts [][]byte) {
	b.Helper()
	cred, err := azblob.NewSharedKeyCredential(emulator.DevAccountName, emulator.DevAccountKey)
	if err != nil {
		b.Fatal(err)
	}
	tr := &captureTransport{}
	c, err := azblob.NewClientWithSharedKeyCredential(baseURL, cred, &azblob.ClientOptions{ClientOptions: azcore.ClientOptions{
		Retry: policy.RetryOptions{MaxRetries: -1}, Transport: tr,
	}})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	payload := emubench.Payload(serverCostSize)
	for i := range n {
		if _, err := c.UploadBuffer(ctx, "bench", fmt.Sprintf("small-%05d", i), payload, nil); err != nil {
			b.Fatal(err)
		}
	}
	puts, tr.wire = tr.wire, nil
	for i := range n {
		resp, err := c.DownloadStream(ctx, "bench", fmt.Sprintf("small-%05d", i), nil)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
	}
	return tr.wire, puts
}

// rawConn is one keep-alive connection that sends prepared requests.
type rawConn struct {
	c net.Conn
	r *bufio.Reader
}

var errStatus = errors.New("unexpected status")

// roundTrip writes req and reads the answer, checking its status.
func (rc *rawConn) roundTrip(req []byte, want int) error {
	if _, err := rc.c.Write(req); err != nil {
		return err
	}
	line, err := rc.r.ReadSlice('\n')
	if err != nil {
		return err
	}
	if len(line) < 12 || string(line[9:12]) != strconv.Itoa(want) {
		return fmt.Errorf("%w: %q", errStatus, line)
	}
	n := -1
	for {
		line, err := rc.r.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(line) <= 2 {
			break
		}
		if k, v, ok := bytes.Cut(line, []byte(":")); ok && bytes.EqualFold(k, []byte("Content-Length")) {
			n, err = strconv.Atoi(string(bytes.TrimSpace(v)))
			if err != nil {
				return err
			}
		}
	}
	if n < 0 {
		return fmt.Errorf("answer without Content-Length")
	}
	_, err = rc.r.Discard(n)
	return err
}

// processUsage is the user and system CPU time this process has used, and
// its minor page faults (first touches of memory, which cost as much as a
// small request on some virtual machines).
func processUsage(b *testing.B) (time.Duration, int64) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), int64(ru.Minflt) // int32 on 32-bit Linux
}

// serverCost runs the GET and PUT sub-benchmarks against the server at
// addr (host:port), whose base URL is base.
func serverCost(b *testing.B, addr, base string) {
	const names = 64
	gets, puts := capture(b, base, names)
	conns := make(chan *rawConn, 64)
	dial := func() *rawConn {
		select {
		case rc := <-conns:
			return rc
		default:
		}
		c, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		return &rawConn{c: c, r: bufio.NewReaderSize(c, 16<<10)}
	}
	defer func() {
		for {
			select {
			case rc := <-conns:
				rc.c.Close()
			default:
				return
			}
		}
	}()
	// The blobs exist before they are read.
	rc := dial()
	for _, p := range puts {
		if err := rc.roundTrip(p, http.StatusCreated); err != nil {
			b.Fatal(err)
		}
	}
	conns <- rc
	run := func(b *testing.B, reqs [][]byte, want int) {
		var next atomic.Int64
		b.ReportAllocs()
		b.SetParallelism(8) // 8 per GOMAXPROCS: 16 clients on 2 cores
		cpu0, flt0 := processUsage(b)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			rc := dial()
			defer func() { conns <- rc }()
			for pb.Next() {
				if err := rc.roundTrip(reqs[next.Add(1)%names], want); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.StopTimer()
		// Wall time per op depends on what else the machine runs; the
		// process's CPU time per op (server and the thin client) does not.
		cpu1, flt1 := processUsage(b)
		b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "cpu-ns/op")
		b.ReportMetric(float64(flt1-flt0)/float64(b.N), "minflt/op")
	}
	b.Run("get", func(b *testing.B) { run(b, gets, http.StatusOK) })
	b.Run("put", func(b *testing.B) { run(b, puts, http.StatusCreated) })
}

// BenchmarkServerCost compares the emulator with the floor on 4 KiB GETs
// and PUTs; the difference of their ns/op is the emulator's own work.
func BenchmarkServerCost(b *testing.B) {
	b.Run("geoblob", func(b *testing.B) {
		emu, err := emulator.Start(context.Background(), emulator.Options{
			NoSecondaryListener: true,
			Lag:                 time.Second,
			Logger:              slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn})),
		})
		if err != nil {
			b.Fatal(err)
		}
		defer emu.Close()
		cred, err := azblob.NewSharedKeyCredential(emu.AccountName(), emu.AccountKey())
		if err != nil {
			b.Fatal(err)
		}
		c, err := azblob.NewClientWithSharedKeyCredential(emu.PrimaryURL(), cred, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.CreateContainer(context.Background(), "bench", nil); err != nil {
			b.Fatal(err)
		}
		u := emu.PrimaryURL()
		host := u[len("http://"):]
		host = host[:bytes.IndexByte([]byte(host), '/')]
		serverCost(b, host, u)
	})
	b.Run("floor", func(b *testing.B) {
		ctx, cancel := context.WithCancel(context.Background())
		addrc := make(chan net.Addr, 1)
		done := make(chan error, 1)
		go func() {
			done <- emubench.ServeFloor(ctx, "127.0.0.1:0", serverCostSize, 64<<20, func(a net.Addr) { addrc <- a })
		}()
		addr := (<-addrc).String()
		defer func() {
			cancel()
			if err := <-done; err != nil {
				b.Error(err)
			}
		}()
		serverCost(b, addr, "http://"+addr+"/"+emulator.DevAccountName)
	})
}
