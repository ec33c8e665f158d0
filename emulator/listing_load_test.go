package emulator_test

import (
	"bufio"
	"fmt"
	"net"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/geoblob/geoblob/emulator"
)

// heapMiB is the live heap after a full collection.
func heapMiB() float64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return float64(ms.HeapAlloc) / (1 << 20)
}

// rssMiB is the process's resident set, or -1 where /proc is missing.
func rssMiB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			if err == nil {
				return float64(kb) / 1024
			}
		}
	}
	return -1
}

// TestListingMemoryFlatWithSlowReaders is the bounded load test of listing
// memory: a public container of 2,000 blobs with about 7 KiB of metadata
// each (a 16 MiB listing), and 32 anonymous clients that ask for the whole
// listing with metadata and then read nothing more than its first byte. A
// listing built whole in memory holds 32 x 16 MiB while they stay
// connected; a streamed one holds a page of pointers and a small buffer
// per client. The live heap may grow by at most 48 MiB.
func TestListingMemoryFlatWithSlowReaders(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	const blobs, readers, maxGrowthMiB = 2000, 32, 48
	emu := start(t, emulator.Options{NoSecondaryListener: true})
	client, _ := clients(t, emu, emu.SecondaryURL())
	if _, err := client.CreateContainer(t.Context(), "public", &container.CreateOptions{Access: to.Ptr(container.PublicAccessTypeContainer)}); err != nil {
		t.Fatal(err)
	}
	meta := map[string]*string{}
	for i := range 7 {
		meta[fmt.Sprintf("m%d", i)] = to.Ptr(strings.Repeat(string(rune('a'+i)), 1000))
	}
	var wg sync.WaitGroup
	errs := make(chan error, blobs)
	work := make(chan int)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				_, err := client.UploadBuffer(t.Context(), "public", fmt.Sprintf("blob-%05d", i), []byte("x"), &azblob.UploadBufferOptions{Metadata: meta})
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	for i := range blobs {
		work <- i
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	heapBefore, rssBefore := heapMiB(), rssMiB()
	u, err := url.Parse(emu.PrimaryURL())
	if err != nil {
		t.Fatal(err)
	}
	req := fmt.Sprintf("GET %s/public?restype=container&comp=list&include=metadata HTTP/1.1\r\nHost: %s\r\n\r\n", u.Path, u.Host)
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range readers {
		c, err := net.Dial("tcp", u.Host)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		if _, err := c.Write([]byte(req)); err != nil {
			t.Fatal(err)
		}
		// The first byte arrives once the server is writing the answer: a
		// listing built whole exists in full by then.
		if _, err := bufio.NewReaderSize(c, 16).ReadByte(); err != nil {
			t.Fatal(err)
		}
	}
	heapDuring, rssDuring := heapMiB(), rssMiB()
	t.Logf("%d blobs x ~7 KiB metadata, %d slow anonymous readers: heap %.1f -> %.1f MiB, RSS %.1f -> %.1f MiB",
		blobs, readers, heapBefore, heapDuring, rssBefore, rssDuring)
	if growth := heapDuring - heapBefore; growth > maxGrowthMiB {
		t.Fatalf("the heap grew by %.1f MiB with %d slow readers connected, want at most %d", growth, readers, maxGrowthMiB)
	}
}
