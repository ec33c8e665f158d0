package slab

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// linuxMapper maps anonymous private memory and asks for transparent huge
// pages on it. Regions are never unmapped: a slot's pages go back to the
// OS with MADV_DONTNEED, and its address range stays the Pool's.
type linuxMapper struct{}

func newMapper() mapper { return linuxMapper{} }

func (linuxMapper) mapRegion(n, size int) ([][]byte, error) {
	// Map one slot more than needed and cut the unaligned ends off, so
	// that every slot starts on a size boundary: a huge page can only back
	// an aligned range.
	total := uintptr((n + 1) * size)
	p, err := unix.MmapPtr(-1, 0, nil, total, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		return nil, fmt.Errorf("slab: mapping %d bytes: %w", total, err)
	}
	start := uintptr(p)
	skip := (uintptr(size) - start%uintptr(size)) % uintptr(size)
	if skip > 0 {
		if err := unix.MunmapPtr(p, skip); err != nil {
			return nil, fmt.Errorf("slab: trimming a region: %w", err)
		}
	}
	length := uintptr(n * size)
	if tail := total - skip - length; tail > 0 {
		if err := unix.MunmapPtr(unsafe.Add(p, skip+length), tail); err != nil {
			return nil, fmt.Errorf("slab: trimming a region: %w", err)
		}
	}
	region := unsafe.Slice((*byte)(unsafe.Add(p, skip)), length)
	// Without huge pages (THP off, or "never") the slots still work, with
	// 4 KiB pages; so a refusal is not an error.
	_ = unix.Madvise(region, unix.MADV_HUGEPAGE)
	out := make([][]byte, n)
	for i := range out {
		out[i] = region[i*size : (i+1)*size : (i+1)*size]
	}
	return out, nil
}

func (linuxMapper) drop(b []byte) { _ = unix.Madvise(b, unix.MADV_DONTNEED) }
